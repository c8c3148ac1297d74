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
// DO_NOT_TRACK set to anything but 0, false, no or off (trimmed, any case: an
// unusual value such as "on", "2" or "y" is read the privacy-safe way)
// disables it; so does <PRODUCT>_TELEMETRY_DISABLED, read the same way; so does
// the user-level opt-out file written by [Disable] (removed by [Enable]) — its
// existence is enough, whatever it is, and it applies to every product using
// Abacus for this user, Go and Node.js alike; so does a project without a
// package.json or without <product>.uuid in it — the user deleted it to opt the
// project out, and nothing in the SDK but [CreateProject] ever writes it back.
// Status().Reason starts with the name of the rule that decided (the Reason*
// constants; "<PRODUCT>_TELEMETRY_DISABLED" for the product's variable). A
// disabled client sends nothing and writes nothing; it sets aside what earlier
// runs had spooled (one rename, so New returns at once whatever the spool
// holds, and nothing of it can be sent any more) and deletes it on a
// background goroutine, at most 50,000 files a run.
//
// <PRODUCT>_TELEMETRY_DEBUG=1 prints each event as one JSON line to Config.Debug
// instead of sending it, so users can see exactly what would leave the machine.
//
// # Files
//
// The SDK shares its files with the Node.js SDK (testdata/conformance/README.md):
//
//   - the opt-out file: os.UserConfigDir()/abacus/telemetry-disabled;
//   - StateDir (Config.StateDir, default os.UserCacheDir()/<product>/telemetry)
//     holds the fallback machine ID (machine-id, mode 0600), the spool
//     (spool/<project key>/<unix nanos>-<8 hex>.jsonl, mode 0600, directories
//     0700; the project key is the first 16 hex digits of SHA-256 of the project
//     directory's real path, symlinks resolved) and the record of what was sent
//     (recent.jsonl, mode 0600).
//
// Every file the SDK reads — package.json, the machine IDs, the spool, the
// record — is opened so that it never blocks: a FIFO, socket or device is
// refused at once (for package.json, with an error saying so; elsewhere the
// file is skipped or replaced).
//
// # What was sent
//
// After each batch the collector acknowledges with a 2xx, its events are
// appended to <StateDir>/recent.jsonl, byte for byte as they were in the batch,
// the newest last; the file keeps the last 100 events or 256 KiB, whichever is
// smaller. [Client.Recent] and [Recent] return them, so that a product can offer
// "telemetry show"; Status names the files for "telemetry status" (see
// telemetry/example/mycli).
//
// # The project's package.json
//
// [CreateProject] edits package.json byte-preserving and atomically (temporary
// file, fsync, rename), keeps its owner, group and mode exactly, and refuses —
// with an error, the file untouched — a file that is not regular, that is
// read-only for its owner (the user said "do not write"), that the current user
// may not write, or that has more than one hard link (replacing it would split
// the link and leave the other name with the old content). Temporary files of a
// call killed half-way are removed by the next call. Concurrent calls, from
// goroutines or processes, take turns through an advisory lock on the project
// directory (waited for at most 2 s) and each returns the uuid the file holds.
//
// # What an event carries
//
// The project ID; a machine ID that is an HMAC-SHA256 of the OS machine ID keyed
// with the product name (the raw ID never leaves the process; a random ID kept
// in StateDir stands in where the OS has none or an unusable one: empty,
// systemd's "uninitialized", all zeros, not hex, or a value known to be shared
// by many machines); a session ID per client; the
// environment (Config.Environment, else <PRODUCT>_ENV, NODE_ENV or APP_ENV,
// normalised to development, staging, production, test or other); the OS name
// and version, CPU architecture and count, memory, Go version, CI provider,
// Docker and WSL flags; the product's name and version; the build configuration
// and the event's own properties. Property values are strings, numbers, bools
// and lists of those, at most 64 keys and 256 characters a string; strings that
// look like e-mail or IP addresses, URLs with credentials or secret query
// parameters, webhook URLs, absolute file paths of any OS, bearer or basic
// credentials, "password is …" phrases or other secrets are replaced by
// "[redacted]" before anything leaves the process (package redact, with
// Rules.AbsolutePaths). [ErrorCode] turns an error into a code without its message.
//
// # Cost and delivery
//
// Track never blocks and does no I/O or encoding: it copies the property map
// (at most 64 entries; a larger map costs no more, and the rest is counted in
// DroppedValues) and hands it to the client's one goroutine through a bounded
// queue (Config.QueueSize records); when the queue is full it drops the newest
// event and counts it. The goroutine encodes events at once and holds at most
// 4 MiB of them (waiting, in flight, and read from the spool); past that, while
// the collector is slow or down, it drops the oldest, earlier runs' first. It
// batches events into gzip JSON requests (wire.Batch, at most 200 events and
// 1 MiB), keeps one request in flight, and retries network errors, 408, 429 and
// 5xx with exponential backoff and jitter, honouring Retry-After. Events the
// collector rejected are not resent; a batch refused with another 4xx is
// dropped. HTTPS_PROXY, HTTP_PROXY and NO_PROXY are honoured.
//
// Redirects are never followed, not even with a Config.HTTPClient of the host
// (the SDK uses a copy without them): a batch goes to the configured collector
// or nowhere. A 3xx answer is a failed delivery: the events are kept, retried
// and spooled, and Status().LastError says where the collector redirected to.
//
// Close has a fixed budget (Config.CloseBudget, 300 ms by default) whatever the
// network does. It sends the run's own events first, then earlier runs'; what
// is not acknowledged by then goes to the spool, and the next enabled New sends
// it. The spool is bounded on write and on read: at most 2 MiB and 1,000 files
// for the product (a run deletes the oldest files to make room, taking turns
// with concurrent runs through an advisory lock), and a run reads at most 256
// files and 2 MiB of it, on a goroutine of its own so that the run's events never
// wait for a slow disk; a file over 2 MiB, or without one readable event, is
// deleted. Event IDs are chosen here, so a batch sent twice is stored once.
//
// # Counts
//
// Status accounts for every event: after Close, Tracked = Sent + Rejected +
// Spooled + Dropped, with Dropped split by reason in DroppedBy (while the client
// runs, Pending holds the rest). A Track that races Close is either built and
// sent or spooled, or counted dropped ("closed"). Events of
// earlier runs are counted apart, in Resent and SpoolDropped. If Close runs out
// of budget, its error says how many events were neither sent nor spooled.
//
// # Failure
//
// No panic reaches the host: every exported function recovers, and Status
// counts what it recovered.
package telemetry
