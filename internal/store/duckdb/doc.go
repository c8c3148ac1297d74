// Package duckdb is the embedded store: every event in one DuckDB file in the
// data directory (github.com/duckdb/duckdb-go/v2, cgo, DuckDB 1.5).
//
//	s, err := duckdb.Open(filepath.Join(dataDir, "events.duckdb"), duckdb.Options{})
//
// *Store implements store.Store. DB returns the *sql.DB, for reports that read
// the schema below in SQL; they must not write.
//
// # Schema
//
// Reports read the view events, one row per event:
//
//	column           type          NULL when         what
//	id               UUID                            client-chosen event ID (the idempotency key)
//	time             TIMESTAMP_MS                    when it happened, skew-corrected, UTC
//	received_at      TIMESTAMP_MS                    when the collector accepted it, UTC
//	name             VARCHAR                         event name from the plan
//	project_id       VARCHAR                         re-keyed project ID, 32 hex characters
//	machine_id       VARCHAR                         re-keyed machine ID, 32 hex characters
//	session_id       VARCHAR       no session        re-keyed session ID
//	environment      VARCHAR       empty             development, staging, production, test, other
//	product          VARCHAR       empty             product name
//	product_version  VARCHAR       empty
//	os               VARCHAR       empty             linux, darwin, windows, …
//	os_version       VARCHAR       empty
//	arch             VARCHAR       empty
//	cpus             BIGINT                          0 when unknown
//	memory_mb        BIGINT                          0 when unknown
//	runtime          VARCHAR       empty             node, …
//	runtime_version  VARCHAR       empty
//	ci               BOOLEAN
//	ci_name          VARCHAR       empty
//	docker           BOOLEAN
//	wsl              BOOLEAN
//	sdk              VARCHAR       empty
//	plugins          VARCHAR[]     no such key       build.plugins when it is a list of strings
//	build            VARCHAR       no other keys     JSON object: the other build keys
//	properties       VARCHAR       no properties     JSON object: the event's properties
//
// Empty strings are stored as NULL (Export turns them back into "").
// build and properties are JSON text with sorted keys; integers are written
// without a decimal point and floats always with one or an exponent (3.0, not
// 3), so both SQL and Go get the plan's types back:
//
//	SELECT (properties->>'durationMs')::BIGINT FROM events WHERE name = 'didStartServer'
//	SELECT (build->>'typescript')::BOOLEAN, count(DISTINCT project_id) FROM events GROUP BY ALL
//	SELECT p, count(DISTINCT project_id) FROM (SELECT unnest(plugins) AS p, project_id FROM events) GROUP BY p
//
// Times are whole milliseconds (the wire format's precision). Compare time
// with bound parameters (?) or TIMESTAMP_MS '2026-01-10' literals: DuckDB
// then skips the row groups outside the range by their min/max (one day of
// a 1M-event file: 2.5 ms). A TIMESTAMP '…' literal gives the same rows but
// casts the column and reads every row group (10 ms).
//
// The view joins two tables. event_rows holds what changes with every event:
//
//	event_rows(id UUID, time TIMESTAMP_MS, received_at TIMESTAMP_MS, name VARCHAR,
//	           source_id INTEGER, session_id VARCHAR, environment VARCHAR, properties VARCHAR)
//
// sources holds what an event's machine and project say about themselves,
// once for each distinct combination (about one row per machine and project
// pair, plus one per upgrade or build change):
//
//	sources(source_id INTEGER, source_key UUID, project_id VARCHAR, machine_id VARCHAR,
//	        product, product_version, os, os_version, arch VARCHAR, cpus, memory_mb BIGINT,
//	        runtime, runtime_version VARCHAR, ci BOOLEAN, ci_name VARCHAR, docker, wsl BOOLEAN,
//	        sdk VARCHAR, plugins VARCHAR[], build VARCHAR)
//
// source_key is the first 128 bits of SHA-256 over all of a source's fields;
// source_id a dense number from the sequence sources_seq. Reports about
// projects or machines (plugins per project, runtime versions in production
// machines) can read sources directly, or join it to event_rows themselves.
// abacus_meta(key, value) holds the schema version (3); Open migrates a
// file of version 1 (its rollups are made from its events: 35 s for 10M
// events at 64 MB and one thread on this project's machine) or 2 (its
// weekly rollups from its daily ones: 6 s) and refuses any other version.
//
// # Rollups
//
// Reports that need no single event read tables of per-day and per-week
// sums instead of event_rows, several times smaller and free of JSON:
//
//	day_projects(day INTEGER, pn INTEGER, events BIGINT)
//	day_sources(day INTEGER, source_id INTEGER, pn INTEGER, environment VARCHAR,
//	            events BIGINT, first TIMESTAMP_MS, last TIMESTAMP_MS)
//	day_names(day INTEGER, source_id INTEGER, pn INTEGER, name VARCHAR,
//	          feature VARCHAR, code VARCHAR, events BIGINT, first TIMESTAMP_MS, last TIMESTAMP_MS)
//	week_projects, week_sources, week_names: the same with week for day
//	week_sealed(week INTEGER): the weeks the weekly tables hold
//	projects(project_id VARCHAR, pn INTEGER)
//
// day is (time::DATE - DATE '1970-01-01'), the UTC day; week is
// (day + 3) // 7, weeks starting on Mondays (week w starts on day 7w−3).
// events, first and last are the count, min(time) and max(time) of the
// events of the key; feature and code are the properties of those names
// when they are JSON strings (NULL otherwise); pn is the project's number
// in projects (from the sequence projects_seq, never reused). At 10M events
// of 50k projects over 180 days the daily tables hold 1.7M, 2.9M and 7.3M
// rows, the weekly ones 0.3M, 0.6M and 3.1M: a window reads the weekly
// rows of its sealed weeks and the daily rows of its other days.
//
// A key's sums may be spread over several rows (each Insert appends its
// own): read them with sum(events), min(first), max(last) grouped by the
// key, or count distinct values. The daily tables are exact in every
// snapshot: Insert appends the batch's sums (computed in Go while it
// prepares the batch, leaving out events already stored) in its own
// transaction; DeleteProject removes the project's rows and number;
// DeleteBefore removes the days before its time and makes that day again
// from the events left. The writer merges a day's rows into one per key, in
// a transaction of its own after an Insert, once the rows appended since
// its last merge reach 50,000 and half its rows then: a constant cost per
// event however large a day grows. The weekly tables are exact for the
// weeks in week_sealed: at Open, at most once a minute after an Insert, and
// at every Checkpoint, the writer makes the rows of each week that is over
// (UTC) and not sealed from its days and seals it, in a transaction per
// week (one aggregation of the week's daily rows: 0.6 µs an event at 64 MB
// and one thread); an Insert with events of a sealed week unseals it in
// its transaction, and DeleteBefore unseals the week of its time. Merged
// days and the weeks are written by name within their period, so that a
// query for a few names reads their vectors only. Checkpoint also checks that the
// daily tables sum to the events of event_rows and rebuilds every rollup
// when not (rows written around the store, as a test's generator does).
//
// # Writes
//
// When a batch has an ID that may be stored, Insert appends it with DuckDB's
// appender to a temporary table of the writer's connection, then, in the same
// transaction, copies the events whose IDs are not stored, in ID order:
//
//	INSERT INTO event_rows SELECT … FROM stage_events n
//	WHERE NOT EXISTS (SELECT 1 FROM event_rows e WHERE e.id = n.id AND e.id BETWEEN lo AND hi)
//	ORDER BY n.id
//
// lo and hi are the batch's lowest and highest IDs: event IDs are version-7
// UUIDs, which start with their time, so DuckDB reads only the row groups
// whose ID range overlaps the batch (a 10k batch read 657 stored IDs of
// a million when events arrive soon after they happen; when a batch's IDs
// span the last hour, it reads the id column of most of the recent table).
// So idempotency needs no index. IDs of another version are still
// deduplicated, only with more of the table read.
//
// Most batches skip that anti-join and the staging table: the filter of
// stored IDs (internal/store/idfilter: 4 bytes an ID, 16 MiB at least, made
// at the first Insert or Existing, filled after each COMMIT, no false
// negatives) tells, for a batch of new events, that none is stored, and the
// batch, sorted by ID in Go, is appended straight to event_rows in the
// transaction. When the filter holds more IDs than it was made for, one
// twice as large is filled in the background from the table while Inserts go
// on (each adds its IDs to both), then takes its place; up to 256 MiB (64 M
// IDs), past which more and more batches take the anti-join. Existing asks
// the filter first, so the collector's lookups of new IDs read nothing:
// without it, each lookup read the id column of most of the table, and at a
// few million events those lookups took the whole machine.
//
// A cache of source_key to source_id (up to 262,144 entries; deletes empty it)
// gives each staged event its source_id; only the sources missing from it are
// staged, added when not stored (INSERT … WHERE NOT EXISTS on source_key) and
// read back. Writes (Insert, the deletes, Checkpoint) take turns on one
// connection; reads run in parallel on the pool and see each write whole or
// not at all.
//
// Insert takes batches of any size in one transaction (the staging tables are
// in memory). Each call costs about 6 ms plus 7 µs an
// event, and about 4 ms and 3.5 µs an event more for the rollups' sums
// (below), so give it thousands of events at a time. DuckDB checkpoints by
// itself when its write-ahead log passes 16 MB (about every 100k events); the
// Insert that triggers it takes a few hundred milliseconds longer.
//
// DeleteProject and DeleteBefore remove the events and the sources no event
// uses any more, then CHECKPOINT so that the deletion is written into the file
// and DuckDB can rewrite the row groups that lost rows. The file does not
// shrink: DuckDB reuses the freed blocks, and until it does they may still hold
// the deleted values. Compact removes them: it copies the database (COPY FROM
// DATABASE: tables, sequences at their current values, the view) into a fresh
// file and swaps it in, holding writes for the copy and holding new
// connections (the DB() pool included) only while the files are swapped.
// Open finishes or undoes a swap a crash interrupted (events.duckdb.compact,
// events.duckdb.old). DuckDB stores a UUID as a 128-bit integer with the top
// bit flipped, little endian; compact_test.go searches the files for both
// that form and the text of deleted IDs.
//
// Close stops Export and IDs calls in progress (they return store.ErrClosed),
// waits for the writes in progress, checkpoints and closes the file, which
// then opens again in about 15 ms at a million events.
//
// # Measurements
//
// On this project's 2-core machine, with storetest.Generator's population
// (2000 projects, 5000 machines, sessions of 2-21 events sent 1-4 at a time,
// 1% from the offline spool, v7 IDs, 0-6 of 20 plugins), inserting in 10k
// batches, after CHECKPOINT (go test -bench Growth):
//
//	                                      1M events         3M events
//	bytes per event (file size)           33.8 B            30.0 B
//	Insert of 10k new events              64 ms at 100k     73 ms at 3M
//	                                      73 ms at 1M       (p50 59 ms, max 435 ms)
//	Insert of 10k stored events (replay)  44 ms             54 ms
//	Existing for 1000 recent IDs          13 ms             18 ms
//	Export of everything                  3.7 s             13 s
//	Open / Close                          17 ms / 30 ms     13 ms / 36 ms
//	DeleteProject (with CHECKPOINT)       14 ms             17 ms
//	DuckDB memory afterwards              29 MiB            85 MiB
//
// Insert into 100k events: 7 ms for 100 events, 15 ms for 1000, 72 ms for
// 10k. The machine is shared: runs while other builds used it measured up to
// twice these times. These measurements predate the rollups (schema
// version 3), which took an Insert of 10k new events from 63–76 to 98–106
// ms (two rounds) and the 1M-event file from 29.1 to 45.4 bytes per event
// (BENCHMARKS.md): on this population nearly every event is the only one of
// its source, name and day.
//
// The alternatives, measured for 1M events of the same population with a
// scratch harness (file bytes per event after CHECKPOINT; each "…" line
// changes one thing from the line marked base):
//
//	one wide table, UUID id, rows in arrival order                     45.1 B
//	  … rows of each batch in ID order (≈ time order for v7)   (base)   42.7 B
//	  … storage format v0.10.2 (the default) instead of v1.5.0          47.2 B
//	  … id VARCHAR instead of UUID (dictionary+FSST: 20 B for the id)   61.6 B
//	  … project/machine/session IDs as UUID (16 B each, no dictionary)  69.7 B
//	  … time, received_at as TIMESTAMP (µs) instead of TIMESTAMP_MS     45.4 B
//	  … plugins kept in the build JSON instead of a VARCHAR[] column    40.4 B
//	  … id UUID PRIMARY KEY + INSERT OR IGNORE (ART index on disk)      107 B, and 10k inserts of 0.5-2.2 s at 1M
//	events + sources (this schema)                                       33-34 B
//
// In the wide table the id column alone takes 13 B per event (74 random bits
// per v7 UUID cannot compress), the two timestamps 5 B, the three 32-hex IDs
// 2-3.5 B each (dictionary), and the machine and project facts 8 B together
// although they change only with the machine or the project: moving them to
// sources leaves a 2-byte source_id per event. ENUM columns were not needed:
// DuckDB's dictionary compression stores a column of ten values in under a
// byte per event, and takes new values without a schema change. build and
// properties stay JSON text because their keys come from the tracking plan
// at run time; their distinct values compress into a dictionary.
//
// New files are written in DuckDB storage format v1.5.0 (DICT_FSST string
// compression); such a file needs DuckDB 1.5 or newer.
package duckdb
