package insights

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/plan"
	"github.com/abacushq/abacus/internal/store"
	"github.com/abacushq/abacus/internal/store/duckdb"
)

// The tests build small stores by hand, with k = 3, and state every answer;
// the comments work the numbers out.

// testPlan declares a feature event with a feature property (didUseFeature)
// and one without (didExport, whose feature is its name), an error event, a
// setup measure with within 24h, and build keys of each kind (note, a string,
// is no cohort attribute).
const testPlan = `
product: strapi
k: 3
setup: {start: willCreateProject, done: didStartServer, within: 24h}
build:
  plugins: {type: list, items: {type: string, max: 64}}
  typescript: {type: bool}
  database: {type: enum, values: [sqlite, postgres]}
  note: {type: string, max: 10}
events:
  willCreateProject: {}
  didStartServer: {}
  didUseFeature: {kind: feature, properties: {feature: {type: string, max: 64}}}
  didExport: {kind: feature}
  didFailWithError: {kind: error, properties: {code: {type: string, max: 64}}}
  ping: {}
`

func parsePlan(t testing.TB) *plan.Plan {
	t.Helper()
	p, err := plan.Parse("test.yaml", []byte(testPlan))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type fixture struct {
	t  *testing.T
	st *duckdb.Store
	in *Insights
	n  int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := duckdb.Open("", duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &fixture{t: t, st: st, in: New(DuckDB(st.DB()), parsePlan(t))}
}

func hex32(name string) string {
	h := sha256.Sum256([]byte(name))
	return hex.EncodeToString(h[:16])
}

// machine is what a machine of a project says about itself; its zero fields
// take the defaults of m (development, darwin, node 20.11.1, strapi 5.4.0).
type machine struct {
	project, name   string
	env, os, rv, pv string
	ci, docker      bool
	plugins         []string // nil: no plugins key
	build           map[string]any
	runtime         string
}

func m(project string) machine { return machine{project: project, name: project + "-laptop"} }

func (mc machine) on(name string) machine { mc.name = mc.project + "-" + name; return mc }
func (mc machine) with(f func(*machine)) machine {
	f(&mc)
	return mc
}

// ev returns an event at ts ("2026-03-02 10:00", UTC) named name with
// properties given as key, value pairs.
func (f *fixture) ev(mc machine, ts, name string, kv ...any) store.Event {
	f.t.Helper()
	if len(ts) == len("2006-01-02 15:04") {
		ts += ":00"
	}
	at, err := time.Parse("2006-01-02 15:04:05", ts)
	if err != nil {
		f.t.Fatalf("bad time %q: %v", ts, err)
	}
	f.n++
	e := store.Event{
		ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", f.n), Name: name, Time: at, ReceivedAt: at,
		ProjectID: hex32(mc.project), MachineID: hex32(mc.name), Environment: or(mc.env, "development"),
		Product: "strapi", ProductVersion: or(mc.pv, "5.4.0"), OS: or(mc.os, "darwin"),
		Runtime: or(mc.runtime, "node"), RuntimeVersion: or(mc.rv, "20.11.1"), CI: mc.ci, Docker: mc.docker,
		SDK: "abacus-go/test", Build: map[string]any{}, Properties: map[string]any{},
	}
	for k, v := range mc.build {
		e.Build[k] = v
	}
	if mc.plugins != nil {
		pl := make([]any, len(mc.plugins))
		for i, p := range mc.plugins {
			pl[i] = p
		}
		e.Build["plugins"] = pl
	}
	for i := 0; i+1 < len(kv); i += 2 {
		e.Properties[kv[i].(string)] = kv[i+1]
	}
	return e
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (f *fixture) add(evs ...store.Event) {
	f.t.Helper()
	if _, err := f.st.Insert(context.Background(), evs); err != nil {
		f.t.Fatal(err)
	}
}

func window(from, to string) Params {
	a, _ := time.Parse(dateLayout, from)
	b, _ := time.Parse(dateLayout, to)
	return Params{From: a, To: b}
}

func (f *fixture) run(name string, p Params) *Report {
	f.t.Helper()
	r, err := f.in.Run(context.Background(), name, p)
	if err != nil {
		f.t.Fatal(err)
	}
	checkJSON(f.t, r)
	return r
}

func want[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// near compares floats computed the same way up to rounding.
func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// The JSON contract: the keys of the answer, and of each report's summary,
// rows and series.
var (
	reportKeys  = []string{"report", "from", "to", "k", "activeProjects", "summary", "rows", "series", "suppressed"}
	contractKey = map[string][3][]string{ // summary, row, series point
		"overview": {{"machines", "events", "ciShare"}, {"dimension", "value", "projects", "share"}, {"date", "events", "activeProjects", "partial"}},
		"features": {{}, {"feature", "projects", "adoption"}, {"week", "feature", "projects", "adoption", "partial"}},
		"cohort": {{"cohort", "rest", "feature", "test"},
			{"attribute", "value", "cohortProjects", "restProjects", "cohortShare", "restShare", "lift", "pValue", "qValue", "significant", "direction"}, nil},
		"setup": {{"started", "completed", "completionRate", "within", "p50Ms", "p75Ms", "p90Ms", "regression", "histogram", "topErrors"},
			{"dimension", "value", "projects", "p50Ms", "p90Ms", "completionRate"},
			{"week", "started", "completed", "p50Ms", "p75Ms", "p90Ms", "partial"}},
		"errors":   {{}, {"code", "events", "projects", "firstSeen", "lastSeen", "topVersion", "topOS", "topRuntimeMajor", "attribution"}, {"week", "code", "events", "projects", "partial"}},
		"plugins":  {{"previousActiveProjects", "test"}, {"plugin", "projects", "share", "previousProjects", "change", "previousShare", "shareChange", "pValue", "qValue", "significant"}, nil},
		"runtimes": {{}, {"runtime", "major", "version", "projects", "share", "productionShare", "otherShare"}, {"week", "runtime", "major", "share", "partial"}},
	}
	regressionKeys = []string{"flag", "tested", "metric", "test", "pValue", "p50PValue", "p90PValue", "where", "whereFrom", "whereTo", "lastWeek", "lastP50Ms", "lastP90Ms", "priorP50Ms", "priorP90Ms"}
)

// checkJSON marshals r (which fails on NaN or Inf) and checks its keys
// against the contract.
func checkJSON(t *testing.T, r *Report) {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatalf("json.Marshal(%s report): %v", r.Report, err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("decode the %s report: %v", r.Report, err)
	}
	if !reflect.DeepEqual(&back, r) {
		t.Errorf("%s report after a JSON round trip:\n got %+v\nwant %+v", r.Report, back, *r)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	keysOf := func(raw json.RawMessage) []string {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			t.Fatalf("%s report: %s is not an object: %v", r.Report, raw, err)
		}
		var ks []string
		for k := range obj {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	sorted := func(ks []string) []string {
		ks = slices.Clone(ks)
		slices.Sort(ks)
		if ks == nil {
			ks = []string{}
		}
		return ks
	}
	if got := keysOf(b); !slices.Equal(got, sorted(reportKeys)) {
		t.Errorf("%s report keys = %v, want %v", r.Report, got, sorted(reportKeys))
	}
	c := contractKey[r.Report]
	sum := c[0]
	if r.Report == "cohort" && r.Summary.(CohortSummary).Event != "" {
		sum = []string{"cohort", "rest", "event", "test"}
	}
	if got := keysOf(top["summary"]); !slices.Equal(sorted(got), sorted(sum)) {
		t.Errorf("%s summary keys = %v, want %v", r.Report, got, sorted(sum))
	}
	if r.Report == "setup" {
		var s map[string]json.RawMessage
		json.Unmarshal(top["summary"], &s)
		if got := keysOf(s["regression"]); !slices.Equal(got, sorted(regressionKeys)) {
			t.Errorf("setup regression keys = %v, want %v", got, sorted(regressionKeys))
		}
		for _, f := range []string{"histogram", "topErrors"} {
			if !strings.HasPrefix(string(s[f]), "[") {
				t.Errorf("setup %s = %s, want an array", f, s[f])
			}
		}
	}
	for i, part := range []string{"rows", "series"} {
		var elems []json.RawMessage
		if err := json.Unmarshal(top[part], &elems); err != nil || elems == nil {
			t.Errorf("%s report: %s = %s, want an array", r.Report, part, top[part])
			continue
		}
		for _, e := range elems {
			if got := keysOf(e); !slices.Equal(got, sorted(c[i+1])) {
				t.Errorf("%s %s element keys = %v, want %v", r.Report, part, got, sorted(c[i+1]))
				break
			}
		}
	}
}

func TestOverview(t *testing.T) {
	f := newFixture(t)
	var evs []store.Event
	// P1…P4: darwin laptops on 5.4.0, one event each on Monday 2026-03-02.
	for _, p := range []string{"P1", "P2", "P3", "P4"} {
		evs = append(evs, f.ev(m(p), "2026-03-02 10:00", "ping"))
	}
	// P1's production server (linux), two events on Tuesday.
	srv := m("P1").on("server").with(func(mc *machine) { mc.env, mc.os = "production", "linux" })
	evs = append(evs, f.ev(srv, "2026-03-03 09:00", "ping"), f.ev(srv, "2026-03-03 11:00", "didStartServer"))
	// P5, P6: windows CI runners on 5.3.1, Tuesday.
	for _, p := range []string{"P5", "P6"} {
		evs = append(evs, f.ev(m(p).with(func(mc *machine) { mc.os, mc.pv, mc.ci = "windows", "5.3.1", true }), "2026-03-03 12:00", "ping"))
	}
	// P7: linux on 4.25.1, Wednesday.
	evs = append(evs, f.ev(m("P7").with(func(mc *machine) { mc.os, mc.pv = "linux", "4.25.1" }), "2026-03-04 12:00", "ping"))
	// Outside the window: P8 the day after, P9 the day before.
	evs = append(evs, f.ev(m("P8"), "2026-03-09 00:00", "ping"), f.ev(m("P9"), "2026-03-01 23:59", "ping"))
	f.add(evs...)

	r := f.run("overview", window("2026-03-02", "2026-03-08"))
	// P1…P7 are active; 4+2+2+1 = 9 events from 8 machines (P1 has two);
	// P5 and P6 sent from CI: 2/7.
	want(t, "activeProjects", r.ActiveProjects, 7)
	want(t, "summary", r.Summary.(OverviewSummary), OverviewSummary{Machines: 8, Events: 9, CIShare: 2.0 / 7})
	// Monday: 4 events of 4 projects; Tuesday: 4 events of P1, P5, P6 (3 = k,
	// kept); Wednesday: P7 alone (suppressed).
	want(t, "series", r.Series.([]OverviewPoint), []OverviewPoint{
		{Date: "2026-03-02", Events: 4, ActiveProjects: 4},
		{Date: "2026-03-03", Events: 4, ActiveProjects: 3},
	})
	// environment: development P1…P7; production only P1 (suppressed, and
	// "other" = {P1} is under k too). os: darwin P1…P4; windows {P5, P6} and
	// linux {P1, P7} fold into other = 4 projects. productVersion: 5.4.0
	// P1…P4; 5.3.1 {P5, P6} and 4.25.1 {P7} fold into other = 3 projects.
	want(t, "rows", r.Rows.([]OverviewRow), []OverviewRow{
		{"environment", "development", 7, 1},
		{"os", "darwin", 4, 4.0 / 7},
		{"os", "other", 4, 4.0 / 7},
		{"productVersion", "5.4.0", 4, 4.0 / 7},
		{"productVersion", "other", 3, 3.0 / 7},
	})
	// 1 day + production + windows, linux + 5.3.1, 4.25.1.
	want(t, "suppressed", r.Suppressed, 6)
	want(t, "from, to, k", []any{r.From, r.To, r.K}, []any{"2026-03-02", "2026-03-08", 3})
}

func TestFeatures(t *testing.T) {
	f := newFixture(t)
	var evs []store.Event
	use := func(p, ts, feature string) store.Event { return f.ev(m(p), ts, "didUseFeature", "feature", feature) }
	// Week of 2026-03-02: P1…P4 use releases, P5 and P6 preview, P8 only pings
	// and sends a didUseFeature without a feature (no feature use).
	for _, p := range []string{"P1", "P2", "P3", "P4"} {
		evs = append(evs, use(p, "2026-03-03 10:00", "releases"))
	}
	evs = append(evs, use("P5", "2026-03-04 10:00", "preview"), use("P6", "2026-03-04 10:00", "preview"),
		f.ev(m("P8"), "2026-03-05 10:00", "ping"), f.ev(m("P8"), "2026-03-05 11:00", "didUseFeature"))
	// Week of 2026-03-09: P1…P3 use releases again, P7 exports (the feature
	// "didExport", an event without a feature property), P5 pings.
	for _, p := range []string{"P1", "P2", "P3"} {
		evs = append(evs, use(p, "2026-03-10 10:00", "releases"))
	}
	evs = append(evs, f.ev(m("P7"), "2026-03-11 10:00", "didExport"), f.ev(m("P5"), "2026-03-11 10:00", "ping"))
	f.add(evs...)

	r := f.run("features", window("2026-03-02", "2026-03-15"))
	// Active: P1…P8 = 8. Week 1: P1…P6, P8 = 7; week 2: P1, P2, P3, P5, P7 = 5.
	want(t, "activeProjects", r.ActiveProjects, 8)
	// releases 4/8; preview {P5, P6} and didExport {P7} fold into other = 3 = k.
	want(t, "rows", r.Rows.([]FeatureRow), []FeatureRow{
		{"releases", 4, 0.5},
		{"other", 3, 3.0 / 8},
	})
	// Week 1: releases 4/7 (preview 2: suppressed); week 2: releases 3/5
	// (didExport 1: suppressed).
	want(t, "series", r.Series.([]FeaturePoint), []FeaturePoint{
		{"2026-03-02", "releases", 4, 4.0 / 7, false},
		{"2026-03-09", "releases", 3, 3.0 / 5, false},
	})
	// Rows: preview, didExport; series: two points.
	want(t, "suppressed", r.Suppressed, 4)
}

func TestCohort(t *testing.T) {
	f := newFixture(t)
	var evs []store.Event
	// Cohort P1…P4: darwin, node 20, plugins [seo] for P1…P3, typescript for
	// P1, P2. P1 sent older events from a linux machine without plugins, and a
	// later one after the window from windows: the latest event in the window
	// decides.
	for i, p := range []string{"P1", "P2", "P3", "P4"} {
		mc := m(p).with(func(mc *machine) {
			mc.build = map[string]any{"typescript": i < 2, "database": "sqlite", "note": "x"}
			mc.plugins = []string{}
			if i < 3 {
				mc.plugins = []string{"seo", "seo"} // repeated: counted once
			}
		})
		evs = append(evs, f.ev(mc, "2026-03-05 10:00", "didUseFeature", "feature", "releases"))
	}
	old := m("P1").on("old").with(func(mc *machine) { mc.os = "linux" })
	evs = append(evs, f.ev(old, "2026-03-02 10:00", "ping"),
		f.ev(m("P1").on("new").with(func(mc *machine) { mc.os = "windows" }), "2026-03-20 10:00", "ping"))
	// Rest P5…P12: node 18; darwin P5…P8, windows P9…P12; seo for P5…P7;
	// typescript for P5…P7.
	for i := range 8 {
		p := fmt.Sprintf("P%d", 5+i)
		mc := m(p).with(func(mc *machine) {
			mc.rv = "18.20.4"
			if i >= 4 {
				mc.os = "windows"
			}
			mc.build = map[string]any{"typescript": i < 3, "database": "sqlite"}
			if i < 3 {
				mc.plugins = []string{"seo"}
			}
		})
		evs = append(evs, f.ev(mc, "2026-03-06 10:00", "ping"))
		if p == "P5" {
			evs = append(evs, f.ev(mc, "2026-03-06 11:00", "didExport"))
		}
	}
	// P13 used releases only before the window.
	evs = append(evs, f.ev(m("P13"), "2026-02-20 10:00", "didUseFeature", "feature", "releases"))
	f.add(evs...)

	p := window("2026-03-02", "2026-03-15")
	p.Feature = "releases"
	r := f.run("cohort", p)
	want(t, "summary", r.Summary.(CohortSummary), CohortSummary{Cohort: ptr(4), Rest: ptr(8), Feature: "releases", Test: cohortTest})
	want(t, "activeProjects", r.ActiveProjects, 12)
	// z-test by hand: os darwin 4/4 against 4/8: pooled 8/12, se =
	// sqrt(2/3·1/3·(1/4+1/8)) = 0.288675, z = 0.5/0.288675 = 1.7320508,
	// p = erfc(z/√2) = 0.0832645. plugin seo 3/4 against 3/8: pooled 1/2, se =
	// sqrt(1/4·3/8) = 0.306186, z = 1.2247449, p = 0.2206714. Values every
	// project has (environment development, productMinor 5.4, ci false,
	// docker false, build.database sqlite) have p = 1 and lift 1.
	// runtimeMajor 20 (cohort only), 18 and os windows (rest only) have an
	// empty side; build.typescript true and false have 2 cohort projects, under
	// k: suppressed.
	rows := r.Rows.([]CohortRow)
	same := func(attr, value string) CohortRow {
		return CohortRow{attr, value, 4, 8, 1, 1, 1, 1, 1, false, "less"}
	}
	// Benjamini-Hochberg over the 7 rows: q of darwin = min(7·0.0832645/1,
	// 7·0.2206714/2, 7/3, …) = 0.5828515; of seo 7·0.2206714/2 = 0.7723499;
	// the rest 1. None is significant.
	wantRows := []CohortRow{
		{"os", "darwin", 4, 4, 1, 0.5, 2, 0.0832645, 0.5828515, false, "more"},
		{"plugin", "seo", 3, 3, 0.75, 0.375, 2, 0.2206714, 0.7723499, false, "more"},
		same("build.database", "sqlite"), same("ci", "false"), same("docker", "false"),
		same("environment", "development"), same("productMinor", "5.4"),
	}
	if len(rows) != len(wantRows) {
		t.Fatalf("rows = %+v, want %+v", rows, wantRows)
	}
	for i, w := range wantRows {
		g := rows[i]
		if math.Abs(g.PValue-w.PValue) > 1e-6 || math.Abs(g.QValue-w.QValue) > 1e-6 {
			t.Errorf("%s %s: p-value %v, q-value %v, want %v, %v", w.Attribute, w.Value, g.PValue, g.QValue, w.PValue, w.QValue)
		}
		g.PValue, g.QValue = w.PValue, w.QValue
		want(t, "row", g, w)
	}
	_, p1 := twoProportionZ(4, 4, 4, 8)
	near(t, "darwin p-value", rows[0].PValue, p1)
	want(t, "suppressed", r.Suppressed, 2)

	// The event didExport: only P5 sent it, a cohort under k: the whole
	// comparison is suppressed.
	p.Feature, p.Event = "", "didExport"
	r = f.run("cohort", p)
	want(t, "event cohort summary", r.Summary.(CohortSummary), CohortSummary{Event: "didExport", Test: cohortTest})
	want(t, "event cohort rows", len(r.Rows.([]CohortRow)), 0)
	want(t, "event cohort suppressed", r.Suppressed, 1)

	// An unknown feature is refused, naming the known ones
	// (TestCohortOfUnknownFeature).
	p.Feature, p.Event = "nope", ""
	if _, err := f.in.Run(context.Background(), "cohort", p); !errors.Is(err, ErrBadParams) || !strings.Contains(err.Error(), "releases") {
		t.Errorf("unknown feature: %v, want ErrBadParams listing releases", err)
	}
}

func TestSetup(t *testing.T) {
	f := newFixture(t)
	var evs []store.Event
	start := func(mc machine, ts string) store.Event { return f.ev(mc, ts, "willCreateProject") }
	done := func(mc machine, ts string) store.Event { return f.ev(mc, ts, "didStartServer") }
	fail := func(mc machine, ts, code string) store.Event { return f.ev(mc, ts, "didFailWithError", "code", code) }
	win := func(p string) machine {
		return m(p).with(func(mc *machine) { mc.os, mc.rv = "windows", "22.12.0" })
	}
	lin := func(p string) machine { return m(p).with(func(mc *machine) { mc.os, mc.rv = "linux", "22.12.0" }) }
	// Week of 2026-03-02, darwin, node 20:
	//   P1 5m, P2 10m, P3 1h; P4 fails (E_DB_CONNECT after 1m; E_TIMEOUT two
	//   days later, outside its 24h); P5 finishes after 26h (over within),
	//   after E_DB_CONNECT and E_PORT_IN_USE.
	evs = append(evs,
		start(m("P1"), "2026-03-02 10:00"), done(m("P1"), "2026-03-02 10:05"),
		fail(m("P1"), "2026-03-02 10:01", "E_PLUGIN_LOAD"), // completed: not in topErrors
		start(m("P1"), "2026-03-12 10:00"),                 // a second start: ignored
		start(m("P2"), "2026-03-03 10:00"), done(m("P2"), "2026-03-03 10:10"), done(m("P2"), "2026-03-03 10:20"),
		start(m("P3"), "2026-03-04 10:00"), done(m("P3"), "2026-03-04 11:00"),
		start(m("P4"), "2026-03-04 10:00"), fail(m("P4"), "2026-03-04 10:01", "E_DB_CONNECT"),
		fail(m("P4"), "2026-03-06 10:00", "E_TIMEOUT"),
		start(m("P5"), "2026-03-05 10:00"), fail(m("P5"), "2026-03-05 10:02", "E_DB_CONNECT"),
		fail(m("P5"), "2026-03-05 10:03", "E_PORT_IN_USE"), done(m("P5"), "2026-03-06 12:00"),
	)
	// Week of 2026-03-09, node 22: windows P6 2m (after a didStartServer
	// before its start, ignored), P7 3m, P8 2m30s; linux P9 45m, P10 fails
	// (E_PORT_IN_USE, E_DB_CONNECT).
	evs = append(evs,
		done(win("P6"), "2026-03-09 09:00"), start(win("P6"), "2026-03-10 10:00"), done(win("P6"), "2026-03-10 10:02"),
		start(win("P7"), "2026-03-11 10:00"), done(win("P7"), "2026-03-11 10:03"),
		start(win("P8"), "2026-03-11 10:00"), done(win("P8"), "2026-03-11 10:02:30"),
		start(lin("P9"), "2026-03-12 10:00"), done(lin("P9"), "2026-03-12 10:45"),
		start(lin("P10"), "2026-03-12 10:00"), fail(lin("P10"), "2026-03-12 10:01", "E_PORT_IN_USE"),
		fail(lin("P10"), "2026-03-12 10:01", "E_DB_CONNECT"),
	)
	f.add(evs...)

	r := f.run("setup", window("2026-03-02", "2026-03-15"))
	want(t, "activeProjects", r.ActiveProjects, 10)
	s := r.Summary.(SetupSummary)
	// Completed, sorted (ms): 120000 150000 180000 300000 600000 2700000
	// 3600000. p50 = the 4th = 300000; p75 at position 4.5 = 600000 +
	// 0.5·2100000 = 1650000; p90 at 5.4 = 2700000 + 0.4·900000 = 3060000.
	want(t, "counts", []any{s.Started, s.Completed, s.CompletionRate, s.Within}, []any{10, 7, 0.7, "24h"})
	want(t, "quantiles", []*int64{s.P50Ms, s.P75Ms, s.P90Ms}, []*int64{ptr[int64](300000), ptr[int64](1650000), ptr[int64](3060000)})
	// [2m, 5m) holds 120000, 150000, 180000 (3 = k); 5m, 10m, 45m and 1h are
	// alone in their buckets: 4 hidden (null, not left out, which would read
	// as none).
	want(t, "histogram", s.Histogram, []SetupBucket{{120000, 300000, ptr(3)}, {300000, 600000, nil},
		{600000, 1800000, nil}, {1800000, 3600000, nil}, {3600000, 7200000, nil}})
	// Not completed: P4, P5, P10. E_DB_CONNECT: all three; E_PORT_IN_USE: P5,
	// P10 (suppressed); E_TIMEOUT came after P4's 24h, E_PLUGIN_LOAD from a
	// completed project.
	want(t, "topErrors", s.TopErrors, []SetupErrorCount{{"E_DB_CONNECT", 3}})
	// Week 1: 5 started, 3 completed [300000 600000 3600000]: p50 600000, p75
	// at 1.5 = 2100000, p90 at 1.8 = 3000000. Week 2: 5 started, 4 completed
	// [120000 150000 180000 2700000]: p50 165000, p75 at 2.25 = 180000 +
	// 0.25·2520000 = 810000, p90 at 2.7 = 1944000.
	want(t, "series", r.Series.([]SetupPoint), []SetupPoint{
		{"2026-03-02", 5, 3, ptr[int64](600000), ptr[int64](2100000), ptr[int64](3000000), false},
		{"2026-03-09", 5, 4, ptr[int64](165000), ptr[int64](810000), ptr[int64](1944000), false},
	})
	// os: darwin as week 1; windows [120000 150000 180000]: p50 150000, p90 at
	// 1.8 = 174000; linux (P9, P10: 2) folds into other, under k. runtime 20
	// as week 1, 22 as week 2.
	want(t, "rows", r.Rows.([]SetupRow), []SetupRow{
		{"os", "darwin", 5, ptr[int64](600000), ptr[int64](3000000), 0.6},
		{"os", "windows", 3, ptr[int64](150000), ptr[int64](174000), 1},
		{"runtimeMajor", "20", 5, ptr[int64](600000), ptr[int64](3000000), 0.6},
		{"runtimeMajor", "22", 5, ptr[int64](165000), ptr[int64](1944000), 0.8},
	})
	// linux + 4 histogram buckets + E_PORT_IN_USE.
	want(t, "suppressed", r.Suppressed, 6)
	// The last full week is 2026-03-09 (4 setups), the four before it hold
	// week 1's 3. Pooled ranks: last = 1, 2, 3, 6: R1 = 12, U = 12 − 10 = 2.
	// p = 0.944, doubled (Bonferroni) and capped at 1. None of the last week's
	// setups is above the prior p90 (3000000): the binomial p is 1.
	reg := s.Regression
	wantP := mannWhitneyGreater(4, 3, 12, 0)
	near(t, "regression p by hand", wantP, 0.5*math.Erfc((2-6-0.5)/math.Sqrt(8)/math.Sqrt2))
	want(t, "regression p-values", []float64{reg.PValue, reg.P50PValue, reg.P90PValue}, []float64{1, 1, 1})
	reg.PValue, reg.P50PValue, reg.P90PValue = 0, 0, 0
	want(t, "regression", reg, SetupRegression{Flag: false, Tested: true, Test: regressionTest, LastWeek: "2026-03-09",
		LastP50Ms: 165000, LastP90Ms: 1944000, PriorP50Ms: 600000, PriorP90Ms: 3000000, Where: []SetupRegressionDim{}, WhereFrom: "2026-03-02", WhereTo: "2026-03-15"})
}

func TestSetupRegression(t *testing.T) {
	f := newFixture(t)
	var evs []store.Event
	// The four weeks before 2026-03-09 (from 2026-02-09, before the window):
	// 8 setups of 1…8 minutes. The week of 2026-03-09: 5 setups of 20…24
	// minutes.
	for i := range 8 {
		mc := m(fmt.Sprintf("A%d", i))
		t0 := time.Date(2026, 2, 9+3*i, 10, 0, 0, 0, time.UTC)
		evs = append(evs, f.ev(mc, t0.Format("2006-01-02 15:04"), "willCreateProject"),
			f.ev(mc, t0.Add(time.Duration(i+1)*time.Minute).Format("2006-01-02 15:04"), "didStartServer"))
	}
	for j := range 5 {
		mc := m(fmt.Sprintf("B%d", j))
		t0 := time.Date(2026, 3, 9+j, 10, 0, 0, 0, time.UTC)
		evs = append(evs, f.ev(mc, t0.Format("2006-01-02 15:04"), "willCreateProject"),
			f.ev(mc, t0.Add(time.Duration(20+j)*time.Minute).Format("2006-01-02 15:04"), "didStartServer"))
	}
	f.add(evs...)
	r := f.run("setup", window("2026-03-02", "2026-03-15"))
	reg := r.Summary.(SetupSummary).Regression
	// Every last-week setup is slower: U = 5·8 = 40, mean 20, variance
	// 40/12·14 = 46.67: z = (40 − 20 − 0.5)/6.831 = 2.8545, p = 0.00216.
	// Doubled (Bonferroni): 0.00432. All 5 are above the prior p90 (below):
	// P(X ≥ 5) for 5 trials at 0.1 is 1e-5, doubled 2e-5.
	near(t, "p50 p", reg.P50PValue, 2*0.5*math.Erfc((40-20-0.5)/math.Sqrt(40.0/12*14)/math.Sqrt2))
	if reg.P50PValue > 0.0044 || reg.P50PValue < 0.0042 {
		t.Errorf("p50 p = %v, want about 0.00432", reg.P50PValue)
	}
	near(t, "p90 p", reg.P90PValue, 2e-5)
	near(t, "p", reg.PValue, 2e-5)
	// last p50 = 22m = 1320000, p90 at 3.6 = 1380000 + 0.6·60000 = 1416000;
	// prior p50 = 4m30s = 270000, p90 at 6.3 = 420000 + 0.3·60000 = 438000.
	// The p50 rose 4.9×, the p90 3.2×: the metric is p50.
	// Segments need whereMinSetups setups on each side: none is tested.
	reg.PValue, reg.P50PValue, reg.P90PValue = 0, 0, 0
	want(t, "regression", reg, SetupRegression{Flag: true, Tested: true, Metric: "p50", Test: regressionTest, LastWeek: "2026-03-09",
		LastP50Ms: 1320000, LastP90Ms: 1416000, PriorP50Ms: 270000, PriorP90Ms: 438000, Where: []SetupRegressionDim{}, WhereFrom: "2026-03-02", WhereTo: "2026-03-15"})
	// Only last week's 5 setups and the one on 2026-03-02 are in the window.
	want(t, "started", r.Summary.(SetupSummary).Started, 6)
}

// A slower tail alone: half of the last week's setups are as fast as ever,
// half far slower. Mann-Whitney does not see it; the count above the prior
// p90 does.
func TestSetupRegressionTail(t *testing.T) {
	f := newFixture(t)
	var evs []store.Event
	setup := func(name string, t0 time.Time, d time.Duration) {
		mc := m(name)
		evs = append(evs, f.ev(mc, t0.Format("2006-01-02 15:04"), "willCreateProject"),
			f.ev(mc, t0.Add(d).Format("2006-01-02 15:04"), "didStartServer"))
	}
	// The four weeks before 2026-03-09: 2, 4, …, 40 minutes.
	for i := range 20 {
		setup(fmt.Sprintf("A%d", i), time.Date(2026, 2, 9+i, 10, 0, 0, 0, time.UTC), time.Duration(2*(i+1))*time.Minute)
	}
	// The week of 2026-03-09: 1, 3, 5, 7, 9 and 100…104 minutes.
	for j := range 5 {
		setup(fmt.Sprintf("B%d", j), time.Date(2026, 3, 9+j, 10, 0, 0, 0, time.UTC), time.Duration(2*j+1)*time.Minute)
		setup(fmt.Sprintf("C%d", j), time.Date(2026, 3, 9+j, 12, 0, 0, 0, time.UTC), time.Duration(100+j)*time.Minute)
	}
	f.add(evs...)
	reg := f.run("setup", window("2026-03-02", "2026-03-15")).Summary.(SetupSummary).Regression
	// Ranks of the last week among the 30: 1, 3, 5, 7, 9 and 26…30: R1 = 165,
	// U = 110, mean 100, variance 10·20/12·31: z = 0.418, p = 0.338, doubled
	// 0.676.
	near(t, "p50 p", reg.P50PValue, 2*0.5*math.Erfc((110-100-0.5)/math.Sqrt(200.0/12*31)/math.Sqrt2))
	// Prior p90 at 0.9·19 = 17.1: 36 + 0.1·2 = 36.2 minutes; 5 of the 10 are
	// above it. P(X ≥ 5) for 10 trials at 0.1 = 252·1e-5·0.9^5 + 210·1e-6·0.9^4
	// + 120·1e-7·0.9^3 + 45·1e-8·0.9^2 + 10·1e-9·0.9 + 1e-10 = 0.0016349,
	// doubled 0.0032699.
	near(t, "p90 p", reg.P90PValue, 2*(252e-5*math.Pow(0.9, 5)+210e-6*math.Pow(0.9, 4)+120e-7*math.Pow(0.9, 3)+45e-8*0.81+10e-9*0.9+1e-10))
	// Last p90 at 8.1: 103 + 0.1 = 103.1 minutes, 2.85× the prior 36.2; last
	// p50 (9 + 100)/2 = 54.5 minutes against (20 + 22)/2 = 21.
	reg.PValue, reg.P50PValue, reg.P90PValue = 0, 0, 0
	want(t, "regression", reg, SetupRegression{Flag: true, Tested: true, Metric: "p90", Test: regressionTest, LastWeek: "2026-03-09",
		LastP50Ms: 3270000, LastP90Ms: 6186000, PriorP50Ms: 1260000, PriorP90Ms: 2172000, Where: []SetupRegressionDim{}, WhereFrom: "2026-03-02", WhereTo: "2026-03-15"})
}

// A slower tail on one OS (which alone runs node 18 and strapi 5.3.0): the
// segment test finds it there and nowhere else.
func TestSetupRegressionByOS(t *testing.T) {
	f := newFixture(t)
	var evs []store.Event
	setup := func(name string, mc machine, t0 time.Time, minutes int) {
		mc.project, mc.name = name, name+"-laptop"
		evs = append(evs, f.ev(mc, t0.Format("2006-01-02 15:04"), "willCreateProject"),
			f.ev(mc, t0.Add(time.Duration(minutes)*time.Minute).Format("2006-01-02 15:04"), "didStartServer"))
	}
	darwin := machine{os: "darwin", rv: "20.11.1", pv: "5.4.0"}
	windows := machine{os: "windows", rv: "18.19.0", pv: "5.3.0"}
	// The four weeks before 2026-03-02: 10…29 minutes on each OS. The two
	// weeks from 2026-03-02: the same on darwin; 10…19 and 60…69 on windows.
	for i := range 20 {
		setup(fmt.Sprintf("A%d", i), darwin, time.Date(2026, 2, 2+i, 10, 0, 0, 0, time.UTC), 10+i)
		setup(fmt.Sprintf("B%d", i), windows, time.Date(2026, 2, 2+i, 12, 0, 0, 0, time.UTC), 10+i)
		setup(fmt.Sprintf("C%d", i), darwin, time.Date(2026, 3, 2+i%14, 10, 0, 0, 0, time.UTC), 10+i)
		d := 10 + i
		if i >= 10 {
			d = 50 + i
		}
		setup(fmt.Sprintf("D%d", i), windows, time.Date(2026, 3, 2+i%14, 14, 0, 0, 0, time.UTC), d)
	}
	f.add(evs...)
	reg := f.run("setup", window("2026-03-02", "2026-03-15")).Summary.(SetupSummary).Regression
	// Seven segments are tested: all, and each OS, runtime major and
	// version. Windows (and node 18, and 5.3.0, the same setups): 20 after
	// (10…19 and 60…69 minutes) against 20 before (10…29); the tail-stretch
	// rank test ÷ 0.8 is far below Mann-Whitney's p (0.09) ÷ 0.2. All: 40
	// after against 40 before, smaller still. Darwin: nothing changed.
	ms := func(lo, hi int) []float64 {
		var xs []float64
		for m := lo; m <= hi; m++ {
			xs = append(xs, float64(m*60000))
		}
		return xs
	}
	segP := func(a, b []float64) float64 {
		tail, mw := rankTestsWritten(a, b)
		return min(1, tail/0.8, mw/0.2)
	}
	winAfter, winBefore := append(ms(10, 19), ms(60, 69)...), ms(10, 29)
	rawWin, rawAll := segP(winAfter, winBefore), segP(append(ms(10, 29), winAfter...), append(ms(10, 29), winBefore...))
	// Holm over the seven: the three darwin-side segments come last.
	pWin, pAll := 7*rawWin, max(7*rawWin, 4*rawAll)
	if rawAll < rawWin {
		pAll, pWin = 7*rawAll, max(7*rawAll, 6*rawWin)
	}
	_ = pAll
	if !reg.Flag || len(reg.Where) != 3 {
		t.Fatalf("regression %+v, want flagged on 3 segments", reg)
	}
	for i, p := range []float64{pWin, pWin, pWin} {
		near(t, "p of "+reg.Where[i].Value, reg.Where[i].P, p)
		reg.Where[i].P = 0
	}
	// p90 before: 27.1 minutes; after: 67.1 minutes on windows (and on
	// node 18 and 5.3.0, the same setups: the data cannot tell them apart).
	// All setups got slower through the windows ones alone: without them
	// nothing changed, so "all" is not listed.
	want(t, "where", reg.Where, []SetupRegressionDim{
		{By: "os", Value: "windows", Quantile: "p90", Before: 1626000, After: 4026000},
		{By: "productVersion", Value: "5.3.0", Quantile: "p90", Before: 1626000, After: 4026000},
		{By: "runtimeMajor", Value: "18", Quantile: "p90", Before: 1626000, After: 4026000}})
	want(t, "whereFrom", reg.WhereFrom, "2026-03-02")
	want(t, "whereTo", reg.WhereTo, "2026-03-15")
}

// ptr returns a pointer to v: a published number in a report.
func ptr[T any](v T) *T { return &v }

// rankTestsWritten is the tail-stretch rank test and the Mann-Whitney U test
// (both one-sided, a larger than b, normal approximations) written out
// plainly for the tests: every value's average rank and average score over
// the positions it ties on, the permutation mean and variance of a's sum.
func rankTestsWritten(a, b []float64) (tail, mw float64) {
	pool := append(slices.Clone(a), b...)
	n := float64(len(pool))
	score := func(pos int) float64 { // pos 1…n
		z := math.Sqrt2 * math.Erfinv(2*float64(pos)/(n+1)-1)
		if z <= 0 {
			return 0
		}
		if z < 1.2815515655446004 {
			return (z*z - 1) / 1.2815515655446004
		}
		return z
	}
	avg := func(x float64, f func(int) float64) float64 {
		below, same := 0, 0
		for _, y := range pool {
			if y < x {
				below++
			} else if y == x {
				same++
			}
		}
		s := 0.0
		for pos := below + 1; pos <= below+same; pos++ {
			s += f(pos)
		}
		return s / float64(same)
	}
	test := func(f func(int) float64) float64 {
		var all []float64
		for _, x := range pool {
			all = append(all, avg(x, f))
		}
		mean := 0.0
		for _, v := range all {
			mean += v
		}
		mean /= n
		ss := 0.0
		for _, v := range all {
			ss += (v - mean) * (v - mean)
		}
		t := 0.0
		for _, x := range a {
			t += avg(x, f)
		}
		n1 := float64(len(a))
		sd := math.Sqrt(n1 * (n - n1) / (n * (n - 1)) * ss)
		return 0.5 * math.Erfc((t-n1*mean)/sd/math.Sqrt2)
	}
	return test(score), test(func(pos int) float64 { return float64(pos) })
}

// welchLogGreater is the one-sided Welch test (normal approximation) that
// the mean of log(a) exceeds that of log(b), written out for the tests.
func welchLogGreater(a, b []float64) float64 {
	mv := func(xs []float64) (m, v float64) {
		for _, x := range xs {
			m += math.Log(x)
		}
		m /= float64(len(xs))
		for _, x := range xs {
			v += (math.Log(x) - m) * (math.Log(x) - m)
		}
		return m, v / float64(len(xs)-1)
	}
	m1, v1 := mv(a)
	m2, v2 := mv(b)
	z := (m1 - m2) / math.Sqrt(v1/float64(len(a))+v2/float64(len(b)))
	return 0.5 * math.Erfc(z/math.Sqrt2)
}

func TestErrors(t *testing.T) {
	f := newFixture(t)
	fail := func(mc machine, ts, code string) store.Event { return f.ev(mc, ts, "didFailWithError", "code", code) }
	old := func(p, os string) machine {
		return m(p).with(func(mc *machine) { mc.pv, mc.os, mc.rv = "5.0.0", os, "18.20.4" })
	}
	f.add(
		// E_DB_CONNECT: P1, P2 (darwin), P3 (windows), all 5.4.0 on node 20, in
		// week 1; P1 again in week 2.
		fail(m("P1"), "2026-03-03 10:00", "E_DB_CONNECT"), fail(m("P2"), "2026-03-04 10:00", "E_DB_CONNECT"),
		fail(m("P3").with(func(mc *machine) { mc.os = "windows" }), "2026-03-05 10:00", "E_DB_CONNECT"),
		fail(m("P1"), "2026-03-10 10:00", "E_DB_CONNECT"),
		// Under k: E_CRASH (P4, P5), E_RARE (P6), and a didFailWithError without
		// a code (P7: its code is the event name). All 5.0.0, node 18, linux but
		// P7 (darwin).
		fail(old("P4", "linux"), "2026-03-03 10:00", "E_CRASH"), fail(old("P5", "linux"), "2026-03-04 10:00", "E_CRASH"),
		fail(old("P5", "linux"), "2026-03-12 10:00", "E_CRASH"), fail(old("P6", "linux"), "2026-03-05 10:00", "E_RARE"),
		f.ev(old("P7", "darwin"), "2026-03-12 10:00", "didFailWithError"),
		// Outside the window, and not an error event.
		fail(m("P8"), "2026-03-20 10:00", "E_DB_CONNECT"), f.ev(m("P9"), "2026-03-03 10:00", "ping", "code", "E_DB_CONNECT"),
		// Before the window: E_DB_CONNECT was first seen on 2026-02-20.
		fail(m("P1"), "2026-02-20 10:00", "E_DB_CONNECT"),
	)
	r := f.run("errors", window("2026-03-02", "2026-03-15"))
	want(t, "activeProjects", r.ActiveProjects, 8) // P1…P7, P9
	// E_DB_CONNECT: 4 events, 3 projects, first seen before the window. All
	// three on 5.4.0, against 1 of the 5 other active projects (P9):
	// z = 0.8/√(0.25·(1/3 + 1/5)) = 2.19, p = 0.014 before any correction:
	// not attributed. other = {P4…P7}: 5 events, all on 5.0.0 and node 18,
	// which none of the 4 other active projects ran: z = 1/√(0.25·0.5) =
	// 2.828, p = 0.00234, ×3 (Holm over 5.0.0, 18 and linux, the values of at
	// least k of its projects) = 0.00702: both attributed, lift 1/0.5. Linux
	// (3 of 4 against 0 of 4): z = 0.75/√(0.375·0.625·0.5), p = 0.0142, not.
	pOther := 3 * 0.5 * math.Erfc(2/math.Sqrt(0.5)/math.Sqrt2)
	rows := r.Rows.([]ErrorRow)
	for i := range rows {
		for j := range rows[i].Attribution {
			near(t, "p of "+rows[i].Code, rows[i].Attribution[j].P, pOther)
			rows[i].Attribution[j].P = 0
		}
	}
	want(t, "rows", rows, []ErrorRow{
		{"E_DB_CONNECT", 4, 3, "2026-02-20", "2026-03-10", "", "", "", []ErrorAttribution{}},
		{"other", 5, 4, "2026-03-03", "2026-03-12", "5.0.0", "", "18", []ErrorAttribution{
			{By: "productVersion", Value: "5.0.0", Projects: 4, Share: 1, BaseShare: 0.5, Lift: 2},
			{By: "runtimeMajor", Value: "18", Projects: 4, Share: 1, BaseShare: 0.5, Lift: 2}}},
	})
	// Week 1: E_DB_CONNECT 3 events of 3 projects; E_CRASH (2) and E_RARE (1)
	// suppressed. Week 2: E_DB_CONNECT, E_CRASH, didFailWithError (1 each)
	// suppressed.
	want(t, "series", r.Series.([]ErrorPoint), []ErrorPoint{{"2026-03-02", "E_DB_CONNECT", 3, 3, false}})
	// 3 codes folded + 5 points.
	want(t, "suppressed", r.Suppressed, 8)
}

// Today's day is partial, and so are the weeks that start before the window,
// end after it, or are not over; the regression never takes the unfinished
// week for the last full one.
func TestPartialPeriods(t *testing.T) {
	f := newFixture(t)
	// Thursday 2026-03-12, 15:00: the window 2026-03-04 (a Wednesday) to
	// 2026-03-12 (today).
	f.in.now = func() time.Time { return time.Date(2026, 3, 12, 15, 0, 0, 0, time.UTC) }
	var evs []store.Event
	for i := range 5 {
		p := fmt.Sprintf("P%d", i)
		for _, ts := range []string{"2026-03-04 10:00", "2026-03-10 10:00", "2026-03-11 10:00", "2026-03-12 09:00"} {
			evs = append(evs, f.ev(m(p), ts, "didFailWithError", "code", "E_X"))
		}
	}
	f.add(evs...)
	p := window("2026-03-04", "2026-03-12")
	var days []OverviewPoint
	for _, pt := range f.run("overview", p).Series.([]OverviewPoint) {
		days = append(days, OverviewPoint{Date: pt.Date, Partial: pt.Partial})
	}
	want(t, "days", days, []OverviewPoint{{Date: "2026-03-04"}, {Date: "2026-03-10"}, {Date: "2026-03-11"}, {Date: "2026-03-12", Partial: true}})
	// The week of 2026-03-02 starts before the window; that of 2026-03-09 is
	// not over.
	var weeks []ErrorPoint
	for _, pt := range f.run("errors", p).Series.([]ErrorPoint) {
		weeks = append(weeks, ErrorPoint{Week: pt.Week, Partial: pt.Partial})
	}
	want(t, "weeks", weeks, []ErrorPoint{{Week: "2026-03-02", Partial: true}, {Week: "2026-03-09", Partial: true}})
	// A whole past week is complete.
	for _, pt := range f.run("errors", window("2026-03-02", "2026-03-08")).Series.([]ErrorPoint) {
		if pt.Partial {
			t.Errorf("week %s of a whole past window is partial", pt.Week)
		}
	}
	// On a Sunday afternoon, the week that ends tonight is not the last full
	// week of the regression.
	f.in.now = func() time.Time { return time.Date(2026, 3, 15, 15, 0, 0, 0, time.UTC) }
	reg := f.run("setup", window("2026-03-02", "2026-03-15")).Summary.(SetupSummary).Regression
	want(t, "last full week", reg.LastWeek, "2026-03-02")
}

func TestPlugins(t *testing.T) {
	f := newFixture(t)
	with := func(p string, plugins ...string) machine {
		return m(p).with(func(mc *machine) { mc.plugins = append([]string{}, plugins...) })
	}
	f.add(
		// The window 2026-03-09…15. P1 added i18n on Thursday: its latest build
		// counts (and not the one after the window).
		f.ev(with("P1", "seo"), "2026-03-09 10:00", "ping"), f.ev(with("P1", "seo", "i18n"), "2026-03-12 10:00", "ping"),
		f.ev(with("P1"), "2026-03-20 10:00", "ping"),
		f.ev(with("P2", "seo", "i18n"), "2026-03-10 10:00", "ping"),
		f.ev(with("P3", "seo", "seo"), "2026-03-10 10:00", "ping"),
		f.ev(with("P4", "i18n", "graphql"), "2026-03-10 10:00", "ping"),
		f.ev(with("P5", "graphql"), "2026-03-10 10:00", "ping"),
		f.ev(with("P6"), "2026-03-10 10:00", "ping"),
		f.ev(m("P7"), "2026-03-10 10:00", "ping"), // no plugins key
		// The week before: seo for P1, P2, P3, P8; i18n for P2 only.
		f.ev(with("P1", "seo"), "2026-03-02 10:00", "ping"), f.ev(with("P2", "seo", "i18n"), "2026-03-03 10:00", "ping"),
		f.ev(with("P3", "seo"), "2026-03-03 10:00", "ping"), f.ev(with("P8", "seo"), "2026-03-08 23:00", "ping"),
	)
	r := f.run("plugins", window("2026-03-09", "2026-03-15"))
	want(t, "activeProjects", r.ActiveProjects, 7)
	// seo: P1, P2, P3 (3 = k), 4 the week before; i18n: P1, P2, P4, 1 before
	// (under k: 0); graphql: P4, P5 (under k, and so is other).
	// seo: 3 of 7 against 4 of 4 (P1, P2, P3, P8): −57.1 points; pooled
	// 7/11, se = √(7/11·4/11·(1/7 + 1/4)), z = −1.8947, p = 0.0581, the one
	// row tested: q the same, not significant. i18n: under k before, no test.
	rows := r.Rows.([]PluginRow)
	pSeo := math.Erfc((4.0/4 - 3.0/7) / math.Sqrt(7.0/11*4/11*(1.0/7+1.0/4)) / math.Sqrt2)
	near(t, "seo p", rows[1].PValue, pSeo)
	near(t, "seo q", rows[1].QValue, pSeo)
	rows[1].PValue, rows[1].QValue = 0, 0
	want(t, "rows", rows, []PluginRow{
		{"i18n", 3, 3.0 / 7, nil, nil, nil, nil, 1, 1, false},
		{"seo", 3, 3.0 / 7, ptr(4), ptr(-1), ptr(1.0), ptr(3.0/7 - 1), 0, 0, false},
	})
	want(t, "summary", r.Summary.(PluginsSummary), PluginsSummary{PreviousActiveProjects: 4, Test: pluginsTest})
	// graphql; i18n's previous count (1, under k: null, not 0).
	want(t, "suppressed", r.Suppressed, 2)
	want(t, "series", len(r.Series.([]PluginPoint)), 0)
}

// Twice the active projects with the same share of seo is no change; i18n
// from half of them to all is.
func TestPluginsShare(t *testing.T) {
	f := newFixture(t)
	var evs []store.Event
	for i := range 20 {
		plugins := []string{"i18n"}
		if i < 10 {
			plugins = append(plugins, "seo")
		}
		mc := m(fmt.Sprintf("Q%d", i)).with(func(mc *machine) { mc.plugins = plugins })
		evs = append(evs, f.ev(mc, "2026-03-10 10:00", "ping"))
	}
	for i := range 10 {
		var plugins []string
		if i < 5 {
			plugins = []string{"seo", "i18n"}
		}
		mc := m(fmt.Sprintf("R%d", i)).with(func(mc *machine) { mc.plugins = append([]string{}, plugins...) })
		evs = append(evs, f.ev(mc, "2026-03-03 10:00", "ping"))
	}
	f.add(evs...)
	r := f.run("plugins", window("2026-03-09", "2026-03-15"))
	rows := r.Rows.([]PluginRow)
	// i18n: 20/20 against 5/10: pooled 25/30, se = √(25/30·5/30·(1/20 +
	// 1/10)), z = 3.4641, p = 0.000532; BH over two rows: q = 2p. seo: 10/20
	// against 5/10, z = 0, p = 1: +5 projects, no change in share.
	pI18n := math.Erfc(0.5 / math.Sqrt(25.0/30*5/30*(1.0/20+1.0/10)) / math.Sqrt2)
	if len(rows) != 2 {
		t.Fatalf("rows %+v, want i18n and seo", rows)
	}
	near(t, "i18n p", rows[0].PValue, pI18n)
	near(t, "i18n q", rows[0].QValue, 2*pI18n)
	rows[0].PValue, rows[0].QValue = 0, 0
	want(t, "rows", rows, []PluginRow{
		{"i18n", 20, 1, ptr(5), ptr(15), ptr(0.5), ptr(0.5), 0, 0, true},
		{"seo", 10, 0.5, ptr(5), ptr(5), ptr(0.5), ptr(0.0), 1, 1, false},
	})
}

func TestRuntimes(t *testing.T) {
	f := newFixture(t)
	node := func(p, v string) machine { return m(p).with(func(mc *machine) { mc.rv = v }) }
	prod := func(p, v string) machine {
		return m(p).on("server").with(func(mc *machine) { mc.rv, mc.env, mc.os = v, "production", "linux" })
	}
	var evs []store.Event
	week1 := "2026-03-03 10:00"
	// node 20: P1…P3 on 20.11 (P1 also in production), P4 on 20.12.
	for _, p := range []string{"P1", "P2", "P3"} {
		evs = append(evs, f.ev(node(p, "20.11.1"), week1, "ping"))
	}
	evs = append(evs, f.ev(prod("P1", "20.11.0"), week1, "ping"), f.ev(node("P4", "20.12.0"), week1, "ping"))
	// node 22: P5…P7 on 22.12 (P5 also in production).
	for _, p := range []string{"P5", "P6", "P7"} {
		evs = append(evs, f.ev(node(p, "22.12.0"), week1, "ping"), f.ev(node(p, "22.12.0"), "2026-03-10 10:00", "ping"))
	}
	evs = append(evs, f.ev(prod("P5", "22.12.0"), week1, "ping"))
	// node 18: P8 (also in production), P9; node 16: P10.
	evs = append(evs, f.ev(node("P8", "18.20.4"), week1, "ping"), f.ev(prod("P8", "18.20.4"), week1, "ping"),
		f.ev(node("P9", "18.19.0"), week1, "ping"), f.ev(node("P10", "16.20.2"), week1, "ping"))
	// Week 2: P1 too.
	evs = append(evs, f.ev(node("P1", "20.11.1"), "2026-03-10 10:00", "ping"))
	f.add(evs...)

	r := f.run("runtimes", window("2026-03-02", "2026-03-15"))
	want(t, "activeProjects", r.ActiveProjects, 10)
	// 10 projects sent from development, 3 (P1, P5, P8) from production.
	// 18 {P8, P9} and 16 {P10} fold into the major other (3 = k); 20.12 {P4}
	// is dropped.
	want(t, "rows", r.Rows.([]RuntimeRow), []RuntimeRow{
		{"node", "20", "", 4, 0.4, nil, ptr(0.4)},
		{"node", "20", "20.11", 3, 0.3, nil, ptr(0.3)},
		{"node", "22", "", 3, 0.3, nil, ptr(0.3)},
		{"node", "22", "22.12", 3, 0.3, nil, ptr(0.3)},
		{"node", "other", "", 3, 0.3, nil, ptr(0.3)},
	})
	// Week 1: all 10 active: 20 4/10, 22 3/10 (18: 2, 16: 1 suppressed).
	// Week 2: P1, P5…P7: 22 3/4 (20: 1 suppressed).
	want(t, "series", r.Series.([]RuntimePoint), []RuntimePoint{
		{"2026-03-02", "node", "20", 0.4, false},
		{"2026-03-02", "node", "22", 0.3, false},
		{"2026-03-09", "node", "22", 0.75, false},
	})
	// Rows: 20.12, 18, 16; series: 3 points; the production share of each
	// of the five rows (1 project each: null, not 33%).
	want(t, "suppressed", r.Suppressed, 11)
}

// TestKEdge checks the threshold itself on every report's main bucket: k
// projects are shown, k−1 are suppressed and counted.
func TestKEdge(t *testing.T) {
	for _, n := range []int{3, 2} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			f := newFixture(t)
			var evs []store.Event
			for i := range n {
				mc := m(fmt.Sprintf("P%d", i)).with(func(mc *machine) { mc.plugins = []string{"seo"} })
				evs = append(evs, f.ev(mc, "2026-03-03 10:00", "willCreateProject"),
					f.ev(mc, "2026-03-03 10:05", "didStartServer"),
					f.ev(mc, "2026-03-03 10:06", "didUseFeature", "feature", "releases"),
					f.ev(mc, "2026-03-03 10:07", "didFailWithError", "code", "E_X"))
			}
			f.add(evs...)
			p := window("2026-03-02", "2026-03-08")
			kept := n >= 3
			count := func(b bool) int {
				if b {
					return 1
				}
				return 0
			}
			r := f.run("features", p)
			want(t, "feature rows", len(r.Rows.([]FeatureRow)), count(kept))
			want(t, "feature series", len(r.Series.([]FeaturePoint)), count(kept))
			want(t, "features suppressed", r.Suppressed, 2*count(!kept))
			r = f.run("plugins", p)
			want(t, "plugin rows", len(r.Rows.([]PluginRow)), count(kept))
			want(t, "plugins suppressed", r.Suppressed, count(!kept))
			r = f.run("errors", p)
			want(t, "error rows", len(r.Rows.([]ErrorRow)), count(kept))
			want(t, "errors suppressed", r.Suppressed, 2*count(!kept)) // the code and its week
			r = f.run("overview", p)
			want(t, "overview points", len(r.Series.([]OverviewPoint)), count(kept))
			want(t, "overview rows", len(r.Rows.([]OverviewRow)), 3*count(kept))
			want(t, "overview suppressed", r.Suppressed, 4*count(!kept)) // a day, 3 dimensions
			r = f.run("setup", p)
			s := r.Summary.(SetupSummary)
			want(t, "setup started", s.Started, n)
			want(t, "setup p50 (nil: not published)", s.P50Ms == nil, count(kept) == 0)
			if s.P50Ms != nil {
				want(t, "setup p50", *s.P50Ms, int64(5*60000))
			}
			want(t, "setup points", len(r.Series.([]SetupPoint)), count(kept))
			want(t, "setup histogram", len(s.Histogram), 1)
			want(t, "setup histogram bucket hidden", s.Histogram[0].Projects == nil, count(kept) == 0)
			r = f.run("runtimes", p)
			want(t, "runtime rows", len(r.Rows.([]RuntimeRow)), 2*count(kept))
		})
	}
}

// TestEmpty runs every report on an empty store and on a window without
// events: zero counts, empty rows and series, valid JSON.
func TestEmpty(t *testing.T) {
	f := newFixture(t)
	check := func(t *testing.T) {
		f.t = t
		for _, name := range Names {
			p := window("2026-03-02", "2026-03-08")
			p.Feature = "releases"
			r := f.run(name, p)
			if r.ActiveProjects != 0 || r.Suppressed != 0 {
				t.Errorf("%s: activeProjects %d, suppressed %d, want 0", name, r.ActiveProjects, r.Suppressed)
			}
			if n := reflect.ValueOf(r.Rows).Len() + reflect.ValueOf(r.Series).Len(); n != 0 {
				t.Errorf("%s: %d rows and points, want none", name, n)
			}
			b, _ := json.Marshal(r.Summary)
			// Quantiles and cohort sizes with nothing to compute them from
			// are null (not published, api.md), nothing else.
			b = regexp.MustCompile(`"(p50Ms|p75Ms|p90Ms|cohort|rest)":null`).ReplaceAll(b, nil)
			for _, bad := range []string{"null", "NaN"} {
				if strings.Contains(string(b), bad) {
					t.Errorf("%s summary %s contains %s", name, b, bad)
				}
			}
			if _, _, err := r.Table(); err != nil {
				t.Errorf("%s: Table: %v", name, err)
			}
		}
	}
	t.Run("store", check)
	f.t = t
	f.add(f.ev(m("P1"), "2026-01-05 10:00", "willCreateProject"), f.ev(m("P1"), "2026-04-05 10:00", "ping"))
	t.Run("window", check)
	f.t = t // again
	r := f.run("setup", window("2026-03-02", "2026-03-08"))
	want(t, "empty setup summary", r.Summary.(SetupSummary), SetupSummary{Within: "24h", Histogram: []SetupBucket{},
		TopErrors: []SetupErrorCount{}, Regression: SetupRegression{Test: regressionTest, PValue: 1, P50PValue: 1, P90PValue: 1, LastWeek: "2026-03-02", Where: []SetupRegressionDim{}, WhereFrom: "2026-02-23", WhereTo: "2026-03-08"}})
}

func TestRunErrors(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.in.Run(ctx, "nope", Params{}); !errors.Is(err, ErrUnknownReport) {
		t.Errorf("unknown report: %v, want ErrUnknownReport", err)
	}
	if _, err := f.in.Run(ctx, "cohort", window("2026-03-02", "2026-03-08")); !errors.Is(err, ErrBadParams) ||
		!strings.HasPrefix(err.Error(), "feature: ") {
		t.Errorf("cohort without feature: %v, want ErrBadParams naming feature", err)
	}
	p := window("2026-03-02", "2026-03-08")
	p.Feature, p.Event = "a", "b"
	if _, err := f.in.Run(ctx, "cohort", p); !errors.Is(err, ErrBadParams) {
		t.Errorf("cohort with both: %v, want ErrBadParams", err)
	}
	if _, err := f.in.Run(ctx, "overview", window("2026-03-08", "2026-03-02")); !errors.Is(err, ErrBadParams) {
		t.Errorf("from after to: %v, want ErrBadParams", err)
	}
	// A zero Params is the last 30 days.
	r, err := f.in.Run(ctx, "overview", Params{})
	if err != nil {
		t.Fatal(err)
	}
	today := time.Now().UTC().Format(dateLayout)
	if r.To != today || r.From != time.Now().UTC().AddDate(0, 0, -29).Format(dateLayout) {
		t.Errorf("default window %s…%s, want 30 days to %s", r.From, r.To, today)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := f.in.Run(cancelled, "overview", p); err == nil {
		t.Error("Run with a cancelled context succeeded")
	}
}

func TestParseParams(t *testing.T) {
	now := time.Date(2026, 11, 28, 15, 4, 5, 0, time.UTC)
	ok := []struct {
		query, from, to, feature, event string
	}{
		{"", "2026-10-30", "2026-11-28", "", ""},
		{"last=30d", "2026-10-30", "2026-11-28", "", ""},
		{"last=1d", "2026-11-28", "2026-11-28", "", ""},
		{"last=12w", "2026-09-06", "2026-11-28", "", ""},
		{"from=2026-01-01&to=2026-01-31", "2026-01-01", "2026-01-31", "", ""},
		{"from=2026-01-01&to=2026-01-01&last=7d", "2026-01-01", "2026-01-01", "", ""},
		{"from=2026-11-01", "2026-11-01", "2026-11-28", "", ""},
		{"from=2026-01-01&last=7d", "2026-01-01", "2026-01-07", "", ""},
		{"to=2026-01-31", "2026-01-02", "2026-01-31", "", ""},
		{"to=2026-01-31&last=1w", "2026-01-25", "2026-01-31", "", ""},
		{"feature=releases", "2026-10-30", "2026-11-28", "releases", ""},
		{"event=didStartServer&last=7d", "2026-11-22", "2026-11-28", "", "didStartServer"},
	}
	for _, c := range ok {
		q, _ := url.ParseQuery(c.query)
		p, err := ParseParams(q, now)
		if err != nil {
			t.Errorf("%q: %v", c.query, err)
			continue
		}
		got := []string{p.From.Format(dateLayout), p.To.Format(dateLayout), p.Feature, p.Event}
		if w := []string{c.from, c.to, c.feature, c.event}; !slices.Equal(got, w) {
			t.Errorf("%q = %v, want %v", c.query, got, w)
		}
		if p.From.Location() != time.UTC || p.From.Hour() != 0 {
			t.Errorf("%q: From %v, want UTC midnight", c.query, p.From)
		}
	}
	bad := []struct{ query, prefix string }{
		{"last=30", "last: expected a number of days like 30d"},
		{"last=d", "last: expected a number of days like 30d"},
		{"last=0d", "last: expected a number of days like 30d"},
		{"last=-3d", "last: expected a number of days like 30d"},
		{"last=+3d", "last: expected a number of days like 30d"},
		{"last=3m", "last: expected a number of days like 30d"},
		{"last=1.5d", "last: expected a number of days like 30d"},
		{"last=99999d", "last: expected at most 3660 days"},
		{"from=2026-1-1", "from: expected a date like 2026-01-31"},
		{"from=yesterday", "from: expected a date like 2026-01-31"},
		{"to=2026-02-30", "to: expected a date like 2026-01-31"},
		{"from=2026-02-01&to=2026-01-01", "to: expected a date on or after from"},
		{"from=2000-01-01&to=2026-01-01", "from: expected a window of at most 3660 days"},
		{"feature=a&event=b", "event: expected either feature or event"},
		{"feature=" + strings.Repeat("x", 200), "feature: expected a name"},
		{"event=a%0Ab", "event: expected a name"},
	}
	for _, c := range bad {
		q, _ := url.ParseQuery(c.query)
		_, err := ParseParams(q, now)
		if err == nil || !strings.HasPrefix(err.Error(), c.prefix) || !errors.Is(err, ErrBadParams) {
			t.Errorf("%q: error %v, want ErrBadParams starting %q", c.query, err, c.prefix)
		}
	}
}

func TestTable(t *testing.T) {
	cases := []struct {
		r      Report
		header string
		row    string
	}{
		{Report{Rows: []OverviewRow{{"os", "linux", 12, 0.1234}}}, "dimension value projects share", "os linux 12 12.3%"},
		{Report{Rows: []FeatureRow{{"releases", 7, 0.0004}}}, "feature projects adoption", "releases 7 <0.1%"},
		{Report{Rows: []CohortRow{{"plugin", "seo", 20, 40, 0.24, 0.08, 3, 0.00123, 0.01, true, "more"}}},
			"attribute value cohort rest cohort share rest share lift p-value direction", "plugin seo 20 40 24.0% 8.0% 3.00× 0.001 more"},
		{Report{Rows: []CohortRow{{"os", "linux", 20, 40, 1, 1, 1, 1e-9, 1e-8, true, "less"}}}, "", "os linux 20 40 100.0% 100.0% 1.00× < 0.001 less"},
		{Report{Rows: []SetupRow{{"os", "windows", 40, ptr[int64](83000), ptr[int64](5400000), 0.925}}}, "dimension value projects p50 p90 completion", "os windows 40 1 min 23 s 1 h 30 min 92.5%"},
		{Report{Rows: []SetupRow{{"os", "darwin", 40, ptr[int64](850), nil, 0}}}, "", "os darwin 40 850 ms hidden 0%"},
		{Report{Rows: []ErrorRow{{"E_X", 1234, 5, "2026-01-01", "2026-01-02", "5.4.0", "linux", "20", nil}}},
			"code events projects first seen last seen top version top os top runtime", "E_X 1,234 5 2026-01-01 2026-01-02 5.4.0 linux 20"},
		{Report{Rows: []PluginRow{{"seo", 10, 0.5, ptr(12), ptr(-2), ptr(0.6), ptr(-0.1), 0.3, 0.3, false}}}, "plugin projects share previous change", "seo 10 50.0% 12 -2"},
		{Report{Rows: []PluginRow{{"seo", 10, 0.5, nil, nil, nil, nil, 1, 1, false}}}, "", "seo 10 50.0% hidden hidden"},
		{Report{Rows: []RuntimeRow{{"node", "22", "22.12", 5, 0.25, ptr(0.5), ptr(0.125)}}}, "runtime major version projects share production other", "node 22 22.12 5 25.0% 50.0% 12.5%"},
		{Report{Rows: []RuntimeRow{{"node", "22", "22.12", 5, 0.25, nil, ptr(0.0)}}}, "", "node 22 22.12 5 25.0% hidden 0%"},
	}
	for _, c := range cases {
		h, rows, err := c.r.Table()
		if err != nil {
			t.Fatal(err)
		}
		if c.header != "" && strings.Join(h, " ") != c.header {
			t.Errorf("header %q, want %q", strings.Join(h, " "), c.header)
		}
		if len(rows) != 1 || strings.Join(rows[0], " ") != c.row {
			t.Errorf("rows %q, want %q", rows, c.row)
		}
	}
	if got := cells(false).duration(nil); got != "hidden" {
		t.Errorf("duration(nil) = %q, want hidden", got)
	}
	for ms, want := range map[int64]string{0: "0", 999: "999 ms", 45000: "45 s", 3599000: "59 min 59 s", 86399000: "1 d", 90000000: "1 d 1 h", 7 * 86400000: "7 d"} {
		if got := cells(false).duration(&ms); got != want {
			t.Errorf("duration(%d) = %q, want %q", ms, got, want)
		}
	}
	if _, _, err := (&Report{Rows: 3}).Table(); err == nil {
		t.Error("Table of unknown rows succeeded")
	}
}

// TestRecords checks that the rows for machines (CSV) carry the JSON's
// names and raw numbers: no thousands separators, percent signs, units or
// "<" in a cell, and a quantile not published is empty.
func TestRecords(t *testing.T) {
	cases := []struct {
		r           Report
		header, row string
	}{
		{Report{Rows: []OverviewRow{{"os", "linux", 1179, 0.25}}}, "dimension value projects share", "os linux 1179 0.25"},
		{Report{Rows: []FeatureRow{{"releases", 12345, 0.123456}}}, "feature projects adoption", "releases 12345 0.123456"},
		{Report{Rows: []CohortRow{{"os", "linux", 2000, 40000, 1, 0.5, 2, 1e-9, 1e-8, true, "more"}}},
			"attribute value cohortProjects restProjects cohortShare restShare lift pValue direction", "os linux 2000 40000 1 0.5 2 1e-09 more"},
		{Report{Rows: []SetupRow{{"os", "windows", 1500, ptr[int64](83000), nil, 0.925}}}, "dimension value projects p50Ms p90Ms completionRate", "os windows 1500 83000  0.925"},
		{Report{Rows: []ErrorRow{{"E_X", 1234567, 5000, "2026-01-01", "2026-01-02", "5.4.0", "linux", "20", nil}}},
			"code events projects firstSeen lastSeen topVersion topOS topRuntimeMajor", "E_X 1234567 5000 2026-01-01 2026-01-02 5.4.0 linux 20"},
		{Report{Rows: []PluginRow{{"seo", 1000, 0.5, ptr(1200), ptr(-200), ptr(0.6), ptr(-0.1), 0.3, 0.3, false}}}, "plugin projects share previousProjects change", "seo 1000 0.5 1200 -200"},
		{Report{Rows: []RuntimeRow{{"node", "22", "22.12", 5000, 0.25, ptr(0.5), ptr(0.125)}}}, "runtime major version projects share productionShare otherShare", "node 22 22.12 5000 0.25 0.5 0.125"},
	}
	for _, c := range cases {
		h, rows, err := c.r.Records()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(h, " ") != c.header {
			t.Errorf("header %q, want %q", strings.Join(h, " "), c.header)
		}
		if len(rows) != 1 || strings.Join(rows[0], " ") != c.row {
			t.Errorf("rows %q, want %q", rows, c.row)
		}
		for _, cell := range rows[0] {
			if strings.ContainsAny(cell, ",%<×") || strings.Contains(cell, " ") {
				t.Errorf("cell %q is formatted for people", cell)
			}
		}
	}
}

func TestStats(t *testing.T) {
	// 30 of 100 against 20 of 100: pooled 0.25, se = sqrt(0.25·0.75·0.02) =
	// 0.0612372, z = 1.6329932, two-sided p = 0.1024704.
	z, p := twoProportionZ(30, 100, 20, 100)
	near(t, "z", z, 0.1/math.Sqrt(0.25*0.75*0.02))
	if math.Abs(p-0.1024704) > 1e-6 {
		t.Errorf("p = %v, want 0.1024704", p)
	}
	if z, p := twoProportionZ(5, 5, 9, 9); z != 0 || p != 1 {
		t.Errorf("no variance: z %v p %v, want 0 and 1", z, p)
	}
	if _, p := twoProportionZ(0, 0, 1, 2); p != 1 {
		t.Errorf("empty side: p %v, want 1", p)
	}
	// Ties: samples {1, 2, 2} and {2, 3}: ranks 1, 3, 3 | 3, 5 (the three 2s
	// share rank 3): R1 = 7, ties 3³−3 = 24.
	n1, n2, r1, ties := 3.0, 2.0, 7.0, 24.0
	u := r1 - n1*(n1+1)/2
	v := n1 * n2 / 12 * ((n1 + n2 + 1) - ties/((n1+n2)*(n1+n2-1)))
	near(t, "Mann-Whitney with ties", mannWhitneyGreater(3, 2, r1, ties), 0.5*math.Erfc((u-n1*n2/2-0.5)/math.Sqrt(v)/math.Sqrt2))
	// Every value tied ({1, 1} and {1, 1}): no variance.
	if p := mannWhitneyGreater(2, 2, 5, 4*4*4-4); p != 1 {
		t.Errorf("all tied: p %v, want 1", p)
	}
	if p := mannWhitneyGreater(0, 3, 0, 0); p != 1 {
		t.Errorf("empty sample: p %v, want 1", p)
	}
	// Binomial tails: by hand, and for a large n against the exact sum in
	// arbitrary precision (Python: sum(comb(1000, i)·0.1^i·0.9^(1000−i) for
	// i ≥ 130) = 0.0013413983708734673).
	near(t, "P(X ≥ 0)", binomialAtLeast(0, 10, 0.1), 1)
	near(t, "P(X ≥ 11 of 10)", binomialAtLeast(11, 10, 0.1), 0)
	near(t, "P(X ≥ 1 of 1)", binomialAtLeast(1, 1, 0.1), 0.1)
	near(t, "P(X ≥ 1 of 2)", binomialAtLeast(1, 2, 0.1), 1-0.81)
	near(t, "P(X ≥ 2 of 3)", binomialAtLeast(2, 3, 0.1), 3*0.01*0.9+0.001)
	near(t, "P(X ≥ 130 of 1000)", binomialAtLeast(130, 1000, 0.1), 0.0013413983708734673)
	if p := binomialAtLeast(100_000, 1_000_000, 0.1); p < 0.49 || p > 0.51 {
		t.Errorf("P(X ≥ mean of 1e6) = %v, want about 0.5", p)
	}
}

func TestFormatWithin(t *testing.T) {
	for d, want := range map[time.Duration]string{168 * time.Hour: "168h", 90 * time.Minute: "1h30m", 45 * time.Second: "45s", 2 * time.Minute: "2m", 0: ""} {
		if got := formatWithin(d); got != want {
			t.Errorf("formatWithin(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestWithoutBitstrings runs the reports that count projects per day or week
// with bitstrings again, on the path taken when the bitstrings would not fit
// in memory: the answers must be the same.
func TestWithoutBitstrings(t *testing.T) {
	defer func(b int64) { bitstringBudget = b }(bitstringBudget)
	bitstringBudget = -1
	t.Run("overview", TestOverview)
	t.Run("features", TestFeatures)
	t.Run("runtimes", TestRuntimes)
	t.Run("k", TestKEdge)
	t.Run("empty", TestEmpty)
}

// TestConcurrent runs every report at once on one Insights, as the HTTP
// server does (go test -race checks the sharing).
func TestConcurrent(t *testing.T) {
	f := newFixture(t)
	for i := range 6 {
		mc := m(fmt.Sprintf("P%d", i)).with(func(mc *machine) { mc.plugins = []string{"seo"} })
		f.add(f.ev(mc, "2026-03-03 10:00", "willCreateProject"), f.ev(mc, "2026-03-03 10:05", "didStartServer"),
			f.ev(mc, "2026-03-04 10:00", "didUseFeature", "feature", "releases"))
	}
	p := window("2026-03-02", "2026-03-08")
	p.Feature = "releases"
	errs := make(chan error, 3*len(Names))
	for range 3 {
		for _, name := range Names {
			go func() {
				r, err := f.in.Run(context.Background(), name, p)
				if err == nil && r.ActiveProjects != 6 {
					err = fmt.Errorf("%s: activeProjects %d, want 6", name, r.ActiveProjects)
				}
				errs <- err
			}()
		}
	}
	for range 3 * len(Names) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
