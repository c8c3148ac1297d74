// Package store defines where the collector keeps events: the Store interface,
// the rules every backend keeps, and (in storetest) the contract suite that
// proves it.
//
// Backends live in sub-packages: duckdb, the embedded default (one file in the
// data directory), and clickhouse, a ClickHouse database shared by many
// collectors. Only the backend packages import a database driver, so the
// rest of the collector builds and tests without one.
//
// A Store never sees an IP address, a user agent or a client's raw project or
// machine ID: the collector re-keys and checks events before they arrive here.
package store
