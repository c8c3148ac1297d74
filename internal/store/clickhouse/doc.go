// Package clickhouse is the store for running at scale: many collectors, each
// draining its write-ahead log into one ClickHouse database over the native
// protocol (github.com/ClickHouse/clickhouse-go/v2).
//
//	s, err := clickhouse.Open("clickhouse://127.0.0.1:9000/abacus", clickhouse.Options{})
//
// *Store implements store.Store; `abacus serve --store clickhouse://…` selects
// it. The URL's parameters (dial_timeout, read_timeout, max_open_conns,
// max_idle_conns, conn_max_lifetime, secure, ca_file, skip_verify, compress) set the
// connection pool, its timeouts and TLS; see ParseURL.
//
// # Schema
//
// Migrate creates the database and brings the schema to SchemaVersion. Every
// statement is idempotent (IF NOT EXISTS) and the versions applied are in the
// table schema_version, so collectors starting at once, or a start that died
// half-way, migrate without harm; each step is logged. Every method migrates
// first until that has succeeded once: a collector starts while ClickHouse is
// away, and its events wait in its write-ahead log.
//
//	events      ReplacingMergeTree, PARTITION BY toYYYYMM(day),
//	            ORDER BY (name, day, project, id): the reports filter by event
//	            name, then time, then project. One row per event: id
//	            FixedString(16) (the UUID's bytes, so that byte order is the
//	            text's order), time and received in Unix milliseconds (Int64),
//	            day the Date of time, the re-keyed IDs and the facts as String,
//	            cpus Int32, memory_mb Int64, ci/docker/wsl UInt8, build and
//	            properties as JSON text ("" when empty).
//	event_ids   ReplacingMergeTree ORDER BY id, filled by the materialized
//	            view event_ids_mv from every insert into events: the index
//	            that Existing, IDs, Stats and the deletions' counts read.
//	erasures    (project, erased_at): the erasures of every collector.
//
// # Idempotency across collectors
//
// Insert asks event_ids which IDs are stored and inserts the others, one
// Insert at a time per Store, so a collector never stores an ID twice and its
// "new" counts are exact. Two collectors draining the same event at the same
// moment (a client's retry sent to another collector) can both insert it:
// the tables replace such copies when they merge, and until then every read
// counts an ID once: Export keeps the first copy (ORDER BY time, id LIMIT 1
// BY id), Stats and the deletions count uniqExact(id), IDs and Existing read
// DISTINCT id. Merges are not awaited and FINAL is not used: FINAL only merges
// within a partition, and a retried event's copies can have times in two
// months; it is also single-threaded on 18.16. LIMIT 1 BY and DISTINCT hold
// the IDs of what they read in the server's memory (some 40 bytes an event):
// export a long window of a large database in pieces.
//
// An erasure (DELETE /api/v1/projects/{id}) on any collector is recorded in
// erasures (RecordErasure) before the deletion, and Insert drops the events of
// an erased project received up to the erasure: events still in another
// collector's log do not bring the project back.
//
// # Deletion and retention
//
// DeleteProject is an ALTER TABLE … DELETE mutation on events and event_ids
// (mutations exist since 1.1.54388, 2018), awaited by polling
// system.mutations (the setting mutations_sync came later), repeated while events
// received before a recorded erasure are still found. DeleteBefore drops the
// months wholly before the cut (DROP PARTITION, no rewrite) and deletes the
// rest of the cut's month with a mutation, only when it holds events to
// delete: on 18.16 a mutation rewrites every part of the table (later
// releases skip the parts it does not touch, and TTL, 19.6, would do
// retention by itself). An erasure is thus a rewrite of the table: cheap at a
// few erasures a day, not at thousands.
//
// # Server versions
//
// The minimum is ClickHouse 18.16 (Debian's clickhouse-server 18.16.1,
// protocol revision 54412), which the tests start; the schema and queries use
// only what every release since has. Avoided, with the release that brought
// each:
//
//   - DateTime64 (20.1): times are Int64 milliseconds, day a Date.
//   - LowCardinality (experimental behind a setting in 18.x), Map (21.1),
//     JSON (22.3, experimental): strings are String, build and properties
//     JSON text.
//   - Window functions (21.1, experimental), table TTL (19.6), the setting
//     mutations_sync and ALTER … DELETE IN PARTITION (later releases), data
//     skipping indices (experimental in 18.x): not used.
//   - Inline INSERT … VALUES over the native protocol: an 18.16 server waits
//     for data blocks after such a query, and clickhouse-go sends none; and an
//     INSERT without a column list gets an empty header from 18.16, so that
//     clickhouse-go's batch accepts no values ("expected 0 arguments"). Every
//     insert here is a batch with its column list.
//   - clickhouse-go negotiates the protocol down to the server's revision
//     (54412 on 18.16); query settings are then sent in the old binary form,
//     which takes integers and booleans only: the store sets none. Existing
//     sends the IDs it asks about as an external table (a native block), not
//     as literals the server would parse one by one (a tenth of the time for
//     5,000 IDs).
package clickhouse
