package insights

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The DuckDB backend answers from the store's rollups (see
// internal/store/duckdb's documentation) when a query's window is whole UTC
// days, as every report's is: per day, and per week for the weeks the store
// sealed, the events, first and last time of each (source, environment)
// and of each (source, name, feature, code), and the events of each
// project by its number pn. That is several times fewer rows than
// event_rows, no JSON to parse, and projects counted by number without a
// join to the sources (BENCHMARKS.md has the times at 10M events). A window
// that starts or ends inside a day, a feature property other than
// "feature", a setup.within under a day, or a setup whose done rows
// straddle its start (see setupRollup) is answered from event_rows, as
// before; TestRollupsAnswerAsEvents holds the two to the same answers.

// dayRange returns the days [lo, hi) of w when both ends are midnights (UTC).
func dayRange(w Window) (lo, hi int64, ok bool) {
	if !isMidnight(w.Lo) || !isMidnight(w.Hi) {
		return 0, 0, false
	}
	return dayNumber(w.Lo), dayNumber(w.Hi), true
}

func isMidnight(t time.Time) bool { return t.Truncate(24 * time.Hour).Equal(t) }

// rollups says whether the queries over w may read the rollups.
func (d *duckQueries) rollups(ws ...Window) bool {
	if d.events {
		return false
	}
	for _, w := range ws {
		if _, _, ok := dayRange(w); !ok {
			return false
		}
	}
	return true
}

// Columns of the rollups' rows that spans gives, besides wk (the week).
const (
	spanSources  = "source_id, pn, environment, events, first, last"
	spanNames    = "source_id, pn, name, feature, code, events, first, last"
	spanProjects = "pn, events"
)

// span is a subquery over the rows of a rollup (sources, names or projects)
// of the days [lo, hi): the weekly rollup's for the sealed weeks wholly
// inside (the weekly rollups answer for the weeks the store sealed, the
// weeks that were over, until an event for one arrives), the daily
// rollup's for the other days, with the row's week wk and cols. An 180-day
// window reads some 4 times fewer rows than from the daily rollup alone. A
// lo of math.MinInt64 takes every day before hi.
func span(table, cols string, lo, hi int64, sealed []int64) string {
	var weeks []string
	for _, w := range sealed {
		if (lo == math.MinInt64 || 7*w-3 >= lo) && 7*w+4 <= hi {
			weeks = append(weeks, strconv.FormatInt(w, 10))
		}
	}
	from := ""
	if lo != math.MinInt64 {
		from = fmt.Sprintf("day >= %d AND ", lo)
	}
	if len(weeks) == 0 {
		return fmt.Sprintf(`(SELECT (day + 3) // 7 AS wk, %s FROM day_%s WHERE %sday < %d)`, cols, table, from, hi)
	}
	in := "(" + strings.Join(weeks, ", ") + ")"
	return fmt.Sprintf(`(SELECT week AS wk, %[1]s FROM week_%[2]s WHERE week IN %[3]s
	UNION ALL SELECT (day + 3) // 7, %[1]s FROM day_%[2]s WHERE %[4]sday < %[5]d AND (day + 3) // 7 NOT IN %[3]s)`,
		cols, table, in, from, hi)
}

// spans puts into query the rows of the window w ({sources}, {names},
// {projects}), of the days before it ({names_before}), of all days
// ({names_all}) and of the window prev ({sources_prev}).
func (d *duckQueries) spans(query string, w, prev Window) string {
	lo, hi, _ := dayRange(w)
	plo, phi, _ := dayRange(prev)
	return strings.NewReplacer(
		"{sources}", span("sources", spanSources, lo, hi, d.sealed),
		"{names}", span("names", spanNames, lo, hi, d.sealed),
		"{projects}", span("projects", spanProjects, lo, hi, d.sealed),
		"{names_before}", span("names", spanNames, math.MinInt64, lo, d.sealed),
		"{names_all}", span("names", spanNames, math.MinInt64, math.MaxInt32, d.sealed),
		"{sources_prev}", span("sources", spanSources, plo, phi, d.sealed),
	).Replace(query)
}

