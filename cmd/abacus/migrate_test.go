package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/store"
	"github.com/abacushq/abacus/internal/store/clickhouse"
	"github.com/abacushq/abacus/internal/store/clickhouse/chtest"
	"github.com/abacushq/abacus/internal/store/duckdb"
	"github.com/abacushq/abacus/internal/store/storetest"
)

func exportStore(t *testing.T, st store.Store) []store.Event {
	t.Helper()
	var out []store.Event
	err := st.Export(context.Background(), time.Unix(0, 0), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), func(e *store.Event) error {
		out = append(out, storetest.Clone(*e))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// abacus migrate copies a DuckDB data directory into ClickHouse: the same
// events come out of both, field by field; a second run copies nothing new.
func TestMigrateToClickHouse(t *testing.T) {
	ch := chtest.Start(t)
	dir := t.TempDir()
	src, err := duckdb.Open(filepath.Join(dir, "events.duckdb"), duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := storetest.NewGenerator(7, storetest.Population{Projects: 50, Machines: 200})
	const n = 45000 // more than two of migrate's batches
	if got, err := src.Insert(context.Background(), g.Batch(n)); err != nil || got != n {
		t.Fatalf("Insert into DuckDB = %d, %v", got, err)
	}
	want := exportStore(t, src)
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}

	url := ch.URL("moved")
	code, out, errOut := runArgs("migrate", "--from", dir, "--to", url)
	if code != 0 {
		t.Fatalf("migrate exited %d: %s%s", code, out, errOut)
	}
	if !strings.Contains(out, "copied 45000 events") || !strings.Contains(out, "45000 new, 0 already") {
		t.Fatalf("migrate said:\n%s", out)
	}
	dst, err := clickhouse.Open(url, clickhouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	got := exportStore(t, dst)
	if len(got) != len(want) {
		t.Fatalf("ClickHouse exports %d events, DuckDB %d", len(got), len(want))
	}
	for i := range want {
		if d := storetest.Diff(want[i], got[i]); d != "" {
			t.Fatalf("event %d (%s) differs:\n%s", i, want[i].ID, d)
		}
	}
	code, out, errOut = runArgs("migrate", "--from", dir, "--to", url)
	if code != 0 || !strings.Contains(out, "0 new, 45000 already in ClickHouse") {
		t.Fatalf("second migrate exited %d: %s%s", code, out, errOut)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"migrate", "--from", dir}, "--to: expected a clickhouse:// URL"},
		{[]string{"migrate", "--from", t.TempDir(), "--to", url}, "--from: no events.duckdb"},
		{[]string{"migrate", "--from", dir, "--to", "clickhouse://127.0.0.1:1"}, "expected a database name"},
	} {
		if code, _, errOut := runArgs(c.args...); code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
}
