package simulate

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"hash"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/plan"
	"github.com/abacushq/abacus/telemetry/wire"
)

// observer measures a generated stream with plain Go, the way a report would: it checks
// every event and keeps per-project facts.
type observer struct {
	cfg    Config // normalized
	truths Truths
	plan   *plan.Plan
	digest hash.Hash // of the events' JSON, one a line; nil: not kept

	events   int
	problems []string // the first invalid events
	maxTS    time.Time
	late     int
	maxLate  time.Duration
	names    map[string]int

	projects map[string]*seen

	errorFirst    time.Time      // first event with the planted error code
	errorVersions map[string]int // product versions of the events with it
}

// seen is what the observer knows of one project.
type seen struct {
	usedFeature       bool            // emitted didUseFeature with the planted feature
	usedFeatureLast30 bool            // ... in the last 30 days
	activeLast30      bool            // has an event in the last 30 days
	withPlugin        int             // events whose build.plugins has the planted plugin
	withoutPlugin     int             // events whose build.plugins lacks it
	created, started  time.Time       // first willCreateProject, first didStartServer
	os                string          // of willCreateProject
	startOS           string          // of the first didStartServer
	weeks             map[int]bool    // weeks (0 = first of the window) with an event
	weeks16           map[int]bool    // weeks with an event on the fading major
	versions          map[string]bool // product versions seen
	errorCode         bool            // emitted the planted error code
	onErrorVersion    bool            // has an event on the error version
}

func newObserver(t testing.TB, cfg Config) *observer {
	c, err := cfg.normalize()
	if err != nil {
		t.Fatal(err)
	}
	return &observer{
		cfg: c, truths: truths(c), plan: plan.Default(),
		names: map[string]int{}, projects: map[string]*seen{}, errorVersions: map[string]int{},
	}
}

// withDigest makes o hash the JSON of the events it sees.
func (o *observer) withDigest() *observer {
	o.digest = sha256.New()
	return o
}

func (o *observer) problem(e *wire.Event, format string, args ...any) {
	if len(o.problems) < 10 {
		b, _ := json.Marshal(e)
		o.problems = append(o.problems, fmt.Sprintf(format, args...)+": "+string(b))
	}
}

// see is the emit function.
func (o *observer) see(e *wire.Event) error {
	if o.digest != nil {
		raw, err := json.Marshal(e)
		if err != nil {
			return err
		}
		o.digest.Write(raw)
		o.digest.Write([]byte{'\n'})
	}
	o.events++
	o.names[e.Event]++

	// The envelope, the plan (on a copy: Apply cleans in place) and the window.
	switch {
	case !wire.IsUUID(e.ID), !wire.IsUUID(e.SessionID):
		o.problem(e, "id or session is not a UUID")
	case !wire.IsProjectID(e.ProjectID):
		o.problem(e, "bad project ID")
	case !wire.IsMachineID(e.MachineID):
		o.problem(e, "bad machine ID")
	case !wire.IsEnvironment(e.Environment):
		o.problem(e, "bad environment")
	case e.Timestamp.Before(o.cfg.start()) || !e.Timestamp.Before(o.cfg.End):
		o.problem(e, "timestamp outside the window")
	}
	cp := *e // Apply removes keys from the maps it is given; the values it does not change
	cp.Build, cp.Properties = maps.Clone(e.Build), maps.Clone(e.Properties)
	if dropped, err := o.plan.Apply(&cp); err != nil || len(dropped) > 0 {
		o.problem(e, "plan: %v, dropped %v", err, dropped)
	}
	if e.Context.Runtime != "node" || e.Context.CI != (e.Context.CIName != "") || e.Context.WSL && e.Context.OS != "linux" {
		o.problem(e, "context")
	}

	// Send order: an event is late when one with a later timestamp came before it.
	if e.Timestamp.Before(o.maxTS) {
		o.late++
		o.maxLate = max(o.maxLate, o.maxTS.Sub(e.Timestamp))
	} else {
		o.maxTS = e.Timestamp
	}

	p := o.projects[e.ProjectID]
	if p == nil {
		p = &seen{weeks: map[int]bool{}, weeks16: map[int]bool{}, versions: map[string]bool{}}
		o.projects[e.ProjectID] = p
	}
	last30 := !e.Timestamp.Before(o.cfg.End.Add(-30 * 24 * time.Hour))
	p.activeLast30 = p.activeLast30 || last30
	feature, _ := e.Properties["feature"].(string)
	if e.Event == "didUseFeature" && feature == o.truths.Feature {
		p.usedFeature = true
		p.usedFeatureLast30 = p.usedFeatureLast30 || last30
	}
	plugins, _ := e.Build["plugins"].([]any)
	if slices.Contains(plugins, any(o.truths.Plugin)) {
		p.withPlugin++
	} else {
		p.withoutPlugin++
	}
	switch {
	case e.Event == "willCreateProject" && p.created.IsZero():
		p.created, p.os = e.Timestamp, e.Context.OS
	case e.Event == "didStartServer" && (p.started.IsZero() || e.Timestamp.Before(p.started)):
		p.started, p.startOS = e.Timestamp, e.Context.OS
	}
	week := int(e.Timestamp.Sub(o.cfg.start()) / (7 * 24 * time.Hour))
	p.weeks[week] = true
	if strings.HasPrefix(e.Context.RuntimeVersion, o.truths.FadingMajor+".") {
		p.weeks16[week] = true
	}
	p.versions[e.Product.Version] = true
	code, _ := e.Properties["code"].(string)
	if code == o.truths.ErrorCode {
		p.errorCode = true
		o.errorVersions[e.Product.Version]++
		if o.errorFirst.IsZero() || e.Timestamp.Before(o.errorFirst) {
			o.errorFirst = e.Timestamp
		}
	}
	if e.Product.Version == o.truths.ErrorVersion {
		p.onErrorVersion = true
		if e.Timestamp.Before(o.truths.ErrorRelease) {
			o.problem(e, "the error version before its release")
		}
	}
	return nil
}

