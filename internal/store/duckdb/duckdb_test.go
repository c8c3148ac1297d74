package duckdb

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/store"
	"github.com/abacushq/abacus/internal/store/storetest"
)

func openTemp(t *testing.T) store.Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "events.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, openTemp, storetest.Reopenable(func(t *testing.T) func(t *testing.T) store.Store {
		path := filepath.Join(t.TempDir(), "events.db")
		return func(t *testing.T) store.Store {
			t.Helper()
			s, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}))
}

func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "events.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func sample(n int) store.Event {
	tm := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Second)
	return store.Event{
		ID:          fmt.Sprintf("0193723e-6f1a-7cc2-9c5e-%012x", n),
		Name:        "didStartServer",
		Time:        tm,
		ReceivedAt:  tm.Add(time.Second),
		ProjectID:   fmt.Sprintf("%032x", n%3),
		MachineID:   fmt.Sprintf("%032x", 100+n%2),
		Environment: "development",
		Product:     "strapi", ProductVersion: "5.3.1",
		OS: "linux", OSVersion: "6.1.0", Arch: "amd64", CPUs: 8, MemoryMB: 16384,
		Runtime: "node", RuntimeVersion: "20.11.1", SDK: "abacus-go/0.1.0",
		Build:      map[string]any{"plugins": []any{"i18n", "graphql"}, "typescript": true},
		Properties: map[string]any{"durationMs": int64(1000 + n)},
	}
}