// maxProject returns the largest project number: the size of the bitstrings
// of project numbers.
func (d *duckQueries) maxProject(ctx context.Context) (int, error) {
	var n int
	err := d.tx.QueryRowContext(ctx, `SELECT coalesce(max(pn), 0) FROM projects`).Scan(&n)
	return n, err
}

// projectBits returns agg, the aggregate that gathers the distinct project
// numbers (column pn) of a grouping, for buckets groupings of projects
// numbered up to n: a bitstring of n bits while they fit in
// bitstringBudget, else a list. many(x) is the aggregate that counts the
// projects of the gatherings x of several rows, one(x) counts those of one.
func projectBits(n, buckets int) (agg string, many, one func(string) string) {
	if int64(buckets)*int64(n/8+1) <= bitstringBudget {
		return fmt.Sprintf(`bitstring_agg(pn, 1, %d)`, max(n, 1)),
			func(x string) string { return `bit_count(bit_or(` + x + `))` },
			func(x string) string { return `bit_count(` + x + `)` }
	}
	return `list(DISTINCT pn)`,
		func(x string) string { return `len(list_distinct(flatten(list(` + x + `))))` },
		func(x string) string { return `len(` + x + `)` }
}

func (d *duckQueries) activeProjectsRollup(ctx context.Context, w Window) (int, error) {
	var n int
	err := d.tx.QueryRowContext(ctx, d.spans(`SELECT count(DISTINCT pn) FROM {projects}`, w, w)).Scan(&n)
	return n, err
}

// dailyRollup sets a bitstring of projects per day (or lists them).
const dailyRollup = `WITH d AS (
	SELECT day, sum(events) AS events, %[1]s AS ps FROM day_projects WHERE day >= $dlo AND day < $dhi GROUP BY day
)
SELECT NULL AS d, coalesce(sum(events), 0)::BIGINT, coalesce(%[2]s, 0) FROM d
UNION ALL
SELECT day, events::BIGINT, %[3]s FROM d`

func (d *duckQueries) dailyRollup(ctx context.Context, w Window) (total DayCount, out []DayCount, err error) {
	n, err := d.maxProject(ctx)
	if err != nil || n == 0 {
		return total, nil, err
	}
	agg, many, one := projectBits(n, days(w))
	var (
		day      sql.NullInt64
		events   int64
		projects int
	)
	query := fmt.Sprintf(dailyRollup, agg, many("ps"), one("ps"))
	lo, hi, _ := dayRange(w)
	err = d.each(ctx, query, []any{sql.Named("dlo", lo), sql.Named("dhi", hi)}, []any{&day, &events, &projects}, func() {
		if !day.Valid {
			total = DayCount{Events: events, Projects: projects}
		} else {
			out = append(out, DayCount{Day: day.Int64, Events: events, Projects: projects})
		}
	})
	return total, out, err
}

// overviewRowsRollup is overviewRows over the distinct (source, environment)
// pairs of day_sources, counting projects by their numbers.
const overviewRowsRollup = `WITH se AS (
	SELECT source_id, pn, environment FROM {sources} GROUP BY ALL
), s AS (
	SELECT se.environment, se.pn, so.machine_id, so.os, so.product_version, so.ci
	FROM se JOIN sources so USING (source_id)
), v AS (
	SELECT 'environment' AS dim, environment AS value, pn FROM s
	UNION ALL SELECT 'os', os, pn FROM s
	UNION ALL SELECT 'productVersion', product_version, pn FROM s
), c AS (
	SELECT dim, value, count(DISTINCT pn) AS n FROM v WHERE value IS NOT NULL AND value <> '' GROUP BY ALL
)
SELECT 'r' AS kind, dim, CASE WHEN c.n >= $k THEN value ELSE 'other' END AS val,
	count(DISTINCT pn) AS projects, count(DISTINCT value) FILTER (WHERE c.n < $k) AS extra
FROM v JOIN c USING (dim, value)
GROUP BY ALL
UNION ALL
SELECT 's', '', '', count(DISTINCT machine_id), count(DISTINCT pn) FILTER (WHERE ci) FROM s`

