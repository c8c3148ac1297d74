package clickhouse

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
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

// clusterMigrations are the migrations of the sharded layout (URL parameter
// cluster=NAME), applied on every server of the cluster: the same tables,
// local to each shard as *_local, and Distributed tables under the plain
// names over them, sharded by the project, so that a project's events (and
// every copy of a retried event) are on one shard. {cluster} and {dbname}
// are the cluster's and the database's names. Version i here is version i of
// migrations.
var clusterMigrations = [][]string{
	{
		strings.Replace(migrations[0][0], "{db}.events (", "{db}.events_local (", 1),
		strings.Replace(migrations[0][1], "{db}.event_ids (", "{db}.event_ids_local (", 1),
		`CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.event_ids_mv TO {db}.event_ids_local
		AS SELECT id, day, time, received, project FROM {db}.events_local`,
		strings.Replace(migrations[0][3], "{db}.erasures (", "{db}.erasures_local (", 1),
		`CREATE TABLE IF NOT EXISTS {db}.events AS {db}.events_local
		ENGINE = Distributed({cluster}, '{dbname}', events_local, cityHash64(project))`,
		`CREATE TABLE IF NOT EXISTS {db}.event_ids AS {db}.event_ids_local
		ENGINE = Distributed({cluster}, '{dbname}', event_ids_local, cityHash64(project))`,
		`CREATE TABLE IF NOT EXISTS {db}.erasures AS {db}.erasures_local
		ENGINE = Distributed({cluster}, '{dbname}', erasures_local, cityHash64(project))`,
	},
}

// SchemaVersion is the version Migrate brings a database to.
var SchemaVersion = len(migrations)

// local is the name of table's data on one server: table itself, or its
// *_local table in the sharded layout.
func (s *Store) local(table string) string {
	if s.cluster != "" {
		return table + "_local"
	}
	return table
}

// Migrate creates the database and brings its schema to SchemaVersion,
// logging what it applies. It runs once per Store; methods call it first, so
// a store opened while the server was away migrates when it is back. In the
// sharded layout it migrates every server of the cluster, as listed in
// system.clusters (18.16's ON CLUSTER needs ZooKeeper, which a sharded
// layout without replicas does not have), each keeping its own
// schema_version.
func (s *Store) Migrate(ctx context.Context) error {
	s.migrateMu.Lock()
	defer s.migrateMu.Unlock()
	if s.migrated {
		return nil
	}
	if s.cluster == "" {
		if err := s.migrate(ctx, s.conn, "", migrations); err != nil {
			return err
		}
		s.hosts = []driver.Conn{s.conn}
		s.migrated = true
		return nil
	}
	if s.hosts == nil {
		hosts, err := s.clusterHosts(ctx)
		if err != nil {
			return err
		}
		s.hosts = hosts
	}
	for _, h := range s.hosts {
		if err := s.migrate(ctx, h, "", clusterMigrations); err != nil {
			return err
		}
	}
	s.migrated = true
	return nil
}

// clusterHosts connects to every server of the cluster, with the URL's
// user, password and options.
func (s *Store) clusterHosts(ctx context.Context) ([]driver.Conn, error) {
	rows, err := s.conn.Query(ctx, "SELECT host_address, port FROM system.clusters WHERE cluster = ? ORDER BY shard_num, replica_num", s.cluster)
	if err != nil {
		return nil, ctxErr(ctx, fmt.Errorf("cannot read the cluster %q from system.clusters: %w", s.cluster, err))
	}
	var addrs []string
	for rows.Next() {
		var host string
		var port uint16
		if err := rows.Scan(&host, &port); err != nil {
			rows.Close()
			return nil, fmt.Errorf("cannot read the cluster %q from system.clusters: %w", s.cluster, err)
		}
		addrs = append(addrs, net.JoinHostPort(host, strconv.Itoa(int(port))))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, ctxErr(ctx, fmt.Errorf("cannot read the cluster %q from system.clusters: %w", s.cluster, err))
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("cannot use the ClickHouse cluster %q: expected it in the server's remote_servers configuration (system.clusters has no such cluster)", s.cluster)
	}
	var hosts []driver.Conn
	for _, a := range addrs {
		o := *s.chOpts
		o.Addr = []string{a}
		c, err := ch.Open(&o)
		if err != nil {
			for _, h := range hosts {
				h.Close()
			}
			return nil, fmt.Errorf("cannot connect to the ClickHouse server %s of the cluster %q: %w", a, s.cluster, err)
		}
		hosts = append(hosts, &named{Conn: c, name: a})
	}
	return hosts, nil
}

