package simulate

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/abacushq/abacus/telemetry/wire"
)

func TestConfigNormalize(t *testing.T) {
	end := time.Date(2026, 3, 1, 12, 30, 0, 123456789, time.FixedZone("x", 3600))
	tests := []struct {
		name     string
		in       Config
		projects int
		days     int
		end      time.Time
		err      string
	}{
		{"defaults", Config{End: testEnd}, 2000, 90, testEnd, ""},
		{"given", Config{Projects: 10, Days: 3, End: end}, 10, 3, time.Date(2026, 3, 1, 11, 30, 0, 123000000, time.UTC), ""},
		{"negative projects", Config{Projects: -1}, 0, 0, time.Time{}, "Projects = -1"},
		{"too many days", Config{Days: MaxDays + 1}, 0, 0, time.Time{}, "Days = 3651"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.in.normalize()
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || c.Projects != tt.projects || c.Days != tt.days || !c.End.Equal(tt.end) || c.End.Location() != time.UTC {
				t.Errorf("normalize = %+v, %v", c, err)
			}
		})
	}
	c, _ := Config{}.normalize()
	if now := time.Now().UTC(); c.End.After(now) || now.Sub(c.End) > time.Hour || c.End.Minute() != 0 {
		t.Errorf("zero End = %v, want now truncated to the hour", c.End)
	}
}

func TestDeterminism(t *testing.T) {
	small := Config{Projects: 150, Days: 45, Seed: 7, End: testEnd}
	digest := func(c Config) (string, Summary) {
		o := newObserver(t, c).withDigest()
		s, err := Generate(c, o.see)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range o.problems {
			t.Error(p)
		}
		return o.sum(), s
	}
	base, baseSum := digest(small)
	tests := []struct {
		name string
		cfg  Config
		same bool
	}{
		{"same config", small, true},
		{"End given in another zone", Config{Projects: 150, Days: 45, Seed: 7, End: testEnd.In(time.FixedZone("y", -5*3600))}, true},
		{"another seed", Config{Projects: 150, Days: 45, Seed: 8, End: testEnd}, false},
		{"another end", Config{Projects: 150, Days: 45, Seed: 7, End: testEnd.Add(time.Hour)}, false},
		{"another size", Config{Projects: 151, Days: 45, Seed: 7, End: testEnd}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, sum := digest(tt.cfg)
			if (got == base) != tt.same {
				t.Errorf("digest %s vs %s, want same = %v", got, base, tt.same)
			}
			if tt.same && sum != baseSum {
				t.Errorf("summary %+v, want %+v", sum, baseSum)
			}
		})
	}
	// The counting pass sees exactly what Generate emits.
	c, _ := small.normalize()
	counted, err := count(context.Background(), c)
	if err != nil || counted != baseSum {
		t.Errorf("count = %+v, %v; Generate = %+v", counted, err, baseSum)
	}
}

// TestEvents checks every event of the default population: the plan, the envelope, the
// window, and the summary against what was emitted.
func TestEvents(t *testing.T) {
	o, s := defaultPopulation(t)
	t.Logf("default population: %d events, %d projects, %d machines, generated (and checked) in %v", s.Events, s.Projects, s.Machines, defaultTook)
	t.Logf("events by name: %v", o.names)
	for _, p := range o.problems {
		t.Error(p)
	}
	tests := []struct {
		name     string
		got      int
		min, max int
	}{
		{"events (roughly 200k-600k)", s.Events, 200_000, 600_000},
		{"Summary.Events = emitted", s.Events, o.events, o.events},
		{"Summary.Projects = distinct", s.Projects, len(o.projects), len(o.projects)},
		{"projects = Config.Projects", s.Projects, 2000, 2000},
		{"machines: 1 to 3 per project", s.Machines, 2000, 6000},
		{"Summary.Late = late events seen", s.Late, o.late, o.late},
	}
	for _, tt := range tests {
		if tt.got < tt.min || tt.got > tt.max {
			t.Errorf("%s = %d, want %d..%d", tt.name, tt.got, tt.min, tt.max)
		}
	}
	for _, name := range []string{"willCreateProject", "didCreateProject", "didInstallDependencies", "didStartServer",
		"didBuildAdmin", "didUseFeature", "didInstallPlugin", "didFailWithError", "ping"} {
		if o.names[name] == 0 {
			t.Errorf("no %s event", name)
		}
	}
	if len(o.names) != 9 {
		t.Errorf("event names %v", sortedKeys(o.names))
	}
	start := testEnd.Add(-90 * 24 * time.Hour)
	if s.First.Before(start) || s.First.After(start.Add(24*time.Hour)) || !s.Last.Before(testEnd) || s.Last.Before(testEnd.Add(-time.Hour)) {
		t.Errorf("First, Last = %v, %v", s.First, s.Last)
	}
}

