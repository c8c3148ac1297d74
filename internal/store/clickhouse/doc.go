// Package clickhouse is the store for running at scale: many collectors, each
// draining its write-ahead log into one ClickHouse database over the native
// protocol (github.com/ClickHouse/clickhouse-go/v2).
//
//	s, err := clickhouse.Open("clickhouse://127.0.0.1:9000/abacus", clickhouse.Options{})
//
// *Store implements store.Store; `abacus serve --store clickhouse://…` selects
// it. The URL's parameters (dial_timeout, read_timeout, max_open_conns,
// max_idle_conns, conn_max_lifetime, secure, ca_file, skip_verify, compress) set the
// connection pool, its timeouts and TLS, and cluster the sharded layout; see
// ParseURL.
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
// "new" counts are exact.
//
// Existing, which the collector asks on the request path for every batch (to
// count the 202's duplicates and keep repeats out of its write-ahead log),
// does not ask the table about every ID: each Store keeps a filter of the
// IDs it has seen stored (those its Inserts stored or found stored: package
// store/idfilter, two generations of 4 million IDs, 32 MiB), asks event_ids
// only about the IDs the filter may hold, and reports the others as not
// stored. An ID that only another collector stored (a client's retry sent
// to a second collector), or that this one stored longer ago than its
// filter remembers or before it restarted, is thus reported as new: the
// event goes to the log once more, the 202 counts it as accepted instead of
// duplicate, and Insert, which asks the table about every ID, drops it.
// Nothing else relies on Existing: the collector already treats a failed
// Existing (ClickHouse away) the same way, Insert's check is what keeps
// copies out, and the reads below count each ID once when two collectors
// insert the same event at once. Asking the table instead cost a query per
// request whose reads grow with the table (the batch's IDs are spread over
// the ID index: up to a granule of 8,192 IDs per ID asked, per part); in
// bench/ingest that held ingest into ClickHouse to 17 % of DuckDB's. Two collectors draining the same event at the same
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
// # A sharded cluster
//
// With the URL parameter cluster=NAME (a cluster of the servers'
// remote_servers configuration) the store keeps its data on every shard of
// the cluster:
//
//	events_local, event_ids_local, erasures_local, event_ids_mv
//	            the tables above, on every server of the cluster
//	events, event_ids, erasures
//	            Distributed(NAME, db, <table>_local, cityHash64(project))
//
// Migrate reads the cluster's servers from system.clusters and creates the
// tables on each (ON CLUSTER needs ZooKeeper, which a cluster of shards
// without replicas does not have), each server keeping its own
// schema_version; a collector can then enter the cluster by any of its
// servers. Inserts and reads go through the Distributed tables; inserts with
// insert_distributed_sync=1, so that Insert returns once every shard has
// its rows (a shard away fails the Insert, and the events wait in the
// write-ahead log) rather than once they are queued on the entry server.
// Existing asks the local ID index of every server in turn (through the
// Distributed table it would need GLOBAL IN, which 18.16 answers without
// the primary key). Mutations (DeleteProject, DeleteBefore), DROP PARTITION and
// the size in Stats go to the local tables of every server.
//
// The sharding key is the project: a project's events are on one shard, so
// per-project work (erasure, the reports' distinct projects) stays on one
// shard and distinct projects per shard add up to the cluster's. It is also
// what keeps the de-duplication of copies whole: a copy of an event stored
// by a second collector (a client's retry) has the same project, so it lands
// on the shard of the first copy, where the ReplacingMergeTree's merges
// replace it; the reads that count an ID once (LIMIT 1 BY id, uniqExact(id),
// DISTINCT id) would count it once across shards too, as they finish on the
// entry server, but copies on two shards would never merge away.
// TestCluster runs the store contract on two servers as two shards and
// shows both copies of each event on one shard.
//
// # A replicated cluster
//
// For replicas, create the tables before the first collector starts, with
// ZooKeeper or ClickHouse Keeper configured (the <zookeeper> section), the
// macros {shard} and {replica} set on each server, and
// <internal_replication>true</internal_replication> on each shard of
// remote_servers (the Distributed table writes one replica; replication
// copies it). The store's migration then finds the tables (IF NOT EXISTS)
// and records the schema version on every server:
//
//	CREATE DATABASE IF NOT EXISTS abacus ON CLUSTER abacus;
//	CREATE TABLE IF NOT EXISTS abacus.events_local ON CLUSTER abacus (
//	    id FixedString(16), name String, time Int64, received Int64, day Date,
//	    project String, machine String, session String, environment String,
//	    product String, product_version String, os String, os_version String,
//	    arch String, cpus Int32, memory_mb Int64, runtime String,
//	    runtime_version String, ci UInt8, ci_name String, docker UInt8,
//	    wsl UInt8, sdk String, build String, properties String
//	) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/abacus/events_local', '{replica}')
//	PARTITION BY toYYYYMM(day) ORDER BY (name, day, project, id);
//	CREATE TABLE IF NOT EXISTS abacus.event_ids_local ON CLUSTER abacus (
//	    id FixedString(16), day Date, time Int64, received Int64, project String
//	) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/abacus/event_ids_local', '{replica}')
//	PARTITION BY toYYYYMM(day) ORDER BY id;
//	CREATE MATERIALIZED VIEW IF NOT EXISTS abacus.event_ids_mv ON CLUSTER abacus
//	TO abacus.event_ids_local
//	AS SELECT id, day, time, received, project FROM abacus.events_local;
//	CREATE TABLE IF NOT EXISTS abacus.erasures_local ON CLUSTER abacus (
//	    project String, erased_at Int64
//	) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/abacus/erasures_local', '{replica}')
//	ORDER BY (project, erased_at);
//	CREATE TABLE IF NOT EXISTS abacus.events ON CLUSTER abacus AS abacus.events_local
//	ENGINE = Distributed(abacus, 'abacus', events_local, cityHash64(project));
//	CREATE TABLE IF NOT EXISTS abacus.event_ids ON CLUSTER abacus AS abacus.event_ids_local
//	ENGINE = Distributed(abacus, 'abacus', event_ids_local, cityHash64(project));
//	CREATE TABLE IF NOT EXISTS abacus.erasures ON CLUSTER abacus AS abacus.erasures_local
//	ENGINE = Distributed(abacus, 'abacus', erasures_local, cityHash64(project));
//
// and start the collectors with ?cluster=abacus. The materialized view runs
// on the replica an insert reaches; the ID index replicates like the events.
// The store sends its mutations and DROP PARTITION to every server listed
// in system.clusters: on replicated tables the first replicates itself and
// the others repeat it, which is harmless and costs a rewrite each. The
// replicated layout is not started by the tests (they run no ZooKeeper).
//
// # Reports
//
// Reports returns the insights.Backend over the store: the reports'
// aggregations in reports.go, written for 18.16 (nested subqueries instead of
// WITH, uniqExactIf and countIf instead of FILTER, JOINs with ALL spelt out,
// the visitParam functions to read build and properties, which Insert writes
// as flat JSON objects). Distinct projects are uniqExact(project) and events
// uniqExact(id), so copies of an event count once. TestReportsEquivalence
// loads the simulated population into DuckDB and into ClickHouse (one
// server, and two shards), stores a tenth of the events twice in ClickHouse,
// and requires every report's JSON to be the same for several windows,
// cohorts and k.
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
