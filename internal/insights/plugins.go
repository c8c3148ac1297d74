package insights

import (
	"cmp"
	"slices"
)

// PluginsSummary is the plugins report's summary.
type PluginsSummary struct {
	PreviousActiveProjects int    `json:"previousActiveProjects"` // active projects in the window before
	Test                   string `json:"test"`
}

// PluginRow counts the projects whose latest build in the window lists a
// plugin. PreviousProjects counts the same in the window of equal length just
// before, and is 0 when fewer than k projects had the plugin then.
type PluginRow struct {
	Plugin   string  `json:"plugin"`
	Projects int     `json:"projects"`
	Share    float64 `json:"share"` // of active projects
	// PreviousProjects and the three numbers made from it are nil (null in
	// JSON) when it is 1 to k−1: not published, counted in Suppressed.
	PreviousProjects *int     `json:"previousProjects"`
	Change           *int     `json:"change"`        // projects − previousProjects
	PreviousShare    *float64 `json:"previousShare"` // previousProjects / previousActiveProjects
	ShareChange      *float64 `json:"shareChange"`   // share − previousShare: a fraction of active projects (×100 for percentage points)
	PValue           float64  `json:"pValue"`        // two-sided two-proportion z-test of the two shares; 1 when previousProjects is under k
	QValue           float64  `json:"qValue"`        // Benjamini-Hochberg over the rows tested
	Significant      bool     `json:"significant"`   // qValue < 0.05
}

const pluginsTest = "two-proportion z-test of the share of active projects, Benjamini-Hochberg false-discovery rate 5%"

// PluginPoint is never produced: the plugins report has no series.
type PluginPoint struct{}

func (q *query) plugins(r *Report) error {
	rows := []PluginRow{}
	sum := PluginsSummary{Test: pluginsTest}
	defer func() { r.Summary, r.Rows, r.Series = sum, rows, []PluginPoint{} }()
	prev := Window{q.lo.Add(-q.hi.Sub(q.lo)), q.lo}
	k := q.in.k
	pc, err := q.qs.Plugins(q.ctx, prev, q.window(), k)
	if err != nil {
		return err
	}
	r.ActiveProjects, sum.PreviousActiveProjects = pc.Active, pc.PreviousActive
	slices.SortFunc(pc.Rows, func(a, b PluginCount) int {
		return cmp.Or(cmpOther(a.Plugin, b.Plugin), -cmp.Compare(a.Projects, b.Projects), cmp.Compare(a.Plugin, b.Plugin))
	})
	for _, c := range pc.Rows {
		r.Suppressed += c.Folded
		if c.Projects < k {
			continue
		}
		row := PluginRow{Plugin: c.Plugin, Projects: c.Projects, Share: ratio(float64(c.Projects), float64(r.ActiveProjects)),
			PValue: 1, QValue: 1}
		if c.Previous > 0 && c.Previous < k {
			r.Suppressed++
		} else {
			prev := c.Previous
			change, prevShare := c.Projects-prev, ratio(float64(prev), float64(sum.PreviousActiveProjects))
			shareChange := row.Share - prevShare
			row.PreviousProjects, row.Change, row.PreviousShare, row.ShareChange = &prev, &change, &prevShare, &shareChange
		}
		if c.Previous >= k {
			_, row.PValue = twoProportionZ(c.Projects, r.ActiveProjects, c.Previous, sum.PreviousActiveProjects)
		}
		rows = append(rows, row)
	}
	// Benjamini-Hochberg over the rows with a test (previousProjects ≥ k).
	var tested []*PluginRow
	for i := range rows {
		if p := rows[i].PreviousProjects; p != nil && *p >= k {
			tested = append(tested, &rows[i])
		}
	}
	slices.SortStableFunc(tested, func(a, b *PluginRow) int { return cmp.Compare(a.PValue, b.PValue) })
	qv := 1.0
	for i := len(tested) - 1; i >= 0; i-- {
		qv = min(qv, float64(len(tested))*tested[i].PValue/float64(i+1))
		tested[i].QValue = qv
		tested[i].Significant = qv < cohortFDR
	}
	return nil
}