// TestSpeed: the default population generates in a few seconds (it takes well under one).
func TestSpeed(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("timing")
	}
	began := time.Now()
	s, err := Generate(Config{End: testEnd}, func(*wire.Event) error { return nil })
	took := time.Since(began)
	t.Logf("%d events in %v", s.Events, took)
	if err != nil || took > 5*time.Second {
		t.Errorf("Generate took %v, %v", took, err)
	}
}

func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		s, err := Generate(Config{Seed: uint64(b.N), End: testEnd}, func(*wire.Event) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(s.Events), "events/op")
	}
}

// TestPlantedEffects measures each planted effect from the events of the default population
// and checks it against the Truths, within stated tolerances.
func TestPlantedEffects(t *testing.T) {
	o, s := defaultPopulation(t)
	tr := s.Truths
	start := o.cfg.start()

	// (1) feature → plugin.
	lift, in, out, nIn, nOut := o.lift(false)
	lift30, in30, out30, nIn30, nOut30 := o.lift(true)
	t.Logf("lift: %.3f (%.3f of %d users of %s vs %.3f of %d others have %s); last 30 days: %.3f (%.3f of %d vs %.3f of %d)",
		lift, in, nIn, tr.Feature, out, nOut, tr.Plugin, lift30, in30, nIn30, out30, nOut30)
	mixed := 0
	for _, p := range o.projects {
		if p.withPlugin > 0 && p.withoutPlugin > 0 {
			mixed++
		}
	}

	// (2) setup time.
	slow, earlier := tr.SlowSince, time.Time{}
	type setup struct{ p50, p90 time.Duration }
	measure := func(os string, from, to time.Time) (setup, int) {
		ds := o.setupTimes(os, from, to)
		return setup{quantile(ds, 0.5), quantile(ds, 0.9)}, len(ds)
	}
	ratio := map[string][2]float64{} // os → p50, p90 ratio of last 14 days to earlier
	for _, os := range []string{"darwin", "linux", "windows"} {
		before, nb := measure(os, earlier, slow)
		after, na := measure(os, slow, testEnd)
		ratio[os] = [2]float64{float64(after.p50) / float64(before.p50), float64(after.p90) / float64(before.p90)}
		t.Logf("setup on %-7s: earlier p50 %v p90 %v (%d); last 14 days p50 %v p90 %v (%d); ratios %.2f, %.2f",
			os, before.p50.Round(time.Second), before.p90.Round(time.Second), nb, after.p50.Round(time.Second), after.p90.Round(time.Second), na, ratio[os][0], ratio[os][1])
	}
	all, _ := measure("darwin", earlier, slow)
	var incomplete, created int
	for _, p := range o.projects {
		if !p.created.IsZero() && p.created.Before(testEnd.Add(-7*24*time.Hour)) {
			created++
			if p.started.IsZero() {
				incomplete++
			}
		}
		if !p.started.IsZero() && p.startOS != p.os {
			t.Errorf("setup started on %s, the server on %s", p.os, p.startOS)
		}
	}

	// (3) the fading major.
	first16, nFirst := o.share16(0)
	lastWeek := int(testEnd.Add(-time.Millisecond).Sub(start) / (7 * 24 * time.Hour))
	last16, nLast := o.share16(lastWeek)
	mid16, _ := o.share16(lastWeek / 2)
	t.Logf("setups never completed: %d of %d created before the last week", incomplete, created)
	t.Logf("late: %d of %d events, at most %v", s.Late, s.Events, o.maxLate.Round(time.Minute))
	t.Logf("node %s share: first week %.3f of %d, week %d %.3f, last week %.3f of %d", tr.FadingMajor, first16, nFirst, lastWeek/2, mid16, last16, nLast)

	// (4) the error code.
	onVersion, withCode := o.errorProjects()
	afterRelease := o.errorFirst.Sub(tr.ErrorRelease)
	t.Logf("%s: %d of %d projects seen on %s; versions %v; first %v after the release", tr.ErrorCode, withCode, onVersion, tr.ErrorVersion, o.errorVersions, afterRelease)

	tests := []struct {
		name     string
		got      float64
		min, max float64
	}{
		{"lift over the window (exact by construction)", lift, 2.9, 3.1},
		{"lift over the last 30 days", lift30, 2.5, 3.5},
		{"plugin share of the rest", out, 0.075, 0.085},
		{"cohort size", float64(nIn), 250, 600},
		{"projects with the plugin on some events only", float64(mixed), 0, 0},
		{"setup p90 ratio on the slow OS", ratio[tr.SlowOS][1], 2.0, 3.0},
		{"setup p50 ratio on the slow OS", ratio[tr.SlowOS][0], 0.85, 1.15},
		{"setup p90 ratio on darwin", ratio["darwin"][1], 0.85, 1.15},
		{"setup p90 ratio on linux", ratio["linux"][1], 0.85, 1.15},
		{"setup p50 ratio on darwin", ratio["darwin"][0], 0.85, 1.15},
		{"setup median vs Truths (darwin, earlier)", float64(all.p50) / float64(tr.SetupMedian), 0.9, 1.1},
		{"setup p90 vs Truths (darwin, earlier)", float64(all.p90) / float64(tr.SetupP90), 0.9, 1.1},
		{"setups never completed", float64(incomplete) / float64(created), 0.06, 0.10},
		{"node 16 share, first week", first16, 0.16, 0.24},
		{"node 16 share, middle week", mid16, 0.08, 0.14},
		{"node 16 share, last week", last16, 0, 0.03},
		{"projects on the error version with its code", float64(withCode) / float64(onVersion), 0.25, 0.5},
		{"events with the error code on its version", float64(o.errorVersions[tr.ErrorVersion]), 500, 5000},
		{"versions the error code appears on", float64(len(o.errorVersions)), 1, 1},
		{"first error code after the release, hours", afterRelease.Hours(), 0, 48},
		{"late events", float64(s.Late) / float64(s.Events), 0.02, 0.045},
		{"latest delivery, hours", o.maxLate.Hours(), 24, tr.MaxLate.Hours()},
	}
	for _, tt := range tests {
		if !(tt.got >= tt.min && tt.got <= tt.max) {
			t.Errorf("%s = %.3f, want %.3f..%.3f", tt.name, tt.got, tt.min, tt.max)
		}
	}
}

