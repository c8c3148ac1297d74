package insights

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// DuckDB is the Backend over a DuckDB store's database (the *sql.DB of a
// duckdb.Store), read only. Its queries read the store's daily rollups
// (duckdb_rollup.go), or its two tables of events rather than the events
// view: see the package doc's "How they are computed".
func DuckDB(db *sql.DB) Backend { return duckBackend{db: db} }

type duckBackend struct {
	db     *sql.DB
	events bool // see duckQueries
}

// Snapshot starts a read transaction: every query of a report sees the same
// snapshot.
func (b duckBackend) Snapshot(ctx context.Context) (Queries, error) {
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	d := &duckQueries{tx: tx, events: b.events}
	if !d.events {
		// The weeks the weekly rollups answer for; a database without them
		// (not a store's) is read from event_rows.
		rows, err := tx.QueryContext(ctx, `SELECT week FROM week_sealed`)
		if err != nil {
			if ctx.Err() != nil {
				tx.Rollback()
				return nil, err
			}
			d.events = true
		} else {
			defer rows.Close()
			for rows.Next() {
				var w int64
				if err := rows.Scan(&w); err != nil {
					tx.Rollback()
					return nil, err
				}
				d.sealed = append(d.sealed, w)
			}
			if err := rows.Err(); err != nil {
				tx.Rollback()
				return nil, err
			}
		}
	}
	return d, nil
}

type duckQueries struct {
	tx *sql.Tx
	// events makes every query read event_rows, not the rollups
	// (duckdb_rollup.go): for the tests that hold the two to the same
	// answers.
	events bool
	sealed []int64 // the weeks of the weekly rollups (week_sealed)
}

func (d *duckQueries) Close() error { return d.tx.Rollback() } // read only: nothing to commit

// windowArgs returns the bound parameters $lo and $hi of w, plus extra.
func windowArgs(w Window, extra ...any) []any {
	return append([]any{sql.Named("lo", w.Lo), sql.Named("hi", w.Hi)}, extra...)
}

// each runs a query and calls fn for every row, after which scan has filled
// the destinations.
func (d *duckQueries) each(ctx context.Context, query string, args []any, dest []any, fn func()) error {
	rows, err := d.tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		fn()
	}
	return rows.Err()
}

// projectCount returns the number of distinct projects in the store: the
// upper bound of the dense project numbers (pn) of projectNumbers, which
// bitstring_agg needs as a constant.
func (d *duckQueries) projectCount(ctx context.Context) (int, error) {
	var n int
	err := d.tx.QueryRowContext(ctx, `SELECT count(DISTINCT project_id) FROM sources`).Scan(&n)
	return n, err
}

// projectNumbers is a CTE numbering the projects 1…n (dense, in project_id
// order) for each source. Counting distinct small integers, or setting their
// bits with bitstring_agg(pn, 1, n) and counting them with bit_count, is
// several times faster over millions of events than count(DISTINCT
// project_id) over 32-character strings.
const projectNumbers = `src AS (
	SELECT source_id, (dense_rank() OVER (ORDER BY project_id))::INTEGER AS pn FROM sources
)`

// bitstringBudget bounds the memory of the project bitstrings of one query:
// buckets × n/8 bytes (each of DuckDB's threads may hold a copy).
var bitstringBudget int64 = 32 << 20

// projectSets returns a CTE named wb over the window's events, joined to a
// CTE src that holds each source's project number pn, grouped by keys (SQL
// select items, such as "<day> AS d"), and the aggregate that counts the
// distinct projects of any grouping of wb's rows (coalesce it to 0 for no
// rows); sum(events) counts their events. While buckets bitstrings of n bits
// fit in bitstringBudget, wb holds one bitstring of projects per key (one bit
// operation an event); beyond, one row per key and project (a hash table as
// large as the distinct pairs), which gives the same counts.
func projectSets(keys string, n, buckets int) (cte, count string) {
	if int64(buckets)*int64(n/8+1) <= bitstringBudget {
		return fmt.Sprintf(`wb AS (
	SELECT %s, count(*) AS events, bitstring_agg(pn, 1, %d) AS bs
	FROM event_rows JOIN src USING (source_id)
	WHERE time >= $lo AND time < $hi
	GROUP BY ALL
)`, keys, max(n, 1)), `bit_count(bit_or(bs))`
	}
	return fmt.Sprintf(`wb AS (
	SELECT %s, pn, count(*) AS events
	FROM event_rows JOIN src USING (source_id)
	WHERE time >= $lo AND time < $hi
	GROUP BY ALL
)`, keys), `count(DISTINCT pn)`
}

