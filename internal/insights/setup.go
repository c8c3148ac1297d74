package insights

import (
	"cmp"
	"database/sql"
	"encoding/json"
	"fmt"
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
type SetupBucket struct {
	FromMs   int64 `json:"fromMs"`
	ToMs     int64 `json:"toMs"`
	Projects int   `json:"projects"`
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

// setupQuery finds, per project, the first setup start in [$slo, $hi) (the
// window, extended back to the regression's prior weeks) and the first setup
// done at or after it; the duration when that is within $within ms. It then
// answers every part of the report from that small table in one row of JSON
// columns, so the events are read once.
const setupQuery = `WITH st AS (
	SELECT so.project_id, min(e.time) AS t0, arg_min(so.os, e.time) AS os, arg_min(so.runtime_version, e.time) AS rv,
		arg_min(so.product_version, e.time) AS pv
	FROM event_rows e JOIN sources so USING (source_id)
	WHERE e.name = $start AND e.time >= $slo AND e.time < $hi
	GROUP BY so.project_id
), dn AS (
	SELECT st.project_id, min(e.time) AS t1
	FROM event_rows e JOIN sources so USING (source_id) JOIN st ON st.project_id = so.project_id
	WHERE e.name = $done AND e.time >= $slo AND e.time < $dhi AND e.time >= st.t0
	GROUP BY st.project_id
), s AS MATERIALIZED (
	SELECT st.project_id, st.t0, st.os, nullif(split_part(st.rv, '.', 1), '') AS rm, st.pv,
		CASE WHEN dn.t1 <= st.t0 + to_milliseconds($within) THEN date_diff('millisecond', st.t0, dn.t1) END AS dur,
		(epoch_ms(st.t0) // 86400000 + 3) // 7 AS wk
	FROM st LEFT JOIN dn USING (project_id)
), w AS (
	SELECT *, count(*) OVER (PARTITION BY os) AS n_os, count(*) OVER (PARTITION BY rm) AS n_rm, %[1]s AS bucket
	FROM s WHERE t0 >= $lo
), mw AS (
	SELECT dur, t0 >= $last AS last, count(*) OVER (PARTITION BY dur) AS t,
		rank() OVER (ORDER BY dur) + (count(*) OVER (PARTITION BY dur) - 1) / 2 AS r
	FROM s WHERE dur IS NOT NULL AND t0 >= $prior AND t0 < $lastend
), er AS (
	SELECT so.project_id, e.time, coalesce(json_extract_string(e.properties, '$.code'), e.name) AS code
	FROM event_rows e JOIN sources so USING (source_id)
	WHERE e.name IN %[2]s AND e.time >= $lo AND e.time < $dhi
)
SELECT
	(SELECT CAST(to_json({started: count(*), completed: count(dur),
		p50: quantile_cont(dur, 0.5), p75: quantile_cont(dur, 0.75), p90: quantile_cont(dur, 0.9)}) AS VARCHAR) FROM w) AS total,
	(SELECT CAST(to_json(coalesce(list({week: wk, started: n, completed: c, p50: q50, p75: q75, p90: q90} ORDER BY wk), [])) AS VARCHAR)
		FROM (SELECT wk, count(*) AS n, count(dur) AS c, quantile_cont(dur, 0.5) AS q50,
			quantile_cont(dur, 0.75) AS q75, quantile_cont(dur, 0.9) AS q90 FROM w GROUP BY wk)) AS weeks,
	(SELECT CAST(to_json(coalesce(list({dim: dim, value: value, started: n, completed: c, p50: q50, p90: q90, folded: folded}
			ORDER BY dim, value = 'other', n DESC, value), [])) AS VARCHAR)
		FROM (SELECT 'os' AS dim, CASE WHEN n_os >= $k THEN os ELSE 'other' END AS value, count(*) AS n, count(dur) AS c,
				quantile_cont(dur, 0.5) AS q50, quantile_cont(dur, 0.9) AS q90, count(DISTINCT os) FILTER (WHERE n_os < $k) AS folded
			FROM w WHERE os IS NOT NULL GROUP BY ALL
			UNION ALL
			SELECT 'runtimeMajor', CASE WHEN n_rm >= $k THEN rm ELSE 'other' END, count(*), count(dur),
				quantile_cont(dur, 0.5), quantile_cont(dur, 0.9), count(DISTINCT rm) FILTER (WHERE n_rm < $k)
			FROM w WHERE rm IS NOT NULL GROUP BY ALL)) AS dims,
	(SELECT CAST(to_json(coalesce(list({bucket: bucket, projects: n} ORDER BY bucket), [])) AS VARCHAR)
		FROM (SELECT bucket, count(*) AS n FROM w WHERE dur IS NOT NULL GROUP BY bucket)) AS histogram,
	(SELECT CAST(to_json({n1: count(*) FILTER (WHERE last), n2: count(*) FILTER (WHERE NOT last),
		r1: sum(r) FILTER (WHERE last), ties: sum(t * t - 1),
		last50: quantile_cont(dur, 0.5) FILTER (WHERE last), last90: quantile_cont(dur, 0.9) FILTER (WHERE last),
		prior50: quantile_cont(dur, 0.5) FILTER (WHERE NOT last), prior90: quantile_cont(dur, 0.9) FILTER (WHERE NOT last),
		exceed: count(*) FILTER (WHERE last AND dur > p9.q)}) AS VARCHAR)
		FROM mw CROSS JOIN (SELECT quantile_cont(dur, 0.9) AS q FROM mw WHERE NOT last) p9) AS mw,
	(SELECT CAST(to_json(coalesce(list({t0: epoch_ms(t0), dur: dur, os: os, rm: rm, pv: pv}), [])) AS VARCHAR)
		FROM s WHERE dur IS NOT NULL AND t0 >= $wprior AND t0 < $wend) AS samples,
	(SELECT CAST(to_json(coalesce(list({code: code, projects: n} ORDER BY n DESC, code), [])) AS VARCHAR)
		FROM (SELECT er.code, count(DISTINCT w.project_id) AS n
			FROM w JOIN er ON er.project_id = w.project_id AND er.time >= w.t0 AND er.time <= w.t0 + to_milliseconds($within)
			WHERE w.dur IS NULL GROUP BY er.code)) AS errors`

// The JSON columns of setupQuery. Quantiles are null over no rows.
type (
	setupTotal struct {
		Started, Completed int
		P50, P75, P90      *float64
	}
	setupWeek struct {
		Week               int64
		Started, Completed int
		P50, P75, P90      *float64
	}
	setupDim struct {
		Dim, Value                 string
		Started, Completed, Folded int
		P50, P90                   *float64
	}
	setupCount struct {
		Bucket   int
		Code     string
		Projects int
	}
	setupMW struct {
		N1, N2                           int
		R1, Ties                         *float64
		Last50, Last90, Prior50, Prior90 *float64
		Exceed                           int // last-week setups slower than the prior weeks' p90
	}
	setupSample struct {
		T0         int64 // ms since the epoch
		Dur        float64
		OS, RM, PV *string
	}
)

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
	var total, weeks, dims, hist, mw, samples, errs []byte
	args := q.args(sql.Named("start", setup.Start), sql.Named("done", setup.Done),
		sql.Named("slo", minTime(q.lo, wprior)), sql.Named("wprior", wprior), sql.Named("wend", wend), sql.Named("dhi", q.hi.Add(within)), sql.Named("within", within.Milliseconds()),
		sql.Named("last", last), sql.Named("prior", prior), sql.Named("lastend", lastEnd))
	query := fmt.Sprintf(setupQuery, bucketExpr(bounds), sqlList(q.in.eventNames(plan.KindError)))
	if err := q.tx.QueryRowContext(q.ctx, query, args...).Scan(&total, &weeks, &dims, &hist, &mw, &samples, &errs); err != nil {
		return err
	}
	var (
		t  setupTotal
		ws []setupWeek
		ds []setupDim
		hs []setupCount
		m  setupMW
		ss []setupSample
		es []setupCount
	)
	for _, c := range []struct {
		data []byte
		v    any
	}{{total, &t}, {weeks, &ws}, {dims, &ds}, {hist, &hs}, {mw, &m}, {samples, &ss}, {errs, &es}} {
		if err := json.Unmarshal(c.data, c.v); err != nil {
			return fmt.Errorf("cannot read the setup query's answer %s: %w", c.data, err)
		}
	}
	k := q.in.k
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

	sum.Started, sum.Completed = t.Started, t.Completed
	sum.CompletionRate = ratio(float64(t.Completed), float64(t.Started))
	sum.P50Ms, sum.P75Ms, sum.P90Ms = published(t.P50, t.Completed), published(t.P75, t.Completed), published(t.P90, t.Completed)

	for _, w := range ws {
		if w.Started < k {
			r.Suppressed++
			continue
		}
		series = append(series, SetupPoint{Week: weekDate(w.Week), Started: w.Started, Completed: w.Completed, Partial: q.partialWeek(w.Week),
			P50Ms: published(w.P50, w.Completed), P75Ms: published(w.P75, w.Completed), P90Ms: published(w.P90, w.Completed)})
	}
	for _, d := range ds {
		r.Suppressed += d.Folded
		if d.Started < k {
			continue
		}
		rows = append(rows, SetupRow{Dimension: d.Dim, Value: d.Value, Projects: d.Started,
			P50Ms: published(d.P50, d.Completed), P90Ms: published(d.P90, d.Completed),
			CompletionRate: ratio(float64(d.Completed), float64(d.Started))})
	}
	for _, h := range hs {
		if h.Projects < k {
			r.Suppressed++
			continue
		}
		sum.Histogram = append(sum.Histogram, SetupBucket{FromMs: bounds[h.Bucket], ToMs: bounds[h.Bucket+1], Projects: h.Projects})
	}
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
	if m.N1 >= k && m.N2 >= k && m.R1 != nil && m.Ties != nil {
		reg.Tested = true
		// Two one-sided tests, each at regressionP/2 (Bonferroni): the p50
		// by Mann-Whitney U (a shift of the whole distribution), the p90 by
		// the number of last-week setups slower than the prior weeks' p90,
		// 10% of them if nothing changed (binomial) — a slower tail alone
		// moves the second and hardly the first.
		reg.P50PValue = min(1, 2*mannWhitneyGreater(m.N1, m.N2, *m.R1, *m.Ties))
		reg.P90PValue = min(1, 2*binomialAtLeast(m.Exceed, m.N1, 0.1))
		reg.PValue = min(reg.P50PValue, reg.P90PValue)
		reg.LastP50Ms, reg.LastP90Ms = quantile(m.Last50, m.N1), quantile(m.Last90, m.N1)
		reg.PriorP50Ms, reg.PriorP90Ms = quantile(m.Prior50, m.N2), quantile(m.Prior90, m.N2)
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
	reg.Where, segments = regressionWhere(ss, recent.UnixMilli(), wend.UnixMilli(), wprior.UnixMilli(), k)
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

// bucketExpr is the SQL of the histogram bucket of dur: the index i with
// bounds[i] <= dur < bounds[i+1].
func bucketExpr(bounds []int64) string {
	var b strings.Builder
	b.WriteString("CASE")
	for i := 1; i < len(bounds)-1; i++ {
		fmt.Fprintf(&b, " WHEN dur < %d THEN %d", bounds[i], i-1)
	}
	fmt.Fprintf(&b, " ELSE %d END", len(bounds)-2)
	return b.String()
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
	type seg struct {
		by, value     string
		before, after []float64
	}
	segs := map[[2]string]*seg{}
	add := func(by string, v *string, s setupSample) {
		if v == nil || *v == "" {
			return
		}
		key := [2]string{by, *v}
		g := segs[key]
		if g == nil {
			g = &seg{by: by, value: *v}
			segs[key] = g
		}
		if s.T0 >= recent {
			g.after = append(g.after, s.Dur)
		} else {
			g.before = append(g.before, s.Dur)
		}
	}
	all := "all"
	for _, s := range ss {
		if s.T0 < prior || s.T0 >= end {
			continue
		}
		add("all", &all, s)
		add("os", s.OS, s)
		add("runtimeMajor", s.RM, s)
		add("productVersion", s.PV, s)
	}
	minN := max(k, whereMinSetups)
	type tested struct {
		*seg
		p float64
	}
	var ts []tested
	for _, g := range segs {
		if len(g.before) >= minN && len(g.after) >= minN {
			ts = append(ts, tested{g, min(1, tailStretchGreater(g.after, g.before)/tailWeight, mannWhitneyAll(g.after, g.before)/(1-tailWeight))})
		}
	}
	// Holm: the i-th smallest p times (m − i), never below the one before.
	slices.SortFunc(ts, func(a, b tested) int {
		return cmp.Or(cmp.Compare(a.p, b.p), cmp.Compare(a.by, b.by), cmp.Compare(a.value, b.value))
	})
	out := []SetupRegressionDim{}
	prev := 0.0
	for i, t := range ts {
		p := max(prev, min(1, float64(len(ts)-i)*t.p))
		prev = p
		before, after := quantile90(t.before), quantile90(t.after)
		if p < regressionP && before > 0 && after/before >= regressionRise {
			out = append(out, SetupRegressionDim{By: t.by, Value: t.value, Quantile: "p90",
				Before: int64(math.Round(before)), After: int64(math.Round(after)), P: p})
		}
	}
	slices.SortStableFunc(out, func(a, b SetupRegressionDim) int {
		return cmp.Compare(float64(b.After)/float64(b.Before), float64(a.After)/float64(a.Before))
	})
	return out, len(ts)
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

// quantile90 is the 0.9 quantile of xs with linear interpolation (DuckDB's
// quantile_cont); xs is sorted in place.
func quantile90(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	h := 0.9 * float64(len(xs)-1)
	lo := int(h)
	if lo+1 >= len(xs) {
		return xs[lo]
	}
	return xs[lo] + (h-float64(lo))*(xs[lo+1]-xs[lo])
}
