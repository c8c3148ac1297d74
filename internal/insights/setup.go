package insights

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/abacushq/abacus/internal/plan"
)

// SetupSummary is the setup report's summary. A quantile over fewer than k
// completed setups is not published: nil (null in JSON), and counted in the
// report's Suppressed when 1 to k−1 setups completed.
type SetupSummary struct {
	Started        int               `json:"started"`   // projects whose first setup start is in the window
	Completed      int               `json:"completed"` // of those, projects whose setup completed within Within
	CompletionRate float64           `json:"completionRate"`
	Within         string            `json:"within"` // the plan's setup.within, as 168h
	P50Ms          *int64            `json:"p50Ms"`
	P75Ms          *int64            `json:"p75Ms"`
	P90Ms          *int64            `json:"p90Ms"`
	Regression     SetupRegression   `json:"regression"`
	Histogram      []SetupBucket     `json:"histogram"`
	TopErrors      []SetupErrorCount `json:"topErrors"`
}

// SetupRegression compares the setup times of the last full week (Monday to
// Sunday, ending on or before the window's end) with the four weeks before it.
type SetupRegression struct {
	Flag       bool    `json:"flag"`   // p50PValue < 0.01 and the p50 20% higher, or the same for the p90, or Where not empty
	Tested     bool    `json:"tested"` // a test ran: the weekly one, or a segment's; when false the answer is "not known yet", not "no"
	Metric     string  `json:"metric"` // "p50" or "p90": the quantile that rose most, when Flag; else ""
	Test       string  `json:"test"`
	PValue     float64 `json:"pValue"`    // the smaller of the two below
	P50PValue  float64 `json:"p50PValue"` // Mann-Whitney U, one-sided, ×2 (Bonferroni); 1 when either side has fewer than k setups
	P90PValue  float64 `json:"p90PValue"` // binomial test of last-week setups above the prior p90, one-sided, ×2; 1 likewise
	LastWeek   string  `json:"lastWeek"`
	LastP50Ms  int64   `json:"lastP50Ms"`
	LastP90Ms  int64   `json:"lastP90Ms"`
	PriorP50Ms int64   `json:"priorP50Ms"`
	PriorP90Ms int64   `json:"priorP90Ms"`
	// Where lists the segments (all setups, one OS, runtime major or
	// product version) whose setups got slower in the 14 days from WhereFrom
	// to WhereTo against the 8 weeks before: see regressionWhere.
	Where     []SetupRegressionDim `json:"where"`
	WhereFrom string               `json:"whereFrom"` // first day of the 14 days compared
	WhereTo   string               `json:"whereTo"`   // their last day: the window's last day, or yesterday when the window reaches today
}

// SetupRegressionDim is a segment whose setups got slower.
type SetupRegressionDim struct {
	By       string  `json:"by"` // os, runtimeMajor or productVersion
	Value    string  `json:"value"`
	Quantile string  `json:"quantile"` // p90: Before and After are that quantile
	Before   int64   `json:"before"`   // ms, over the 8 weeks before WhereFrom
	After    int64   `json:"after"`    // ms, over the 14 days from WhereFrom
	P        float64 `json:"p"`        // Holm-adjusted over every segment tested
}

// SetupBucket counts completed setups with FromMs <= duration < ToMs.
// Projects is nil (null in JSON) when 1 to k−1 setups are in the bucket:
// hidden, and counted in the report's Suppressed. Buckets of no setups are
// left out.
type SetupBucket struct {
	FromMs   int64 `json:"fromMs"`
	ToMs     int64 `json:"toMs"`
	Projects *int  `json:"projects"`
}

// SetupErrorCount counts the projects that started setup in the window, did
// not complete it, and reported an error code in the Within after the start.
type SetupErrorCount struct {
	Code     string `json:"code"`
	Projects int    `json:"projects"`
}

// SetupRow is setup by the OS or runtime major of the machine that started it.
type SetupRow struct {
	Dimension      string  `json:"dimension"` // os or runtimeMajor
	Value          string  `json:"value"`
	Projects       int     `json:"projects"` // started
	P50Ms          *int64  `json:"p50Ms"`    // nil under k completed setups, as in SetupSummary
	P90Ms          *int64  `json:"p90Ms"`
	CompletionRate float64 `json:"completionRate"`
}

