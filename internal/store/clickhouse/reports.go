package clickhouse

import (
	"context"
	"fmt"
	"strings"

	"github.com/abacushq/abacus/internal/insights"
)

// The reports' aggregations (insights.Queries) in ClickHouse's dialect, on
// what 18.16 has: no WITH of subqueries, no window functions, no FILTER, no
// JSON functions but the visitParam ones, and JOINs with their strictness
// spelt out. Every count of projects is uniqExact(project); every count of
// events is uniqExact(id), so that an event stored twice (see the package
// doc) counts once. Missing values are "" in this table, as the reports
// expect. Build and properties are JSON text written by Insert from
// plan-checked values: flat objects whose values are strings, numbers,
// booleans or lists of strings, which the visitParam functions read.

// Reports returns the reports' Backend over this store.
func (s *Store) Reports() insights.Backend { return reportsBackend{s} }

type reportsBackend struct{ s *Store }

// Snapshot has no transaction to open: ClickHouse has none. A report's
// queries run one after the other on the data as it is then; events
// arriving in between can make its numbers differ by those events.
func (b reportsBackend) Snapshot(ctx context.Context) (insights.Queries, error) {
	done, err := b.s.enter(ctx)
	if err != nil {
		return nil, err
	}
	return &chQueries{s: b.s, done: done}, nil
}

type chQueries struct {
	s    *Store
	done func()
}

func (q *chQueries) Close() error {
	q.done()
	return nil
}

// SQL fragments.
const (
	chDay  = `intDiv(time, 86400000)`
	chWeek = `intDiv(intDiv(time, 86400000) + 3, 7)`
	// chMajor and chMinor are the runtime (or product) version's first
	// field, and first two fields: "18" and "18.2" of "18.2.1".
	chMajor = `splitByChar('.', runtime_version)[1]`
)

// chPlugins is the distinct plugins of the "plugins" list of the build JSON
// in col.
func chPlugins(col string) string {
	return `arrayDistinct(extractAll(visitParamExtractRaw(` + col + `, 'plugins'), '"([^"\\\\]*)"'))`
}

// chMinor is the major.minor of a version column.
func chMinor(col string) string { return `extract(` + col + `, '^[^.]*(?:\\.[^.]*)?')` }

// chString quotes s as a ClickHouse string literal. Only names from the plan
// are written into SQL this way; values from the request are bound.
func chString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func chList(names []string) string {
	if len(names) == 0 {
		return "('')" // no event has an empty name
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = chString(n)
	}
	return "(" + strings.Join(q, ", ") + ")"
}

// chWindow is the condition on an event's time for w, with the days first
// so that the partitions and the primary key's day narrow the read.
func chWindow(w insights.Window) string {
	lo, hi := ceilMS(w.Lo), ceilMS(w.Hi)
	if hi <= lo {
		return "0"
	}
	return fmt.Sprintf("day >= '%s' AND day <= '%s' AND time >= %d AND time < %d", dateLiteral(lo), dateLiteral(hi-1), lo, hi)
}

// chProp is a string property of an event: its value when it is a string.
func chProp(col, key string) string {
	return `visitParamExtractString(` + col + `, ` + chString(key) + `)`
}

// chFeature is an event's feature (for feature events): its feature
// property where the plan declares one, else its name.
func chFeature(fs []insights.FeatureEvent) string {
	var b strings.Builder
	for _, f := range fs {
		if f.Property != "" {
			fmt.Fprintf(&b, "name = %s, %s, ", chString(f.Name), chProp("properties", f.Property))
		}
	}
	if b.Len() == 0 {
		return "name"
	}
	return "multiIf(" + b.String() + "name)"
}

func featureNames(fs []insights.FeatureEvent) []string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Name
	}
	return names
}

// chCode is an error event's code: its "code" property, else its name.
const chCode = `if(visitParamHas(properties, 'code'), visitParamExtractString(properties, 'code'), name)`

// sql replaces {events} and the given names in query.
func (q *chQueries) sql(query string, names ...string) string {
	return strings.NewReplacer(append([]string{"{events}", q.s.db + ".events"}, names...)...).Replace(query)
}

// each runs a query and calls fn for every row, after which scan has filled
// the destinations.
func (q *chQueries) each(ctx context.Context, query string, args []any, dest []any, fn func()) error {
	rows, err := q.s.conn.Query(ctx, query, args...)
	if err != nil {
		return ctxErr(ctx, fmt.Errorf("cannot run a report's query in ClickHouse: %w\n%s", err, query))
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("cannot read a report's answer from ClickHouse: %w", err)
		}
		fn()
	}
	return ctxErr(ctx, rows.Err())
}

