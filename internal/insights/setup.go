package insights

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/abacushq/abacus/internal/plan"
)

// SetupSummary is the setup report's summary. Quantiles over fewer than k
// completed setups are 0 (not published).
type SetupSummary struct {
	Started        int               `json:"started"`   // projects whose first setup start is in the window
	Completed      int               `json:"completed"` // of those, projects whose setup completed within Within
	CompletionRate float64           `json:"completionRate"`
	Within         string            `json:"within"` // the plan's setup.within, as 168h
	P50Ms          int64             `json:"p50Ms"`
	P75Ms          int64             `json:"p75Ms"`
	P90Ms          int64             `json:"p90Ms"`
	Regression     SetupRegression   `json:"regression"`
	Histogram      []SetupBucket     `json:"histogram"`
	TopErrors      []SetupErrorCount `json:"topErrors"`
}

// SetupRegression compares the setup times of the last full week (Monday to
// Sunday, ending on or before the window's end) with the four weeks before it.
type SetupRegression struct {
	Flag       bool    `json:"flag"`   // p50PValue < 0.01 and the p50 20% higher, or the same for the p90
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
	// Where lists the OS and runtime majors whose p90 rose by itself: the
	// p90 test on their setups alone (p-values ×N for the N tested), at
	// p < 0.01 and 20% higher. The overall flag does not count them.
	Where []SetupRegressionDim `json:"where"`
}

// SetupRegressionDim is an OS or runtime major whose setup p90 rose in the
// last full week.
type SetupRegressionDim struct {
	Dimension  string  `json:"dimension"` // os or runtimeMajor
	Value      string  `json:"value"`
	LastP90Ms  int64   `json:"lastP90Ms"`
	PriorP90Ms int64   `json:"priorP90Ms"`
	PValue     float64 `json:"pValue"`
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
	P50Ms          int64   `json:"p50Ms"`
	P90Ms          int64   `json:"p90Ms"`
	CompletionRate float64 `json:"completionRate"`
}

// SetupPoint is the setups started in one week.
type SetupPoint struct {
	Week      string `json:"week"`
	Started   int    `json:"started"`
	Completed int    `json:"completed"`
	P50Ms     int64  `json:"p50Ms"`
	P75Ms     int64  `json:"p75Ms"`
	P90Ms     int64  `json:"p90Ms"`
}

