// Package telemetry is the Abacus SDK: anonymous, opt-out-able usage telemetry
// for a CLI or framework written in Go. It uses the standard library only.
//
// # Getting started
//
// When the product creates a project, give it a project ID:
//
//	id, err := telemetry.CreateProject(projectDir, "strapi")
//
// This writes {"strapi": {"uuid": "…"}} into the project's package.json, leaving
// every other byte of the file alone. Then, on each run of the product:
//
//	c, err := telemetry.New(telemetry.Config{
//		Product:  "strapi",
//		Version:  version,
//		Endpoint: "https://telemetry.example.com",
//		Build:    map[string]any{"plugins": plugins, "typescript": ts},
//	})
//	defer c.Close(context.Background())
//	c.Track("didStartServer", map[string]any{"durationMs": 1234})
//
// A nil *Client is valid and does nothing, so a product may ignore New's error.
//
// # Consent
//
// New decides once whether the client collects anything. In this order:
// DO_NOT_TRACK=1 (or true, yes) disables it; so does <PRODUCT>_TELEMETRY_DISABLED;
// so does the user-level opt-out file written by [Disable] (removed by [Enable]);
// so does a project without a package.json or without <product>.uuid in it — the
// user deleted it to opt the project out, and nothing in the SDK but
// [CreateProject] ever writes it back. Status().Reason names the rule that
// decided. A disabled client does nothing at all: no network, no files, no
// goroutines; and it deletes what earlier runs had spooled.
//
// <PRODUCT>_TELEMETRY_DEBUG=1 prints each event as one JSON line to Config.Debug
// instead of sending it, so users can see exactly what would leave the machine.
//
// # What an event carries
//
// The project ID; a machine ID that is an HMAC-SHA256 of the OS machine ID keyed
// with the product name (the raw ID never leaves the process; a random ID kept
// in StateDir stands in where the OS has none); a session ID per client; the
// environment (Config.Environment, else <PRODUCT>_ENV, NODE_ENV or APP_ENV,
// normalised to development, staging, production, test or other); the OS name
// and version, CPU architecture and count, memory, Go version, CI provider,
// Docker and WSL flags; the product's name and version; the build configuration
// and the event's own properties. Property values are strings, numbers, bools
// and lists of those, at most 64 keys and 256 characters a string; strings that
// look like e-mail or IP addresses, URLs with credentials, home-directory paths
// or secrets are replaced by "[redacted]" before anything leaves the process
// (package redact). [ErrorCode] turns an error into a code without its message.
//
// # Cost and delivery
//
// Track never blocks and does no I/O or encoding: it copies the property map
// and hands it to the client's one goroutine through a bounded queue; when the
// queue is full it drops the newest event and counts it. The goroutine batches
// events into gzip JSON requests (wire.Batch), keeps one request in flight, and
// retries network errors, 408, 429 and 5xx with exponential backoff and jitter,
// honouring Retry-After. Events the collector rejected are not resent; a batch
// refused with another 4xx is dropped. HTTPS_PROXY, HTTP_PROXY and NO_PROXY are
// honoured.
//
// Close has a fixed budget (Config.CloseBudget, 300 ms by default) whatever the
// network does. What is not acknowledged by then goes to the spool — JSON lines
// under StateDir, at most 2 MiB, oldest dropped first — and the next enabled New
// sends it first. Event IDs are chosen here, so a batch sent twice is stored once.
//
// # Failure
//
// No panic reaches the host: every exported function recovers, and Status
// counts what it recovered.
package telemetry
