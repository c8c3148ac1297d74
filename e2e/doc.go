// Package e2e drives the real abacus binary over HTTP. TestMain builds
// cmd/abacus once (with the race detector when the tests run with it); each
// test starts `abacus serve` on loopback with a data directory of its own, and
// kills it with SIGKILL or stops it with SIGTERM for real.
//
// What it shows: the SDK delivering to the collector, no acknowledged event
// lost across repeated SIGKILLs and none stored twice, every kind of bad input
// answered with its status and a JSON error, no client address or user agent
// kept anywhere, 503 when the log's disk is full, TLS, the admin token,
// erasure, retention, and the simulator's population stored whole. On
// ClickHouse (clickhouse_test.go, each test with a clickhouse-server of its
// own): three collectors with retries crossing them and one SIGKILLed, an
// erasure reaching another collector's log, and ClickHouse stopped under load
// (ABACUS_CLICKHOUSE_OUTAGE sets how long; 12 s by default).
//
// e2e is a module of its own, so that its test-only dependencies (chromedp
// for the dashboard's browser test) stay out of the product's go.mod; the
// binary it drives is built in the product's module, as users build it.
package e2e
