package duckdb

// schemaVersion is written to abacus_meta. Open migrates a file of version 1
// (no rollups) or 2 (no weekly rollups) and refuses any other version
// rather than guess.
const schemaVersion = "3"

// storageVersion is the DuckDB storage format a new file is created with:
// v1.5.0 enables DICT_FSST string compression (about 10% smaller files than
// the v0.10.2 default) and needs DuckDB 1.5 or newer to read the file.
const storageVersion = "v1.5.0"

// schema creates the tables on a new file. doc.go describes them; keep the two
// in step.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS abacus_meta (key VARCHAR NOT NULL, value VARCHAR NOT NULL)`,
	`CREATE SEQUENCE IF NOT EXISTS sources_seq START 1`,
	`CREATE TABLE IF NOT EXISTS sources (
		source_id       INTEGER NOT NULL,
		source_key      UUID NOT NULL,
		project_id      VARCHAR NOT NULL,
		machine_id      VARCHAR NOT NULL,
		product         VARCHAR,
		product_version VARCHAR,
		os              VARCHAR,
		os_version      VARCHAR,
		arch            VARCHAR,
		cpus            BIGINT NOT NULL,
		memory_mb       BIGINT NOT NULL,
		runtime         VARCHAR,
		runtime_version VARCHAR,
		ci              BOOLEAN NOT NULL,
		ci_name         VARCHAR,
		docker          BOOLEAN NOT NULL,
		wsl             BOOLEAN NOT NULL,
		sdk             VARCHAR,
		plugins         VARCHAR[],
		build           VARCHAR
	)`,
	`CREATE TABLE IF NOT EXISTS event_rows (
		id          UUID NOT NULL,
		time        TIMESTAMP_MS NOT NULL,
		received_at TIMESTAMP_MS NOT NULL,
		name        VARCHAR NOT NULL,
		source_id   INTEGER NOT NULL,
		session_id  VARCHAR,
		environment VARCHAR,
		properties  VARCHAR
	)`,
	`CREATE OR REPLACE VIEW events AS
	SELECT e.id, e.time, e.received_at, e.name,
		s.project_id, s.machine_id, e.session_id, e.environment,
		s.product, s.product_version,
		s.os, s.os_version, s.arch, s.cpus, s.memory_mb,
		s.runtime, s.runtime_version, s.ci, s.ci_name, s.docker, s.wsl, s.sdk,
		s.plugins, s.build, e.properties
	FROM event_rows e JOIN sources s USING (source_id)`,
	// Version 2: the daily rollups (rollup.go) and the project numbers.
	`CREATE SEQUENCE IF NOT EXISTS projects_seq START 1`,
	`CREATE TABLE IF NOT EXISTS projects (
		project_id VARCHAR NOT NULL,
		pn         INTEGER NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS day_projects (
		day    INTEGER NOT NULL,
		pn     INTEGER NOT NULL,
		events BIGINT NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS day_sources (
		day         INTEGER NOT NULL,
		source_id   INTEGER NOT NULL,
		pn          INTEGER NOT NULL,
		environment VARCHAR,
		events      BIGINT NOT NULL,
		first       TIMESTAMP_MS NOT NULL,
		last        TIMESTAMP_MS NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS day_names (
		day       INTEGER NOT NULL,
		source_id INTEGER NOT NULL,
		pn        INTEGER NOT NULL,
		name      VARCHAR NOT NULL,
		feature   VARCHAR,
		code      VARCHAR,
		events    BIGINT NOT NULL,
		first     TIMESTAMP_MS NOT NULL,
		last      TIMESTAMP_MS NOT NULL
	)`,
	// Version 3: the weekly rollups, the same sums per week (weeks since
	// the Monday 1969-12-29: week w starts on day 7w−3), of the weeks in
	// week_sealed only.
	`CREATE TABLE IF NOT EXISTS week_sealed (week INTEGER NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS week_projects (
		week   INTEGER NOT NULL,
		pn     INTEGER NOT NULL,
		events BIGINT NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS week_sources (
		week        INTEGER NOT NULL,
		source_id   INTEGER NOT NULL,
		pn          INTEGER NOT NULL,
		environment VARCHAR,
		events      BIGINT NOT NULL,
		first       TIMESTAMP_MS NOT NULL,
		last        TIMESTAMP_MS NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS week_names (
		week      INTEGER NOT NULL,
		source_id INTEGER NOT NULL,
		pn        INTEGER NOT NULL,
		name      VARCHAR NOT NULL,
		feature   VARCHAR,
		code      VARCHAR,
		events    BIGINT NOT NULL,
		first     TIMESTAMP_MS NOT NULL,
		last      TIMESTAMP_MS NOT NULL
	)`,
}

