package insights

import (
	"cmp"
	"slices"
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

// dimensionOrder orders the overview's dimensions.
var dimensionOrder = map[string]int{"environment": 0, "os": 1, "productVersion": 2}

func (q *query) overview(r *Report) error {
	var sum OverviewSummary
	rows, series := []OverviewRow{}, []OverviewPoint{}
	defer func() { r.Summary, r.Rows, r.Series = sum, rows, series }()
	total, days, err := q.qs.Daily(q.ctx, q.window())
	if err != nil {
		return err
	}
	sum.Events, r.ActiveProjects = total.Events, total.Projects
	slices.SortFunc(days, func(a, b DayCount) int { return cmp.Compare(a.Day, b.Day) })
	for _, d := range days {
		if d.Projects < q.in.k {
			r.Suppressed++
			continue
		}
		series = append(series, OverviewPoint{Date: dayDate(d.Day), Events: d.Events, ActiveProjects: d.Projects, Partial: q.partialDay(d.Day)})
	}
	dims, facts, err := q.qs.Dimensions(q.ctx, q.window(), q.in.k)
	if err != nil {
		return err
	}
	sum.Machines, sum.CIShare = facts.Machines, ratio(float64(facts.CIProjects), float64(r.ActiveProjects))
	sortFolded(dims, func(a, b ValueCount) int {
		return cmp.Compare(dimensionOrder[a.Dimension], dimensionOrder[b.Dimension])
	})
	for _, d := range dims {
		r.Suppressed += d.Folded
		if d.Projects < q.in.k {
			continue // the "other" row under k
		}
		rows = append(rows, OverviewRow{Dimension: d.Dimension, Value: d.Value, Projects: d.Projects, Share: ratio(float64(d.Projects), float64(r.ActiveProjects))})
	}
	return nil
}

// sortFolded orders counts by group (when group is not nil), then "other"
// last, then by projects, most first, then by value.
func sortFolded(vs []ValueCount, group func(a, b ValueCount) int) {
	slices.SortFunc(vs, func(a, b ValueCount) int {
		c := 0
		if group != nil {
			c = group(a, b)
		}
		return cmp.Or(c, cmpOther(a.Value, b.Value), -cmp.Compare(a.Projects, b.Projects), cmp.Compare(a.Value, b.Value))
	})
}

// cmpOther orders the value "other" after every other.
func cmpOther(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == other:
		return 1
	case b == other:
		return -1
	}
	return 0
}