// days and weeks count the days and the weeks w touches.
func days(w Window) int  { return int(w.Hi.Sub(w.Lo) / (24 * time.Hour)) }
func weeks(w Window) int { return days(w)/7 + 2 }

// The week and the day of an event's time (see dayNumber and weekNumber).
const (
	weekOf = `((epoch_ms(time) // 86400000 + 3) // 7)`
	dayOf  = `(epoch_ms(time) // 86400000)`
)

// sqlString quotes s as an SQL string literal. Only names from the plan
// (validated identifiers) are written into SQL this way; values from the
// request are bound as parameters.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// sqlList quotes names as a list for IN (…); an empty list matches nothing.
func sqlList(names []string) string {
	if len(names) == 0 {
		return "(NULL)"
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = sqlString(n)
	}
	return "(" + strings.Join(q, ", ") + ")"
}

// featureNames lists the names of the feature events.
func featureNames(fs []FeatureEvent) []string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Name
	}
	return names
}

// featureExpr is the SQL of an event's feature (for feature events): its
// feature property where the plan declares one, else its name.
func featureExpr(fs []FeatureEvent) string {
	var b strings.Builder
	for _, f := range fs {
		if f.Property != "" {
			fmt.Fprintf(&b, " WHEN name = %s THEN json_extract_string(properties, %s)", sqlString(f.Name), sqlString("$."+f.Property))
		}
	}
	if b.Len() == 0 {
		return "name"
	}
	return "CASE" + b.String() + " ELSE name END"
}

func (d *duckQueries) ActiveProjects(ctx context.Context, w Window) (int, error) {
	if d.rollups(w) {
		return d.activeProjectsRollup(ctx, w)
	}
	var n int
	err := d.tx.QueryRowContext(ctx, `SELECT count(DISTINCT project_id) FROM sources
		WHERE source_id IN (SELECT source_id FROM event_rows WHERE time >= $lo AND time < $hi)`, windowArgs(w)...).Scan(&n)
	return n, err
}

// overviewDaily counts events and distinct projects per day in one pass over
// event_rows, grouping on an integer only (see projectSets); the row with a
// NULL day is the whole window.
const overviewDaily = `WITH ` + projectNumbers + `, %[1]s
SELECT NULL AS d, coalesce(sum(events), 0)::BIGINT, coalesce(%[2]s, 0) FROM wb
UNION ALL
SELECT d, sum(events)::BIGINT, %[2]s FROM wb GROUP BY d`

func (d *duckQueries) Daily(ctx context.Context, w Window) (total DayCount, out []DayCount, err error) {
	if d.rollups(w) {
		return d.dailyRollup(ctx, w)
	}
	n, err := d.projectCount(ctx)
	if err != nil || n == 0 {
		return total, nil, err
	}
	var (
		day      sql.NullInt64
		events   int64
		projects int
	)
	cte, agg := projectSets(dayOf+" AS d", n, days(w))
	err = d.each(ctx, fmt.Sprintf(overviewDaily, cte, agg), windowArgs(w), []any{&day, &events, &projects}, func() {
		if !day.Valid {
			total = DayCount{Events: events, Projects: projects}
		} else {
			out = append(out, DayCount{Day: day.Int64, Events: events, Projects: projects})
		}
	})
	return total, out, err
}

// overviewRows reads the distinct (source, environment) pairs of the window,
// then counts projects per value of each dimension on the few hundred
// thousand pairs; values under k fold into "other". A row of kind 'r' is a
// row with the number of values folded into it (extra); the row of kind 's'
// is the summary: machines, and projects with a CI event (extra).
const overviewRows = `WITH se AS (
	SELECT source_id, environment FROM event_rows WHERE time >= $lo AND time < $hi GROUP BY ALL
), s AS (
	SELECT se.environment, so.project_id, so.machine_id, so.os, so.product_version, so.ci
	FROM se JOIN sources so USING (source_id)
), v AS (
	SELECT 'environment' AS dim, environment AS value, project_id FROM s
	UNION ALL SELECT 'os', os, project_id FROM s
	UNION ALL SELECT 'productVersion', product_version, project_id FROM s
), c AS (
	SELECT dim, value, count(DISTINCT project_id) AS n FROM v WHERE value IS NOT NULL AND value <> '' GROUP BY ALL
)
SELECT 'r' AS kind, dim, CASE WHEN c.n >= $k THEN value ELSE 'other' END AS val,
	count(DISTINCT project_id) AS projects, count(DISTINCT value) FILTER (WHERE c.n < $k) AS extra
FROM v JOIN c USING (dim, value)
GROUP BY ALL
UNION ALL
SELECT 's', '', '', count(DISTINCT machine_id), count(DISTINCT project_id) FILTER (WHERE ci) FROM s`