func (d *duckQueries) dimensionsRollup(ctx context.Context, w Window, k int) (out []ValueCount, f OverviewFacts, err error) {
	var (
		kind, dim, val   string
		projects, folded int
	)
	err = d.each(ctx, d.spans(overviewRowsRollup, w, w), []any{sql.Named("k", k)}, []any{&kind, &dim, &val, &projects, &folded}, func() {
		if kind == "s" {
			f = OverviewFacts{Machines: projects, CIProjects: folded}
		} else {
			out = append(out, ValueCount{Dimension: dim, Value: val, Projects: projects, Folded: folded})
		}
	})
	return out, f, err
}

// rollupFeatures says whether every feature event's feature is its name or
// its "feature" property, the one day_names holds.
func rollupFeatures(fs []FeatureEvent) bool {
	for _, f := range fs {
		if f.Property != "" && f.Property != "feature" {
			return false
		}
	}
	return true
}

// featureColumn is featureExpr over day_names.
func featureColumn(fs []FeatureEvent) string {
	var b strings.Builder
	for _, f := range fs {
		if f.Property != "" {
			fmt.Fprintf(&b, " WHEN name = %s THEN feature", sqlString(f.Name))
		}
	}
	if b.Len() == 0 {
		return "name"
	}
	return "CASE" + b.String() + " ELSE name END"
}

// featuresRollup is featuresQuery over the rollups: the weeks' active
// projects from day_projects, the features from day_names.
const featuresRollup = `WITH wb AS (
	SELECT wk, %[1]s AS ps FROM {projects} GROUP BY wk
), f AS (
	SELECT DISTINCT wk, feature, pn FROM (
		SELECT wk, %[4]s AS feature, pn
		FROM {names}
		WHERE name IN %[3]s
	) WHERE feature IS NOT NULL AND feature <> ''
), fn AS (
	SELECT feature, count(DISTINCT pn) AS n FROM f GROUP BY feature
)
SELECT 'a' AS kind, NULL AS wk, NULL AS feature, coalesce(%[2]s, 0) AS n, 0 AS folded FROM wb
UNION ALL SELECT 'w', wk, NULL, %[5]s, 0 FROM wb
UNION ALL SELECT 'p', wk, feature, count(*), 0 FROM f GROUP BY wk, feature
UNION ALL SELECT 'f', NULL, feature, n, 0 FROM fn WHERE n >= $k
UNION ALL SELECT 'f', NULL, 'other', count(DISTINCT pn), (SELECT count(*) FROM fn WHERE n < $k)
	FROM f JOIN fn USING (feature) WHERE fn.n < $k HAVING count(*) > 0`

func (d *duckQueries) featuresRollup(ctx context.Context, w Window, k int, fs []FeatureEvent) (FeatureCounts, error) {
	fc := FeatureCounts{WeekActive: map[int64]int{}}
	n, err := d.maxProject(ctx)
	if err != nil || n == 0 {
		return fc, err
	}
	var (
		kind        string
		wk          sql.NullInt64
		feature     sql.NullString
		count, fold int
	)
	agg, many, one := projectBits(n, weeks(w))
	query := fmt.Sprintf(featuresRollup, agg, many("ps"), sqlList(featureNames(fs)), featureColumn(fs), one("ps"))
	err = d.each(ctx, d.spans(query, w, w), []any{sql.Named("k", k)}, []any{&kind, &wk, &feature, &count, &fold}, func() {
		switch kind {
		case "a":
			fc.Active = count
		case "w":
			fc.WeekActive[wk.Int64] = count
		case "p":
			fc.Points = append(fc.Points, WeekCount{Week: wk.Int64, Value: feature.String, Projects: count})
		case "f":
			fc.Rows = append(fc.Rows, ValueCount{Dimension: "feature", Value: feature.String, Projects: count, Folded: fold})
		}
	})
	return fc, err
}