// lift returns share(cohort has the plugin) / share(rest has it), and the two shares.
func (o *observer) lift(last30 bool) (lift, in, out float64, nIn, nOut int) {
	var hasIn, hasOut int
	for _, p := range o.projects {
		if last30 && !p.activeLast30 {
			continue
		}
		cohort := p.usedFeature
		if last30 {
			cohort = p.usedFeatureLast30
		}
		has := p.withPlugin > 0
		if cohort {
			nIn++
			if has {
				hasIn++
			}
		} else {
			nOut++
			if has {
				hasOut++
			}
		}
	}
	in, out = float64(hasIn)/float64(nIn), float64(hasOut)/float64(nOut)
	return in / out, in, out, nIn, nOut
}

// setupTimes returns the setup times (willCreateProject → first didStartServer within
// 168h) of the projects created on os, in [from, to).
func (o *observer) setupTimes(os string, from, to time.Time) []time.Duration {
	var ds []time.Duration
	for _, p := range o.projects {
		if p.os != os || p.created.Before(from) || !p.created.Before(to) || p.started.IsZero() {
			continue
		}
		if d := p.started.Sub(p.created); d <= 168*time.Hour {
			ds = append(ds, d)
		}
	}
	return ds
}

// quantile returns the q-quantile of ds (nearest rank).
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// share16 returns the share of the projects active in week w that ran the fading major.
func (o *observer) share16(w int) (float64, int) {
	var active, on16 int
	for _, p := range o.projects {
		if p.weeks[w] {
			active++
			if p.weeks16[w] {
				on16++
			}
		}
	}
	return float64(on16) / float64(active), active
}

// errorProjects returns how many projects emitted an event on the error version, and how
// many of those emitted the planted error code.
func (o *observer) errorProjects() (onVersion, withCode int) {
	for _, p := range o.projects {
		if p.onErrorVersion {
			onVersion++
			if p.errorCode {
				withCode++
			}
		}
	}
	return
}

func (o *observer) sum() string { return fmt.Sprintf("%x", o.digest.Sum(nil)) }

// The default population (2000 projects, 90 days), generated once for all tests that
// measure it.
var (
	defaultOnce sync.Once
	defaultObs  *observer
	defaultSum  Summary
	defaultTook time.Duration
	defaultErr  error
)

var testEnd = time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)

func defaultPopulation(t *testing.T) (*observer, Summary) {
	t.Helper()
	defaultOnce.Do(func() {
		defaultObs = newObserver(t, Config{Seed: 42, End: testEnd})
		began := time.Now()
		defaultSum, defaultErr = Generate(Config{Seed: 42, End: testEnd}, defaultObs.see)
		defaultTook = time.Since(began)
	})
	if defaultErr != nil {
		t.Fatal(defaultErr)
	}
	return defaultObs, defaultSum
}

// sortedKeys is for messages.
func sortedKeys[V any](m map[string]V) []string {
	ks := slices.Collect(maps.Keys(m))
	sort.Strings(ks)
	return ks
}
