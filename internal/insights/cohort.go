package insights

import (
	"cmp"
	"math"
	"slices"

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

// cohortSpec is the cohort of p, with the plan's bool and enum build keys
// as attributes.
func (in *Insights) cohortSpec(p Params) CohortSpec {
	c := CohortSpec{Event: p.Event, Feature: p.Feature, Features: in.featureEvents()}
	for _, f := range in.plan.Build {
		if f.Name != "plugins" && (f.Type == plan.TypeBool || f.Type == plan.TypeEnum) {
			c.BuildKeys = append(c.BuildKeys, f.Name)
		}
	}
	return c
}

func (q *query) cohort(r *Report) error {
	sum := CohortSummary{Feature: q.p.Feature, Event: q.p.Event, Test: cohortTest}
	rows := []CohortRow{}
	defer func() { r.Summary, r.Rows, r.Series = sum, rows, []CohortPoint{} }()
	cc, err := q.qs.Cohort(q.ctx, q.window(), q.in.cohortSpec(q.p))
	if err != nil {
		return err
	}
	nc, nr := cc.Cohort, cc.Rest // the cohort's and the rest's sizes
	var found []CohortRow
	k := q.in.k
	for _, a := range cc.Rows {
		if a.Cohort < k || a.Rest < k {
			if a.Cohort > 0 && a.Cohort < k || a.Rest > 0 && a.Rest < k {
				r.Suppressed++
			}
			continue
		}
		found = append(found, CohortRow{Attribute: a.Attribute, Value: a.Value, CohortProjects: a.Cohort, RestProjects: a.Rest})
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