// named is a connection to one server of a cluster, with its address for
// the migration's log and errors.
type named struct {
	driver.Conn
	name string
}

// migrate brings the schema of the database on one server to SchemaVersion.
func (s *Store) migrate(ctx context.Context, conn driver.Conn, host string, steps [][]string) error {
	q := func(stmt string) string {
		stmt = strings.ReplaceAll(stmt, "{db}", s.db)
		stmt = strings.ReplaceAll(stmt, "{dbname}", s.dbName)
		return strings.ReplaceAll(stmt, "{cluster}", s.cluster)
	}
	where := s.dbName
	if n, ok := conn.(*named); ok {
		host = n.name
		where = s.dbName + " on " + host
	}
	if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+s.db); err != nil {
		return ctxErr(ctx, fmt.Errorf("cannot create the ClickHouse database %q: %w", where, err))
	}
	if err := conn.Exec(ctx, q(`CREATE TABLE IF NOT EXISTS {db}.schema_version (
			version    UInt32,
			applied_at DateTime
		) ENGINE = ReplacingMergeTree() ORDER BY version`)); err != nil {
		return ctxErr(ctx, fmt.Errorf("cannot create the table schema_version in %q: %w", where, err))
	}
	var have uint32
	if err := conn.QueryRow(ctx, q("SELECT max(version) FROM {db}.schema_version")).Scan(&have); err != nil {
		return ctxErr(ctx, fmt.Errorf("cannot read the schema version of %q: %w", where, err))
	}
	if int(have) > len(steps) {
		return fmt.Errorf("cannot use the ClickHouse database %q: its schema is version %d, newer than this abacus knows (%d); upgrade abacus", where, have, len(steps))
	}
	for v := int(have); v < len(steps); v++ {
		start := time.Now()
		for _, stmt := range steps[v] {
			if err := conn.Exec(ctx, q(stmt)); err != nil {
				return ctxErr(ctx, fmt.Errorf("cannot migrate the ClickHouse schema of %q to version %d: %w", where, v+1, err))
			}
		}
		if err := insertRow(ctx, conn, q("INSERT INTO {db}.schema_version (version, applied_at)"), uint32(v+1), time.Now()); err != nil {
			return ctxErr(ctx, fmt.Errorf("cannot record the schema version %d of %q: %w", v+1, where, err))
		}
		s.logger.Info("migrated the ClickHouse schema", "database", s.dbName, "server", host, "from", v, "to", v+1, "took", time.Since(start).Round(time.Millisecond))
	}
	if int(have) == len(steps) {
		s.logger.Debug("the ClickHouse schema is current", "database", s.dbName, "server", host, "version", have)
	}
	return nil
}

// insertRow inserts one row with clickhouse-go's batch (the native protocol
// takes no inline VALUES from this driver: the server waits for blocks).
func (s *Store) insertRow(ctx context.Context, query string, values ...any) error {
	return insertRow(s.writeCtx(ctx), s.conn, query, values...)
}

// writeCtx sets what an insert needs: in the sharded layout, an insert into
// a Distributed table returns once every shard has its rows
// (insert_distributed_sync), not once they are queued on this server, so
// that what Insert reports stored is readable at once and not lost with this
// server's disk.
func (s *Store) writeCtx(ctx context.Context) context.Context {
	if s.cluster == "" {
		return ctx
	}
	return ch.Context(ctx, ch.WithSettings(ch.Settings{"insert_distributed_sync": 1}))
}

func insertRow(ctx context.Context, conn driver.Conn, query string, values ...any) error {
	b, err := conn.PrepareBatch(ctx, query)
	if err != nil {
		return err
	}
	defer b.Abort()
	if err := b.Append(values...); err != nil {
		return err
	}
	return b.Send()
}
