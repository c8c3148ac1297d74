package insights

import (
	"cmp"
	"slices"
)

// FeaturesSummary is the features report's summary (empty: the rows say it all).
type FeaturesSummary struct{}

// FeatureRow is the adoption of one feature in the window: projects that used
// it over active projects.
type FeatureRow struct {
	Feature  string  `json:"feature"`
	Projects int     `json:"projects"`
	Adoption float64 `json:"adoption"`
}

// FeaturePoint is a feature's adoption in one week, against that week's active
// projects.
type FeaturePoint struct {
	Week     string  `json:"week"`
	Feature  string  `json:"feature"`
	Projects int     `json:"projects"`
	Adoption float64 `json:"adoption"`
	Partial  bool    `json:"partial"` // the week is not wholly in the window and over
}

func (q *query) features(r *Report) error {
	rows, series := []FeatureRow{}, []FeaturePoint{}
	defer func() { r.Summary, r.Rows, r.Series = FeaturesSummary{}, rows, series }()
	fc, err := q.qs.Features(q.ctx, q.window(), q.in.k, q.in.featureEvents())
	if err != nil {
		return err
	}
	r.ActiveProjects = fc.Active
	slices.SortFunc(fc.Points, func(a, b WeekCount) int {
		return cmp.Or(cmp.Compare(a.Week, b.Week), -cmp.Compare(a.Projects, b.Projects), cmp.Compare(a.Value, b.Value))
	})
	for _, p := range fc.Points {
		if p.Projects < q.in.k {
			r.Suppressed++
			continue
		}
		series = append(series, FeaturePoint{Week: weekDate(p.Week), Feature: p.Value, Projects: p.Projects,
			Adoption: ratio(float64(p.Projects), float64(fc.WeekActive[p.Week])), Partial: q.partialWeek(p.Week)})
	}
	sortFolded(fc.Rows, nil)
	for _, f := range fc.Rows {
		r.Suppressed += f.Folded
		if f.Projects < q.in.k {
			continue // the "other" row under k
		}
		rows = append(rows, FeatureRow{Feature: f.Value, Projects: f.Projects, Adoption: ratio(float64(f.Projects), float64(r.ActiveProjects))})
	}
	return nil
}