func (d *duckQueries) featureSeenRollup(ctx context.Context, feature string, fs []FeatureEvent) (bool, error) {
	var seen bool
	err := d.tx.QueryRowContext(ctx, d.spans(fmt.Sprintf(`SELECT EXISTS (SELECT 1 FROM {names_all} WHERE name IN %s AND %s = $name)`,
		sqlList(featureNames(fs)), featureColumn(fs)), Window{}, Window{}), sql.Named("name", feature)).Scan(&seen)
	return seen, err
}

func (d *duckQueries) knownFeaturesRollup(ctx context.Context, k int, fs []FeatureEvent) ([]string, error) {
	var (
		known []string
		name  string
	)
	err := d.each(ctx, d.spans(fmt.Sprintf(`SELECT feature FROM (
	SELECT %s AS feature, pn FROM {names_all} WHERE name IN %s
) WHERE feature IS NOT NULL AND feature <> '' GROUP BY feature HAVING count(DISTINCT pn) >= $k`, featureColumn(fs), sqlList(featureNames(fs))), Window{}, Window{}),
		[]any{sql.Named("k", k)}, []any{&name}, func() { known = append(known, name) })
	return known, err
}

// cohortRollup is cohortQuery over the rollups: each source's latest time
// per environment, the projects with the cohort's event, projects by their
// numbers.
const cohortRollup = `WITH se AS (
	SELECT source_id, pn, environment, max(last) AS t FROM {sources} GROUP BY ALL
), hit AS (
	SELECT DISTINCT pn FROM {names} WHERE %[1]s
), p0 AS (
	SELECT pn, arg_max(source_id, t) AS sid, arg_max(environment, t) AS env FROM se GROUP BY pn
), p AS (
	SELECT hit.pn IS NOT NULL AS cohort, p0.env, so.os, so.runtime_version, so.product_version, so.ci, so.docker, so.plugins, so.build
	FROM p0 JOIN sources so ON so.source_id = p0.sid LEFT JOIN hit USING (pn)
` + cohortAttributes

func (d *duckQueries) cohortRollup(ctx context.Context, w Window, c CohortSpec) (CohortCounts, error) {
	// The rollups hold the feature property "feature" as a column.
	cond, name := cohortCondition(c, func(string) string { return "feature" })
	return d.cohortRows(ctx, d.spans(cohortRollup, w, w), c, nil, cond, name)
}

// setupRollup is setupQuery over day_names. A project's first start is the
// least first time of its start rows, on the source of that row. Its first
// done at or after the start t0 is the least first time at or after t0 (and
// before $dhi) of its done rows, unless a done row has first < t0 <= last
// (only on t0's own day): an event of that row may come between, so the
// column amb says the caller must read the events. An error row has an
// event in [t0, t0 + within] ∩ [$lo, $dhi) when its first or last time is
// in it; a row with neither whose events straddle it would span more than
// within, more than its day when setup.within is a day or more (the caller
// checks), so no event needs reading.
const setupRollup = `WITH st AS (
	SELECT n.pn, min(n.first) AS t0, arg_min(so.os, n.first) AS os, arg_min(so.runtime_version, n.first) AS rv,
		arg_min(so.product_version, n.first) AS pv
	FROM day_names n JOIN sources so USING (source_id)
	WHERE n.name = $start AND n.day >= $dslo AND n.day < $dhi
	GROUP BY n.pn
), dn AS (
	SELECT st.pn, min(n.first) FILTER (WHERE n.first >= st.t0 AND n.first <= epoch_ms($dhim)) AS t1,
		bool_or(n.first < st.t0) AS amb
	FROM day_names n JOIN st USING (pn)
	WHERE n.name = $done AND n.day >= $dslo AND n.day <= $ddhi AND n.last >= st.t0
	GROUP BY st.pn
), s AS MATERIALIZED (
	SELECT st.pn, st.t0, st.os, nullif(split_part(st.rv, '.', 1), '') AS rm, st.pv, coalesce(dn.amb, false) AS amb,
		CASE WHEN dn.t1 <= st.t0 + to_milliseconds($within) THEN date_diff('millisecond', st.t0, dn.t1) END AS dur
	FROM st LEFT JOIN dn USING (pn)
), er AS (
	SELECT pn, coalesce(code, name) AS code, first, last
	FROM day_names
	WHERE name IN %[1]s AND day >= $dlo AND day <= $ddhi
)
SELECT 's' AS kind, epoch_ms(t0), coalesce(os, ''), coalesce(rm, ''), coalesce(pv, ''), dur, amb, '' AS code, 0 AS n FROM s
UNION ALL
SELECT 'e', 0, '', '', '', NULL, false, er.code, count(DISTINCT s.pn)
FROM s JOIN er ON er.pn = s.pn
	AND ((er.first >= greatest(s.t0, epoch_ms($lo)) AND er.first <= least(s.t0 + to_milliseconds($within), epoch_ms($dhim)))
		OR (er.last >= greatest(s.t0, epoch_ms($lo)) AND er.last <= least(s.t0 + to_milliseconds($within), epoch_ms($dhim))))
WHERE s.dur IS NULL AND s.t0 >= epoch_ms($lo) GROUP BY er.code`

