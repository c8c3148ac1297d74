package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/abacushq/abacus/internal/store"
)

// The rollups must always hold what a plain query over event_rows says,
// whatever the writes before: these queries are that plain query, written
// here from the rollups' definition (doc.go), not taken from the store.
var plainRollups = map[string]string{
	"day_names": `SELECT datediff('day', DATE '1970-01-01', time::DATE) AS day, e.source_id, p.pn, e.name,
		CASE WHEN json_type(properties, '$.feature') = 'VARCHAR' THEN properties->>'$.feature' END AS feature,
		CASE WHEN json_type(properties, '$.code') = 'VARCHAR' THEN properties->>'$.code' END AS code,
		count(*), epoch_ms(min(time)), epoch_ms(max(time))
		FROM event_rows e JOIN sources s USING (source_id) JOIN projects p USING (project_id) GROUP BY ALL`,
	"day_sources": `SELECT datediff('day', DATE '1970-01-01', time::DATE) AS day, e.source_id, p.pn, e.environment,
		count(*), epoch_ms(min(time)), epoch_ms(max(time))
		FROM event_rows e JOIN sources s USING (source_id) JOIN projects p USING (project_id) GROUP BY ALL`,
	"day_projects": `SELECT datediff('day', DATE '1970-01-01', time::DATE) AS day, p.pn, count(*)
		FROM event_rows e JOIN sources s USING (source_id) JOIN projects p USING (project_id) GROUP BY ALL`,
	// Weeks start on Mondays; 1970-01-01 was a Thursday, day 3 of week 0.
	"week_names": `SELECT (datediff('day', DATE '1970-01-01', time::DATE) + 3) // 7 AS week, e.source_id, p.pn, e.name,
		CASE WHEN json_type(properties, '$.feature') = 'VARCHAR' THEN properties->>'$.feature' END AS feature,
		CASE WHEN json_type(properties, '$.code') = 'VARCHAR' THEN properties->>'$.code' END AS code,
		count(*), epoch_ms(min(time)), epoch_ms(max(time))
		FROM event_rows e JOIN sources s USING (source_id) JOIN projects p USING (project_id) GROUP BY ALL`,
	"week_sources": `SELECT (datediff('day', DATE '1970-01-01', time::DATE) + 3) // 7 AS week, e.source_id, p.pn, e.environment,
		count(*), epoch_ms(min(time)), epoch_ms(max(time))
		FROM event_rows e JOIN sources s USING (source_id) JOIN projects p USING (project_id) GROUP BY ALL`,
	"week_projects": `SELECT (datediff('day', DATE '1970-01-01', time::DATE) + 3) // 7 AS week, p.pn, count(*)
		FROM event_rows e JOIN sources s USING (source_id) JOIN projects p USING (project_id) GROUP BY ALL`,
}

// storedRollups reads a rollup summed per key (a day may be in pieces).
var storedRollups = map[string]string{
	"day_names":     `SELECT day, source_id, pn, name, feature, code, sum(events), epoch_ms(min(first)), epoch_ms(max(last)) FROM day_names GROUP BY ALL`,
	"day_sources":   `SELECT day, source_id, pn, environment, sum(events), epoch_ms(min(first)), epoch_ms(max(last)) FROM day_sources GROUP BY ALL`,
	"day_projects":  `SELECT day, pn, sum(events) FROM day_projects GROUP BY ALL`,
	"week_names":    `SELECT week, source_id, pn, name, feature, code, sum(events), epoch_ms(min(first)), epoch_ms(max(last)) FROM week_names GROUP BY ALL`,
	"week_sources":  `SELECT week, source_id, pn, environment, sum(events), epoch_ms(min(first)), epoch_ms(max(last)) FROM week_sources GROUP BY ALL`,
	"week_projects": `SELECT week, pn, sum(events) FROM week_projects GROUP BY ALL`,
}

