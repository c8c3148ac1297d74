// Package redact decides whether a string value that a host program wants to
// send as an event property looks personal or secret.
//
// Abacus collects anonymous product telemetry: the tracking plan allow-lists
// which properties an event may carry, but a string property can still be fed
// something it should never carry — an e-mail address, an IP address, a token,
// a file path under someone's home directory. Check is the last line of
// defence against that, and both ends use it:
//
//   - the SDK replaces a flagged value with Placeholder before the event leaves
//     the machine;
//   - the collector rejects an event with a flagged value, naming the reason
//     (one of Email, IPAddress, CredentialURL, HomePath, Secret).
//
// What is flagged, in the order Check reports it:
//
//   - Secret: JWTs, PEM private keys, well-known API key shapes (AWS, GitHub,
//     Stripe, Slack, Google, OpenAI-style, npm), "password=…"-style key/value
//     pairs and "password/secret/token is …" phrases, "Bearer <token>" and
//     "Basic <credentials>", and long random-looking tokens (32+ hex digits,
//     or 24+ characters mixing lower case, upper case and digits that do not
//     read as words).
//   - CredentialURL: URLs carrying userinfo ("postgres://user:pass@db/x"),
//     scp-like remotes that name a user other than "git", user:pass DSNs,
//     URLs with a secret query parameter ("?token=…", "&api_key=…",
//     "X-Amz-Signature=…"), and incoming-webhook URLs of well-known services
//     (hooks.slack.com, Discord, Office 365, Zapier, Google Chat, Telegram
//     bots, PagerDuty), where the URL itself is the credential.
//   - Email: local@domain.tld.
//   - IPAddress: IPv4 dotted quads and IPv6 addresses.
//   - HomePath: the configured home directory (Rules.Home), and generic home
//     shapes: "~/…", "/home/<name>", "/Users/<name>", "C:\Users\<name>",
//     "/root".
//   - Path (only with Rules.AbsolutePaths, which the SDK sets): any absolute
//     file path — POSIX with two or more components ("/srv/acme/portal"),
//     Windows drives ("C:\x", "d:/x"), UNC shares ("\\server\share"),
//     file: URLs.
//
// Each rule looks anywhere inside the value, not only at whole-value matches.
// Identifiers the protocol itself uses — canonical UUIDs, versions such as
// "5.3.1", ISO timestamps, npm package names, error codes like
// "E_PLUGIN_NOT_FOUND", kebab-case feature names — are not flagged.
//
// What the package never does: it never logs, stores, copies or sends the
// values it checks, and it keeps no state between calls; a reason is all it
// returns, never the matched text. Check is safe for concurrent use, never
// panics (whatever the input, including invalid UTF-8), compiles no regular
// expressions, and does not allocate for a safe value.
//
// It is a heuristic, and it errs toward flagging: a four-part version such as
// "1.0.0.0" reads as an IP address, a git commit SHA as a hex secret, and a
// long hyphenated model name with digits ("Intel-Core-i7-9750H-CPU-2-60GHz")
// may read as a token. A false positive costs one property value; a false
// negative leaks personal data. It is not a substitute for the tracking plan:
// values that are allowed by the plan's patterns and types are what it sees.
package redact
