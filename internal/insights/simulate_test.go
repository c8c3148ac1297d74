package insights

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/plan"
	"github.com/abacushq/abacus/internal/simulate"
	"github.com/abacushq/abacus/internal/store"
	"github.com/abacushq/abacus/internal/store/duckdb"
	"github.com/abacushq/abacus/telemetry/wire"
)

// TestSimulatedEffects runs the reports on internal/simulate's default
// population (2000 projects, 90 days) and checks that they find the four
// effects it plants (simulate.Truths).
func TestSimulatedEffects(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and stores 200k events")
	}
	end := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	st, sum := loadSimulated(t, simulate.Config{Seed: 1, End: end})
	ctx := context.Background()
	truth := sum.Truths
	in := New(DuckDB(st.DB()), plan.Default())
	last := end.AddDate(0, 0, -1)
	whole := Params{From: end.AddDate(0, 0, -90), To: last}
	run := func(name string, p Params) *Report {
		t.Helper()
		r, err := in.Run(ctx, name, p)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	// 1. Users of "releases" have seo three times as often.
	p := whole
	p.Feature = truth.Feature
	found := false
	raw, significant, seenInsignificant := 0, 0, false
	for _, row := range run("cohort", p).Rows.([]CohortRow) {
		if row.PValue < 0.05 {
			raw++
		}
		if row.Significant {
			significant++
			if seenInsignificant || row.QValue >= 0.05 || row.QValue < row.PValue {
				t.Errorf("cohort row %+v: significant rows come first, with p ≤ q < 0.05", row)
			}
		} else {
			seenInsignificant = true
		}
		if row.Attribute == "plugin" && row.Value == truth.Plugin {
			found = true
			if !row.Significant {
				t.Errorf("cohort row %+v, want significant", row)
			}
			t.Logf("cohort: %s lift %.2f (planted %.1f), p %.2g", row.Value, row.Lift, truth.PluginLift, row.PValue)
			if row.Lift < 0.85*truth.PluginLift || row.Lift > 1.15*truth.PluginLift || row.PValue > 1e-6 || row.Direction != "more" {
				t.Errorf("cohort row %+v, want lift about %.1f, tiny p-value, more", row, truth.PluginLift)
			}
		}
	}
	if !found {
		t.Errorf("cohort of %s: no row for plugin %s", truth.Feature, truth.Plugin)
	}
	t.Logf("cohort: %d rows at p < 0.05, %d significant at a 5%% false-discovery rate", raw, significant)

	// 2. Setups on windows take longer in the last 14 days (p90 ×2.5).
	p90 := func(p Params) int64 {
		for _, row := range run("setup", p).Rows.([]SetupRow) {
			if row.Dimension == "os" && row.Value == truth.SlowOS {
				return int64(orZero(row.P90Ms))
			}
		}
		t.Fatalf("setup %s…%s: no row for %s", p.From.Format(dateLayout), p.To.Format(dateLayout), truth.SlowOS)
		return 0
	}
	before := p90(Params{From: whole.From, To: truth.SlowSince.AddDate(0, 0, -1)})
	after := p90(Params{From: truth.SlowSince, To: last})
	t.Logf("setup: %s p90 %v before, %v in the last 14 days (planted ×%.1f)", truth.SlowOS,
		time.Duration(before)*time.Millisecond, time.Duration(after)*time.Millisecond, truth.SlowP90Ratio)
	if ratio := float64(after) / float64(before); ratio < 1.8 {
		t.Errorf("setup p90 on %s rose %.2f×, want about %.1f×", truth.SlowOS, ratio, truth.SlowP90Ratio)
	}
	// Over every OS the change is diluted; the detector must find it on
	// windows (about 110 windows setups in the 14 days compared), list it
	// first, and list nothing but windows and all setups.
	reg := run("setup", Params{From: end.AddDate(0, 0, -30), To: last}).Summary.(SetupSummary).Regression
	t.Logf("setup regression: %+v", reg)
	if !reg.Flag || len(reg.Where) == 0 || reg.Where[0].By != "os" || reg.Where[0].Value != truth.SlowOS || reg.Where[0].P >= 0.01 {
		t.Errorf("setup regression %+v, want the flag up and where[0] os %s with p < 0.01", reg, truth.SlowOS)
	}
	if reg.WhereFrom != truth.SlowSince.Format(dateLayout) || reg.WhereTo != last.Format(dateLayout) {
		t.Errorf("setup regression compares %s to %s, want the last 14 days of the window, %s to %s", reg.WhereFrom, reg.WhereTo,
			truth.SlowSince.Format(dateLayout), last.Format(dateLayout))
	}
	for _, w := range reg.Where {
		if !(w.By == "os" && w.Value == truth.SlowOS) && w.By != "all" {
			t.Errorf("setup regression found on %s %s: %+v", w.By, w.Value, w)
		}
	}

	// Plugins are drawn once per project, independently of time: the active
	// projects grow from one window to the next, but no plugin's share of
	// them changes significantly, though every count rises.
	for _, row := range run("plugins", Params{From: end.AddDate(0, 0, -30), To: last}).Rows.([]PluginRow) {
		t.Logf("plugins: %s %d (%.1f%%) against %d (%.1f%%): %+.1f points, p %.2g, q %.2g", row.Plugin, row.Projects, 100*row.Share,
			int(orZero(row.PreviousProjects)), 100*orZero(row.PreviousShare), 100*orZero(row.ShareChange), row.PValue, row.QValue)
		if row.Significant {
			t.Errorf("plugins: %s flagged: %+v", row.Plugin, row)
		}
	}

	// 3. node 16 fades from 20% of the active projects to 1%.
	var first, final float64 = -1, -1
	for _, pt := range run("runtimes", whole).Series.([]RuntimePoint) {
		if pt.Major == truth.FadingMajor {
			if first < 0 {
				first = pt.Share
			}
			final = pt.Share
		}
	}
	t.Logf("runtimes: node %s from %.1f%% to %.1f%% a week", truth.FadingMajor, 100*first, 100*final)
	if first < 0.1 || final > 0.06 {
		t.Errorf("node %s share %.3f → %.3f, want about %.2f → %.2f", truth.FadingMajor, first, final, truth.FadingFrom, truth.FadingTo)
	}

	// 4. E_ADMIN_BUILD_CRASH comes from 5.4.0 only, since its release: over
	// the last 30 days (which start before it) it is attributed to 5.4.0,
	// first seen on the release day; no other code depends on the version,
	// and no code is attributed to a version other than its own.
	found = false
	window30 := Params{From: end.AddDate(0, 0, -30), To: last}
	for _, row := range run("errors", window30).Rows.([]ErrorRow) {
		t.Logf("errors: %s: top %q/%q/%q, first %s, attribution %+v", row.Code, row.TopVersion, row.TopOS, row.TopRuntimeMajor, row.FirstSeen, row.Attribution)
		if row.Code == truth.ErrorCode {
			found = true
			if row.TopVersion != truth.ErrorVersion || row.FirstSeen != truth.ErrorRelease.Format(dateLayout) {
				t.Errorf("errors row %+v, want topVersion %s, firstSeen %s", row, truth.ErrorVersion, truth.ErrorRelease.Format(dateLayout))
			}
		} else if row.TopVersion != "" {
			t.Errorf("errors: %s attributed to version %s", row.Code, row.TopVersion)
		}
	}
	if !found {
		t.Errorf("errors: no row for %s", truth.ErrorCode)
	}
	// With a window that starts after the release, firstSeen is still the
	// release day, not the window's first.
	late := Params{From: truth.ErrorRelease.AddDate(0, 0, 7), To: last}
	for _, row := range run("errors", late).Rows.([]ErrorRow) {
		if row.Code == truth.ErrorCode && row.FirstSeen != truth.ErrorRelease.Format(dateLayout) {
			t.Errorf("errors from %s: %s first seen %s, want %s", late.From.Format(dateLayout), row.Code, row.FirstSeen, truth.ErrorRelease.Format(dateLayout))
		}
	}

	// The benchmarks' hand-written reference queries give the reports'
	// numbers (with k = 1: nothing suppressed) on this population too.
	all := *plan.Default()
	all.K = 1
	inAll := New(DuckDB(st.DB()), &all)
	ps := Params{From: end.AddDate(0, 0, -60), To: last, Feature: truth.Feature}
	lo, hi := ps.From, ps.To.AddDate(0, 0, 1)
	lw := mondayOf(hi).AddDate(0, 0, -7)
	args := []any{sql.Named("lo", lo), sql.Named("hi", hi), sql.Named("plo", lo.Add(-hi.Sub(lo))),
		sql.Named("slo", minTime(lo, lw.AddDate(0, 0, -28))), sql.Named("dhi", hi.Add(plan.DefaultWithin)),
		sql.Named("last", lw), sql.Named("prior", lw.AddDate(0, 0, -28)), sql.Named("lastend", lw.AddDate(0, 0, 7))}
	for _, name := range Names {
		r, err := inAll.Run(ctx, name, ps)
		if err != nil {
			t.Fatal(err)
		}
		diffs, agreed, err := sameAnswers(ctx, st.DB(), name, r, args)
		if err != nil {
			t.Fatalf("reference query of %s: %v", name, err)
		}
		if len(diffs) > 0 || agreed == 0 {
			t.Errorf("%s: the reference query and the report differ (%d numbers agree):\n%s", name, agreed, strings.Join(diffs, "\n"))
		} else {
			t.Logf("%s: %d numbers agree with the reference query", name, agreed)
		}
		// One number off is caught.
		switch x := r.Series.(type) {
		case []OverviewPoint:
			x[len(x)/2].Events++
		case []SetupPoint:
			x[0].Completed--
		default:
			continue
		}
		if diffs, _, _ := sameAnswers(ctx, st.DB(), name, r, args); len(diffs) != 1 {
			t.Errorf("%s: one number changed, differences found: %q", name, diffs)
		}
	}
}