func (d *duckQueries) Dimensions(ctx context.Context, w Window, k int) (out []ValueCount, f OverviewFacts, err error) {
	if d.rollups(w) {
		return d.dimensionsRollup(ctx, w, k)
	}
	var (
		kind, dim, val   string
		projects, folded int
	)
	err = d.each(ctx, overviewRows, windowArgs(w, sql.Named("k", k)), []any{&kind, &dim, &val, &projects, &folded}, func() {
		if kind == "s" {
			f = OverviewFacts{Machines: projects, CIProjects: folded}
		} else {
			out = append(out, ValueCount{Dimension: dim, Value: val, Projects: projects, Folded: folded})
		}
	})
	return out, f, err
}

// featuresQuery counts the active projects of each week and of the window in
// one pass over the window's events (see projectSets), and the projects of
// each feature per week and over the window from the feature events alone.
// Kinds: 'a' the window's active projects, 'w' a week's, 'p' a series point,
// 'f' a feature row with the number of features folded into it.
const featuresQuery = `WITH ` + projectNumbers + `, %[1]s, f AS (
	SELECT DISTINCT wk, feature, pn FROM (
		SELECT ` + weekOf + ` AS wk, %[4]s AS feature, pn
		FROM event_rows JOIN src USING (source_id)
		WHERE time >= $lo AND time < $hi AND name IN %[3]s
	) WHERE feature IS NOT NULL AND feature <> ''
), fn AS (
	SELECT feature, count(DISTINCT pn) AS n FROM f GROUP BY feature
)
SELECT 'a' AS kind, NULL AS wk, NULL AS feature, coalesce(%[2]s, 0) AS n, 0 AS folded FROM wb
UNION ALL SELECT 'w', wk, NULL, %[2]s, 0 FROM wb GROUP BY wk
UNION ALL SELECT 'p', wk, feature, count(*), 0 FROM f GROUP BY wk, feature
UNION ALL SELECT 'f', NULL, feature, n, 0 FROM fn WHERE n >= $k
UNION ALL SELECT 'f', NULL, 'other', count(DISTINCT pn), (SELECT count(*) FROM fn WHERE n < $k)
	FROM f JOIN fn USING (feature) WHERE fn.n < $k HAVING count(*) > 0`

