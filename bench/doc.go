// Package bench measures Abacus against its peers. It is a module of its own so
// that the peers it imports never enter the product's go.mod.
//
// The SDK benchmarks (sdk_test.go) run Track and Close of the Abacus SDK against
// the Enqueue and Close of github.com/posthog/posthog-go and
// gopkg.in/segmentio/analytics-go.v3 in one run. BenchmarkTrack measures the
// path where the event is kept: rounds of events smaller than every SDK's queue,
// delivered between rounds, with the timer stopped, to a loopback collector that
// answers like each SDK's own server; it fails if any event is dropped.
// size_test.go measures what the SDK adds to a binary. The ingest command
// (ingest/) measures abacus serve against floors that run the collector's own
// request path in processes of their own (which is why this module requires
// the root module), runs the sustained open-loop test, and with -store
// clickhouse measures one collector storing into ClickHouse against the same
// collector storing into DuckDB. The Node.js SDK's
// benchmarks are in node/, a package of their own. BENCHMARKS.md at the
// repository root records the results and the commands.
package bench