func (q *chQueries) ActiveProjects(ctx context.Context, w insights.Window) (int, error) {
	var n int64
	err := q.each(ctx, q.sql(`SELECT toInt64(uniqExact(project)) FROM {events} WHERE {win}`, "{win}", chWindow(w)), nil, []any{&n}, func() {})
	return int(n), err
}

func (q *chQueries) Daily(ctx context.Context, w insights.Window) (total insights.DayCount, days []insights.DayCount, err error) {
	var d, events, projects int64
	err = q.each(ctx, q.sql(`SELECT toInt64(uniqExact(id)), toInt64(uniqExact(project)) FROM {events} WHERE {win}`, "{win}", chWindow(w)),
		nil, []any{&events, &projects}, func() { total = insights.DayCount{Events: events, Projects: int(projects)} })
	if err != nil {
		return total, nil, err
	}
	err = q.each(ctx, q.sql(`SELECT `+chDay+` AS d, toInt64(uniqExact(id)), toInt64(uniqExact(project))
		FROM {events} WHERE {win} GROUP BY d`, "{win}", chWindow(w)),
		nil, []any{&d, &events, &projects}, func() {
			days = append(days, insights.DayCount{Day: d, Events: events, Projects: int(projects)})
		})
	return total, days, err
}

// foldedValues is a query over the distinct (dim, value, project) of the
// subquery {v}, folding the values of fewer than {k} projects into "other":
// dim, value, projects, values folded.
const foldedValues = `SELECT dim, if(n >= {k}, value, 'other') AS v, toInt64(uniqExact(project)), toInt64(uniqExactIf(value, n < {k}))
FROM ({v}) ALL INNER JOIN (
	SELECT dim, value, uniqExact(project) AS n FROM ({v}) GROUP BY dim, value
) USING (dim, value)
GROUP BY dim, v`

func (q *chQueries) folded(ctx context.Context, values string, k int) ([]insights.ValueCount, error) {
	var (
		out        []insights.ValueCount
		dim, value string
		n, folded  int64
	)
	err := q.each(ctx, q.sql(foldedValues, "{v}", values, "{k}", fmt.Sprint(k)), nil, []any{&dim, &value, &n, &folded}, func() {
		out = append(out, insights.ValueCount{Dimension: dim, Value: value, Projects: int(n), Folded: int(folded)})
	})
	return out, err
}

func (q *chQueries) Dimensions(ctx context.Context, w insights.Window, k int) ([]insights.ValueCount, insights.OverviewFacts, error) {
	var f insights.OverviewFacts
	values := q.sql(`SELECT dim, value, project FROM (
		SELECT project, environment, os, product_version FROM {events} WHERE {win} GROUP BY project, environment, os, product_version
	) ARRAY JOIN ['environment', 'os', 'productVersion'] AS dim, [environment, os, product_version] AS value
	WHERE value != ''`, "{win}", chWindow(w))
	out, err := q.folded(ctx, values, k)
	if err != nil {
		return nil, f, err
	}
	var machines, ci int64
	err = q.each(ctx, q.sql(`SELECT toInt64(uniqExact(machine)), toInt64(uniqExactIf(project, ci = 1)) FROM {events} WHERE {win}`, "{win}", chWindow(w)),
		nil, []any{&machines, &ci}, func() { f = insights.OverviewFacts{Machines: int(machines), CIProjects: int(ci)} })
	return out, f, err
}

// weekActive counts the projects active in each week of w.
func (q *chQueries) weekActive(ctx context.Context, w insights.Window, fn func(week int64, projects int)) error {
	var wk, n int64
	return q.each(ctx, q.sql(`SELECT `+chWeek+` AS wk, toInt64(uniqExact(project)) FROM {events} WHERE {win} GROUP BY wk`, "{win}", chWindow(w)),
		nil, []any{&wk, &n}, func() { fn(wk, int(n)) })
}