func TestSmallPopulations(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"one project, one day", Config{Projects: 1, Days: 1, Seed: 1, End: testEnd}},
		{"a week (all of it slow)", Config{Projects: 50, Days: 7, Seed: 2, End: testEnd}},
		{"20 days (the error version is older)", Config{Projects: 100, Days: 20, Seed: 3, End: testEnd}},
		{"a year", Config{Projects: 200, Days: 365, Seed: 4, End: testEnd}},
		{"End not on the hour", Config{Projects: 100, Days: 30, Seed: 5, End: testEnd.Add(-90*time.Minute - 7*time.Millisecond)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newObserver(t, tt.cfg)
			s, err := Generate(tt.cfg, o.see)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range o.problems {
				t.Error(p)
			}
			if s.Events != o.events || s.Projects != tt.cfg.Projects || s.Events < 3*tt.cfg.Projects {
				t.Errorf("summary %+v, %d events seen", s, o.events)
			}
		})
	}
}

func TestGenerateStops(t *testing.T) {
	stop := errors.New("enough")
	n := 0
	s, err := Generate(Config{Projects: 100, Days: 30, End: testEnd}, func(*wire.Event) error {
		if n++; n == 1000 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || s.Events != 1000 {
		t.Errorf("Generate = %d events, %v", s.Events, err)
	}
	if _, err := Generate(Config{}, nil); err == nil {
		t.Error("nil emit accepted")
	}
	if _, err := Generate(Config{Days: -1}, func(*wire.Event) error { return nil }); err == nil {
		t.Error("negative Days accepted")
	}
}

func TestTruthsFor(t *testing.T) {
	tr, err := TruthsFor(Config{End: testEnd})
	if err != nil {
		t.Fatal(err)
	}
	want := Truths{
		Feature: "releases", Plugin: "seo", PluginLift: 3, PluginShare: 0.08,
		SlowOS: "windows", SlowFactor: 2.5, SlowSince: testEnd.Add(-14 * 24 * time.Hour),
		FadingMajor: "16", FadingFrom: 0.2, FadingTo: 0.01, GrowingMajor: "22",
		ErrorCode: "E_ADMIN_BUILD_CRASH", ErrorVersion: "5.4.0", ErrorRelease: testEnd.Add(-21 * 24 * time.Hour),
	}
	got := tr
	got.SlowP90Ratio, got.SetupFloor, got.SetupMedian, got.SetupP90, got.SetupFailRate = 0, 0, 0, 0, 0
	got.ErrorShare, got.ErrorRate, got.LateShare, got.MaxLate = 0, 0, 0, 0
	if got != want {
		t.Errorf("TruthsFor =\n%+v, want\n%+v", got, want)
	}
	if tr.SetupMedian != 6*time.Minute+40*time.Second || tr.SetupP90 < 32*time.Minute || tr.SetupP90 > 33*time.Minute ||
		tr.SlowP90Ratio < 2.4 || tr.SlowP90Ratio > 2.5 {
		t.Errorf("setup truths %v %v %v", tr.SetupMedian, tr.SetupP90, tr.SlowP90Ratio)
	}
	// The releases the truths rely on.
	for _, r := range releases {
		if r.version == tr.ErrorVersion && r.days != errorReleaseDays {
			t.Errorf("%s released %v days before End", r.version, r.days)
		}
	}
}

func TestUUID(t *testing.T) {
	tests := []struct {
		hi, lo uint64
		want   string
	}{
		{0, 0, "00000000-0000-4000-8000-000000000000"},
		{^uint64(0), ^uint64(0), "ffffffff-ffff-4fff-bfff-ffffffffffff"},
		{0x0123456789abcdef, 0xfedcba9876543210, "01234567-89ab-4def-bedc-ba9876543210"},
	}
	for _, tt := range tests {
		if got := uuid(tt.hi, tt.lo); got != tt.want || !wire.IsUUID(got) {
			t.Errorf("uuid(%x, %x) = %s, want %s", tt.hi, tt.lo, got, tt.want)
		}
	}
	if id := newRNG(1, 2).machineID(); !wire.IsMachineID(id) {
		t.Errorf("machineID = %s", id)
	}
}

func TestThousands(t *testing.T) {
	for _, tt := range []struct {
		n    int
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1,000"}, {1234567, "1,234,567"}, {-1234, "-1,234"}} {
		if got := thousands(tt.n); got != tt.want {
			t.Errorf("thousands(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}
