// Package compat maps the telemetry protocols that clients already in the
// field speak — Strapi's own sender, PostHog's capture API and Segment's
// tracking API — to native wire batches. The collector (package server)
// serves them on
//
//	POST /api/v2/track                            Strapi, one event, JSON
//	POST /posthog/batch/, /posthog/capture/,
//	     /posthog/e/, /posthog/i/v0/e/            PostHog, JSON or gzip
//	POST /segment/v1/batch, /segment/v1/track     Segment, JSON or gzip
//
// and hands the mapped batch to the native path unchanged: the same body
// limits, rate limits and admission, then the tracking plan, re-keying of
// project and machine IDs, clock checks, dedup, the write-ahead log, the
// store and erasure. A mapped event is a native event in every respect.
//
// Each body is read once (Mapper.Map): a scanner in the style of package
// ingest's event decoder walks it and writes the native batch straight into
// a pooled buffer, copying properties and build values as JSON without
// decoding them. The few bodies it does not read exactly as encoding/json
// would — malformed JSON, a value of an unexpected type, a key given twice,
// in another case or with escapes, a number beyond float64, invalid UTF-8,
// nesting deeper than 32 levels, an event copying more than 4 KiB — are
// mapped through encoding/json instead, which also words the errors; a fuzz
// test holds the two to the same native events. The native batch is held
// against the collector's body memory budget with the body it was made from
// (Options.Cover).
//
// # Rules common to all three
//
//   - Machine: any client ID becomes the native 64-hex form by
//     HMAC-SHA256 keyed by the product name (Mapper.MachineID); the
//     collector then re-keys it with its secret like any machine ID. The
//     same client ID always names the same machine; the raw ID is never kept.
//   - Project: must be a project ID (a UUID, optionally prefixed) as
//     natively; an event without one is counted invalid, not stored.
//   - Event: only events the plan declares are stored; a track call of an
//     undeclared event is answered with success and counted undeclared.
//     Calls that are not track calls are answered with success and counted
//     not_track. Declared events the plan refuses are counted invalid.
//   - Properties: the plan keeps only declared keys; keys starting with '$'
//     (PostHog's own) are never handed to it, nor projectId, environment
//     and token, which the mapping reads.
//   - Environment: the payload's, mapped to the native names
//     (development/dev, staging, production/prod, test; anything else:
//     other); none: DefaultEnvironment ("other", meaning not stated).
//   - Time: the client's timestamp corrected by the request's send time
//     (receivedAt − (sentAt − timestamp)), the timestamp without a send
//     time, the receive time without a timestamp. The native batch carries
//     the corrected time and no sentAt.
//   - Context strings the native protocol would refuse (more than 64
//     characters, or characters outside A-Z a-z 0-9 . _ + - and space) are
//     left empty rather than refusing the event.
//   - Keys: when the plan lists ingestKeys, a PostHog or Segment request
//     that carries none of them gets 401 in the protocol's error shape; the
//     Strapi route carries no key and is public like /v1/batch.
//
// # Strapi: POST /api/v2/track
//
//	native field        read from
//	id                  assigned by the collector (a random UUID)
//	event               event
//	projectId           groupProperties.projectId
//	machineId           installId, else deviceId (keyed hash)
//	timestamp           the receive time
//	environment         userProperties.environment, else groupProperties.environment
//	product.version     groupProperties.version
//	context.os          userProperties.osPlatform (win32 → windows)
//	context.osVersion   userProperties.osRelease
//	context.arch        userProperties.osArch (x64 → amd64, ia32 → 386)
//	context.runtime     "node" when nodeVersion is present
//	context.runtimeVersion userProperties.nodeVersion without its "v"
//	context.ci          groupProperties.isCI
//	context.docker      groupProperties.docker (true, or a non-empty name)
//	context.sdk         "strapi-telemetry"
//	build               the groupProperties keys the plan's build section declares
//	properties          eventProperties
//	never read          userId, userProperties.os, every other groupProperties key
//
// Answer: 200 {"status": "ok"}; errors as native ({"error": "…"}).
//
// # PostHog: /posthog/batch/, /posthog/capture/, /posthog/e/, /posthog/i/v0/e/
//
// The body is {api_key, batch: [...], sent_at?}, one event {api_key, event,
// distinct_id, properties, timestamp?, uuid?}, or an array of events.
//
//	native field        read from
//	id                  uuid when a UUID; another non-empty uuid → a UUID derived from it; none → assigned
//	event               event
//	projectId           properties.$groups.project, else properties.projectId
//	machineId           distinct_id (keyed hash)
//	timestamp           timestamp, corrected by sent_at
//	environment         properties.environment
//	product.version     properties.$app_version
//	context.os          properties.$os (lower case)
//	context.osVersion   properties.$os_version
//	context.sdk         properties.$lib "/" properties.$lib_version
//	properties          properties, without keys starting with '$'
//	api key             api_key, event.api_key, event.token or properties.token
//	not track           $identify, $groupidentify, $create_alias, $set, $pageview,
//	                    $pageleave, $screen, $autocapture (unless the plan declares them)
//	never stored        $ip, $set, $set_once, $current_url, $referrer, $groups,
//	                    person and group properties, the raw distinct_id
//
// Answer: 200 {"status": 1}; errors {"type", "code", "detail", "attr"}
// (validation_error, authentication_error, throttled, server_error).
//
// # Segment: /segment/v1/batch, /segment/v1/track
//
// The body is {batch: [...], sentAt?, writeKey?, context?} or, for
// /segment/v1/track, one call. The write key is the HTTP Basic user name or
// writeKey.
//
//	native field        read from
//	id                  a UUID derived from messageId (a retry gets the same id); none → assigned
//	event               event, for calls of type "track" (any type on /v1/track when absent)
//	projectId           context.groupId, else properties.projectId
//	machineId           anonymousId, else userId (keyed hash)
//	timestamp           timestamp, corrected by sentAt
//	environment         properties.environment, else context.environment
//	product.version     context.app.version
//	context.os          context.os.name (lower case)
//	context.osVersion   context.os.version
//	context.sdk         context.library.name "/" version ("@" and "/" in the name → "-")
//	properties          properties
//	not track           identify, page, screen, group, alias
//	never stored        userId and anonymousId (raw), context.ip, context.userAgent,
//	                    context.traits, context.page, every other context key
//
// A message's context keys override the batch's. Answer: 200
// {"success": true}; errors {"success": false, "message": "…"}.
package compat