func (q *chQueries) Features(ctx context.Context, w insights.Window, k int, fs []insights.FeatureEvent) (insights.FeatureCounts, error) {
	fc := insights.FeatureCounts{WeekActive: map[int64]int{}}
	var err error
	if fc.Active, err = q.ActiveProjects(ctx, w); err != nil || fc.Active == 0 {
		return fc, err
	}
	if err := q.weekActive(ctx, w, func(wk int64, n int) { fc.WeekActive[wk] = n }); err != nil {
		return fc, err
	}
	used := q.sql(`SELECT `+chWeek+` AS wk, {feature} AS feature, project FROM {events}
		WHERE {win} AND name IN {names} AND feature != ''`,
		"{win}", chWindow(w), "{feature}", chFeature(fs), "{names}", chList(featureNames(fs)))
	var (
		wk, n   int64
		feature string
	)
	err = q.each(ctx, `SELECT wk, feature, toInt64(uniqExact(project)) FROM (`+used+`) GROUP BY wk, feature`, nil, []any{&wk, &feature, &n}, func() {
		fc.Points = append(fc.Points, insights.WeekCount{Week: wk, Value: feature, Projects: int(n)})
	})
	if err != nil {
		return fc, err
	}
	fc.Rows, err = q.folded(ctx, `SELECT 'feature' AS dim, feature AS value, project FROM (`+used+`)`, k)
	return fc, err
}

func (q *chQueries) FeatureSeen(ctx context.Context, feature string, fs []insights.FeatureEvent) (bool, error) {
	var seen bool
	// The feature is compared outside the subquery: 18.16 cannot find the
	// column of the IN in a Distributed table's answer otherwise.
	err := q.each(ctx, q.sql(`SELECT 1 FROM (SELECT {feature} AS feature FROM {events} WHERE name IN {names}) WHERE feature = ? LIMIT 1`,
		"{names}", chList(featureNames(fs)), "{feature}", chFeature(fs)), []any{feature}, []any{new(uint8)}, func() { seen = true })
	return seen, err
}

func (q *chQueries) KnownFeatures(ctx context.Context, k int, fs []insights.FeatureEvent) ([]string, error) {
	var (
		known []string
		name  string
	)
	err := q.each(ctx, q.sql(`SELECT feature FROM (
		SELECT {feature} AS feature, project FROM {events} WHERE name IN {names}
	) WHERE feature != '' GROUP BY feature HAVING uniqExact(project) >= {k}`,
		"{names}", chList(featureNames(fs)), "{feature}", chFeature(fs), "{k}", fmt.Sprint(k)), nil, []any{&name}, func() {
		known = append(known, name)
	})
	return known, err
}

func (q *chQueries) Cohort(ctx context.Context, w insights.Window, c insights.CohortSpec) (insights.CohortCounts, error) {
	var (
		cond string
		args []any
	)
	if c.Event != "" {
		cond, args = "name = ?", []any{c.Event}
	} else {
		var or []string
		for _, f := range c.Features {
			if f.Property != "" {
				or = append(or, "(name = "+chString(f.Name)+" AND "+chProp("properties", f.Property)+" = ?)")
			} else {
				or = append(or, "(name = "+chString(f.Name)+" AND name = ?)")
			}
			args = append(args, c.Feature)
		}
		cond = strings.Join(append(or, "0"), " OR ")
	}
	// Each project's latest event in the window, and whether any of its
	// events puts it in the cohort; then one (attribute, value) pair per
	// attribute of that event, and ("", "") for the sizes.
	var attrs strings.Builder
	attrs.WriteString(`arrayConcat([('', 'size'), ('os', l_os), ('runtimeMajor', splitByChar('.', l_rv)[1]), ('environment', l_env),
		('productMinor', ` + chMinor("l_pv") + `), ('ci', if(l_ci = 1, 'true', 'false')), ('docker', if(l_docker = 1, 'true', 'false'))`)
	for _, key := range c.BuildKeys {
		k := chString(key)
		fmt.Fprintf(&attrs, `, (%s, if(visitParamExtractRaw(l_build, %s) IN ('true', 'false'), visitParamExtractRaw(l_build, %s), visitParamExtractString(l_build, %s)))`,
			chString("build."+key), k, k, k)
	}
	attrs.WriteString(`], arrayMap(x -> ('plugin', x), ` + chPlugins("l_build") + `))`)
	query := q.sql(`SELECT tupleElement(a, 1) AS attribute, tupleElement(a, 2) AS value, toInt64(countIf(cohort = 1)), toInt64(countIf(cohort = 0)) FROM (
		SELECT max(hit) AS cohort,
			argMax(tuple(environment, os, runtime_version, product_version, ci, docker, build), time) AS f,
			tupleElement(f, 1) AS l_env, tupleElement(f, 2) AS l_os, tupleElement(f, 3) AS l_rv, tupleElement(f, 4) AS l_pv,
			tupleElement(f, 5) AS l_ci, tupleElement(f, 6) AS l_docker, tupleElement(f, 7) AS l_build
		FROM (SELECT project, time, environment, os, runtime_version, product_version, ci, docker, build, ({cond}) AS hit
			FROM {events} WHERE {win})
		GROUP BY project
	) ARRAY JOIN {attrs} AS a
	WHERE value != ''
	GROUP BY attribute, value`, "{win}", chWindow(w), "{cond}", cond, "{attrs}", attrs.String())
	var (
		cc          insights.CohortCounts
		attr, value string
		in, rest    int64
	)
	err := q.each(ctx, query, args, []any{&attr, &value, &in, &rest}, func() {
		if attr == "" {
			cc.Cohort, cc.Rest = int(in), int(rest)
		} else {
			cc.Rows = append(cc.Rows, insights.AttributeCount{Attribute: attr, Value: value, Cohort: int(in), Rest: int(rest)})
		}
	})
	return cc, err
}