// SetupPoint is the setups started in one week.
type SetupPoint struct {
	Week      string `json:"week"`
	Started   int    `json:"started"`
	Completed int    `json:"completed"`
	P50Ms     *int64 `json:"p50Ms"` // nil under k completed setups, as in SetupSummary
	P75Ms     *int64 `json:"p75Ms"`
	P90Ms     *int64 `json:"p90Ms"`
	Partial   bool   `json:"partial"` // the week is not wholly in the window and over
}

const (
	regressionTest  = "Mann-Whitney U (p50) and binomial test of exceedances of the prior p90 (p90), one-sided, Bonferroni"
	regressionP     = 0.01
	regressionRise  = 1.2 // the p50 or p90 of the last week at least 20% above the prior weeks'
	regressionWeeks = 4
	maxSetupErrors  = 10
	whereDays       = 14 // the recent period of regressionWhere, in complete days
	whereBefore     = 56 // the days before it that regressionWhere compares it with
	whereMinSetups  = 20 // setups a segment needs on each side to be tested
	// tailWeight is the share of the significance level regressionWhere
	// gives its tail-stretch test; Mann-Whitney gets the rest. A slower
	// tail is the regression it looks for; a slower whole distribution
	// moves Mann-Whitney so far that a fifth of the level finds it.
	tailWeight = 0.8
)

// setupBounds are the histogram's bucket bounds (a log-like scale); the last
// bucket ends at Within.
var setupBounds = []time.Duration{0, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 6 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}

// setupSample is a completed setup that regressionWhere compares: its
// start (ms since the epoch), duration and segments ("" when unknown).
type setupSample struct {
	T0         int64
	Dur        float64
	OS, RM, PV string
}

// setupStats are the count and quantiles of some setups.
type setupStats struct {
	started, completed int
	durs               []float64 // the completed setups' durations, sorted
}

func (st *setupStats) add(s SetupStart) {
	st.started++
	if s.Completed {
		st.completed++
		st.durs = append(st.durs, float64(s.DurMs))
	}
}

// quantile is the q quantile of the completed setups' durations with linear
// interpolation (SQL's quantile_cont), nil over none.
func (st *setupStats) quantile(q float64) *float64 {
	if len(st.durs) == 0 {
		return nil
	}
	if !slices.IsSorted(st.durs) {
		slices.Sort(st.durs)
	}
	v := quantileCont(st.durs, q)
	return &v
}

