package insights

import (
	"cmp"
	"database/sql"
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
SELECT * FROM (
SELECT 'a' AS kind, NULL AS plugin, count(*) FILTER (WHERE cur) AS projects, count(*) FILTER (WHERE NOT cur) AS previous, 0 AS folded FROM lp
UNION ALL
SELECT 'p', CASE WHEN c.n >= $k THEN plugin ELSE 'other' END, count(DISTINCT project_id) FILTER (WHERE cur),
	count(DISTINCT project_id) FILTER (WHERE NOT cur), count(DISTINCT plugin) FILTER (WHERE c.n < $k AND c.n > 0)
FROM pp JOIN c USING (plugin)
GROUP BY ALL
)
ORDER BY kind, plugin = 'other', projects DESC, plugin`

func (q *query) plugins(r *Report) error {
	rows := []PluginRow{}
	sum := PluginsSummary{Test: pluginsTest}
	defer func() { r.Summary, r.Rows, r.Series = sum, rows, []PluginPoint{} }()
	plo := q.lo.Add(-q.hi.Sub(q.lo))
	var (
		kind                      string
		plugin                    sql.NullString
		projects, previous, folds int
	)
	k := q.in.k
	err := q.each(pluginsQuery, q.args(sql.Named("plo", plo)), []any{&kind, &plugin, &projects, &previous, &folds}, func() error {
		if kind == "a" {
			r.ActiveProjects, sum.PreviousActiveProjects = projects, previous
			return nil
		}
		r.Suppressed += folds
		if projects < k {
			return nil
		}
		row := PluginRow{Plugin: plugin.String, Projects: projects, Share: ratio(float64(projects), float64(r.ActiveProjects)),
			PValue: 1, QValue: 1}
		if previous > 0 && previous < k {
			r.Suppressed++
		} else {
			prev := previous // previous is the scan's destination: a copy per row
			change, prevShare := projects-prev, ratio(float64(prev), float64(sum.PreviousActiveProjects))
			shareChange := row.Share - prevShare
			row.PreviousProjects, row.Change, row.PreviousShare, row.ShareChange = &prev, &change, &prevShare, &shareChange
		}
		if previous >= k {
			_, row.PValue = twoProportionZ(projects, r.ActiveProjects, previous, sum.PreviousActiveProjects)
		}
		rows = append(rows, row)
		return nil
	})
	if err != nil {
		return err
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
