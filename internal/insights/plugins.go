package insights

import (
	"database/sql"
)

// PluginsSummary is the plugins report's summary (empty).
type PluginsSummary struct{}

// PluginRow counts the projects whose latest build in the window lists a
// plugin. PreviousProjects counts the same in the window of equal length just
// before, and is 0 when fewer than k projects had the plugin then.
type PluginRow struct {
	Plugin           string  `json:"plugin"`
	Projects         int     `json:"projects"`
	Share            float64 `json:"share"` // of active projects
	PreviousProjects int     `json:"previousProjects"`
	Change           int     `json:"change"` // projects − previousProjects
}

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
	defer func() { r.Summary, r.Rows, r.Series = PluginsSummary{}, rows, []PluginPoint{} }()
	plo := q.lo.Add(-q.hi.Sub(q.lo))
	var (
		kind                      string
		plugin                    sql.NullString
		projects, previous, folds int
	)
	k := q.in.k
	err := q.each(pluginsQuery, q.args(sql.Named("plo", plo)), []any{&kind, &plugin, &projects, &previous, &folds}, func() error {
		if kind == "a" {
			r.ActiveProjects = projects
			return nil
		}
		r.Suppressed += folds
		if projects < k {
			return nil
		}
		if previous < k {
			previous = 0
		}
		rows = append(rows, PluginRow{Plugin: plugin.String, Projects: projects, Share: ratio(float64(projects), float64(r.ActiveProjects)),
			PreviousProjects: previous, Change: projects - previous})
		return nil
	})
	return err
}
