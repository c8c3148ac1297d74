package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// migrations are the schema's versions, in order: migration i brings the
// schema from version i to i+1. Each statement is idempotent (IF NOT EXISTS),
// so collectors starting at once, or a start that died half-way, apply them
// again without harm. A released migration is never edited: a change is a new
// one at the end.
var migrations = [][]string{
	// 1: events, the ID index that keeps inserts idempotent, and erasures.
	{
		`CREATE TABLE IF NOT EXISTS {db}.events (
			id              FixedString(16),
			name            String,
			time            Int64,
			received        Int64,
			day             Date,
			project         String,
			machine         String,
			session         String,
			environment     String,
			product         String,
			product_version String,
			os              String,
			os_version      String,
			arch            String,
			cpus            Int32,
			memory_mb       Int64,
			runtime         String,
			runtime_version String,
			ci              UInt8,
			ci_name         String,
			docker          UInt8,
			wsl             UInt8,
			sdk             String,
			build           String,
			properties      String
		) ENGINE = ReplacingMergeTree()
		PARTITION BY toYYYYMM(day)
		ORDER BY (name, day, project, id)`,
		`CREATE TABLE IF NOT EXISTS {db}.event_ids (
			id       FixedString(16),
			day      Date,
			time     Int64,
			received Int64,
			project  String
		) ENGINE = ReplacingMergeTree()
		PARTITION BY toYYYYMM(day)
		ORDER BY id`,
		`CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.event_ids_mv TO {db}.event_ids
		AS SELECT id, day, time, received, project FROM {db}.events`,
		`CREATE TABLE IF NOT EXISTS {db}.erasures (
			project   String,
			erased_at Int64
		) ENGINE = ReplacingMergeTree()
		ORDER BY (project, erased_at)`,
	},
}

// SchemaVersion is the version Migrate brings a database to.
var SchemaVersion = len(migrations)

// Migrate creates the database and brings its schema to SchemaVersion,
// logging what it applies. It runs once per Store; methods call it first, so
// a store opened while the server was away migrates when it is back.
func (s *Store) Migrate(ctx context.Context) error {
	s.migrateMu.Lock()
	defer s.migrateMu.Unlock()
	if s.migrated {
		return nil
	}
	q := func(stmt string) string { return strings.ReplaceAll(stmt, "{db}", s.db) }
	if err := s.conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+s.db); err != nil {
		return ctxErr(ctx, fmt.Errorf("cannot create the ClickHouse database %q: %w", s.dbName, err))
	}
	if err := s.conn.Exec(ctx, q(`CREATE TABLE IF NOT EXISTS {db}.schema_version (
			version    UInt32,
			applied_at DateTime
		) ENGINE = ReplacingMergeTree() ORDER BY version`)); err != nil {
		return ctxErr(ctx, fmt.Errorf("cannot create the table %s.schema_version: %w", s.dbName, err))
	}
	var have uint32
	if err := s.conn.QueryRow(ctx, q("SELECT max(version) FROM {db}.schema_version")).Scan(&have); err != nil {
		return ctxErr(ctx, fmt.Errorf("cannot read the schema version of %q: %w", s.dbName, err))
	}
	if int(have) > len(migrations) {
		return fmt.Errorf("cannot use the ClickHouse database %q: its schema is version %d, newer than this abacus knows (%d); upgrade abacus", s.dbName, have, len(migrations))
	}
	for v := int(have); v < len(migrations); v++ {
		start := time.Now()
		for _, stmt := range migrations[v] {
			if err := s.conn.Exec(ctx, q(stmt)); err != nil {
				return ctxErr(ctx, fmt.Errorf("cannot migrate the ClickHouse schema of %q to version %d: %w", s.dbName, v+1, err))
			}
		}
		if err := s.insertRow(ctx, q("INSERT INTO {db}.schema_version (version, applied_at)"), uint32(v+1), time.Now()); err != nil {
			return ctxErr(ctx, fmt.Errorf("cannot record the schema version %d of %q: %w", v+1, s.dbName, err))
		}
		s.logger.Info("migrated the ClickHouse schema", "database", s.dbName, "from", v, "to", v+1, "took", time.Since(start).Round(time.Millisecond))
	}
	if int(have) == len(migrations) {
		s.logger.Debug("the ClickHouse schema is current", "database", s.dbName, "version", have)
	}
	s.migrated = true
	return nil
}

// insertRow inserts one row with clickhouse-go's batch (the native protocol
// takes no inline VALUES from this driver: the server waits for blocks).
func (s *Store) insertRow(ctx context.Context, query string, values ...any) error {
	b, err := s.conn.PrepareBatch(ctx, query)
	if err != nil {
		return err
	}
	defer b.Abort()
	if err := b.Append(values...); err != nil {
		return err
	}
	return b.Send()
}