// staging holds one Insert's rows on the writer's connection; temporary
// tables live in memory and vanish with the connection. stage_ids holds
// the IDs of a batch that may be stored, for the rollups.
var staging = []string{
	`CREATE OR REPLACE TEMP TABLE stage_ids (id UUID)`,
	`CREATE OR REPLACE TEMP TABLE stage_events (
		id          UUID,
		time        TIMESTAMP_MS,
		received_at TIMESTAMP_MS,
		name        VARCHAR,
		source_id   INTEGER,
		session_id  VARCHAR,
		environment VARCHAR,
		properties  VARCHAR
	)`,
	`CREATE OR REPLACE TEMP TABLE stage_sources (
		source_key      UUID,
		project_id      VARCHAR,
		machine_id      VARCHAR,
		product         VARCHAR,
		product_version VARCHAR,
		os              VARCHAR,
		os_version      VARCHAR,
		arch            VARCHAR,
		cpus            BIGINT,
		memory_mb       BIGINT,
		runtime         VARCHAR,
		runtime_version VARCHAR,
		ci              BOOLEAN,
		ci_name         VARCHAR,
		docker          BOOLEAN,
		wsl             BOOLEAN,
		sdk             VARCHAR,
		plugins         VARCHAR[],
		build           VARCHAR
	)`,
}

// insertSources adds the staged sources not stored yet, numbering them from
// the sequence.
const insertSources = `INSERT INTO sources
	SELECT nextval('sources_seq')::INTEGER, n.*
	FROM stage_sources n
	WHERE NOT EXISTS (SELECT 1 FROM sources s WHERE s.source_key = n.source_key)`

// stagedSourceIDs reads the IDs of the staged sources, once they are stored.
const stagedSourceIDs = `SELECT source_key, source_id FROM sources
	WHERE source_key IN (SELECT source_key FROM stage_sources)`

// insertEvents adds the staged events whose IDs are not stored, in ID order
// (v7 IDs are time-ordered: neighbouring rows then have neighbouring times,
// which compresses better and keeps the zone maps of id and time narrow).
// The %s is a BETWEEN on the batch's lowest and highest ID, so that the
// anti-join reads only the row groups whose ID range overlaps the batch.
const insertEvents = `INSERT INTO event_rows
	SELECT n.id, n.time, n.received_at, n.name, n.source_id, n.session_id, n.environment, n.properties
	FROM stage_events n
	WHERE NOT EXISTS (SELECT 1 FROM event_rows e WHERE e.id = n.id AND e.id BETWEEN %s AND %s)
	ORDER BY n.id`

// A batch whose IDs are surely not stored (none is in the filter of stored
// IDs) is appended to event_rows directly, sorted by ID in Go: no staging,
// no anti-join.

// exportSources reads the sources of the events in a time window.
const exportSources = `SELECT source_id, project_id, machine_id, product, product_version,
		os, os_version, arch, cpus, memory_mb,
		runtime, runtime_version, ci, ci_name, docker, wsl, sdk, plugins, build
	FROM sources
	WHERE source_id IN (SELECT source_id FROM event_rows WHERE time >= ? AND time < ?)`

// exportQuery reads the events of a time window in Export's order.
const exportQuery = `SELECT id, name, time, received_at, source_id, session_id, environment, properties
	FROM event_rows
	WHERE time >= ? AND time < ?
	ORDER BY time, id`