const (
	regressionTest  = "Mann-Whitney U (p50) and binomial test of exceedances of the prior p90 (p90), one-sided, Bonferroni"
	regressionP     = 0.01
	regressionRise  = 1.2 // the p50 or p90 of the last week at least 20% above the prior weeks'
	regressionWeeks = 4
	maxSetupErrors  = 10
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
	SELECT so.project_id, min(e.time) AS t0, arg_min(so.os, e.time) AS os, arg_min(so.runtime_version, e.time) AS rv
	FROM event_rows e JOIN sources so USING (source_id)
	WHERE e.name = $start AND e.time >= $slo AND e.time < $hi
	GROUP BY so.project_id
), dn AS (
	SELECT st.project_id, min(e.time) AS t1
	FROM event_rows e JOIN sources so USING (source_id) JOIN st ON st.project_id = so.project_id
	WHERE e.name = $done AND e.time >= $slo AND e.time < $dhi AND e.time >= st.t0
	GROUP BY st.project_id
), s AS MATERIALIZED (
	SELECT st.project_id, st.t0, st.os, nullif(split_part(st.rv, '.', 1), '') AS rm,
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
), rg AS (
	SELECT 'os' AS dim, os AS value, quantile_cont(dur, 0.9) FILTER (WHERE t0 < $last) AS p90, count(*) FILTER (WHERE t0 < $last) AS n2
	FROM s WHERE dur IS NOT NULL AND t0 >= $prior AND t0 < $lastend AND os IS NOT NULL GROUP BY ALL
	UNION ALL
	SELECT 'runtimeMajor', rm, quantile_cont(dur, 0.9) FILTER (WHERE t0 < $last), count(*) FILTER (WHERE t0 < $last)
	FROM s WHERE dur IS NOT NULL AND t0 >= $prior AND t0 < $lastend AND rm IS NOT NULL GROUP BY ALL
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
	(SELECT CAST(to_json(coalesce(list({dim: dim, value: value, n1: n1, n2: n2, exceed: exceed, last90: last90, prior90: p90}
			ORDER BY dim, value), [])) AS VARCHAR)
		FROM (SELECT rg.dim, rg.value, rg.n2, rg.p90, count(*) AS n1, count(*) FILTER (WHERE s.dur > rg.p90) AS exceed,
				quantile_cont(s.dur, 0.9) AS last90
			FROM rg JOIN s ON CASE rg.dim WHEN 'os' THEN s.os ELSE s.rm END = rg.value
			WHERE s.dur IS NOT NULL AND s.t0 >= $last AND s.t0 < $lastend GROUP BY ALL)) AS regdims,
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
	setupRegDim struct {
		Dim, Value      string
		N1, N2, Exceed  int
		Last90, Prior90 *float64
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
	lastEnd := mondayOf(q.hi) // the end of the last full week: the Monday on or before the window's end
	last := lastEnd.AddDate(0, 0, -7)
	prior := last.AddDate(0, 0, -7*regressionWeeks)
	sum.Regression.LastWeek = last.Format(dateLayout)
	bounds := histogramBounds(within)

	var total, weeks, dims, hist, mw, regdims, errs []byte
	args := q.args(sql.Named("start", setup.Start), sql.Named("done", setup.Done),
		sql.Named("slo", minTime(q.lo, prior)), sql.Named("dhi", q.hi.Add(within)), sql.Named("within", within.Milliseconds()),
		sql.Named("last", last), sql.Named("prior", prior), sql.Named("lastend", lastEnd))
	query := fmt.Sprintf(setupQuery, bucketExpr(bounds), sqlList(q.in.eventNames(plan.KindError)))
	if err := q.tx.QueryRowContext(q.ctx, query, args...).Scan(&total, &weeks, &dims, &hist, &mw, &regdims, &errs); err != nil {
		return err
	}
	var (
		t  setupTotal
		ws []setupWeek
		ds []setupDim
		hs []setupCount
		m  setupMW
		rd []setupRegDim
		es []setupCount
	)
	for _, c := range []struct {
		data []byte
		v    any
	}{{total, &t}, {weeks, &ws}, {dims, &ds}, {hist, &hs}, {mw, &m}, {regdims, &rd}, {errs, &es}} {
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

	sum.Started, sum.Completed = t.Started, t.Completed
	sum.CompletionRate = ratio(float64(t.Completed), float64(t.Started))
	sum.P50Ms, sum.P75Ms, sum.P90Ms = quantile(t.P50, t.Completed), quantile(t.P75, t.Completed), quantile(t.P90, t.Completed)

	for _, w := range ws {
		if w.Started < k {
			r.Suppressed++
			continue
		}
		series = append(series, SetupPoint{Week: weekDate(w.Week), Started: w.Started, Completed: w.Completed,
			P50Ms: quantile(w.P50, w.Completed), P75Ms: quantile(w.P75, w.Completed), P90Ms: quantile(w.P90, w.Completed)})
	}
	for _, d := range ds {
		r.Suppressed += d.Folded
		if d.Started < k {
			continue
		}
		rows = append(rows, SetupRow{Dimension: d.Dim, Value: d.Value, Projects: d.Started,
			P50Ms: quantile(d.P50, d.Completed), P90Ms: quantile(d.P90, d.Completed),
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
	// The p90 test again for each OS and runtime major with at least k
	// setups on both sides, Bonferroni over all of them: a regression on one
	// OS hardly moves the overall p90.
	tested := 0
	for _, d := range rd {
		if d.N1 >= k && d.N2 >= k && d.Prior90 != nil && d.Last90 != nil {
			tested++
		}
	}
	for _, d := range rd {
		if d.N1 < k || d.N2 < k || d.Prior90 == nil || d.Last90 == nil {
			continue
		}
		p := min(1, float64(tested)*binomialAtLeast(d.Exceed, d.N1, 0.1))
		lastMs, priorMs := roundMs(d.Last90), roundMs(d.Prior90)
		if p < regressionP && ratio(float64(lastMs), float64(priorMs)) >= regressionRise {
			reg.Where = append(reg.Where, SetupRegressionDim{Dimension: d.Dim, Value: d.Value,
				LastP90Ms: lastMs, PriorP90Ms: priorMs, PValue: p})
		}
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
