// Package plan is the tracking plan: the allow-list the collector applies to every event it
// receives, and the source of the public "What data is collected?" page.
//
// # The plan file
//
// A plan is a YAML file (`abacus serve --plan FILE`; the built-in Default is used without one):
//
//	product: strapi
//	k: 5                          # minimum distinct projects in any published bucket
//	setup: {start: willCreateProject, done: didStartServer, within: 7d}
//	build:
//	  plugins: {type: list, items: {type: string, pattern: '^[@a-z0-9][a-z0-9._/-]{0,63}$'}, max: 100}
//	events:
//	  didStartServer:
//	    description: The server started.
//	    properties:
//	      durationMs: {type: int, min: 0, max: 86400000}
//	  didFailWithError: {kind: error, properties: {code: {type: string, pattern: '^[A-Z0-9_]{1,64}$'}}}
//
// Field types are string (with a pattern, which should be anchored with ^ and $, and/or a max
// length of at most 256 characters), enum (values), int (min, max; at most 2^53-1 in magnitude),
// float (min, max), bool, list (items of any other type, max items, 100 by default) and semver.
// Every plan element may carry a description, shown on the public page. Unknown keys are
// errors, and every error names the file, the line and the element at fault:
//
//	plan.yaml:12: events.didStartServer.properties.durationMs: unknown type "integer", expected one of string, enum, int, float, bool, list, semver
//
// # Applying the plan
//
// Plan.Apply checks one decoded event: undeclared build keys and properties are removed (and
// reported, so the collector can count them); a declared value of the wrong type, out of range,
// not matching its pattern, holding a control or bidirectional formatting character while its
// field has no pattern (such characters would reach terminals and spreadsheets through the
// reports), or looking like personal data (telemetry/redact) rejects the event with a
// *FieldError that names the field and what was expected.
//
// # Documentation
//
// Plan.Markdown and Plan.HTML render the "What data is collected?" page from the plan itself,
// so the page cannot drift from what the collector stores; Plan.MarshalJSON is the machine
// readable form served at /v1/plan.
//
// # What this package never does
//
// It never stores, logs or forwards events and does no I/O besides Load reading the plan file.
// Its error messages never quote a rejected string value, since one could be personal data.
// It never widens what is collected: anything the plan does not declare is dropped.
package plan