func readRows(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(vals...))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// checkRollups compares every rollup with the plain query, and the project
// numbers with the sources: one number per project that has a source, none
// other, no two alike.
func checkRollups(t *testing.T, db *sql.DB, when string) {
	t.Helper()
	var events int
	if err := db.QueryRow(`SELECT count(*) FROM event_rows`).Scan(&events); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"day_names", "day_sources", "day_projects", "week_names", "week_sources", "week_projects"} {
		plain, stored := plainRollups[table], storedRollups[table]
		if strings.HasPrefix(table, "week_") {
			// The weekly rollups answer for the sealed weeks only.
			plain = `SELECT * FROM (` + plain + `) WHERE week IN (SELECT week FROM week_sealed)`
			stored = `SELECT * FROM (` + stored + `) WHERE week IN (SELECT week FROM week_sealed)`
		}
		want, got := readRows(t, db, plain), readRows(t, db, stored)
		if !slices.Equal(want, got) {
			t.Errorf("%s: %s differs from event_rows (%d events):\nmissing: %v\nextra:   %v", when, table, events,
				minus(want, got), minus(got, want))
		}
	}
	if bad := readRows(t, db, `SELECT 'source without number', project_id FROM sources WHERE project_id NOT IN (SELECT project_id FROM projects)
		UNION ALL SELECT 'number without source', project_id FROM projects WHERE project_id NOT IN (SELECT project_id FROM sources)
		UNION ALL SELECT 'two numbers', project_id FROM projects GROUP BY project_id HAVING count(*) > 1
		UNION ALL SELECT 'number used twice', pn::VARCHAR FROM projects GROUP BY pn HAVING count(*) > 1`); len(bad) > 0 {
		t.Errorf("%s: project numbers: %v", when, bad)
	}
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if _, ok := slices.BinarySearch(b, x); !ok {
			out = append(out, x)
		}
	}
	return out
}

// rollupEvents makes n events of a few projects over the days around day0,
// with features, codes (some not strings, one not valid UTF-8), events
// without properties and without environment.
func rollupEvents(r *rand.Rand, n int, day0 time.Time, days int) []store.Event {
	names := []string{"ping", "didUseFeature", "didFailWithError", "didStartServer"}
	envs := []string{"", "development", "production"}
	out := make([]store.Event, n)
	for i := range out {
		tm := day0.Add(time.Duration(r.Int64N(int64(days) * int64(24*time.Hour)))).Truncate(time.Millisecond)
		if i%50 == 0 {
			tm = day0.Add(-time.Millisecond) // the last millisecond of the day before
		}
		p, m := r.IntN(7), r.IntN(3)
		e := store.Event{
			ID:          newUUID7(r, tm),
			Name:        names[r.IntN(len(names))],
			Time:        tm,
			ReceivedAt:  tm.Add(time.Second),
			ProjectID:   fmt.Sprintf("%032x", p),
			MachineID:   fmt.Sprintf("%032x", 100+p*3+m),
			Environment: envs[(p+m)%3],
			Product:     "strapi", ProductVersion: []string{"5.3.1", "5.4.0"}[r.IntN(2)],
			OS: "linux", Runtime: "node", RuntimeVersion: "20.11.1",
		}
		switch e.Name {
		case "didUseFeature":
			e.Properties = map[string]any{"feature": []string{"releases", "seo", "caf\xe9"}[r.IntN(3)]}
		case "didFailWithError":
			e.Properties = map[string]any{"code": []any{"E_ONE", "E_TWO", int64(42)}[r.IntN(3)], "message": "boom"}
		case "didStartServer":
			e.Properties = map[string]any{"durationMs": int64(r.IntN(5000))}
		}
		out[i] = e
	}
	return out
}

func newUUID7(r *rand.Rand, t time.Time) string {
	ms := uint64(t.UnixMilli())
	a, b := r.Uint64(), r.Uint64()
	return fmt.Sprintf("%08x-%04x-7%03x-%04x-%012x", ms>>16, ms&0xffff, a&0xfff, 0x8000|(b>>48)&0x3fff, b&0xffffffffffff)
}