func (q *query) setup(r *Report) error {
	setup := q.in.plan.Setup
	sum := SetupSummary{Within: formatWithin(setup.Within), Histogram: []SetupBucket{}, TopErrors: []SetupErrorCount{},
		Regression: SetupRegression{Test: regressionTest, PValue: 1, P50PValue: 1, P90PValue: 1, Where: []SetupRegressionDim{}}}
	rows, series := []SetupRow{}, []SetupPoint{}
	defer func() { r.Summary, r.Rows, r.Series = sum, rows, series }()
	n, err := q.activeProjects()
	if err != nil {
		return err
	}
	r.ActiveProjects = n
	if !setup.Declared() {
		return nil
	}
	within := setup.Within
	if within <= 0 {
		within = plan.DefaultWithin
	}
	lastEnd := mondayOf(minTime(q.hi, q.now)) // the end of the last full week: the Monday on or before the window's end and now
	last := lastEnd.AddDate(0, 0, -7)
	prior := last.AddDate(0, 0, -7*regressionWeeks)
	sum.Regression.LastWeek = last.Format(dateLayout)
	bounds := histogramBounds(within)

	// regressionWhere takes every complete day up to the window's end: the
	// last whereDays of them against the whereBefore days before (whole
	// weeks both, so each weekday counts as often on both sides).
	wend := minTime(q.hi, day(q.now))
	recent := wend.AddDate(0, 0, -whereDays)
	wprior := recent.AddDate(0, 0, -whereBefore)
	sum.Regression.WhereFrom, sum.Regression.WhereTo = recent.Format(dateLayout), wend.AddDate(0, 0, -1).Format(dateLayout)
	facts, err := q.qs.Setup(q.ctx, SetupSpec{Start: setup.Start, Done: setup.Done, From: minTime(q.lo, wprior), Lo: q.lo, Hi: q.hi,
		Within: within, ErrorNames: q.in.eventNames(plan.KindError)})
	if err != nil {
		return err
	}
	k := q.in.k
	// The setups started in the window: in total, per week, per OS and
	// runtime major; the histogram of their durations.
	var (
		total   setupStats
		byWeek  = map[int64]*setupStats{}
		byValue = map[[2]string]*setupStats{}
		hist    = make([]int, len(bounds)-1)
		// Mann-Whitney and the exceedances of the prior p90 compare the
		// setups completed in the last full week with the weeks before.
		lastWeek, priorWeeks setupStats
		samples              []setupSample
	)
	stats := func(m map[[2]string]*setupStats, key [2]string) *setupStats {
		st := m[key]
		if st == nil {
			st = &setupStats{}
			m[key] = st
		}
		return st
	}
	for _, st := range facts.Starts {
		t0 := time.UnixMilli(st.T0)
		if st.Completed {
			if !t0.Before(prior) && t0.Before(lastEnd) {
				if !t0.Before(last) {
					lastWeek.add(st)
				} else {
					priorWeeks.add(st)
				}
			}
			if !t0.Before(wprior) && t0.Before(wend) {
				samples = append(samples, setupSample{T0: st.T0, Dur: float64(st.DurMs), OS: st.OS, RM: st.RM, PV: st.PV})
			}
		}
		if t0.Before(q.lo) {
			continue
		}
		total.add(st)
		wk := weekNumber(t0)
		if byWeek[wk] == nil {
			byWeek[wk] = &setupStats{}
		}
		byWeek[wk].add(st)
		if st.OS != "" {
			stats(byValue, [2]string{"os", st.OS}).add(st)
		}
		if st.RM != "" {
			stats(byValue, [2]string{"runtimeMajor", st.RM}).add(st)
		}
		if st.Completed {
			hist[bucketOf(bounds, st.DurMs)]++
		}
	}
	// quantile publishes a quantile only over at least k setups.
	quantile := func(v *float64, n int) int64 {
		if v == nil || n < k {
			return 0
		}
		return roundMs(v)
	}
	// published is quantile for the report's buckets: nil under k setups,
	// counted as suppressed when some setups completed.
	published := func(v *float64, n int) *int64 {
		if v == nil || n < k {
			if n > 0 {
				r.Suppressed++
			}
			return nil
		}
		ms := roundMs(v)
		return &ms
	}

	sum.Started, sum.Completed = total.started, total.completed
	sum.CompletionRate = ratio(float64(total.completed), float64(total.started))
	sum.P50Ms, sum.P75Ms, sum.P90Ms = published(total.quantile(0.5), total.completed), published(total.quantile(0.75), total.completed), published(total.quantile(0.9), total.completed)

	for _, wk := range slices.Sorted(maps.Keys(byWeek)) {
		w := byWeek[wk]
		if w.started < k {
			r.Suppressed++
			continue
		}
		series = append(series, SetupPoint{Week: weekDate(wk), Started: w.started, Completed: w.completed, Partial: q.partialWeek(wk),
			P50Ms: published(w.quantile(0.5), w.completed), P75Ms: published(w.quantile(0.75), w.completed), P90Ms: published(w.quantile(0.9), w.completed)})
	}
	// Values under k setups fold into "other", per dimension.
	folded := map[[2]string]*setupStats{}
	foldedValues := map[string]int{}
	for key, st := range byValue {
		if st.started < k {
			foldedValues[key[0]]++
			key[1] = other
		}
		f := stats(folded, key)
		f.started += st.started
		f.completed += st.completed
		f.durs = append(f.durs, st.durs...)
	}
	for _, n := range foldedValues {
		r.Suppressed += n
	}
	for _, key := range slices.SortedFunc(maps.Keys(folded), func(a, b [2]string) int {
		return cmp.Or(cmp.Compare(a[0], b[0]), cmpOther(a[1], b[1]), -cmp.Compare(folded[a].started, folded[b].started), cmp.Compare(a[1], b[1]))
	}) {
		d := folded[key]
		if d.started < k {
			continue
		}
		slices.Sort(d.durs)
		rows = append(rows, SetupRow{Dimension: key[0], Value: key[1], Projects: d.started,
			P50Ms: published(d.quantile(0.5), d.completed), P90Ms: published(d.quantile(0.9), d.completed),
			CompletionRate: ratio(float64(d.completed), float64(d.started))})
	}
	for b, n := range hist {
		if n == 0 {
			continue
		}
		bucket := SetupBucket{FromMs: bounds[b], ToMs: bounds[b+1]}
		if n < k {
			r.Suppressed++
		} else {
			bucket.Projects = &n
		}
		sum.Histogram = append(sum.Histogram, bucket)
	}
	es := facts.Errors
	slices.SortFunc(es, func(a, b CodeCount) int {
		return cmp.Or(-cmp.Compare(a.Projects, b.Projects), cmp.Compare(a.Code, b.Code))
	})
	for _, e := range es {
		if e.Projects < k {
			r.Suppressed++
			continue
		}
		if len(sum.TopErrors) < maxSetupErrors {
			sum.TopErrors = append(sum.TopErrors, SetupErrorCount{Code: e.Code, Projects: e.Projects})
		}
	}

	reg := &sum.Regression
	if n1, n2 := len(lastWeek.durs), len(priorWeeks.durs); n1 >= k && n2 >= k {
		reg.Tested = true
		// Two one-sided tests, each at regressionP/2 (Bonferroni): the p50
		// by Mann-Whitney U (a shift of the whole distribution), the p90 by
		// the number of last-week setups slower than the prior weeks' p90,
		// 10% of them if nothing changed (binomial) — a slower tail alone
		// moves the second and hardly the first.
		prior90 := priorWeeks.quantile(0.9)
		exceed := 0
		for _, d := range lastWeek.durs {
			if d > *prior90 {
				exceed++
			}
		}
		reg.P50PValue = min(1, 2*mannWhitneyAll(lastWeek.durs, priorWeeks.durs))
		reg.P90PValue = min(1, 2*binomialAtLeast(exceed, n1, 0.1))
		reg.PValue = min(reg.P50PValue, reg.P90PValue)
		reg.LastP50Ms, reg.LastP90Ms = quantile(lastWeek.quantile(0.5), n1), quantile(lastWeek.quantile(0.9), n1)
		reg.PriorP50Ms, reg.PriorP90Ms = quantile(priorWeeks.quantile(0.5), n2), quantile(prior90, n2)
		rise50 := ratio(float64(reg.LastP50Ms), float64(reg.PriorP50Ms))
		rise90 := ratio(float64(reg.LastP90Ms), float64(reg.PriorP90Ms))
		up50 := reg.P50PValue < regressionP && rise50 >= regressionRise
		up90 := reg.P90PValue < regressionP && rise90 >= regressionRise
		if up50 || up90 {
			reg.Flag, reg.Metric = true, "p90"
			if up50 && (!up90 || rise50 > rise90) {
				reg.Metric = "p50"
			}
		}
	}
	var segments int
	reg.Where, segments = regressionWhere(samples, recent.UnixMilli(), wend.UnixMilli(), wprior.UnixMilli(), k)
	reg.Tested = reg.Tested || segments > 0
	if len(reg.Where) > 0 && !reg.Flag {
		reg.Flag, reg.Metric = true, "p90"
	}
	return nil
}