func (d *duckQueries) Features(ctx context.Context, w Window, k int, fs []FeatureEvent) (FeatureCounts, error) {
	if d.rollups(w) && rollupFeatures(fs) {
		return d.featuresRollup(ctx, w, k, fs)
	}
	fc := FeatureCounts{WeekActive: map[int64]int{}}
	n, err := d.projectCount(ctx)
	if err != nil || n == 0 {
		return fc, err
	}
	var (
		kind        string
		wk          sql.NullInt64
		feature     sql.NullString
		count, fold int
	)
	cte, agg := projectSets(weekOf+" AS wk", n, weeks(w))
	query := fmt.Sprintf(featuresQuery, cte, agg, sqlList(featureNames(fs)), featureExpr(fs))
	err = d.each(ctx, query, windowArgs(w, sql.Named("k", k)), []any{&kind, &wk, &feature, &count, &fold}, func() {
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

func (d *duckQueries) FeatureSeen(ctx context.Context, feature string, fs []FeatureEvent) (bool, error) {
	if d.rollups() && rollupFeatures(fs) {
		return d.featureSeenRollup(ctx, feature, fs)
	}
	var seen bool
	err := d.tx.QueryRowContext(ctx, fmt.Sprintf(`SELECT EXISTS (SELECT 1 FROM event_rows WHERE name IN %s AND %s = $name)`,
		sqlList(featureNames(fs)), featureExpr(fs)), sql.Named("name", feature)).Scan(&seen)
	return seen, err
}

func (d *duckQueries) KnownFeatures(ctx context.Context, k int, fs []FeatureEvent) ([]string, error) {
	if d.rollups() && rollupFeatures(fs) {
		return d.knownFeaturesRollup(ctx, k, fs)
	}
	var (
		known []string
		name  string
	)
	err := d.each(ctx, fmt.Sprintf(`SELECT feature FROM (
	SELECT %s AS feature, project_id FROM event_rows JOIN sources USING (source_id) WHERE name IN %s
) WHERE feature IS NOT NULL AND feature <> '' GROUP BY feature HAVING count(DISTINCT project_id) >= $k`, featureExpr(fs), sqlList(featureNames(fs))),
		[]any{sql.Named("k", k)}, []any{&name}, func() { known = append(known, name) })
	return known, err
}

// cohortQuery finds, in two passes over the window's events that read only
// integers and the small environment dictionary, each source's latest
// environment and time and whether it sent the cohort's event; then, per
// project, its latest source and environment; then unpivots the attributes of
// that source. The first row (attribute ”) holds the cohort and rest sizes.
const cohortQuery = `WITH se AS (
	SELECT source_id, environment, max(time) AS t FROM event_rows WHERE time >= $lo AND time < $hi GROUP BY ALL
), hit AS (
	SELECT DISTINCT source_id FROM event_rows WHERE time >= $lo AND time < $hi AND (%[1]s)
), p0 AS (
	SELECT so.project_id, bool_or(hit.source_id IS NOT NULL) AS cohort,
		arg_max(se.source_id, se.t) AS sid, arg_max(se.environment, se.t) AS env
	FROM se JOIN sources so USING (source_id) LEFT JOIN hit USING (source_id)
	GROUP BY so.project_id
), p AS (
	SELECT p0.cohort, p0.env, so.os, so.runtime_version, so.product_version, so.ci, so.docker, so.plugins, so.build
	FROM p0 JOIN sources so ON so.source_id = p0.sid
` + cohortAttributes

// cohortAttributes ends the cohort queries (of event_rows and of the
// rollups): from p, each project's cohort flag and the attributes of its
// latest event, it unpivots the attributes (and %[2]s, the build keys';
// see cohortRows) and counts the cohort and the rest per value. The first
// row (attribute ”) holds the cohort and rest sizes.
const cohortAttributes = `), a AS (
	SELECT 'plugin' AS attribute, unnest(list_distinct(plugins)) AS value, cohort FROM p
	UNION ALL SELECT 'os', os, cohort FROM p
	UNION ALL SELECT 'runtimeMajor', split_part(runtime_version, '.', 1), cohort FROM p
	UNION ALL SELECT 'environment', env, cohort FROM p
	UNION ALL SELECT 'productMinor', regexp_extract(product_version, '^[^.]*(\.[^.]*)?'), cohort FROM p
	UNION ALL SELECT 'ci', ci::VARCHAR, cohort FROM p
	UNION ALL SELECT 'docker', docker::VARCHAR, cohort FROM p%[2]s
)
SELECT '' AS attribute, '' AS value, count(*) FILTER (WHERE cohort) AS c, count(*) FILTER (WHERE NOT cohort) AS r FROM p
UNION ALL
SELECT attribute, value, count(*) FILTER (WHERE cohort), count(*) FILTER (WHERE NOT cohort)
FROM a WHERE value <> '' GROUP BY ALL`

// cohortRows runs a cohort query, whose %[1]s is the cohort's condition
// (cond) and %[2]s is left for the build keys' unpivot, with args and the
// cohort's name bound, and reads its rows.
func (d *duckQueries) cohortRows(ctx context.Context, query string, c CohortSpec, args []any, cond string, name any) (CohortCounts, error) {
	var build strings.Builder
	for _, key := range c.BuildKeys {
		fmt.Fprintf(&build, "\n\tUNION ALL SELECT %s, json_extract_string(build, %s), cohort FROM p",
			sqlString("build."+key), sqlString("$."+key))
	}
	var (
		cc          CohortCounts
		attr, value string
		in, rest    int
	)
	err := d.each(ctx, fmt.Sprintf(query, cond, build.String()), append(args, name), []any{&attr, &value, &in, &rest}, func() {
		if attr == "" {
			cc.Cohort, cc.Rest = in, rest
		} else {
			cc.Rows = append(cc.Rows, AttributeCount{Attribute: attr, Value: value, Cohort: in, Rest: rest})
		}
	})
	return cc, err
}

// cohortCondition is the SQL condition on an event (or a rollup row) that
// puts its project in the cohort, with the parameter $name; feature is the
// SQL of a feature event's feature property.
func cohortCondition(c CohortSpec, feature func(property string) string) (cond string, name any) {
	if c.Event != "" {
		return `name = $name`, sql.Named("name", c.Event)
	}
	var or []string
	for _, f := range c.Features {
		if f.Property != "" {
			or = append(or, `(name = `+sqlString(f.Name)+` AND `+feature(f.Property)+` = $name)`)
		} else {
			or = append(or, `(name = `+sqlString(f.Name)+` AND name = $name)`)
		}
	}
	if len(or) == 0 {
		or = []string{"false"}
	}
	return strings.Join(or, " OR "), sql.Named("name", c.Feature)
}

func (d *duckQueries) Cohort(ctx context.Context, w Window, c CohortSpec) (CohortCounts, error) {
	if d.rollups(w) && rollupFeatures(c.Features) {
		return d.cohortRollup(ctx, w, c)
	}
	cond, name := cohortCondition(c, func(property string) string {
		return `json_extract_string(properties, ` + sqlString("$."+property) + `)`
	})
	return d.cohortRows(ctx, cohortQuery, c, windowArgs(w), cond, name)
}

// setupQuery finds, per project, the first setup start in [$slo, $hi) and
// the first setup done at or after it; the duration when that is within
// $within ms (kind 's'). Then, of the projects whose start is in [$lo, $hi)
// and that did not complete, the projects per error code reported within
// $within of the start (kind 'e').
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
		CASE WHEN dn.t1 <= st.t0 + to_milliseconds($within) THEN date_diff('millisecond', st.t0, dn.t1) END AS dur
	FROM st LEFT JOIN dn USING (project_id)
), er AS (
	SELECT so.project_id, e.time, coalesce(json_extract_string(e.properties, '$.code'), e.name) AS code
	FROM event_rows e JOIN sources so USING (source_id)
	WHERE e.name IN %[1]s AND e.time >= $lo AND e.time < $dhi
)
SELECT 's' AS kind, epoch_ms(t0), coalesce(os, ''), coalesce(rm, ''), coalesce(pv, ''), dur, '' AS code, 0 AS n FROM s
UNION ALL
SELECT 'e', 0, '', '', '', NULL, er.code, count(DISTINCT s.project_id)
FROM s JOIN er ON er.project_id = s.project_id AND er.time >= s.t0 AND er.time <= s.t0 + to_milliseconds($within)
WHERE s.dur IS NULL AND s.t0 >= $lo GROUP BY er.code`

func (d *duckQueries) Setup(ctx context.Context, s SetupSpec) (SetupFacts, error) {
	if d.rollups() && setupRollupOK(s) {
		if f, ok, err := d.setupRollup(ctx, s); err != nil || ok {
			return f, err
		}
	}
	var (
		f          SetupFacts
		kind, code string
		t0         int64
		os, rm, pv string
		dur        sql.NullInt64
		n          int
	)
	args := []any{sql.Named("start", s.Start), sql.Named("done", s.Done), sql.Named("slo", s.From), sql.Named("lo", s.Lo),
		sql.Named("hi", s.Hi), sql.Named("dhi", s.Hi.Add(s.Within)), sql.Named("within", s.Within.Milliseconds())}
	err := d.each(ctx, fmt.Sprintf(setupQuery, sqlList(s.ErrorNames)), args, []any{&kind, &t0, &os, &rm, &pv, &dur, &code, &n}, func() {
		if kind == "s" {
			f.Starts = append(f.Starts, SetupStart{T0: t0, OS: os, RM: rm, PV: pv, DurMs: dur.Int64, Completed: dur.Valid})
		} else {
			f.Errors = append(f.Errors, CodeCount{Code: code, Projects: n})
		}
	})
	return f, err
}

// errorsQuery reads the window's error events once (a small share of all
// events) and first sums them per source, code and week, so what follows
// works on those few groups and on integers: the facts of the sources are
// joined after, and projects are counted by a number (dense_rank over the
// sources' project IDs), not by their 32-character IDs. At abacus serve's
// 64 MB the query carrying every error event's strings ran out of memory
// at 10M events, and so did counting distinct projects per grouping set,
// which plain GROUP BYs over (code, project, value) replace. Codes under k
// fold into "other". Kinds: 'c' a code's totals, 'v', 'o', 'm' its
// projects per product version, OS and runtime major, 's' a series point,
// 'x' the number of codes folded, 'f' a code's first event in the store
// before the window.
const errorsQuery = `WITH g AS (
	SELECT source_id, coalesce(json_extract_string(properties, '$.code'), name) AS code, ` + weekOf + ` AS wk,
		count(*) AS events, min(time) AS first, max(time) AS last
	FROM event_rows
	WHERE name IN %[1]s AND time >= $lo AND time < $hi
	GROUP BY ALL
), src AS (
	SELECT source_id, dense_rank() OVER (ORDER BY project_id) AS pn, product_version, os,
		nullif(split_part(runtime_version, '.', 1), '') AS rm
	FROM sources WHERE source_id IN (SELECT source_id FROM g)
), e AS MATERIALIZED (
	SELECT g.code, g.wk, g.events, g.first, g.last, src.pn, src.product_version, src.os, src.rm
	FROM g JOIN src USING (source_id)
), c AS (
	SELECT code, count(*) AS n FROM (SELECT DISTINCT code, pn FROM e) GROUP BY code
), m AS (
	SELECT e.*, CASE WHEN c.n >= $k THEN e.code ELSE 'other' END AS code2 FROM e JOIN c USING (code)
)
SELECT 'c' AS kind, code2 AS code, NULL AS value, NULL::BIGINT AS wk, sum(events)::BIGINT AS events, count(*) AS projects,
	epoch_ms(min(first)) AS first, epoch_ms(max(last)) AS last
FROM (SELECT code2, pn, sum(events) AS events, min(first) AS first, max(last) AS last FROM m GROUP BY code2, pn) GROUP BY code2
UNION ALL
SELECT 'v', code2, product_version, NULL, 0, count(*), NULL, NULL
FROM (SELECT DISTINCT code2, pn, product_version FROM m WHERE product_version IS NOT NULL AND product_version <> '') GROUP BY ALL
UNION ALL
SELECT 'o', code2, os, NULL, 0, count(*), NULL, NULL FROM (SELECT DISTINCT code2, pn, os FROM m WHERE os IS NOT NULL AND os <> '') GROUP BY ALL
UNION ALL
SELECT 'm', code2, rm, NULL, 0, count(*), NULL, NULL FROM (SELECT DISTINCT code2, pn, rm FROM m WHERE rm IS NOT NULL) GROUP BY ALL
UNION ALL
SELECT 's', code, NULL, wk, sum(events)::BIGINT, count(*), NULL, NULL
FROM (SELECT code, wk, pn, sum(events) AS events FROM e GROUP BY ALL) GROUP BY code, wk
UNION ALL
SELECT 'x', NULL, NULL, NULL, count(*), 0, NULL, NULL FROM c WHERE n < $k
UNION ALL
SELECT 'f', coalesce(json_extract_string(properties, '$.code'), name), NULL, NULL, 0, 0, epoch_ms(min(time)), NULL
FROM event_rows WHERE name IN %[1]s AND time < $lo GROUP BY 2`

// errorDims names the dimensions of errorsQuery's kinds.
var errorDims = map[string]string{"v": "productVersion", "o": "os", "m": "runtimeMajor"}

func (d *duckQueries) Errors(ctx context.Context, w Window, k int, names []string) (ErrorCounts, error) {
	if d.rollups(w) {
		return d.errorsRollup(ctx, w, k, names)
	}
	return d.errors(ctx, fmt.Sprintf(errorsQuery, sqlList(names)), windowArgs(w, sql.Named("k", k)))
}

// errors runs errorsQuery or errorsRollup.
func (d *duckQueries) errors(ctx context.Context, query string, args []any) (ErrorCounts, error) {
	ec := ErrorCounts{FirstBefore: map[string]int64{}}
	var (
		kind        string
		code, value sql.NullString
		wk          sql.NullInt64
		events      int64
		projects    int
		first, last sql.NullInt64
	)
	err := d.each(ctx, query, args, []any{&kind, &code, &value, &wk, &events, &projects, &first, &last}, func() {
		switch kind {
		case "c":
			ec.Codes = append(ec.Codes, ErrorCodeCount{Code: code.String, Events: events, Projects: projects, First: first.Int64, Last: last.Int64})
		case "f":
			ec.FirstBefore[code.String] = first.Int64
		case "v", "o", "m":
			ec.Values = append(ec.Values, ErrorValueCount{Code: code.String, Dimension: errorDims[kind], Value: value.String, Projects: projects})
		case "s":
			ec.Points = append(ec.Points, WeekCount{Week: wk.Int64, Value: code.String, Events: events, Projects: projects})
		case "x":
			ec.Folded = int(events)
		}
	})
	return ec, err
}

// errorBaseQuery counts the window's active projects per product version,
// OS and runtime major (kinds 'v', 'o', 'm').
const errorBaseQuery = `WITH a AS (SELECT DISTINCT source_id FROM event_rows WHERE time >= $lo AND time < $hi)
SELECT CASE GROUPING(product_version, os, rm) WHEN 3 THEN 'v' WHEN 5 THEN 'o' ELSE 'm' END,
	coalesce(product_version, os, rm), count(DISTINCT project_id)
FROM (SELECT so.project_id, nullif(so.product_version, '') AS product_version, nullif(so.os, '') AS os,
	nullif(split_part(so.runtime_version, '.', 1), '') AS rm
	FROM sources so JOIN a USING (source_id))
GROUP BY GROUPING SETS ((product_version), (os), (rm))
HAVING coalesce(product_version, os, rm) IS NOT NULL`

func (d *duckQueries) ErrorBase(ctx context.Context, w Window) ([]ValueCount, error) {
	query, args := errorBaseQuery, windowArgs(w)
	if d.rollups(w) {
		query, args = d.spans(errorBaseRollup, w, w), nil
	}
	var (
		out         []ValueCount
		kind, value string
		n           int
	)
	err := d.each(ctx, query, args, []any{&kind, &value, &n}, func() {
		out = append(out, ValueCount{Dimension: errorDims[kind], Value: value, Projects: n})
	})
	return out, err
}

// pluginsQuery reads both windows' events once, as (source, window, latest
// time) — integers only — then takes each project's latest source per window
// and unnests its plugins. Plugins under k projects in the current window
// fold into "other". Kinds: 'a' the active projects of both windows, 'p' a
// plugin row with the number of plugins folded into it.
const pluginsQuery = `WITH ls AS (
	SELECT source_id, time >= $lo AS cur, max(time) AS t FROM event_rows WHERE time >= $plo AND time < $hi GROUP BY ALL
), lp AS (
	SELECT so.project_id, ls.cur, arg_max(ls.source_id, ls.t) AS sid FROM ls JOIN sources so USING (source_id) GROUP BY ALL
), pp AS (
	SELECT lp.project_id, lp.cur, unnest(list_distinct(so.plugins)) AS plugin FROM lp JOIN sources so ON so.source_id = lp.sid
), c AS (
	SELECT plugin, count(*) FILTER (WHERE cur) AS n FROM pp GROUP BY plugin
)
SELECT 'a' AS kind, NULL AS plugin, count(*) FILTER (WHERE cur) AS projects, count(*) FILTER (WHERE NOT cur) AS previous, 0 AS folded FROM lp
UNION ALL
SELECT 'p', CASE WHEN c.n >= $k THEN plugin ELSE 'other' END, count(DISTINCT project_id) FILTER (WHERE cur),
	count(DISTINCT project_id) FILTER (WHERE NOT cur), count(DISTINCT plugin) FILTER (WHERE c.n < $k AND c.n > 0)
FROM pp JOIN c USING (plugin)
GROUP BY ALL`

func (d *duckQueries) Plugins(ctx context.Context, prev, cur Window, k int) (PluginCounts, error) {
	var (
		pc                        PluginCounts
		kind                      string
		plugin                    sql.NullString
		projects, previous, folds int
	)
	query, args := pluginsQuery, windowArgs(cur, sql.Named("plo", prev.Lo), sql.Named("k", k))
	if d.rollups(prev, cur) {
		query, args = d.spans(pluginsRollup, cur, prev), []any{sql.Named("k", k)}
	}
	err := d.each(ctx, query, args, []any{&kind, &plugin, &projects, &previous, &folds}, func() {
		if kind == "a" {
			pc.Active, pc.PreviousActive = projects, previous
		} else {
			pc.Rows = append(pc.Rows, PluginCount{Plugin: plugin.String, Projects: projects, Previous: previous, Folded: folds})
		}
	})
	return pc, err
}

// runtimesRows reads the distinct (source, production or not) pairs of the
// window, then counts projects on the sources' facts. Kinds: 'a' totals (all,
// production, other environments), 'j' a major with the number of majors
// folded into it, 'v' a major.minor of a major that is not folded.
const runtimesRows = `WITH sp AS (
	SELECT source_id, coalesce(environment = 'production', false) AS prod
	FROM event_rows WHERE time >= $lo AND time < $hi GROUP BY ALL
), s AS (
	SELECT so.project_id, sp.prod, coalesce(so.runtime, '') AS runtime,
		nullif(split_part(so.runtime_version, '.', 1), '') AS major,
		regexp_extract(so.runtime_version, '^[^.]*(\.[^.]*)?') AS version
	FROM sp JOIN sources so USING (source_id)
), mj AS (
	SELECT runtime, major, count(DISTINCT project_id) AS n FROM s WHERE major IS NOT NULL GROUP BY ALL
), m AS (
	SELECT s.*, mj.n, CASE WHEN mj.n >= $k THEN s.major ELSE 'other' END AS major2 FROM s JOIN mj USING (runtime, major)
)
SELECT 'a' AS kind, '' AS runtime, '' AS major, '' AS version, count(DISTINCT project_id) AS projects,
	count(DISTINCT project_id) FILTER (WHERE prod) AS prod, count(DISTINCT project_id) FILTER (WHERE NOT prod) AS nonprod, 0 AS folded
FROM s
UNION ALL
SELECT 'j', runtime, major2, '', count(DISTINCT project_id), count(DISTINCT project_id) FILTER (WHERE prod),
	count(DISTINCT project_id) FILTER (WHERE NOT prod), count(DISTINCT major) FILTER (WHERE n < $k)
FROM m GROUP BY runtime, major2
UNION ALL
SELECT 'v', runtime, major, version, count(DISTINCT project_id), count(DISTINCT project_id) FILTER (WHERE prod),
	count(DISTINCT project_id) FILTER (WHERE NOT prod), 0
FROM m WHERE major2 <> 'other' GROUP BY ALL`

func (d *duckQueries) Runtimes(ctx context.Context, w Window, k int) (RuntimeCounts, error) {
	var (
		rc                            RuntimeCounts
		kind, runtime, major, version string
		projects, prod, nonprod, fold int
	)
	query, args := runtimesRows, windowArgs(w, sql.Named("k", k))
	if d.rollups(w) {
		query, args = d.spans(runtimesRowsRollup, w, w), []any{sql.Named("k", k)}
	}
	err := d.each(ctx, query, args, []any{&kind, &runtime, &major, &version, &projects, &prod, &nonprod, &fold}, func() {
		c := RuntimeCount{Runtime: runtime, Major: major, Version: version, Projects: projects, Prod: prod, NonProd: nonprod, Folded: fold}
		if kind == "a" {
			rc.Total = c
		} else {
			rc.Rows = append(rc.Rows, c)
		}
	})
	return rc, err
}

// runtimesSeries makes one pass over the window's events, grouped on
// integers only (rm numbers the sources' runtime and major; see projectSets):
// the projects of each (week, runtime major), and of each week. Kinds: 'w' a
// week's active projects, 'p' a point.
const runtimesSeries = `WITH s AS (
	SELECT source_id, (dense_rank() OVER (ORDER BY project_id))::INTEGER AS pn, coalesce(runtime, '') AS runtime,
		nullif(split_part(runtime_version, '.', 1), '') AS major
	FROM sources
), src AS (
	SELECT source_id, pn, (dense_rank() OVER (ORDER BY runtime, major))::INTEGER AS rm, runtime, major FROM s
), names AS (
	SELECT DISTINCT rm, runtime, major FROM src
), %[1]s
SELECT wk, '' AS runtime, '' AS major, %[2]s AS n FROM wb GROUP BY wk
UNION ALL
SELECT wk, runtime, major, %[2]s FROM wb JOIN names USING (rm) WHERE major IS NOT NULL GROUP BY wk, runtime, major`

// runtimesCounts counts the projects and the (runtime, major) pairs of the
// store: the size of runtimesSeries' bitstrings and their number a week.
const runtimesCounts = `SELECT count(DISTINCT project_id),
	count(DISTINCT (coalesce(runtime, ''), split_part(runtime_version, '.', 1))) FROM sources`

func (d *duckQueries) RuntimeWeeks(ctx context.Context, w Window) ([]RuntimeWeek, error) {
	if d.rollups(w) {
		return d.runtimeWeeksRollup(ctx, w)
	}
	var n, majors int
	if err := d.tx.QueryRowContext(ctx, runtimesCounts).Scan(&n, &majors); err != nil || n == 0 {
		return nil, err
	}
	var (
		out            []RuntimeWeek
		wk             int64
		runtime, major string
		count          int
	)
	cte, agg := projectSets(weekOf+" AS wk, rm", n, weeks(w)*(majors+1))
	err := d.each(ctx, fmt.Sprintf(runtimesSeries, cte, agg), windowArgs(w), []any{&wk, &runtime, &major, &count}, func() {
		out = append(out, RuntimeWeek{Week: wk, Runtime: runtime, Major: major, Projects: count})
	})
	return out, err
}