// setupStarts is each project's first setup start in [{slo}, {hi}) with the
// facts of the event, and its first setup done at or after it before {dhi}
// (t1, 0 when none).
const setupStarts = `SELECT project, t0, tupleElement(f, 1) AS s_os, tupleElement(f, 2) AS s_rv, tupleElement(f, 3) AS s_pv, minIf(t, t >= t0) AS t1 FROM (
	SELECT project, min(time) AS t0, argMin(tuple(os, runtime_version, product_version), time) AS f
	FROM {events} WHERE {swin} AND name = {start} GROUP BY project
) ALL LEFT JOIN (
	SELECT project, time AS t FROM {events} WHERE {dwin} AND name = {done}
) USING project
GROUP BY project, t0, f`

func (q *chQueries) Setup(ctx context.Context, s insights.SetupSpec) (insights.SetupFacts, error) {
	var f insights.SetupFacts
	within := s.Within.Milliseconds()
	starts := q.sql(setupStarts, "{swin}", chWindow(insights.Window{Lo: s.From, Hi: s.Hi}),
		"{dwin}", chWindow(insights.Window{Lo: s.From, Hi: s.Hi.Add(s.Within)}),
		"{start}", chString(s.Start), "{done}", chString(s.Done))
	var (
		project, os, rv, pv string
		t0, t1              int64
	)
	err := q.each(ctx, starts, nil, []any{&project, &t0, &os, &rv, &pv, &t1}, func() {
		st := insights.SetupStart{T0: t0, OS: os, RM: strings.SplitN(rv, ".", 2)[0], PV: pv}
		if t1 > 0 && t1 <= t0+within {
			st.DurMs, st.Completed = t1-t0, true
		}
		f.Starts = append(f.Starts, st)
	})
	if err != nil {
		return f, err
	}
	// The projects whose start is in [lo, hi) and that did not complete,
	// per error code reported within Within of the start.
	var (
		code string
		n    int64
	)
	err = q.each(ctx, q.sql(`SELECT code, toInt64(uniqExact(project)) FROM (
		SELECT project, t0 FROM ({starts}) WHERE t0 >= {lo} AND NOT (t1 > 0 AND t1 <= t0 + {within})
	) ALL INNER JOIN (
		SELECT project, time, {code} AS code FROM {events} WHERE {ewin} AND name IN {errors}
	) USING project
	WHERE time >= t0 AND time <= t0 + {within}
	GROUP BY code`, "{starts}", starts, "{lo}", fmt.Sprint(ceilMS(s.Lo)), "{within}", fmt.Sprint(within),
		"{code}", chCode, "{ewin}", chWindow(insights.Window{Lo: s.Lo, Hi: s.Hi.Add(s.Within)}), "{errors}", chList(s.ErrorNames)),
		nil, []any{&code, &n}, func() { f.Errors = append(f.Errors, insights.CodeCount{Code: code, Projects: int(n)}) })
	return f, err
}