// setupRollupOK says whether setupRollup may answer s: whole days, and a
// within of a day or more.
func setupRollupOK(s SetupSpec) bool {
	_, _, a := dayRange(Window{s.From, s.Lo})
	_, _, b := dayRange(Window{s.Lo, s.Hi})
	return a && b && s.Within >= 24*time.Hour
}

// setupRollup answers s from the rollups; ok is false when a project's done
// rows straddle its start (see setupRollup), and the events must decide.
func (d *duckQueries) setupRollup(ctx context.Context, s SetupSpec) (f SetupFacts, ok bool, err error) {
	var (
		kind, code string
		t0         int64
		os, rm, pv string
		dur        sql.NullInt64
		amb        bool
		n          int
	)
	dhi := s.Hi.Add(s.Within)
	args := []any{sql.Named("start", s.Start), sql.Named("done", s.Done),
		sql.Named("dslo", dayNumber(s.From)), sql.Named("dlo", dayNumber(s.Lo)), sql.Named("dhi", dayNumber(s.Hi)),
		sql.Named("ddhi", dayNumber(dhi)), sql.Named("lo", s.Lo.UnixMilli()),
		sql.Named("dhim", dhi.UnixMilli()-1), sql.Named("within", s.Within.Milliseconds())}
	ok = true
	err = d.each(ctx, fmt.Sprintf(setupRollup, sqlList(s.ErrorNames)), args, []any{&kind, &t0, &os, &rm, &pv, &dur, &amb, &code, &n}, func() {
		if kind == "s" {
			ok = ok && !amb
			f.Starts = append(f.Starts, SetupStart{T0: t0, OS: os, RM: rm, PV: pv, DurMs: dur.Int64, Completed: dur.Valid})
		} else {
			f.Errors = append(f.Errors, CodeCount{Code: code, Projects: n})
		}
	})
	return f, ok, err
}

