package insights

import (
	"database/sql"
	"fmt"
)

// OverviewSummary is the overview's summary.
type OverviewSummary struct {
	Machines int     `json:"machines"` // distinct machines with an event in the window
	Events   int64   `json:"events"`   // events in the window
	CIShare  float64 `json:"ciShare"`  // share of active projects with an event from CI
}

// OverviewRow is the share of active projects with a value of a dimension
// (environment, os, productVersion) on any of their events in the window; a
// project with several values counts in each, so shares may add up to more
// than 1.
type OverviewRow struct {
	Dimension string  `json:"dimension"`
	Value     string  `json:"value"`
	Projects  int     `json:"projects"`
	Share     float64 `json:"share"`
}

// OverviewPoint is one day of the overview; days without events are left out.
type OverviewPoint struct {
	Date           string `json:"date"`
	Events         int64  `json:"events"`
	ActiveProjects int    `json:"activeProjects"`
	Partial        bool   `json:"partial"` // the day is not over (today)
}

// overviewDaily counts events and distinct projects per day in one pass over
// event_rows, grouping on an integer only (see projectSets); the row with a
// NULL day is the whole window.
const overviewDaily = `WITH ` + projectNumbers + `, %[1]s
SELECT NULL AS d, coalesce(sum(events), 0)::BIGINT, coalesce(%[2]s, 0) FROM wb
UNION ALL
SELECT d, sum(events)::BIGINT, %[2]s FROM wb GROUP BY d
ORDER BY d NULLS FIRST`

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
	SELECT 1 AS o, 'environment' AS dim, environment AS value, project_id FROM s
	UNION ALL SELECT 2, 'os', os, project_id FROM s
	UNION ALL SELECT 3, 'productVersion', product_version, project_id FROM s
), c AS (
	SELECT dim, value, count(DISTINCT project_id) AS n FROM v WHERE value IS NOT NULL GROUP BY ALL
)
SELECT * FROM (
SELECT 'r' AS kind, min(o) AS o, dim, CASE WHEN c.n >= $k THEN value ELSE 'other' END AS val,
	count(DISTINCT project_id) AS projects, count(DISTINCT value) FILTER (WHERE c.n < $k) AS extra
FROM v JOIN c USING (dim, value)
GROUP BY ALL
UNION ALL
SELECT 's', 0, '', '', count(DISTINCT machine_id), count(DISTINCT project_id) FILTER (WHERE ci) FROM s
)
ORDER BY kind, o, val = 'other', projects DESC, val`

func (q *query) overview(r *Report) error {
	var sum OverviewSummary
	rows, series := []OverviewRow{}, []OverviewPoint{}
	defer func() { r.Summary, r.Rows, r.Series = sum, rows, series }()
	n, err := q.projectCount()
	if err != nil || n == 0 {
		return err
	}
	var (
		d        sql.NullInt64
		events   int64
		projects int
	)
	cte, agg := projectSets(dayOf+" AS d", n, q.days())
	err = q.each(fmt.Sprintf(overviewDaily, cte, agg), q.args(), []any{&d, &events, &projects}, func() error {
		switch {
		case !d.Valid:
			sum.Events, r.ActiveProjects = events, projects
		case projects < q.in.k:
			r.Suppressed++
		default:
			series = append(series, OverviewPoint{Date: dayDate(d.Int64), Events: events, ActiveProjects: projects, Partial: q.partialDay(d.Int64)})
		}
		return nil
	})
	if err != nil {
		return err
	}
	var (
		kind, dim, val string
		o, extra       int
	)
	err = q.each(overviewRows, q.args(), []any{&kind, &o, &dim, &val, &projects, &extra}, func() error {
		if kind == "s" {
			sum.Machines, sum.CIShare = projects, ratio(float64(extra), float64(r.ActiveProjects))
			return nil
		}
		r.Suppressed += extra
		if projects < q.in.k {
			return nil // the "other" row under k
		}
		rows = append(rows, OverviewRow{Dimension: dim, Value: val, Projects: projects, Share: ratio(float64(projects), float64(r.ActiveProjects))})
		return nil
	})
	return err
}