func (q *chQueries) Errors(ctx context.Context, w insights.Window, k int, names []string) (insights.ErrorCounts, error) {
	ec := insights.ErrorCounts{FirstBefore: map[string]int64{}}
	// The window's error events, and each code's projects.
	evs := q.sql(`SELECT {code} AS code, project, id, time, `+chWeek+` AS wk, product_version, os, `+chMajor+` AS rm
		FROM {events} WHERE {win} AND name IN {names}`, "{code}", chCode, "{win}", chWindow(w), "{names}", chList(names))
	withN := `SELECT *, if(n >= {k}, code, 'other') AS code2 FROM (` + evs + `) ALL INNER JOIN (
		SELECT code, uniqExact(project) AS n FROM (` + evs + `) GROUP BY code
	) USING code`
	withN = strings.ReplaceAll(withN, "{k}", fmt.Sprint(k))
	var (
		code, dim, value            string
		events, projects, lo, hi, f int64
	)
	err := q.each(ctx, `SELECT code2, toInt64(uniqExact(id)), toInt64(uniqExact(project)), min(time), max(time), toInt64(uniqExactIf(code, n < `+fmt.Sprint(k)+`))
		FROM (`+withN+`) GROUP BY code2`, nil, []any{&code, &events, &projects, &lo, &hi, &f}, func() {
		ec.Codes = append(ec.Codes, insights.ErrorCodeCount{Code: code, Events: events, Projects: int(projects), First: lo, Last: hi})
		ec.Folded += int(f)
	})
	if err != nil {
		return ec, err
	}
	err = q.each(ctx, `SELECT code2, dim, value, toInt64(uniqExact(project)) FROM (`+withN+`)
		ARRAY JOIN ['productVersion', 'os', 'runtimeMajor'] AS dim, [product_version, os, rm] AS value
		WHERE value != '' GROUP BY code2, dim, value`, nil, []any{&code, &dim, &value, &projects}, func() {
		ec.Values = append(ec.Values, insights.ErrorValueCount{Code: code, Dimension: dim, Value: value, Projects: int(projects)})
	})
	if err != nil {
		return ec, err
	}
	var wk int64
	err = q.each(ctx, `SELECT code, wk, toInt64(uniqExact(id)), toInt64(uniqExact(project)) FROM (`+evs+`) GROUP BY code, wk`,
		nil, []any{&code, &wk, &events, &projects}, func() {
			ec.Points = append(ec.Points, insights.WeekCount{Week: wk, Value: code, Events: events, Projects: int(projects)})
		})
	if err != nil {
		return ec, err
	}
	before := ceilMS(w.Lo)
	err = q.each(ctx, q.sql(`SELECT {code} AS code, min(time) FROM {events}
		WHERE day <= '{day}' AND time < {lo} AND name IN {names} GROUP BY code`,
		"{code}", chCode, "{day}", dateLiteral(before-1), "{lo}", fmt.Sprint(before), "{names}", chList(names)),
		nil, []any{&code, &lo}, func() { ec.FirstBefore[code] = lo })
	return ec, err
}

func (q *chQueries) ErrorBase(ctx context.Context, w insights.Window) ([]insights.ValueCount, error) {
	var (
		out        []insights.ValueCount
		dim, value string
		n          int64
	)
	err := q.each(ctx, q.sql(`SELECT dim, value, toInt64(uniqExact(project)) FROM (
		SELECT project, product_version, os, `+chMajor+` AS rm FROM {events} WHERE {win} GROUP BY project, product_version, os, rm
	) ARRAY JOIN ['productVersion', 'os', 'runtimeMajor'] AS dim, [product_version, os, rm] AS value
	WHERE value != '' GROUP BY dim, value`, "{win}", chWindow(w)), nil, []any{&dim, &value, &n}, func() {
		out = append(out, insights.ValueCount{Dimension: dim, Value: value, Projects: int(n)})
	})
	return out, err
}

func (q *chQueries) Plugins(ctx context.Context, prev, cur insights.Window, k int) (insights.PluginCounts, error) {
	var pc insights.PluginCounts
	// Each project's latest build in each window (cur 1, prev 0).
	latest := q.sql(`SELECT project, time >= {lo} AS cur, argMax(build, time) AS b
		FROM {events} WHERE {win} GROUP BY project, cur`,
		"{lo}", fmt.Sprint(ceilMS(cur.Lo)), "{win}", chWindow(insights.Window{Lo: prev.Lo, Hi: cur.Hi}))
	var a, p int64
	err := q.each(ctx, `SELECT toInt64(countIf(cur = 1)), toInt64(countIf(cur = 0)) FROM (`+latest+`)`, nil, []any{&a, &p}, func() {
		pc.Active, pc.PreviousActive = int(a), int(p)
	})
	if err != nil {
		return pc, err
	}
	listed := `SELECT project, cur, arrayJoin(` + chPlugins("b") + `) AS plugin FROM (` + latest + `)`
	var (
		plugin                  string
		projects, previous, fol int64
	)
	ks := fmt.Sprint(k)
	err = q.each(ctx, `SELECT if(n >= `+ks+`, plugin, 'other') AS p, toInt64(uniqExactIf(project, cur = 1)), toInt64(uniqExactIf(project, cur = 0)),
		toInt64(uniqExactIf(plugin, n < `+ks+` AND n > 0))
		FROM (`+listed+`) ALL INNER JOIN (SELECT plugin, countIf(cur = 1) AS n FROM (`+listed+`) GROUP BY plugin) USING plugin
		GROUP BY p`, nil, []any{&plugin, &projects, &previous, &fol}, func() {
		pc.Rows = append(pc.Rows, insights.PluginCount{Plugin: plugin, Projects: int(projects), Previous: int(previous), Folded: int(fol)})
	})
	return pc, err
}

