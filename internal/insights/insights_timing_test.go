package insights

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/plan"
	"github.com/abacushq/abacus/internal/store/duckdb"
)

// The benchmark population: benchProjects projects over benchDays days ending
// at benchEnd, benchEvents events, shaped like internal/simulate's (see
// genSQL), generated once in SQL into a DuckDB file under os.TempDir() and
// reused by later runs. atScale is five times as many of both, for the
// comparison with ClickHouse (clickhouse_bench_test.go).
const (
	benchProjects = 50000
	benchDays     = 180
	benchEvents   = 10_000_000
	benchVersion  = 1 // bump when genSQL changes: the file name changes with it
)

// benchSet is the size of a benchmark population.
type benchSet struct{ projects, events int }

var (
	benchEnd = time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	bench10M = benchSet{benchProjects, benchEvents}
	atScale  = benchSet{5 * benchProjects, 5 * benchEvents}
)

func (set benchSet) path() string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("abacus-insights-bench-v%d-%dp-%de.duckdb", benchVersion, set.projects, set.events))
}

// openBenchStore opens the 10M-event benchmark file, generating it first
// when it is missing (about 20 s on two cores).
func openBenchStore(tb testing.TB) *duckdb.Store { return openBenchSet(tb, bench10M) }

func openBenchSet(tb testing.TB, set benchSet) *duckdb.Store {
	tb.Helper()
	path := set.path()
	if _, err := os.Stat(path); err != nil {
		tmp := path + ".tmp"
		os.Remove(tmp)
		os.Remove(tmp + ".wal")
		start := time.Now()
		if err := generate(tmp, set); err != nil {
			tb.Fatalf("generate %s: %v", tmp, err)
		}
		if err := os.Rename(tmp, path); err != nil {
			tb.Fatal(err)
		}
		tb.Logf("generated %s in %v", path, time.Since(start).Round(time.Second))
	}
	s, err := duckdb.Open(path, serveDefaults)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// serveDefaults are the store options of abacus serve's defaults
// (--store-memory 64MB, --store-threads 1): the benchmarks measure what users
// get.
var serveDefaults = duckdb.Options{MemoryLimit: "64MB", Threads: 1}

// generate writes the population straight into the store's tables with
// INSERT … SELECT (a private file: the only writer), several times faster
// than building 10M store.Events and inserting them at 7 µs an event.
func generate(path string, set benchSet) error {
	s, err := duckdb.Open(path, duckdb.Options{MemoryLimit: "6GB"})
	if err != nil {
		return err
	}
	ctx := context.Background()
	conn, err := s.DB().Conn(ctx)
	if err != nil {
		s.Close()
		return err
	}
	for _, q := range genSQL(set) {
		t := time.Now()
		if _, err := conn.ExecContext(ctx, q); err != nil {
			conn.Close()
			s.Close()
			return fmt.Errorf("%w\n%s", err, q)
		}
		if testing.Verbose() {
			fmt.Fprintf(os.Stderr, "gen %v: %.60s\n", time.Since(t).Round(time.Millisecond), q)
		}
	}
	conn.Close()
	if err := s.Checkpoint(ctx); err != nil {
		s.Close()
		return err
	}
	return s.Close()
}

// genSQL builds the population with the effects internal/simulate plants:
// releases users carry seo 3× as often, windows setups of the last 14 days
// have a longer upper tail, node 16 fades, E_ADMIN_BUILD_CRASH only on 5.4.0.
// Random numbers are hashes of row numbers, so every run generates the same
// population (only the event IDs and source keys are random UUIDs).
func genSQL(set benchSet) []string {
	end := benchEnd.UnixMilli()
	start := benchEnd.AddDate(0, 0, -benchDays).UnixMilli()
	day := int64(24 * time.Hour / time.Millisecond)
	return []string{
		`CREATE OR REPLACE TEMP MACRO u(a, b) AS ((hash(a::BIGINT * 1000003 + b) % 1000000007)::DOUBLE / 1000000007)`,
		`CREATE OR REPLACE TEMP MACRO pickw(x, vals, cum) AS (vals[list_position([x < c FOR c IN cum], true)])`,
		`CREATE OR REPLACE TEMP TABLE g_rel AS SELECT * FROM (VALUES
			('4.25.9', 4, 240), ('4.25.11', 4, 150), ('4.25.12', 4, 100), ('4.25.13', 4, 60), ('4.25.14', 4, 27),
			('5.0.0', 5, 400), ('5.0.6', 5, 112), ('5.1.0', 5, 98), ('5.1.1', 5, 88), ('5.2.0', 5, 74),
			('5.3.0', 5, 56), ('5.3.1', 5, 45), ('5.3.2', 5, 34), ('5.4.0', 5, 21)) t(version, line, days)`,
		fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE g_rel2 AS SELECT version, line, %d - days::BIGINT * %d AS rel_ms FROM g_rel`, end, day),
		// Projects.
		fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE g_p AS
		WITH b AS (
			SELECT p, %[1]d + (%[3]d * %[4]d::BIGINT * sqrt(u(p, 1)))::BIGINT AS created,
				u(p, 2) < 0.08 AS fail,
				CASE WHEN u(p, 3) < 0.25 THEN 3 * u(p, 4) ELSE -150 * ln(1 - u(p, 4)) END AS life_days,
				u(p, 5) AS ru, u(p, 6) < 0.07 AS line4,
				sqrt(-2 * ln(1 - u(p, 8))) * cos(2 * pi() * u(p, 9)) AS z,
				u(p, 7) < 0.45 AS susceptible,
				u(p, 30) < 0.22 AS releases,
				u(p, 31) < 0.22 AS graphql
			FROM range(%[5]d) t(p)
		)
		SELECT *, md5('project-' || p)::VARCHAR AS project_id,
			CASE WHEN ru < 0.20 - 0.19 * (created - %[1]d) / (%[3]d * %[4]d::BIGINT) THEN '16'
				WHEN ru < 0.45 - 0.19 * (created - %[1]d) / (%[3]d * %[4]d::BIGINT) THEN '18'
				WHEN ru < 0.75 - 0.10 * (created - %[1]d) / (%[3]d * %[4]d::BIGINT) THEN '20' ELSE '22' END AS major,
			list_filter([
				CASE WHEN u(p, 40) < 0.70 THEN 'users-permissions' END, CASE WHEN u(p, 41) < 0.45 THEN 'i18n' END,
				CASE WHEN u(p, 42) < 0.40 THEN 'upload' END, CASE WHEN u(p, 43) < 0.30 THEN 'email' END,
				CASE WHEN graphql THEN 'graphql' END, CASE WHEN u(p, 45) < 0.15 THEN 'documentation' END,
				CASE WHEN u(p, 46) < 0.10 THEN 'color-picker' END, CASE WHEN u(p, 47) < 0.08 THEN 'config-sync' END,
				CASE WHEN u(p, 48) < 0.07 THEN 'cloudinary' END, CASE WHEN u(p, 49) < 0.07 THEN 'ckeditor' END,
				CASE WHEN u(p, 50) < 0.06 THEN 'sentry' END, CASE WHEN u(p, 51) < 0.05 THEN 'transformer' END,
				CASE WHEN u(p, 52) < 0.05 THEN 'import-export' END, CASE WHEN u(p, 53) < 0.04 THEN 'meilisearch' END,
				CASE WHEN u(p, 54) < (CASE WHEN releases THEN 0.24 ELSE 0.08 END) THEN 'seo' END,
				CASE WHEN u(p, 55) < 0.002 THEN 'rare-plugin-' || (p %% 7) END], x -> x IS NOT NULL) AS plugins,
			list_filter([
				CASE WHEN u(p, 60) < 0.40 THEN 'content-history' END, CASE WHEN u(p, 61) < 0.30 THEN 'i18n-locales' END,
				CASE WHEN releases THEN 'releases' END, CASE WHEN u(p, 63) < 0.20 THEN 'webhooks' END,
				CASE WHEN u(p, 64) < 0.18 THEN 'preview' END, CASE WHEN graphql AND u(p, 65) < 0.7 THEN 'graphql-playground' END,
				CASE WHEN u(p, 66) < 0.12 THEN 'review-workflows' END, CASE WHEN u(p, 67) < 0.05 THEN 'audit-logs' END],
				x -> x IS NOT NULL) AS features,
			u(p, 12) < 0.5 + 0.3 * (created - %[1]d) / (%[3]d * %[4]d::BIGINT) AS typescript,
			pickw(u(p, 13), ['npm', 'yarn', 'pnpm', 'bun'], [0.52, 0.78, 0.96, 1.01]) AS pm
		FROM b`, start, end, benchDays, day, set.projects),
		// Machines: a laptop, and maybe a server or CI runner, and maybe a staging server or a
		// second laptop.
		fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE g_m AS
		WITH b AS (
			SELECT g_p.*, m,
				CASE WHEN m = 0 THEN 'laptop' WHEN m = 1 THEN (CASE WHEN u(p, 70) < 0.6 THEN 'server' ELSE 'ci' END)
					ELSE (CASE WHEN u(p, 71) < 0.5 THEN 'staging' ELSE 'laptop' END) END AS kind,
				u(p * 3 + m, 72) AS ou, u(p * 3 + m, 73) AS au
			FROM g_p, range(3) t(m)
			WHERE m = 0 OR (m = 1 AND u(p, 10) < 0.65) OR (m = 2 AND u(p, 11) < 0.25)
		), d AS (
			SELECT *,
				-- setup time: 40 s + a log-normal part, the upper half stretched on windows in the last 14 days
				least(72 * 3600000, (40000 + 360000 * exp(1.3 * z) * CASE WHEN z > 0 AND ou >= 0.62 AND ou < 0.876 AND created >= %[2]d - 14 * %[3]d::BIGINT
					THEN pow(2.5, least(1, z / 1.2816)) ELSE 1 END)::BIGINT) AS setup_ms,
				CASE kind WHEN 'laptop' THEN (CASE WHEN ou < 0.62 THEN 'darwin' WHEN ou < 0.876 THEN 'windows' ELSE 'linux' END)
					WHEN 'ci' THEN 'linux' ELSE (CASE WHEN ou < 0.97 THEN 'linux' ELSE 'windows' END) END AS os,
				kind = 'laptop' AND ou >= 0.876 AND ou < 0.94 AS wsl
			FROM b
		)
		SELECT *, md5('machine-' || p || '-' || m)::VARCHAR AS machine_id,
			CASE WHEN m = 0 THEN created + (CASE WHEN fail THEN 0 ELSE setup_ms END)
				ELSE created + ((3 + 7 * u(p * 3 + m, 74)) * %[3]d::BIGINT)::BIGINT END AS m_start,
			least(%[2]d, CASE WHEN fail THEN created
				ELSE created + (life_days * %[3]d::BIGINT)::BIGINT + (CASE WHEN kind IN ('server', 'staging') THEN (30 * u(p * 3 + m, 75) * %[3]d::BIGINT)::BIGINT ELSE 0 END) END) AS m_end,
			CASE kind WHEN 'laptop' THEN 'development' WHEN 'ci' THEN (CASE WHEN u(p * 3 + m, 76) < 0.3 THEN 'test' ELSE 'development' END)
				WHEN 'server' THEN 'production' ELSE 'staging' END AS env,
			CASE WHEN os = 'darwin' THEN (CASE WHEN au < 0.8 THEN 'arm64' ELSE 'amd64' END)
				WHEN kind IN ('server', 'staging') AND au < 0.2 THEN 'arm64' ELSE 'amd64' END AS arch,
			kind = 'ci' AS ci,
			CASE WHEN kind = 'ci' THEN (CASE WHEN u(p * 3 + m, 77) < 0.72 THEN 'github-actions' ELSE 'gitlab' END) END AS ci_name,
			(kind IN ('server', 'staging') AND u(p * 3 + m, 78) < 0.45) OR (kind = 'ci' AND u(p * 3 + m, 77) >= 0.72) AS docker,
			CASE WHEN kind IN ('server', 'staging') THEN pickw(u(p * 3 + m, 79), ['postgres', 'mysql', 'mariadb'], [0.64, 0.89, 1.01])
				ELSE pickw(u(p * 3 + m, 79), ['sqlite', 'postgres', 'mysql', 'mariadb'], [0.78, 0.94, 0.99, 1.01]) END AS database
		FROM d`, start, end, day),
		// Sources: two per machine, before and after the middle of its life (an upgrade).
		fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE g_s AS
		WITH h AS (
			SELECT g_m.*, half, CASE WHEN half = 0 THEN m_start ELSE (m_start + m_end) // 2 END AS h_start,
				CASE WHEN half = 0 THEN (m_start + m_end) // 2 ELSE m_end END AS h_end
			FROM g_m, range(2) t(half)
		), v AS (
			SELECT h.*, r.version AS product_version
			FROM h ASOF JOIN g_rel2 r ON r.line = (CASE WHEN h.line4 THEN 4 ELSE 5 END) AND h.h_start >= r.rel_ms
		)
		SELECT (row_number() OVER (ORDER BY p, m, half))::INTEGER AS source_id, *,
			CASE major WHEN '16' THEN ['16.19.1', '16.20.0', '16.20.2'] WHEN '18' THEN ['18.19.1', '18.20.2', '18.20.4', '18.20.5']
				WHEN '20' THEN ['20.11.1', '20.12.2', '20.15.1', '20.17.0', '20.18.0', '20.18.1']
				ELSE ['22.3.0', '22.9.0', '22.11.0', '22.12.0', '22.13.1'] END AS rvs,
			CASE os WHEN 'darwin' THEN '15.2' WHEN 'windows' THEN '10.0.22631' ELSE '6.8.0' END AS os_version
		FROM v`),
		`INSERT INTO sources
		SELECT source_id, gen_random_uuid(), project_id, machine_id, 'strapi', product_version, os, os_version, arch,
			CASE WHEN kind = 'laptop' THEN 10 ELSE 4 END, CASE WHEN kind = 'laptop' THEN 16384 ELSE 8192 END,
			'node', rvs[greatest(1, len(rvs) - 1 - (p % 3) + half)], ci, ci_name, docker, wsl, 'abacus-node/0.4.2',
			plugins, '{"database":"' || database || '","packageManager":"' || pm || '","typescript":' || typescript || '}'
		FROM g_s`,
		// Spans: events are spread uniformly over the (half-)lives of the machines.
		`CREATE OR REPLACE TEMP TABLE g_span AS
		SELECT source_id, p, kind, env, h_start, h_end - h_start AS len, susceptible, product_version, features,
			sum(h_end - h_start) OVER (ORDER BY source_id ROWS UNBOUNDED PRECEDING) - (h_end - h_start) AS cum
		FROM g_s WHERE h_end > h_start`,
		fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE g_ev AS
		WITH tot AS (SELECT sum(len) AS total FROM g_span),
		x AS (SELECT i, (u(i, 1) * total)::BIGINT AS x, u(i, 2) AS y, u(i, 3) AS w FROM range(%d) t(i), tot),
		j AS (SELECT x.*, s.* FROM x ASOF JOIN g_span s ON x.x >= s.cum)
		SELECT source_id, (h_start + (x - cum))::BIGINT AS t_ms, env,
			CASE WHEN y < 0.30 THEN 'ping'
				WHEN y < 0.55 THEN 'didStartServer'
				WHEN y < 0.75 THEN (CASE WHEN len(features) > 0 THEN 'didUseFeature' ELSE 'ping' END)
				WHEN y < 0.83 THEN (CASE WHEN susceptible AND product_version = '5.4.0' AND w < 0.7 THEN 'didFailWithError' ELSE 'didBuildAdmin' END)
				WHEN y < 0.85 THEN 'didInstallPlugin'
				WHEN y < 0.87 THEN 'didFailWithError'
				ELSE 'didInstallDependencies' END AS name,
			CASE WHEN y < 0.30 THEN NULL
				WHEN y < 0.55 THEN '{"durationMs":' || (800 + (w * 4000)::BIGINT) || '}'
				WHEN y < 0.75 THEN (CASE WHEN len(features) > 0 THEN '{"feature":"' || features[1 + (w * len(features))::BIGINT %% len(features)] || '"}' END)
				WHEN y < 0.83 THEN (CASE WHEN susceptible AND product_version = '5.4.0' AND w < 0.7 THEN '{"code":"E_ADMIN_BUILD_CRASH"}'
					ELSE '{"durationMs":' || (20000 + (w * 60000)::BIGINT) || '}' END)
				WHEN y < 0.85 THEN '{"plugin":"' || ['seo', 'i18n', 'graphql', 'sentry'][1 + (w * 4)::BIGINT %% 4] || '"}'
				WHEN y < 0.87 THEN '{"code":"' || pickw(w, ['E_DB_CONNECT', 'E_PORT_IN_USE', 'E_PLUGIN_LOAD', 'E_MIGRATION_FAILED', 'E_INVALID_CONFIG',
					'E_UPLOAD_PROVIDER', 'E_OUT_OF_MEMORY', 'E_WEBHOOK_TIMEOUT', 'E_LICENSE_INVALID', 'E_RARE_ONE'],
					[0.24, 0.39, 0.54, 0.66, 0.78, 0.86, 0.91, 0.97, 0.9999, 1.01]) || '"}'
				ELSE '{"durationMs":' || (10000 + (w * 90000)::BIGINT) || '}' END AS properties
		FROM j`, set.events-3*set.projects),
		// Setup: willCreateProject and didCreateProject on the laptop, then the first
		// didStartServer, or a setup error and silence.
		`INSERT INTO g_ev
		SELECT s.source_id, m.created, 'development', 'willCreateProject', '{"quickstart":' || (u(m.p, 90) < 0.6) || '}'
		FROM g_m m JOIN g_s s ON s.p = m.p AND s.m = m.m AND s.half = 0 WHERE m.m = 0
		UNION ALL
		SELECT s.source_id, m.created + 5000, 'development', 'didCreateProject', '{"durationMs":5000}'
		FROM g_m m JOIN g_s s ON s.p = m.p AND s.m = m.m AND s.half = 0 WHERE m.m = 0
		UNION ALL
		SELECT s.source_id, m.created + CASE WHEN m.fail THEN 60000 ELSE m.setup_ms END, 'development',
			CASE WHEN m.fail THEN 'didFailWithError' ELSE 'didStartServer' END,
			CASE WHEN m.fail THEN '{"code":"' || ['E_DEPENDENCY_INSTALL', 'E_DB_CONNECT', 'E_PORT_IN_USE', 'E_TEMPLATE_DOWNLOAD'][1 + m.p % 4] || '"}'
				ELSE '{"durationMs":1500}' END
		FROM g_m m JOIN g_s s ON s.p = m.p AND s.m = m.m AND s.half = 0 WHERE m.m = 0`,
		`INSERT INTO event_rows
		SELECT gen_random_uuid(), epoch_ms(t_ms)::TIMESTAMP_MS, epoch_ms(t_ms + 2000)::TIMESTAMP_MS, name, source_id,
			md5('session-' || source_id || '-' || (t_ms // 3600000))::VARCHAR, env, properties
		FROM g_ev ORDER BY t_ms`,
	}
}

// The benchmarks time every report on 10M events of 50k projects over 180
// days, next to a hand-written SQL query over the events view that computes
// the same numbers directly (without the k-anonymity folding):
//
//	go test -run '^$' -bench Reports -benchtime 3x ./internal/insights
//
// The first run generates the data set into a DuckDB file under os.TempDir()
// (about 20 s; later runs reuse it); -short skips the benchmarks. The store
// runs with abacus serve's defaults (serveDefaults: 64 MB, one thread).

// BenchmarkReports runs each report over the whole 180 days (every event),
// as BenchmarkReports/<name>/report, and its reference query as …/sql. Once
// per run, before timing, it checks that the reference query's numbers equal
// the report's computed with k = 1 (sameAnswers) and fails if they differ.
func BenchmarkReports(b *testing.B) {
	if testing.Short() {
		b.Skip("generates and reads a 10M-event data set")
	}
	s := openBenchStore(b)
	defer s.Close()
	ctx := context.Background()
	in := New(DuckDB(s.DB()), plan.Default())
	all := *plan.Default()
	all.K = 1 // nothing suppressed: the numbers the reference queries compute
	inAll := New(DuckDB(s.DB()), &all)
	p := Params{From: benchEnd.AddDate(0, 0, -benchDays), To: benchEnd.AddDate(0, 0, -1), Feature: "releases"}
	lo, hi := p.From, p.To.AddDate(0, 0, 1)
	last := mondayOf(hi).AddDate(0, 0, -7)
	args := []any{sql.Named("lo", lo), sql.Named("hi", hi), sql.Named("plo", lo.Add(-hi.Sub(lo))),
		sql.Named("slo", minTime(lo, last.AddDate(0, 0, -28))), sql.Named("dhi", hi.Add(plan.DefaultWithin)),
		sql.Named("last", last), sql.Named("prior", last.AddDate(0, 0, -28)), sql.Named("lastend", last.AddDate(0, 0, 7))}
	for _, name := range Names {
		b.Run(name, func(b *testing.B) {
			// Once per run: the reference query must give the report's
			// numbers (before k-suppression).
			r, err := inAll.Run(ctx, name, p)
			if err != nil {
				b.Fatal(err)
			}
			diffs, agreed, err := sameAnswers(ctx, s.DB(), name, r, args)
			if err != nil {
				b.Fatalf("reference query of %s: %v", name, err)
			}
			if len(diffs) > 0 || agreed == 0 {
				b.Fatalf("%s: the reference query and the report differ (%d numbers agree):\n%s", name, agreed, strings.Join(diffs, "\n"))
			}
			b.Logf("%s: %d numbers of the report equal the reference query's", name, agreed)
			b.Run("report", func(b *testing.B) {
				for b.Loop() {
					if _, err := in.Run(ctx, name, p); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("sql", func(b *testing.B) {
				for b.Loop() {
					for _, q := range referenceSQL[name] {
						if n, err := drain(ctx, s.DB(), q, args); err != nil || n == 0 {
							b.Fatalf("reference query of %s: %d rows, %v\n%s", name, n, err, q)
						}
					}
				}
			})
		})
	}
}

func drain(ctx context.Context, db *sql.DB, query string, args []any) (int, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	dest := make([]any, len(cols))
	for i := range dest {
		dest[i] = new(any)
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// referenceSQL answers each report's questions over the events view the way
// one would write them by hand from the contract: count(DISTINCT project_id),
// arg_max(…, time) for the latest values, date_trunc for days and weeks; one
// query, or a few run one after the other where one query would need more
// than the store's memory. It leaves out what Run adds on top (folding
// buckets under k into "other", the z-test, formatting), which costs little
// next to the queries.
var referenceSQL = map[string][]string{
	"overview": {`
SELECT date_trunc('day', time)::VARCHAR AS day, count(*) AS n, count(DISTINCT project_id) AS projects
FROM events WHERE time >= $lo AND time < $hi GROUP BY day`, `
SELECT count(*), count(DISTINCT project_id), count(DISTINCT machine_id), count(DISTINCT project_id) FILTER (WHERE ci)
FROM events WHERE time >= $lo AND time < $hi`, `
SELECT 'environment', environment, count(DISTINCT project_id) FROM events WHERE time >= $lo AND time < $hi GROUP BY environment`, `
SELECT 'os', os, count(DISTINCT project_id) FROM events WHERE time >= $lo AND time < $hi GROUP BY os`, `
SELECT 'productVersion', product_version, count(DISTINCT project_id) FROM events WHERE time >= $lo AND time < $hi GROUP BY product_version`},

	"features": {`
SELECT 'week' AS part, date_trunc('week', time)::VARCHAR AS week, NULL AS feature, count(DISTINCT project_id) AS projects
FROM events WHERE time >= $lo AND time < $hi GROUP BY week
UNION ALL SELECT 'total', NULL, NULL, count(DISTINCT project_id) FROM events WHERE time >= $lo AND time < $hi
UNION ALL SELECT 'point', date_trunc('week', time)::VARCHAR AS week, properties->>'feature' AS feature, count(DISTINCT project_id)
FROM events WHERE time >= $lo AND time < $hi AND name = 'didUseFeature' GROUP BY ALL
UNION ALL SELECT 'row', NULL, properties->>'feature' AS feature, count(DISTINCT project_id)
FROM events WHERE time >= $lo AND time < $hi AND name = 'didUseFeature' GROUP BY ALL`},

	"cohort": {`
WITH p AS (
	SELECT project_id, bool_or(name = 'didUseFeature' AND (properties->>'feature') = 'releases') AS cohort,
		arg_max(os, time) AS os, arg_max(environment, time) AS env, arg_max(runtime_version, time) AS rv,
		arg_max(product_version, time) AS pv, arg_max(ci, time) AS ci, arg_max(docker, time) AS docker,
		arg_max(plugins, time) AS plugins, arg_max(build, time) AS build
	FROM events WHERE time >= $lo AND time < $hi GROUP BY project_id
), a AS (
	SELECT 'plugin' AS attribute, unnest(list_distinct(plugins)) AS value, cohort FROM p
	UNION ALL SELECT 'os', os, cohort FROM p
	UNION ALL SELECT 'runtimeMajor', split_part(rv, '.', 1), cohort FROM p
	UNION ALL SELECT 'environment', env, cohort FROM p
	UNION ALL SELECT 'productMinor', regexp_extract(pv, '^[^.]*(\.[^.]*)?'), cohort FROM p
	UNION ALL SELECT 'ci', ci::VARCHAR, cohort FROM p
	UNION ALL SELECT 'docker', docker::VARCHAR, cohort FROM p
	UNION ALL SELECT 'build.typescript', build->>'typescript', cohort FROM p
	UNION ALL SELECT 'build.database', build->>'database', cohort FROM p
	UNION ALL SELECT 'build.packageManager', build->>'packageManager', cohort FROM p
)
SELECT '' AS attribute, '' AS value, count(*) FILTER (WHERE cohort), count(*) FILTER (WHERE NOT cohort) FROM p
UNION ALL SELECT attribute, value, count(*) FILTER (WHERE cohort), count(*) FILTER (WHERE NOT cohort) FROM a
WHERE value <> '' GROUP BY ALL`},

	"setup": {`
WITH st AS (
	SELECT project_id, min(time) AS t0, arg_min(os, time) AS os, arg_min(split_part(runtime_version, '.', 1), time) AS rm
	FROM events WHERE name = 'willCreateProject' AND time >= $slo AND time < $hi GROUP BY project_id
), dn AS (
	SELECT st.project_id, min(e.time) AS t1 FROM events e JOIN st USING (project_id)
	WHERE e.name = 'didStartServer' AND e.time >= st.t0 AND e.time < $dhi GROUP BY st.project_id
), s AS (
	SELECT st.*, CASE WHEN t1 <= t0 + INTERVAL 168 HOUR THEN date_diff('millisecond', t0, t1) END AS dur
	FROM st LEFT JOIN dn USING (project_id)
), w AS (SELECT * FROM s WHERE t0 >= $lo),
mw AS (
	SELECT dur, t0 >= $last AS last, rank() OVER (ORDER BY dur) + (count(*) OVER (PARTITION BY dur) - 1) / 2 AS r,
		count(*) OVER (PARTITION BY dur) AS t
	FROM s WHERE dur IS NOT NULL AND t0 >= $prior AND t0 < $lastend
)
SELECT 'total' AS part, '' AS key, count(*) AS n, count(dur) AS c, quantile_cont(dur, 0.5) AS q50,
	quantile_cont(dur, 0.75) AS q75, quantile_cont(dur, 0.9) AS q90 FROM w
UNION ALL SELECT 'week', date_trunc('week', t0)::VARCHAR, count(*), count(dur), quantile_cont(dur, 0.5),
	quantile_cont(dur, 0.75), quantile_cont(dur, 0.9) FROM w GROUP BY 2
UNION ALL SELECT 'os', os, count(*), count(dur), quantile_cont(dur, 0.5), 0, quantile_cont(dur, 0.9) FROM w GROUP BY os
UNION ALL SELECT 'runtimeMajor', rm, count(*), count(dur), quantile_cont(dur, 0.5), 0, quantile_cont(dur, 0.9) FROM w GROUP BY rm
UNION ALL SELECT 'histogram', (floor(log10(dur + 1) * 3))::VARCHAR, count(*), 0, 0, 0, 0 FROM w WHERE dur IS NOT NULL GROUP BY 2
UNION ALL SELECT 'mw', last::VARCHAR, count(*), sum(t * t - 1), sum(r), quantile_cont(dur, 0.5), quantile_cont(dur, 0.9) FROM mw GROUP BY last
UNION ALL SELECT 'exceed', '', count(*) FILTER (WHERE last AND dur > (SELECT quantile_cont(dur, 0.9) FROM mw WHERE NOT last)), 0, 0, 0, 0 FROM mw
UNION ALL SELECT 'regdim', g.dim || ':' || g.value, count(*), count(*) FILTER (WHERE s.dur > g.p90), any_value(g.n2), any_value(g.p90), quantile_cont(s.dur, 0.9)
FROM (SELECT 'os' AS dim, os AS value, count(*) AS n2, quantile_cont(dur, 0.9) AS p90 FROM s
		WHERE dur IS NOT NULL AND t0 >= $prior AND t0 < $last GROUP BY os
	UNION ALL SELECT 'runtimeMajor', rm, count(*), quantile_cont(dur, 0.9) FROM s
		WHERE dur IS NOT NULL AND t0 >= $prior AND t0 < $last GROUP BY rm) g
JOIN s ON CASE g.dim WHEN 'os' THEN s.os ELSE s.rm END = g.value
WHERE s.dur IS NOT NULL AND s.t0 >= $last AND s.t0 < $lastend GROUP BY 2
UNION ALL SELECT 'error', e.properties->>'code', count(DISTINCT e.project_id), 0, 0, 0, 0
FROM w JOIN events e ON e.project_id = w.project_id AND e.time >= w.t0 AND e.time <= w.t0 + INTERVAL 168 HOUR
WHERE w.dur IS NULL AND e.name = 'didFailWithError' AND e.time >= $lo AND e.time < $dhi GROUP BY 2`, `
SELECT count(DISTINCT project_id) FROM events WHERE time >= $lo AND time < $hi`},

	"errors": {`
WITH e AS (
	SELECT project_id, time, properties->>'code' AS code, product_version, os, split_part(runtime_version, '.', 1) AS rm
	FROM events WHERE name = 'didFailWithError' AND time >= $lo AND time < $hi
), v AS (SELECT code, product_version, count(DISTINCT project_id) AS n FROM e GROUP BY ALL),
o AS (SELECT code, os, count(DISTINCT project_id) AS n FROM e GROUP BY ALL),
m AS (SELECT code, rm, count(DISTINCT project_id) AS n FROM e GROUP BY ALL)
SELECT 'row' AS part, c.code, NULL AS week, c.events, c.projects, c.first, c.last, v.top AS version, o.top AS os, m.top AS rm FROM
	(SELECT code, count(*) AS events, count(DISTINCT project_id) AS projects, min(time) AS first, max(time) AS last FROM e GROUP BY code) c
	JOIN (SELECT code, arg_max(product_version, n) AS top FROM v GROUP BY code) v USING (code)
	JOIN (SELECT code, arg_max(os, n) AS top FROM o GROUP BY code) o USING (code)
	JOIN (SELECT code, arg_max(rm, n) AS top FROM m GROUP BY code) m USING (code)
UNION ALL SELECT 'point', code, date_trunc('week', time)::VARCHAR, count(*), count(DISTINCT project_id), NULL, NULL, NULL, NULL, NULL
FROM e GROUP BY ALL`, `
SELECT count(DISTINCT project_id) FROM events WHERE time >= $lo AND time < $hi`},

	"plugins": {`
WITH lp AS (
	SELECT project_id, time >= $lo AS cur, arg_max(plugins, time) AS pl
	FROM events WHERE time >= $plo AND time < $hi GROUP BY ALL
)
SELECT NULL AS plugin, count(*) FILTER (WHERE cur) AS projects, count(*) FILTER (WHERE NOT cur) AS previous FROM lp
UNION ALL SELECT plugin, count(*) FILTER (WHERE cur), count(*) FILTER (WHERE NOT cur)
FROM (SELECT cur, unnest(list_distinct(pl)) AS plugin FROM lp) GROUP BY plugin`},

	"runtimes": {`
SELECT 'row' AS part, NULL AS week, runtime, split_part(runtime_version, '.', 1) AS major,
	regexp_extract(runtime_version, '^[^.]*(\.[^.]*)?') AS version, count(DISTINCT project_id) AS projects,
	count(DISTINCT project_id) FILTER (WHERE environment = 'production') AS production,
	count(DISTINCT project_id) FILTER (WHERE environment IS DISTINCT FROM 'production') AS other
FROM events WHERE time >= $lo AND time < $hi
GROUP BY GROUPING SETS ((), (runtime, major), (runtime, major, version))
UNION ALL
SELECT 'point', date_trunc('week', time)::VARCHAR AS week, runtime, split_part(runtime_version, '.', 1) AS major, NULL,
	count(DISTINCT project_id), 0, 0
FROM events WHERE time >= $lo AND time < $hi
GROUP BY GROUPING SETS ((week), (week, runtime, major))`},
}
