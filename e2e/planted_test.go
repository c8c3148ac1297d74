package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	osexec "os/exec"
	"strings"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/insights"
	"github.com/abacushq/abacus/internal/simulate"
)

// The simulator plants known effects; sent through the real binary, each is
// found by the report meant to find it, within the stated tolerances.
func TestReportsFindThePlantedEffects(t *testing.T) {
	if testing.Short() {
		t.Skip("sends the default simulated population")
	}
	// The reports are under test, not data races: collector and simulator
	// run at full speed without the race detector.
	bin := plainBinary(t)
	srv := startServer(t, serveOpts{bin: bin})
	sim := osexec.Command(bin, "simulate", "--server", srv.URL, "--seed", "42")
	sim.Env = os.Environ()
	if out, err := sim.CombinedOutput(); err != nil {
		t.Fatalf("simulate: %v\n%s", err, out)
	}
	truths, err := simulate.TruthsFor(simulate.Config{Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the population stored", func() bool {
		return bytesContain(adminGet(t, srv.URL+"/metrics").body, "abacus_store_lag_events 0\n")
	})
	get := func(path string, into any) {
		t.Helper()
		a := adminGet(t, srv.URL+"/api/v1/reports/"+path)
		if a.status != http.StatusOK {
			t.Fatalf("%s: %d %s", path, a.status, a.body)
		}
		var r insights.Report
		if err := json.Unmarshal(a.body, &r); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		b, _ := json.Marshal(r.Rows)
		json.Unmarshal(b, into)
	}

	// 1. Users of the feature are about 3× as likely to have the plugin.
	var cohort []insights.CohortRow
	get("cohort?last=90d&feature="+truths.Feature, &cohort)
	found := false
	for _, r := range cohort {
		if r.Attribute == "plugin" && r.Value == truths.Plugin {
			found = true
			if r.Lift < 2.5 || r.Lift > 3.5 || r.PValue > 0.001 || r.Direction != "more" {
				t.Errorf("cohort %s → plugin %s: lift %.2f p %.2g %s; want about %.0f×, significant", truths.Feature, truths.Plugin, r.Lift, r.PValue, r.Direction, truths.PluginLift)
			}
		}
	}
	if !found {
		t.Errorf("the cohort report has no row for plugin %s", truths.Plugin)
	}

	// 2. Setup p90 on the slow OS: the last two weeks against the four before.
	p90 := func(from, to time.Time) int64 {
		var rows []insights.SetupRow
		get("setup?from="+from.Format(time.DateOnly)+"&to="+to.Format(time.DateOnly), &rows)
		for _, r := range rows {
			if r.Dimension == "os" && r.Value == truths.SlowOS && r.P90Ms != nil {
				return *r.P90Ms
			}
		}
		t.Fatalf("no setup row for %s", truths.SlowOS)
		return 0
	}
	since := truths.SlowSince.UTC()
	recent, before := p90(since, time.Now().UTC()), p90(since.AddDate(0, 0, -28), since.AddDate(0, 0, -1))
	if before == 0 || float64(recent)/float64(before) < 1.8 {
		t.Errorf("setup p90 on %s: %dms in the last two weeks against %dms before; want at least 1.8×", truths.SlowOS, recent, before)
	}

	// 3. The fading runtime major: its weekly share falls over the window.
	var series []insights.RuntimePoint
	a := adminGet(t, srv.URL+"/api/v1/reports/runtimes?last=90d")
	var rr struct {
		Series []insights.RuntimePoint `json:"series"`
	}
	json.Unmarshal(a.body, &rr)
	for _, p := range rr.Series {
		if p.Major == truths.FadingMajor {
			series = append(series, p)
		}
	}
	if len(series) < 8 || series[0].Share < 0.12 || series[len(series)-1].Share > 0.06 {
		t.Errorf("node %s weekly share %v: want it falling from about %.0f%% to about %.0f%%", truths.FadingMajor, series, 100*truths.FadingFrom, 100*truths.FadingTo)
	}

	// 4. The error code that came with one product version.
	var errs []insights.ErrorRow
	get("errors?last=90d", &errs)
	found = false
	for _, r := range errs {
		if r.Code == truths.ErrorCode {
			found = true
			first, _ := time.Parse(time.DateOnly, r.FirstSeen)
			if r.TopVersion != truths.ErrorVersion || first.Before(truths.ErrorRelease.Truncate(24*time.Hour)) {
				t.Errorf("%s: top version %s, first seen %s; want %s, not before %s", r.Code, r.TopVersion, r.FirstSeen, truths.ErrorVersion, truths.ErrorRelease.Format(time.DateOnly))
			}
		}
	}
	if !found {
		t.Errorf("the errors report has no row for %s", truths.ErrorCode)
	}
}

func bytesContain(b []byte, s string) bool { return strings.Contains(string(b), s) }