func (q *chQueries) Runtimes(ctx context.Context, w insights.Window, k int) (insights.RuntimeCounts, error) {
	var rc insights.RuntimeCounts
	s := q.sql(`SELECT project, environment = 'production' AS prod, runtime, `+chMajor+` AS major, {minor} AS version
		FROM {events} WHERE {win} GROUP BY project, prod, runtime, major, version`, "{minor}", chMinor("runtime_version"), "{win}", chWindow(w))
	var n, prod, nonprod, folded int64
	err := q.each(ctx, `SELECT toInt64(uniqExact(project)), toInt64(uniqExactIf(project, prod = 1)), toInt64(uniqExactIf(project, prod = 0)) FROM (`+s+`)`,
		nil, []any{&n, &prod, &nonprod}, func() {
			rc.Total = insights.RuntimeCount{Projects: int(n), Prod: int(prod), NonProd: int(nonprod)}
		})
	if err != nil {
		return rc, err
	}
	ks := fmt.Sprint(k)
	m := `SELECT *, if(n >= ` + ks + `, major, 'other') AS major2 FROM (SELECT * FROM (` + s + `) WHERE major != '') ALL INNER JOIN (
		SELECT runtime, major, uniqExact(project) AS n FROM (` + s + `) WHERE major != '' GROUP BY runtime, major
	) USING (runtime, major)`
	var runtime, major, version string
	err = q.each(ctx, `SELECT runtime, major2, toInt64(uniqExact(project)), toInt64(uniqExactIf(project, prod = 1)), toInt64(uniqExactIf(project, prod = 0)),
		toInt64(uniqExactIf(major, n < `+ks+`)) FROM (`+m+`) GROUP BY runtime, major2`, nil, []any{&runtime, &major, &n, &prod, &nonprod, &folded}, func() {
		rc.Rows = append(rc.Rows, insights.RuntimeCount{Runtime: runtime, Major: major, Projects: int(n), Prod: int(prod), NonProd: int(nonprod), Folded: int(folded)})
	})
	if err != nil {
		return rc, err
	}
	err = q.each(ctx, `SELECT runtime, major, version, toInt64(uniqExact(project)), toInt64(uniqExactIf(project, prod = 1)), toInt64(uniqExactIf(project, prod = 0))
		FROM (`+m+`) WHERE major2 != 'other' GROUP BY runtime, major, version`, nil, []any{&runtime, &major, &version, &n, &prod, &nonprod}, func() {
		rc.Rows = append(rc.Rows, insights.RuntimeCount{Runtime: runtime, Major: major, Version: version, Projects: int(n), Prod: int(prod), NonProd: int(nonprod)})
	})
	return rc, err
}

func (q *chQueries) RuntimeWeeks(ctx context.Context, w insights.Window) ([]insights.RuntimeWeek, error) {
	var out []insights.RuntimeWeek
	err := q.weekActive(ctx, w, func(wk int64, n int) { out = append(out, insights.RuntimeWeek{Week: wk, Projects: n}) })
	if err != nil {
		return nil, err
	}
	var (
		wk, n          int64
		runtime, major string
	)
	err = q.each(ctx, q.sql(`SELECT `+chWeek+` AS wk, runtime, `+chMajor+` AS major, toInt64(uniqExact(project))
		FROM {events} WHERE {win} AND major != '' GROUP BY wk, runtime, major`, "{win}", chWindow(w)),
		nil, []any{&wk, &runtime, &major, &n}, func() {
			out = append(out, insights.RuntimeWeek{Week: wk, Runtime: runtime, Major: major, Projects: int(n)})
		})
	return out, err
}
