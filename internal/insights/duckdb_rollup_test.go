package insights

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/plan"
	"github.com/abacushq/abacus/internal/simulate"
	"github.com/abacushq/abacus/internal/store"
	"github.com/abacushq/abacus/internal/store/duckdb"
	"github.com/abacushq/abacus/telemetry/wire"
)

// TestRollupsAnswerAsEvents holds the DuckDB backend's queries over the
// store's daily rollups to the same queries over event_rows (duckDBEvents):
// every report, over several windows and k, must give the same JSON, on the
// simulated population stored in batches of several sizes, then after
// events arriving late for old days, a replay of stored events, a project's
// erasure, retention in the middle of a day, and a project whose setup
// done event comes before its start on the start's day (which the rollups
// cannot order, so the events decide).
func TestRollupsAnswerAsEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and stores 200k events")
	}
	end := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	st, err := duckdb.Open("", duckdb.Options{MemoryLimit: "64MB", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	var all, batch []store.Event
	sizes := []int{20000, 700, 5000, 13}
	flush := func() {
		if _, err := st.Insert(ctx, batch); err != nil {
			t.Fatal(err)
		}
		batch = batch[:0]
	}
	_, err = simulate.Generate(simulate.Config{Seed: 2, End: end}, func(e *wire.Event) error {
		ev := store.Event{ID: e.ID, Name: e.Event, Time: e.Timestamp, ReceivedAt: e.Timestamp,
			ProjectID: e.ProjectID, MachineID: e.MachineID, SessionID: e.SessionID, Environment: e.Environment,
			Product: e.Product.Name, ProductVersion: e.Product.Version, OS: e.Context.OS, OSVersion: e.Context.OSVersion,
			Arch: e.Context.Arch, CPUs: e.Context.CPUs, MemoryMB: e.Context.MemoryMB, Runtime: e.Context.Runtime,
			RuntimeVersion: e.Context.RuntimeVersion, CI: e.Context.CI, CIName: e.Context.CIName, Docker: e.Context.Docker,
			WSL: e.Context.WSL, SDK: e.Context.SDK, Build: e.Build, Properties: e.Properties}
		// Every 97th event of the last 20 days arrives at the end, late for
		// its day.
		if len(all)%97 == 0 && e.Timestamp.After(end.AddDate(0, 0, -20)) {
			all = append(all, ev)
			return nil
		}
		all = append(all, ev)
		batch = append(batch, ev)
		if len(batch) == sizes[len(all)%len(sizes)] || len(batch) >= 20000 {
			flush()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	flush()
	// The store seals the weeks that are over: the weekly rollups answer
	// for them, until the late events take some off.
	if err := st.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(all); i += 97 {
		if all[i].Time.After(end.AddDate(0, 0, -20)) {
			batch = append(batch, all[i])
		}
	}
	flush()
	// A replay of stored events, some new ones among them.
	replay := append([]store.Event(nil), all[1000:3000]...)
	for i := range 50 {
		e := all[i*13]
		e.ID = fmt.Sprintf("01900000-0000-7000-8000-%012x", i)
		replay = append(replay, e)
	}
	if n, err := st.Insert(ctx, replay); err != nil || n != 50 {
		t.Fatalf("replay stored %d, %v", n, err)
	}
	if _, err := st.DeleteProject(ctx, all[500].ProjectID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DeleteBefore(ctx, end.AddDate(0, 0, -85).Add(7*time.Hour+30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	// A project that sent setup done at 09:00 and again at 11:00 on the day
	// of its setup start, 10:00: its setup took an hour.
	p := plan.Default()
	day := end.AddDate(0, 0, -10)
	odd := all[len(all)-1]
	odd.ProjectID, odd.MachineID = "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"
	for i, x := range []struct {
		name string
		at   time.Duration
	}{{p.Setup.Done, 9 * time.Hour}, {p.Setup.Start, 10 * time.Hour}, {p.Setup.Done, 11 * time.Hour}} {
		e := odd
		e.ID, e.Name, e.Time, e.ReceivedAt, e.Properties = fmt.Sprintf("01900000-0000-7000-9000-%012x", i), x.name, day.Add(x.at), day.Add(x.at), nil
		batch = append(batch, e)
	}
	flush()
	var sealed, unsealed int
	if err := st.DB().QueryRow(`SELECT (SELECT count(*) FROM week_sealed),
		(SELECT count(DISTINCT (day + 3) // 7) FROM day_projects WHERE (day + 3) // 7 NOT IN (SELECT week FROM week_sealed))`).Scan(&sealed, &unsealed); err != nil {
		t.Fatal(err)
	}
	if sealed < 3 || unsealed < 2 {
		t.Fatalf("%d weeks sealed and %d not: the test means both", sealed, unsealed)
	}

	last := end.AddDate(0, 0, -1)
	windows := []Params{
		{From: end.AddDate(0, 0, -90), To: last},
		{From: end.AddDate(0, 0, -30), To: last},
		{From: end.AddDate(0, 0, -86), To: end.AddDate(0, 0, -80)},
		{From: day, To: day},
	}
	for _, k := range []int{p.K, 1} {
		pk := *p
		pk.K = k
		fast, slow := New(DuckDB(st.DB()), &pk), New(duckDBEvents(st.DB()), &pk)
		for _, w := range windows {
			for _, name := range Names {
				q := w
				if name == "cohort" {
					q.Feature = "releases"
				}
				compare(t, fast, slow, name, q, k)
			}
			q := w
			q.Event = p.Setup.Start
			compare(t, fast, slow, "cohort", q, k)
		}
	}
}

func compare(t *testing.T, fast, slow *Insights, name string, p Params, k int) {
	t.Helper()
	ctx := context.Background()
	a, err := fast.Run(ctx, name, p)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	b, err := slow.Run(ctx, name, p)
	if err != nil {
		t.Fatalf("%s over the events: %v", name, err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Errorf("%s %s–%s k=%d: the rollups answer\n%s\nthe events\n%s", name, p.From.Format(dateLayout), p.To.Format(dateLayout), k, ja, jb)
	}
	if a.ActiveProjects == 0 {
		t.Errorf("%s %s–%s: no active projects: a window the test did not mean", name, p.From.Format(dateLayout), p.To.Format(dateLayout))
	}
}
