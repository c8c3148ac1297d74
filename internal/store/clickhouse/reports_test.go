package clickhouse

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/insights"
	"github.com/abacushq/abacus/internal/plan"
	"github.com/abacushq/abacus/internal/simulate"
	"github.com/abacushq/abacus/internal/store"
	"github.com/abacushq/abacus/internal/store/clickhouse/chtest"
	"github.com/abacushq/abacus/internal/store/duckdb"
	"github.com/abacushq/abacus/telemetry/wire"
)

// TestReportsEquivalence loads the simulator's population (its planted
// effects included) into DuckDB and into ClickHouse — one server, and the
// two-shard cluster — and requires every report's JSON to be the same on
// both, for several windows, cohorts and k. In ClickHouse a tenth of the
// events is stored twice, as two collectors draining the same retried
// batch leave it until the table merges: no report may count a copy.
func TestReportsEquivalence(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and stores the simulated population twice")
	}
	ctx := context.Background()
	end := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	cfg := simulate.Config{Seed: 7, End: end, Projects: 1200, Days: 90}
	var events []store.Event
	sum, err := simulate.Generate(cfg, func(e *wire.Event) error {
		events = append(events, storeEvent(e))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	duck, err := duckdb.Open("", duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer duck.Close()
	insertAll(t, duck, events)

	srv := chtest.Start(t)
	one := openLoaded(t, srv.URL("equivalence"), events)
	srvs := chtest.StartCluster(t, testCluster, 2)
	sharded := openLoaded(t, srvs[1].URL("equivalence")+"?cluster="+testCluster, events)
	// Copies of a tenth of the events, in parts of their own.
	for _, h := range []*chtest.Server{srv, srvs[0], srvs[1]} {
		if _, err := h.Query(ctx, "INSERT INTO equivalence.events"+map[bool]string{true: "", false: "_local"}[h == srv]+
			" SELECT * FROM equivalence.events"+map[bool]string{true: "", false: "_local"}[h == srv]+" WHERE cityHash64(id) % 10 = 0"); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []*Store{one, sharded} {
		st, err := s.Stats(ctx)
		if err != nil || st.Events != int64(len(events)) {
			t.Fatalf("ClickHouse holds %d distinct events (%v), want %d", st.Events, err, len(events))
		}
	}

	p := plan.Default()
	k1 := *p
	k1.K = 1
	last := end.AddDate(0, 0, -1)
	windows := []insights.Params{
		{From: end.AddDate(0, 0, -90), To: last},
		{From: end.AddDate(0, 0, -30), To: last},
		{From: end.AddDate(0, 0, -44), To: end.AddDate(0, 0, -31)},
		{From: last, To: last},
		{From: end.AddDate(0, 0, -7), To: end.AddDate(0, 0, 6)}, // past the data's end
	}
	type run struct {
		name string
		p    insights.Params
		plan *plan.Plan
	}
	var runs []run
	for _, w := range windows {
		for _, name := range insights.Names {
			switch name {
			case "cohort":
				f, e := w, w
				f.Feature, e.Event = sum.Truths.Feature, "didInstallPlugin"
				runs = append(runs, run{name, f, p}, run{name, e, p})
			default:
				runs = append(runs, run{name, w, p})
			}
		}
	}
	whole := windows[0]
	for _, name := range insights.Names {
		w := whole
		if name == "cohort" {
			w.Feature = sum.Truths.Feature
		}
		runs = append(runs, run{name, w, &k1}) // every bucket, however small
	}

	for _, b := range []struct {
		name string
		ch   *Store
	}{{"server", one}, {"cluster", sharded}} {
		t.Run(b.name, func(t *testing.T) {
			compared := 0
			for _, r := range runs {
				want := report(t, insights.New(insights.DuckDB(duck.DB()), r.plan), r.name, r.p)
				got := report(t, insights.New(b.ch.Reports(), r.plan), r.name, r.p)
				label := fmt.Sprintf("%s %s…%s k=%d %s%s", r.name, r.p.From.Format(time.DateOnly), r.p.To.Format(time.DateOnly), r.plan.K, r.p.Feature, r.p.Event)
				if !bytes.Equal(got, want) {
					t.Errorf("%s: ClickHouse and DuckDB differ:\n%s", label, firstDiff(want, got))
					continue
				}
				if !strings.Contains(string(want), `"activeProjects":`) || strings.Contains(string(want), `"activeProjects":0,`) && r.p.From.Before(end) {
					t.Errorf("%s: no active projects: the comparison shows nothing\n%s", label, want)
				}
				compared++
			}
			t.Logf("%d reports identical on DuckDB and ClickHouse (%d events, %d projects)", compared, len(events), sum.Projects)
		})
	}
}

// report runs a report and returns its JSON, indented.
func report(t *testing.T, in *insights.Insights, name string, p insights.Params) []byte {
	t.Helper()
	r, err := in.Run(context.Background(), name, p)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	b, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// firstDiff shows the lines around the first line where a and b differ.
func firstDiff(a, b []byte) string {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < len(la) || i < len(lb); i++ {
		if i >= len(la) || i >= len(lb) || la[i] != lb[i] {
			from := max(0, i-6)
			return fmt.Sprintf("DuckDB:\n%s\nClickHouse:\n%s", strings.Join(la[from:min(len(la), i+4)], "\n"), strings.Join(lb[from:min(len(lb), i+4)], "\n"))
		}
	}
	return ""
}

func openLoaded(t *testing.T, url string, events []store.Event) *Store {
	t.Helper()
	s, err := Open(url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	insertAll(t, s, events)
	return s
}

func insertAll(t *testing.T, s store.Store, events []store.Event) {
	t.Helper()
	for i := 0; i < len(events); i += 20000 {
		if _, err := s.Insert(context.Background(), events[i:min(len(events), i+20000)]); err != nil {
			t.Fatal(err)
		}
	}
}

// storeEvent is the stored form of a simulated event, as the collector makes
// it (received when sent).
func storeEvent(e *wire.Event) store.Event {
	return store.Event{ID: e.ID, Name: e.Event, Time: e.Timestamp, ReceivedAt: e.Timestamp,
		ProjectID: e.ProjectID, MachineID: e.MachineID, SessionID: e.SessionID, Environment: e.Environment,
		Product: e.Product.Name, ProductVersion: e.Product.Version, OS: e.Context.OS, OSVersion: e.Context.OSVersion,
		Arch: e.Context.Arch, CPUs: e.Context.CPUs, MemoryMB: e.Context.MemoryMB, Runtime: e.Context.Runtime,
		RuntimeVersion: e.Context.RuntimeVersion, CI: e.Context.CI, CIName: e.Context.CIName, Docker: e.Context.Docker,
		WSL: e.Context.WSL, SDK: e.Context.SDK, Build: e.Build, Properties: e.Properties}
}
