package insights

import (
	"cmp"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/abacushq/abacus/internal/plan"
)

// CohortSummary is the cohort report's summary. When the cohort or the rest
// has fewer than k projects (but some), the comparison is suppressed whole:
// Cohort and Rest are nil (null in JSON), there are no rows, and Suppressed
// is 1.
type CohortSummary struct {
	Cohort  *int   `json:"cohort"` // active projects that used the feature (sent the event) in the window
	Rest    *int   `json:"rest"`   // the other active projects
	Feature string `json:"feature,omitempty"`
	Event   string `json:"event,omitempty"`
	Test    string `json:"test"`
}

// CohortRow compares how often the cohort and the rest have an attribute
// value (each project by its latest event in the window).
type CohortRow struct {
	Attribute      string  `json:"attribute"` // plugin, os, runtimeMajor, environment, productMinor, ci, docker, build.<key>
	Value          string  `json:"value"`
	CohortProjects int     `json:"cohortProjects"`
	RestProjects   int     `json:"restProjects"`
	CohortShare    float64 `json:"cohortShare"`
	RestShare      float64 `json:"restShare"`
	Lift           float64 `json:"lift"`   // cohortShare / restShare
	PValue         float64 `json:"pValue"` // two-sided, pooled two-proportion z-test
	QValue         float64 `json:"qValue"` // Benjamini-Hochberg adjusted over the cohort's rows
	Significant    bool    `json:"significant"`
	Direction      string  `json:"direction"`
}

// cohortFDR is the false-discovery rate of the rows marked significant.
const cohortFDR = 0.05

// CohortPoint is never produced: the cohort report has no series.
type CohortPoint struct{}

const cohortTest = "two-proportion z-test, Benjamini-Hochberg false-discovery rate 5%"

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
), a AS (
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

// cohortCondition is the SQL condition on an event that puts its project in
// the cohort, with the parameter $name.
func (in *Insights) cohortCondition(p Params) (cond string, name any) {
	if p.Event != "" {
		return `name = $name`, sql.Named("name", p.Event)
	}
	var or []string
	for _, e := range in.plan.EventsOfKind(plan.KindFeature) {
		if e.FeatureProperty() != "" {
			or = append(or, `(name = `+sqlString(e.Name)+` AND json_extract_string(properties, '$.feature') = $name)`)
		} else {
			or = append(or, `(name = `+sqlString(e.Name)+` AND name = $name)`)
		}
	}
	if len(or) == 0 {
		or = []string{"false"}
	}
	return strings.Join(or, " OR "), sql.Named("name", p.Feature)
}

// buildAttributes unpivots the plan's bool and enum build keys.
func (in *Insights) buildAttributes() string {
	var b strings.Builder
	for _, f := range in.plan.Build {
		if f.Name == "plugins" || (f.Type != plan.TypeBool && f.Type != plan.TypeEnum) {
			continue
		}
		fmt.Fprintf(&b, "\n\tUNION ALL SELECT %s, json_extract_string(build, %s), cohort FROM p",
			sqlString("build."+f.Name), sqlString("$."+f.Name))
	}
	return b.String()
}

func (q *query) cohort(r *Report) error {
	sum := CohortSummary{Feature: q.p.Feature, Event: q.p.Event, Test: cohortTest}
	rows := []CohortRow{}
	defer func() { r.Summary, r.Rows, r.Series = sum, rows, []CohortPoint{} }()
	cond, name := q.in.cohortCondition(q.p)
	var (
		attr, value string
		c, rest     int
		nc, nr      int // the cohort's and the rest's sizes
		found       []CohortRow
	)
	k := q.in.k
	err := q.each(fmt.Sprintf(cohortQuery, cond, q.in.buildAttributes()), q.args(name), []any{&attr, &value, &c, &rest}, func() error {
		if attr == "" {
			nc, nr = c, rest
			return nil
		}
		if c < k || rest < k {
			if c > 0 && c < k || rest > 0 && rest < k {
				r.Suppressed++
			}
			return nil
		}
		found = append(found, CohortRow{Attribute: attr, Value: value, CohortProjects: c, RestProjects: rest})
		return nil
	})
	if err != nil {
		return err
	}
	r.ActiveProjects = nc + nr
	if nc > 0 && nc < k || nr > 0 && nr < k {
		r.Suppressed = 1
		return nil
	}
	sum.Cohort, sum.Rest = &nc, &nr
	for i := range found {
		f := &found[i]
		f.CohortShare = ratio(float64(f.CohortProjects), float64(nc))
		f.RestShare = ratio(float64(f.RestProjects), float64(nr))
		f.Lift = ratio(f.CohortShare, f.RestShare)
		_, f.PValue = twoProportionZ(f.CohortProjects, nc, f.RestProjects, nr)
		f.Direction = "less"
		if f.CohortShare > f.RestShare {
			f.Direction = "more"
		}
	}
	slices.SortFunc(found, func(a, b CohortRow) int {
		return cmp.Or(cmp.Compare(a.PValue, b.PValue),
			-cmp.Compare(math.Abs(math.Log(a.Lift)), math.Abs(math.Log(b.Lift))),
			cmp.Compare(a.Attribute, b.Attribute), cmp.Compare(a.Value, b.Value))
	})
	// Benjamini-Hochberg over the rows (sorted by p-value): q_i is the
	// smallest m·p_j/j over j ≥ i. Rows with q < cohortFDR are significant;
	// they come first, as q grows with p.
	m := float64(len(found))
	qv := 1.0
	for i := len(found) - 1; i >= 0; i-- {
		qv = min(qv, m*found[i].PValue/float64(i+1))
		found[i].QValue = qv
		found[i].Significant = qv < cohortFDR
	}
	rows = append(rows, found...)
	return nil
}
