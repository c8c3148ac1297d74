// Package ingest is the request-processing core of the collector's public ingest routes,
// POST /v1/batch and POST /v1/track: it turns one HTTP request into validated, anonymized
// store.Events, or into one precise error for the whole request. It does no I/O besides
// reading the request body: no write-ahead log, no response writing, no HTTP routing.
//
// # What a request goes through
//
//  1. Headers. Content-Type must be application/json (parameters allowed; a charset must be
//     utf-8), else 415. Content-Encoding may be gzip (or x-gzip) or identity, else 400.
//  2. Size. At most Limits.MaxBody bytes on the wire (413; a larger Content-Length is refused
//     before reading), and at most Limits.MaxDecoded after gunzip (413: a gzip bomb is
//     stopped as soon as it has produced one byte too many). Corrupt or truncated gzip: 400.
//  3. Bytes. The body must be valid UTF-8 (400, with the offset of the first bad byte) and
//     must not nest objects and arrays deeper than MaxDepth (64) levels, the batch object and
//     its events array included (400). Both checks happen before any JSON is decoded.
//  4. Envelope. A batch body is an object with an "events" array of 1 to Limits.MaxEvents
//     elements (more: 413; missing, not an array or empty: 400) and an optional "sentAt" (an
//     RFC 3339 time, or null; anything else: 400). Envelope keys are matched exactly and
//     other keys are ignored, for forward compatibility, as long as they are valid JSON.
//     "events" or "sentAt" twice is a 400. A /v1/track body is one event object.
//     Malformed JSON anywhere is a 400 naming the byte offset and encoding/json's message.
//  5. Events, each on its own: a problem becomes an entry of Batch.Rejected (with its index
//     and a message naming the field relative to the event), and the other events are kept.
//     See "Per-event checks".
//  6. Duplicates: a valid event whose id (case-insensitively) was already accepted in the
//     same request is counted in Batch.DuplicatesInBatch, not stored twice. Duplicates
//     across requests are the caller's business.
//
// # Per-event checks, in order
//
//   - The element is an object (else "event: expected an object, got …") of at most
//     Limits.MaxEventBytes bytes of JSON ("event: larger than 32768 bytes").
//   - JSON types match wire.Event; a mismatch names the path ("context.cpus: expected an
//     integer, got a string"). Unknown fields are ignored.
//   - Required: id (a UUID), event, timestamp (RFC 3339), projectId (wire.IsProjectID),
//     machineId (wire.IsMachineID), environment (wire.IsEnvironment), product.name.
//     Optional: sessionId (a UUID when present), product.version, context, build, properties.
//   - product.version and the context strings (os, osVersion, arch, runtime, runtimeVersion,
//     ciName, sdk) are free-form client text that the plan does not cover, so they are held
//     to a shape: at most 64 characters of A-Z a-z 0-9 . _ + - and space (sdk may also hold
//     one '/', as in "abacus-go/0.1.0"). context.cpus is 0..4096, context.memoryMB
//     0..16777216.
//   - At most Limits.MaxProperties properties, and as many build keys.
//   - Time: with sentAt, the stored time is receivedAt − (sentAt − timestamp), correcting the
//     client's clock; without it (always for /v1/track), the timestamp. It is truncated to
//     milliseconds, in UTC, and must lie within [receivedAt − Retention, receivedAt +
//     MaxFuture].
//   - The tracking plan (plan.Plan.Apply): product, declared event, declared build keys and
//     properties with their types and bounds, no personal-looking strings. Undeclared keys
//     are dropped and counted in Batch.Dropped (by "build" / "properties", never by key).
//     The plan's message is used as is.
//
// Rejections are counted in Batch.RejectReasons under a closed set of labels:
// "schema", "too-large", "too-old", "future", "plan", "personal-data" (see RejectReasons).
// Messages never quote client text that could be personal: values are described ("got a
// string"), and only the fixed field paths of the protocol or keys the plan declares are
// named.
//
// # Anonymity
//
// Process never reads the client's address, X-Forwarded-For, User-Agent or any header but
// Content-Type and Content-Encoding, and store.Event has no field for them. The project,
// machine and session IDs are re-keyed with the server secret by a Keyer (HMAC-SHA256,
// domain-separated, the project keyed on its lower-cased UUID with any prefix dropped), so
// the stored IDs cannot be joined back to a manifest or a machine without the secret.
// Build keys and properties are stored only as the plan allows, ints as int64 and floats as
// float64.
//
// # Other protocols
//
// The collector's PostHog, Segment and Strapi routes read their body with
// Pipeline.Read like a native one, take it after gunzip with Body.Decoded, map it to a
// native batch (package compat, whose doc holds one mapping table per protocol), holding
// its bytes against the body memory budget with Body.Cover, and check that batch with
// Body.ProcessNative, exactly as a POST /v1/batch body. A body with
// "batch" and no "events" posted to /v1/batch gets a 400 that names /segment/v1/batch.
//
// # Cost
//
// Request buffers, gzip readers and per-request scratch space are pooled. The envelope is
// split by a bracket-matching scan instead of a decode, so each event's JSON is decoded
// once, straight from the request buffer, by a hand-written decoder that validates as it
// goes and gives exactly the values and messages json.Unmarshal into the wire types would
// (FuzzDecodeEquivalence checks it against the encoding/json-based reference). The product,
// context and build objects, which the events of a batch mostly repeat byte for byte, are
// decoded and checked once per run of identical bytes (the events of a batch with the same
// build share one read-only Build map), strings the events repeat (names, IDs, keys) are interned, and the re-keyed IDs are
// memoized within a request. BenchmarkProcess against BenchmarkDecode (Body.Decode: read,
// gunzip, scan and decode into wire values, nothing checked) shows the cost of the checks
// and the re-keying; BenchmarkFloor (json.Unmarshal into wire.Batch) is the standard
// library's reference.
package ingest