// errorsRollup answers Errors from day_names: its error rows (one per
// source, day and code, about as many as the events) are read once with
// their project numbers, so the codes' totals and weeks need no join; only
// the distinct (code, source) pairs are joined to the sources' facts.
// Codes under k fold into "other". Kinds as in errorsQuery.
const errorsRollup = `WITH g AS MATERIALIZED (
	SELECT source_id, pn, coalesce(code, name) AS code, wk, events, first, last
	FROM {names} WHERE name IN %[1]s
), c AS (
	SELECT code, count(DISTINCT pn) AS n FROM g GROUP BY code
), m AS (
	SELECT g.*, CASE WHEN c.n >= $k THEN g.code ELSE 'other' END AS code2 FROM g JOIN c USING (code)
), sc AS (
	SELECT DISTINCT code2, source_id, pn FROM m
), f AS MATERIALIZED (
	SELECT sc.code2, sc.pn, nullif(so.product_version, '') AS pv, nullif(so.os, '') AS os,
		nullif(split_part(so.runtime_version, '.', 1), '') AS rm
	FROM sc JOIN sources so USING (source_id)
)
SELECT 'c' AS kind, code2 AS code, NULL AS value, NULL::BIGINT AS wk, sum(events)::BIGINT AS events, count(DISTINCT pn) AS projects,
	epoch_ms(min(first)) AS first, epoch_ms(max(last)) AS last
FROM m GROUP BY code2
UNION ALL
SELECT 'v', code2, pv, NULL, 0, count(DISTINCT pn), NULL, NULL FROM f WHERE pv IS NOT NULL GROUP BY ALL
UNION ALL
SELECT 'o', code2, os, NULL, 0, count(DISTINCT pn), NULL, NULL FROM f WHERE os IS NOT NULL GROUP BY ALL
UNION ALL
SELECT 'm', code2, rm, NULL, 0, count(DISTINCT pn), NULL, NULL FROM f WHERE rm IS NOT NULL GROUP BY ALL
UNION ALL
SELECT 's', code, NULL, wk, sum(events)::BIGINT, count(DISTINCT pn), NULL, NULL FROM g GROUP BY code, wk
UNION ALL
SELECT 'x', NULL, NULL, NULL, count(*), 0, NULL, NULL FROM c WHERE n < $k
UNION ALL
SELECT 'f', coalesce(code, name), NULL, NULL, 0, 0, epoch_ms(min(first)), NULL
FROM {names_before} WHERE name IN %[1]s GROUP BY 2`

func (d *duckQueries) errorsRollup(ctx context.Context, w Window, k int, names []string) (ErrorCounts, error) {
	return d.errors(ctx, d.spans(fmt.Sprintf(errorsRollup, sqlList(names)), w, w), []any{sql.Named("k", k)})
}

// errorBaseRollup is errorBaseQuery over day_sources.
const errorBaseRollup = `WITH a AS (SELECT DISTINCT source_id, pn FROM {sources})
SELECT CASE GROUPING(product_version, os, rm) WHEN 3 THEN 'v' WHEN 5 THEN 'o' ELSE 'm' END,
	coalesce(product_version, os, rm), count(DISTINCT pn)
FROM (SELECT a.pn, nullif(so.product_version, '') AS product_version, nullif(so.os, '') AS os,
	nullif(split_part(so.runtime_version, '.', 1), '') AS rm
	FROM sources so JOIN a USING (source_id))
GROUP BY GROUPING SETS ((product_version), (os), (rm))
HAVING coalesce(product_version, os, rm) IS NOT NULL`

// pluginsRollup is pluginsQuery over day_sources, projects by their numbers.
const pluginsRollup = `WITH ls AS (
	SELECT source_id, pn, cur, max(last) AS t FROM (
		SELECT source_id, pn, false AS cur, last FROM {sources_prev} UNION ALL SELECT source_id, pn, true, last FROM {sources}
	) GROUP BY ALL
), lp AS (
	SELECT pn, cur, arg_max(source_id, t) AS sid FROM ls GROUP BY ALL
), pp AS (
	SELECT lp.pn, lp.cur, unnest(list_distinct(so.plugins)) AS plugin FROM lp JOIN sources so ON so.source_id = lp.sid
), c AS (
	SELECT plugin, count(*) FILTER (WHERE cur) AS n FROM pp GROUP BY plugin
)
SELECT 'a' AS kind, NULL AS plugin, count(*) FILTER (WHERE cur) AS projects, count(*) FILTER (WHERE NOT cur) AS previous, 0 AS folded FROM lp
UNION ALL
SELECT 'p', CASE WHEN c.n >= $k THEN plugin ELSE 'other' END, count(DISTINCT pn) FILTER (WHERE cur),
	count(DISTINCT pn) FILTER (WHERE NOT cur), count(DISTINCT plugin) FILTER (WHERE c.n < $k AND c.n > 0)
FROM pp JOIN c USING (plugin)
GROUP BY ALL`