// histogramBounds returns the bucket bounds in ms: setupBounds below within,
// then within itself (the last bucket includes its end, since a setup that
// took exactly within completed).
func histogramBounds(within time.Duration) []int64 {
	var b []int64
	for _, d := range setupBounds {
		if d >= within {
			break
		}
		b = append(b, d.Milliseconds())
	}
	return append(b, within.Milliseconds())
}

// bucketOf is the histogram bucket of a duration: the index i with
// bounds[i] <= ms < bounds[i+1] (the last bucket includes its end).
func bucketOf(bounds []int64, ms int64) int {
	for i := 1; i < len(bounds)-1; i++ {
		if ms < bounds[i] {
			return i - 1
		}
	}
	return len(bounds) - 2
}

// formatWithin writes a duration the way plans do: 168h, 90m, 1h30m, 45s.
func formatWithin(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// regressionWhere finds the segments whose setups got slower. A segment is
// the setups of one OS, one runtime major or one product version (of the
// machine and product that started them), and also all setups (by "all");
// it is tested when it has at least max(k, whereMinSetups) completed setups
// both in [recent, end) and in [prior, recent). Two one-sided rank tests,
// α split between them (weighted Bonferroni): the tail-stretch test
// (tailStretchGreater, a slower p90 with the median unchanged) gets
// tailWeight of it, Mann-Whitney U (the whole distribution slower) the
// rest. The p-values are Holm-adjusted over every segment tested, so under
// no change the chance of listing any segment stays under regressionP; a
// segment is listed when its adjusted p is below regressionP and its p90
// rose at least regressionRise, the largest rise first. Samples are
// completed setups only. It also reports how many segments it tested.
func regressionWhere(ss []setupSample, recent, end, prior int64, k int) ([]SetupRegressionDim, int) {
	segs := map[[2]string]*seg{}
	add := func(by, v string, i int) {
		if v == "" {
			return
		}
		key := [2]string{by, v}
		g := segs[key]
		if g == nil {
			g = &seg{by: by, value: v}
			segs[key] = g
		}
		g.samples = append(g.samples, i)
	}
	for i, s := range ss {
		if s.T0 < prior || s.T0 >= end {
			continue
		}
		add("all", "all", i)
		add("os", s.OS, i)
		add("runtimeMajor", s.RM, i)
		add("productVersion", s.PV, i)
	}
	minN := max(k, whereMinSetups)
	// test splits a segment's samples, less those for which skip is true,
	// into before and after recent, and tests them: the p-value, the p90s,
	// and whether both sides have minN setups.
	test := func(g *seg, skip func(setupSample) bool) (p, before, after float64, ok bool) {
		var b, a []float64
		for _, i := range g.samples {
			switch s := ss[i]; {
			case skip != nil && skip(s):
			case s.T0 >= recent:
				a = append(a, s.Dur)
			default:
				b = append(b, s.Dur)
			}
		}
		if len(b) < minN || len(a) < minN {
			return 1, 0, 0, false
		}
		p = min(1, tailStretchGreater(a, b)/tailWeight, mannWhitneyAll(a, b)/(1-tailWeight))
		return p, quantile90(b), quantile90(a), true
	}
	type tested struct {
		*seg
		p, before, after float64
		factor           float64 // its Holm factor
	}
	var ts []tested
	for _, g := range segs {
		if p, before, after, ok := test(g, nil); ok {
			ts = append(ts, tested{seg: g, p: p, before: before, after: after})
		}
	}
	// Holm: the i-th smallest p times (m − i), never below the one before.
	slices.SortFunc(ts, func(a, b tested) int {
		return cmp.Or(cmp.Compare(a.p, b.p), cmp.Compare(a.by, b.by), cmp.Compare(a.value, b.value))
	})
	var listed []tested
	prev := 0.0
	for i, t := range ts {
		t.factor = float64(len(ts) - i)
		t.p = max(prev, min(1, t.factor*t.p))
		prev = t.p
		if t.p < regressionP && t.before > 0 && t.after/t.before >= regressionRise {
			listed = append(listed, t)
		}
	}
	// A slower segment slows every segment that shares its setups (the
	// windows setups are also setups of some runtime major and product
	// version, and of "all"). A listed segment T is left out when another
	// listed segment S (not "all") explains it: T without S's setups is no
	// longer slower (tested again with T's Holm factor), while S is more
	// significant than T, or still slower without T's setups, or a part of
	// T. Segments of the very same setups explain each other equally and
	// stay. This only ever removes listings.
	slower := func(t tested, without *seg) bool {
		p, before, after, ok := test(t.seg, func(s setupSample) bool { return without.has(s) })
		return ok && min(1, t.factor*p) < regressionP && before > 0 && after/before >= regressionRise
	}
	explained := func(tt tested) bool {
		for _, s := range listed {
			if s.seg == tt.seg || s.by == "all" || slices.Equal(s.samples, tt.samples) || slower(tt, s.seg) {
				continue
			}
			if tt.by == "all" || s.p < tt.p || slower(s, tt.seg) || subset(s.samples, tt.samples) {
				return true
			}
		}
		return false
	}
	out := []SetupRegressionDim{}
	for _, t := range listed {
		if len(listed) > 1 && explained(t) {
			continue
		}
		out = append(out, SetupRegressionDim{By: t.by, Value: t.value, Quantile: "p90",
			Before: int64(math.Round(t.before)), After: int64(math.Round(t.after)), P: t.p})
	}
	if len(out) == 0 && len(listed) > 0 {
		t := listed[0]
		out = append(out, SetupRegressionDim{By: t.by, Value: t.value, Quantile: "p90",
			Before: int64(math.Round(t.before)), After: int64(math.Round(t.after)), P: t.p})
	}
	slices.SortStableFunc(out, func(a, b SetupRegressionDim) int {
		return cmp.Compare(float64(b.After)/float64(b.Before), float64(a.After)/float64(a.Before))
	})
	return out, len(ts)
}

// seg is a segment of regressionWhere: its setups.
type seg struct {
	by, value string
	samples   []int // indices in the samples, ascending
}

// has says whether s is one of g's setups ("all" has every one).
func (g *seg) has(s setupSample) bool {
	switch g.by {
	case "os":
		return s.OS == g.value
	case "runtimeMajor":
		return s.RM == g.value
	case "productVersion":
		return s.PV == g.value
	}
	return true
}

// subset says whether the ascending a is a proper subset of the ascending b.
func subset(a, b []int) bool {
	if len(a) >= len(b) {
		return false
	}
	j := 0
	for _, x := range a {
		for j < len(b) && b[j] < x {
			j++
		}
		if j == len(b) || b[j] != x {
			return false
		}
	}
	return true
}

// mannWhitneyAll is the one-sided Mann-Whitney U test that a's values tend
// to be larger than b's.
func mannWhitneyAll(a, b []float64) float64 {
	type v struct {
		x float64
		a bool
	}
	pool := make([]v, 0, len(a)+len(b))
	for _, x := range a {
		pool = append(pool, v{x, true})
	}
	for _, x := range b {
		pool = append(pool, v{x, false})
	}
	slices.SortFunc(pool, func(p, q v) int { return cmp.Compare(p.x, q.x) })
	up := pool // sorted
	n1, r1, ties := 0, 0.0, 0.0
	for j := 0; j < len(up); {
		e := j
		for e < len(up) && up[e].x == up[j].x {
			e++
		}
		t := float64(e - j)
		rank := float64(j+e+1) / 2 // ranks j+1…e, averaged
		for _, u := range up[j:e] {
			if u.a {
				n1++
				r1 += rank
			}
		}
		ties += t*t*t - t
		j = e
	}
	return mannWhitneyGreater(n1, len(up)-n1, r1, ties)
}

// quantile90 is the 0.9 quantile of xs with linear interpolation; xs is
// sorted in place.
func quantile90(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	return quantileCont(xs, 0.9)
}

// quantileCont is the q quantile of sorted xs (not empty) with linear
// interpolation between the two nearest ranks, as SQL's quantile_cont:
// lo + (hi − lo)·d at the position q·(n−1).
func quantileCont(xs []float64, q float64) float64 {
	h := q * float64(len(xs)-1)
	lo := int(math.Floor(h))
	if lo+1 >= len(xs) {
		return xs[len(xs)-1]
	}
	return xs[lo] + (xs[lo+1]-xs[lo])*(h-float64(lo))
}