func exportAll(t *testing.T, s *Store) []store.Event {
	t.Helper()
	var out []store.Event
	err := s.Export(context.Background(), time.Time{}, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), func(e *store.Event) error {
		out = append(out, storetest.Clone(*e))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The suite accepts numbers back as float64; this backend keeps the types.
func TestValueTypesKept(t *testing.T) {
	s := openStore(t)
	e := sample(1)
	e.Build = map[string]any{"plugins": []any{}, "n": int64(3), "f": 3.0, "list": []any{int64(1), 1.5, "x", false, nil}}
	e.Properties = map[string]any{"max": int64(math.MaxInt64), "min": int64(math.MinInt64), "f": 1e21, "g": -0.25, "b": true, "s": "ü", "nested": map[string]any{"k": int64(1)}}
	if _, err := s.Insert(context.Background(), []store.Event{e}); err != nil {
		t.Fatal(err)
	}
	got := exportAll(t, s)
	if len(got) != 1 {
		t.Fatalf("got %d events", len(got))
	}
	if !reflect.DeepEqual(got[0].Build, e.Build) {
		t.Errorf("Build = %#v, want %#v", got[0].Build, e.Build)
	}
	if !reflect.DeepEqual(got[0].Properties, e.Properties) {
		t.Errorf("Properties = %#v, want %#v", got[0].Properties, e.Properties)
	}
}

// doc.go documents the events view for report writers; keep it true.
func TestEventsViewColumns(t *testing.T) {
	s := openStore(t)
	want := []string{
		"id UUID", "time TIMESTAMP_MS", "received_at TIMESTAMP_MS", "name VARCHAR",
		"project_id VARCHAR", "machine_id VARCHAR", "session_id VARCHAR", "environment VARCHAR",
		"product VARCHAR", "product_version VARCHAR", "os VARCHAR", "os_version VARCHAR", "arch VARCHAR",
		"cpus BIGINT", "memory_mb BIGINT", "runtime VARCHAR", "runtime_version VARCHAR",
		"ci BOOLEAN", "ci_name VARCHAR", "docker BOOLEAN", "wsl BOOLEAN", "sdk VARCHAR",
		"plugins VARCHAR[]", "build VARCHAR", "properties VARCHAR",
	}
	rows, err := s.DB().Query(`SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'events' ORDER BY ordinal_position`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			t.Fatal(err)
		}
		got = append(got, name+" "+typ)
	}
	if !slices.Equal(got, want) {
		t.Errorf("events columns:\n got %q\nwant %q", got, want)
	}
}

// Reports read the events view in SQL through DB().
func TestReportSQL(t *testing.T) {
	s := openStore(t)
	var evs []store.Event
	for i := range 12 {
		evs = append(evs, sample(i))
	}
	evs[0].Build = map[string]any{"plugins": []any{"seo"}, "typescript": false}
	if _, err := s.Insert(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	var plugin string
	var projects int
	err := s.DB().QueryRow(`SELECT p, count(DISTINCT project_id) AS n FROM (SELECT unnest(plugins) AS p, project_id FROM events) GROUP BY p ORDER BY n DESC, p LIMIT 1`).Scan(&plugin, &projects)
	if err != nil || plugin != "graphql" || projects != 3 {
		t.Errorf("plugin report = %q, %d, %v; want graphql, 3", plugin, projects, err)
	}
	var avg float64
	err = s.DB().QueryRow(`SELECT avg((properties->>'durationMs')::BIGINT) FROM events WHERE name = 'didStartServer' AND time >= ? AND time < ?`,
		evs[0].Time, evs[0].Time.Add(4*time.Second)).Scan(&avg)
	if err != nil || avg != 1001.5 {
		t.Errorf("avg durationMs = %v, %v; want 1001.5", avg, err)
	}
	var ts int
	err = s.DB().QueryRow(`SELECT count(*) FROM events WHERE (build->>'typescript')::BOOLEAN`).Scan(&ts)
	if err != nil || ts != 11 {
		t.Errorf("typescript events = %d, %v; want 11", ts, err)
	}
}

// Events of one source share a sources row; deletes remove the sources no
// event uses any more, so an erased project leaves nothing behind.
func TestSources(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	var evs []store.Event
	for i := range 12 {
		evs = append(evs, sample(i)) // 3 projects × 2 machines
	}
	if _, err := s.Insert(ctx, evs); err != nil {
		t.Fatal(err)
	}
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := s.DB().QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(`SELECT count(*) FROM sources`); n != 6 {
		t.Fatalf("%d sources, want 6", n)
	}
	if _, err := s.DeleteProject(ctx, evs[0].ProjectID); err != nil {
		t.Fatal(err)
	}
	if n := count(`SELECT count(*) FROM sources WHERE project_id = ?`, evs[0].ProjectID); n != 0 {
		t.Fatalf("%d sources of the erased project left", n)
	}
	if n := count(`SELECT count(*) FROM sources`); n != 4 {
		t.Fatalf("%d sources, want 4", n)
	}
	if _, err := s.DeleteBefore(ctx, evs[11].Time); err != nil {
		t.Fatal(err)
	}
	if n := count(`SELECT count(*) FROM sources`); n != 1 {
		t.Fatalf("%d sources after retention, want 1", n)
	}
}

func TestIDForms(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	e := sample(1)
	e.ID = "0193723E-6F1A-7CC2-9C5E-3A1F0E4B2D10"
	if n, err := s.Insert(ctx, []store.Event{e}); err != nil || n != 1 {
		t.Fatalf("Insert(uppercase ID) = %d, %v", n, err)
	}
	got := exportAll(t, s)
	if got[0].ID != "0193723e-6f1a-7cc2-9c5e-3a1f0e4b2d10" {
		t.Errorf("ID stored as %q, want lowercase", got[0].ID)
	}
	ex, err := s.Existing(ctx, []string{e.ID, got[0].ID, "not-a-uuid", ""})
	if err != nil {
		t.Fatal(err)
	}
	if !ex[e.ID] || !ex[got[0].ID] || ex["not-a-uuid"] || ex[""] || len(ex) != 4 {
		t.Errorf("Existing = %v", ex)
	}
}

func TestInMemory(t *testing.T) {
	s, err := Open("", Options{MemoryLimit: "64MB", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Insert(context.Background(), []store.Event{sample(1), sample(2)}); err != nil {
		t.Fatal(err)
	}
	if got := exportAll(t, s); len(got) != 2 {
		t.Fatalf("Export returned %d events", len(got))
	}
	st, err := s.Stats(context.Background())
	if err != nil || st.Events != 2 {
		t.Fatalf("Stats = %+v, %v", st, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestSchemaVersionChecked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().Exec(`UPDATE abacus_meta SET value = '999' WHERE key = 'schema_version'`); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(path, Options{}); err == nil {
		s.Close()
		t.Fatal("Open accepted a file of schema version 999")
	} else if !strings.Contains(err.Error(), "schema version 999") {
		t.Fatalf("Open = %v", err)
	}
}

// Close stops an Export in progress instead of waiting for its reader.
func TestCloseStopsExport(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "events.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var evs []store.Event
	for i := range 3000 {
		evs = append(evs, sample(i))
	}
	if _, err := s.Insert(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	done := make(chan error)
	go func() {
		n := 0
		done <- s.Export(context.Background(), time.Time{}, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), func(*store.Event) error {
			if n++; n == 1 {
				close(started)
			}
			time.Sleep(time.Millisecond)
			return nil
		})
	}()
	<-started
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-done; !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Export during Close = %v, want ErrClosed", err)
	}
}

func TestJSONNumbers(t *testing.T) {
	for _, c := range []struct {
		v    any
		text string
	}{
		{int64(3), "3"}, {3.0, "3.0"}, {-0.5, "-0.5"}, {1e21, "1e+21"}, {1e-7, "1e-07"},
		{int64(math.MaxInt64), "9223372036854775807"}, {float32(0.5), "0.5"}, {uint8(7), "7"},
	} {
		b, err := appendJSON(nil, c.v)
		if err != nil || string(b) != c.text {
			t.Errorf("appendJSON(%#v) = %s, %v; want %s", c.v, b, err, c.text)
		}
	}
	if b, err := appendJSON(nil, "a\"\\\n\x01\xffé"); err != nil || string(b) != `"a\"\\\n\u0001\ufffdé"` {
		t.Errorf("appendJSON(string) = %s, %v", b, err)
	}
}

// TestStoredIDsAfterReopen: the filter of stored IDs is rebuilt at Open, so a
// batch mixing stored and new events takes the anti-join.
func TestStoredIDsAfterReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var first, both []store.Event
	for i := range 50 {
		first = append(first, sample(i))
	}
	if n, err := s.Insert(context.Background(), first); err != nil || n != 50 {
		t.Fatalf("first Insert: %d, %v", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(path, Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 80 {
		both = append(both, sample(i))
	}
	if n, err := s.Insert(context.Background(), both); err != nil || n != 30 {
		t.Fatalf("Insert after reopen: %d new, %v; want 30", n, err)
	}
}

// A writer connection that had to be given up (its transaction could not be
// rolled back) is replaced by a new one with its own staging tables, as many
// times as it takes; nothing stored before is lost.
func TestWriterReplaced(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	g := storetest.NewGenerator(7, storetest.Population{})
	if n, err := s.Insert(ctx, g.Batch(500)); err != nil || n != 500 {
		t.Fatalf("Insert = %d, %v", n, err)
	}
	cause := errors.New("the transaction is lost")
	for range 3 {
		s.wmu.Lock()
		err := s.recoverWriter(cause)
		s.wmu.Unlock()
		if !errors.Is(err, cause) || strings.Contains(err.Error(), "reopen") {
			t.Fatalf("recoverWriter = %v, want only the cause", err)
		}
	}
	if n, err := s.Insert(ctx, g.Batch(500)); err != nil || n != 500 {
		t.Fatalf("Insert after the writer was replaced = %d, %v", n, err)
	}
	st, err := s.Stats(ctx)
	if err != nil || st.Events != 1000 {
		t.Fatalf("Stats = %+v, %v; want 1000 events", st, err)
	}
}