// loadSimulated stores the population of cfg in a new in-memory DuckDB
// store, closed when the test ends.
func loadSimulated(t *testing.T, cfg simulate.Config) (*duckdb.Store, simulate.Summary) {
	t.Helper()
	st, err := duckdb.Open("", duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var batch []store.Event
	flush := func() {
		if _, err := st.Insert(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
		batch = batch[:0]
	}
	sum, err := simulate.Generate(cfg, func(e *wire.Event) error {
		batch = append(batch, store.Event{ID: e.ID, Name: e.Event, Time: e.Timestamp, ReceivedAt: e.Timestamp,
			ProjectID: e.ProjectID, MachineID: e.MachineID, SessionID: e.SessionID, Environment: e.Environment,
			Product: e.Product.Name, ProductVersion: e.Product.Version, OS: e.Context.OS, OSVersion: e.Context.OSVersion,
			Arch: e.Context.Arch, CPUs: e.Context.CPUs, MemoryMB: e.Context.MemoryMB, Runtime: e.Context.Runtime,
			RuntimeVersion: e.Context.RuntimeVersion, CI: e.Context.CI, CIName: e.Context.CIName, Docker: e.Context.Docker,
			WSL: e.Context.WSL, SDK: e.Context.SDK, Build: e.Build, Properties: e.Properties})
		if len(batch) == 20000 {
			flush()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	flush()
	return st, sum
}