// runtimesRowsRollup is runtimesRows over day_sources, projects by their
// numbers.
const runtimesRowsRollup = `WITH sp AS (
	SELECT source_id, pn, coalesce(environment = 'production', false) AS prod
	FROM {sources} GROUP BY ALL
), s AS (
	SELECT sp.pn, sp.prod, coalesce(so.runtime, '') AS runtime,
		nullif(split_part(so.runtime_version, '.', 1), '') AS major,
		regexp_extract(so.runtime_version, '^[^.]*(\.[^.]*)?') AS version
	FROM sp JOIN sources so USING (source_id)
), mj AS (
	SELECT runtime, major, count(DISTINCT pn) AS n FROM s WHERE major IS NOT NULL GROUP BY ALL
), m AS (
	SELECT s.*, mj.n, CASE WHEN mj.n >= $k THEN s.major ELSE 'other' END AS major2 FROM s JOIN mj USING (runtime, major)
)
SELECT 'a' AS kind, '' AS runtime, '' AS major, '' AS version, count(DISTINCT pn) AS projects,
	count(DISTINCT pn) FILTER (WHERE prod) AS prod, count(DISTINCT pn) FILTER (WHERE NOT prod) AS nonprod, 0 AS folded
FROM s
UNION ALL
SELECT 'j', runtime, major2, '', count(DISTINCT pn), count(DISTINCT pn) FILTER (WHERE prod),
	count(DISTINCT pn) FILTER (WHERE NOT prod), count(DISTINCT major) FILTER (WHERE n < $k)
FROM m GROUP BY runtime, major2
UNION ALL
SELECT 'v', runtime, major, version, count(DISTINCT pn), count(DISTINCT pn) FILTER (WHERE prod),
	count(DISTINCT pn) FILTER (WHERE NOT prod), 0
FROM m WHERE major2 <> 'other' GROUP BY ALL`

// runtimesSeriesRollup is runtimesSeries over day_sources, each source's
// runtime major numbered (rm).
const runtimesSeriesRollup = `WITH s AS (
	SELECT source_id, coalesce(runtime, '') AS runtime, nullif(split_part(runtime_version, '.', 1), '') AS major FROM sources
), src AS (
	SELECT source_id, (dense_rank() OVER (ORDER BY runtime, major))::INTEGER AS rm, runtime, major FROM s
), names AS (
	SELECT DISTINCT rm, runtime, major FROM src
), wb AS (
	SELECT wk, rm, %[1]s AS ps
	FROM {sources} JOIN src USING (source_id)
	GROUP BY ALL
)
SELECT wk, '' AS runtime, '' AS major, %[2]s AS n FROM wb GROUP BY wk
UNION ALL
SELECT wk, runtime, major, %[2]s FROM wb JOIN names USING (rm) WHERE major IS NOT NULL GROUP BY wk, runtime, major`

func (d *duckQueries) runtimeWeeksRollup(ctx context.Context, w Window) ([]RuntimeWeek, error) {
	var n, majors int
	if err := d.tx.QueryRowContext(ctx, `SELECT (SELECT coalesce(max(pn), 0) FROM projects),
		(SELECT count(DISTINCT (coalesce(runtime, ''), split_part(runtime_version, '.', 1))) FROM sources)`).Scan(&n, &majors); err != nil || n == 0 {
		return nil, err
	}
	var (
		out            []RuntimeWeek
		wk             int64
		runtime, major string
		count          int
	)
	agg, many, _ := projectBits(n, weeks(w)*(majors+1))
	err := d.each(ctx, d.spans(fmt.Sprintf(runtimesSeriesRollup, agg, many("ps")), w, w), nil, []any{&wk, &runtime, &major, &count}, func() {
		out = append(out, RuntimeWeek{Week: wk, Runtime: runtime, Major: major, Projects: count})
	})
	return out, err
}

// duckDBEvents is DuckDB with every query reading event_rows, not the
// rollups: what the rollups must answer alike.
func duckDBEvents(db *sql.DB) Backend { return duckBackend{db: db, events: true} }