// TestRollupsExact holds the rollups to the plain query over event_rows
// after each kind of write: batches over several days, merges, an event for
// a merged day arriving later, a replay of stored events, project erasure,
// retention in the middle of a day, compaction, and a reopened store.
func TestRollupsExact(t *testing.T) {
	defer func(n int, d time.Duration) { mergeMin, sealEvery = n, d }(mergeMin, sealEvery)
	mergeMin = 40 // merge often
	sealEvery = 0 // seal the weeks that are over after every Insert
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	r := rand.New(rand.NewPCG(1, 2))
	day0 := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	var all []store.Event
	for i := range 6 {
		b := rollupEvents(r, 300, day0.AddDate(0, 0, i), 2)
		if _, err := s.Insert(ctx, b); err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	checkRollups(t, s.DB(), "after inserts")
	var sealed int
	if err := s.DB().QueryRow(`SELECT count(*) FROM week_sealed`).Scan(&sealed); err != nil || sealed == 0 {
		t.Fatalf("%d weeks sealed (%v)", sealed, err)
	}
	var pieces int
	if err := s.DB().QueryRow(`SELECT count(*) FROM (SELECT 1 FROM day_names GROUP BY ALL HAVING count(*) > 1)`).Scan(&pieces); err != nil {
		t.Fatal(err)
	}
	t.Logf("keys of day_names in more than one row: %d", pieces)

	// Late: events for the first days, merged long ago.
	if _, err := s.Insert(ctx, rollupEvents(r, 40, day0, 1)); err != nil {
		t.Fatal(err)
	}
	checkRollups(t, s.DB(), "after late events")

	// A replay: stored events again, with a few new ones among them.
	replay := append(slices.Clone(all[100:400]), rollupEvents(r, 30, day0.AddDate(0, 0, 3), 1)...)
	n, err := s.Insert(ctx, replay)
	if err != nil {
		t.Fatal(err)
	}
	if n != 30 {
		t.Fatalf("replay stored %d events, want 30", n)
	}
	checkRollups(t, s.DB(), "after a replay")

	if n, err := s.DeleteProject(ctx, fmt.Sprintf("%032x", 3)); err != nil || n == 0 {
		t.Fatalf("DeleteProject = %d, %v", n, err)
	}
	checkRollups(t, s.DB(), "after erasing a project")
	var left int
	if err := s.DB().QueryRow(`SELECT count(*) FROM projects WHERE project_id = ?`, fmt.Sprintf("%032x", 3)).Scan(&left); err != nil || left != 0 {
		t.Fatalf("the erased project keeps %d numbers (%v)", left, err)
	}

	if n, err := s.DeleteBefore(ctx, day0.AddDate(0, 0, 2).Add(13*time.Hour+7*time.Millisecond)); err != nil || n == 0 {
		t.Fatalf("DeleteBefore = %d, %v", n, err)
	}
	checkRollups(t, s.DB(), "after retention in the middle of a day")
	if n, err := s.DeleteBefore(ctx, day0.AddDate(0, 0, 3)); err != nil || n == 0 {
		t.Fatalf("DeleteBefore = %d, %v", n, err)
	}
	checkRollups(t, s.DB(), "after retention at midnight")

	// After a delete the writer has forgotten its project numbers.
	if _, err := s.Insert(ctx, rollupEvents(r, 200, day0.AddDate(0, 0, 4), 3)); err != nil {
		t.Fatal(err)
	}
	checkRollups(t, s.DB(), "after inserts following the deletes")

	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	checkRollups(t, s.DB(), "after compaction")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(path, Options{}); err != nil {
		t.Fatal(err)
	}
	checkRollups(t, s.DB(), "after reopening")
	if _, err := s.Insert(ctx, rollupEvents(r, 200, day0, 8)); err != nil {
		t.Fatal(err)
	}
	checkRollups(t, s.DB(), "after inserts into the reopened store")
}

// Events written into event_rows around the store are not in the rollups
// until Checkpoint finds that the rollups do not sum to the table and
// rebuilds them.
func TestCheckpointRebuildsRollups(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	r := rand.New(rand.NewPCG(3, 4))
	day0 := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	if _, err := s.Insert(ctx, rollupEvents(r, 200, day0, 3)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().Exec(`INSERT INTO event_rows SELECT gen_random_uuid(), time + INTERVAL 1 DAY, received_at, name, source_id,
		session_id, environment, properties FROM event_rows`); err != nil {
		t.Fatal(err)
	}
	if err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	checkRollups(t, s.DB(), "after Checkpoint")
}

// schemaV1 is the schema of version 1 files, as they were written: no
// rollups and no project numbers.
var schemaV1 = []string{
	`CREATE TABLE abacus_meta (key VARCHAR NOT NULL, value VARCHAR NOT NULL)`,
	`INSERT INTO abacus_meta VALUES ('schema_version', '1')`,
	`CREATE SEQUENCE sources_seq START 11`, // the test's sources take 1 to 10
	`CREATE TABLE sources (source_id INTEGER NOT NULL, source_key UUID NOT NULL, project_id VARCHAR NOT NULL,
		machine_id VARCHAR NOT NULL, product VARCHAR, product_version VARCHAR, os VARCHAR, os_version VARCHAR,
		arch VARCHAR, cpus BIGINT NOT NULL, memory_mb BIGINT NOT NULL, runtime VARCHAR, runtime_version VARCHAR,
		ci BOOLEAN NOT NULL, ci_name VARCHAR, docker BOOLEAN NOT NULL, wsl BOOLEAN NOT NULL, sdk VARCHAR,
		plugins VARCHAR[], build VARCHAR)`,
	`CREATE TABLE event_rows (id UUID NOT NULL, time TIMESTAMP_MS NOT NULL, received_at TIMESTAMP_MS NOT NULL,
		name VARCHAR NOT NULL, source_id INTEGER NOT NULL, session_id VARCHAR, environment VARCHAR, properties VARCHAR)`,
	`CREATE OR REPLACE VIEW events AS
	SELECT e.id, e.time, e.received_at, e.name, s.project_id, s.machine_id, e.session_id, e.environment,
		s.product, s.product_version, s.os, s.os_version, s.arch, s.cpus, s.memory_mb,
		s.runtime, s.runtime_version, s.ci, s.ci_name, s.docker, s.wsl, s.sdk, s.plugins, s.build, e.properties
	FROM event_rows e JOIN sources s USING (source_id)`,
}

// A file of schema version 2 (this one's without the weekly rollups) opens:
// the migration makes the weekly rollups from the daily ones.
func TestMigrateFromVersion2(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 8))
	if _, err := s.Insert(ctx, rollupEvents(r, 500, time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC), 20)); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TABLE week_names`, `DROP TABLE week_sources`, `DROP TABLE week_projects`,
		`UPDATE abacus_meta SET value = '2' WHERE key = 'schema_version'`} {
		if _, err := s.DB().Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(path, Options{MemoryLimit: "64MB", Threads: 1}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var v string
	if err := s.DB().QueryRow(`SELECT value FROM abacus_meta WHERE key = 'schema_version'`).Scan(&v); err != nil || v != schemaVersion {
		t.Fatalf("schema version %q (%v), want %s", v, err, schemaVersion)
	}
	var weeks int
	if err := s.DB().QueryRow(`SELECT count(DISTINCT week) FROM week_sources`).Scan(&weeks); err != nil || weeks < 3 {
		t.Fatalf("the migrated weekly rollups cover %d weeks (%v)", weeks, err)
	}
	checkRollups(t, s.DB(), "after migrating from version 2")
}

// A file of schema version 1, written without the store's code, opens: the
// migration makes its rollups from its events, and the store then takes
// more events.
func TestMigrateFromVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	db, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range append(schemaV1,
		`INSERT INTO sources SELECT i, gen_random_uuid(), md5('p' || (i % 4)), md5('m' || i), 'strapi', '5.4.0', 'linux', NULL, NULL,
			8, 16384, 'node', '20.1.0', false, NULL, false, false, NULL, ['seo'], NULL FROM range(1, 11) t(i)`,
		`INSERT INTO event_rows SELECT gen_random_uuid(), TIMESTAMP_MS '2026-10-01' + i * INTERVAL 7 MINUTE, TIMESTAMP_MS '2026-10-01',
			['ping', 'didUseFeature', 'didFailWithError'][1 + i % 3], 1 + i % 10, NULL, CASE WHEN i % 2 = 0 THEN 'production' END,
			CASE i % 3 WHEN 1 THEN '{"feature":"releases"}' WHEN 2 THEN '{"code":"E_' || (i % 5) || '"}' END
		FROM range(3000) t(i)`) {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{MemoryLimit: "64MB", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var v string
	if err := s.DB().QueryRow(`SELECT value FROM abacus_meta WHERE key = 'schema_version'`).Scan(&v); err != nil || v != schemaVersion {
		t.Fatalf("schema version %q (%v), want %s", v, err, schemaVersion)
	}
	var days int
	if err := s.DB().QueryRow(`SELECT count(DISTINCT day) FROM day_sources`).Scan(&days); err != nil || days < 10 {
		t.Fatalf("the migrated rollups cover %d days (%v)", days, err)
	}
	checkRollups(t, s.DB(), "after migrating")
	r := rand.New(rand.NewPCG(5, 6))
	if _, err := s.Insert(context.Background(), rollupEvents(r, 300, time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC), 3)); err != nil {
		t.Fatal(err)
	}
	checkRollups(t, s.DB(), "after inserting into the migrated file")
}
