package insights

import (
	"database/sql"
	"fmt"

	"github.com/abacushq/abacus/internal/plan"
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

// featuresQuery counts the active projects of each week and of the window in
// one pass over the window's events (see projectSets), and the projects of
// each feature per week and over the window from the feature events alone.
// Kinds: 'a' the window's active projects, 'w' a week's, 'p' a series point,
// 'f' a feature row, 'o' the "other" row with the number of features folded
// into it.
const featuresQuery = `WITH ` + projectNumbers + `, %[1]s, f AS (
	SELECT DISTINCT wk, feature, pn FROM (
		SELECT ` + weekOf + ` AS wk, %[4]s AS feature, pn
		FROM event_rows JOIN src USING (source_id)
		WHERE time >= $lo AND time < $hi AND name IN %[3]s
	) WHERE feature IS NOT NULL
), fn AS (
	SELECT feature, count(DISTINCT pn) AS n FROM f GROUP BY feature
)
SELECT * FROM (
SELECT 'a' AS kind, NULL AS wk, NULL AS feature, coalesce(%[2]s, 0) AS n, 0 AS folded FROM wb
UNION ALL SELECT 'w', wk, NULL, %[2]s, 0 FROM wb GROUP BY wk
UNION ALL SELECT 'p', wk, feature, count(*), 0 FROM f GROUP BY wk, feature
UNION ALL SELECT 'f', NULL, feature, n, 0 FROM fn WHERE n >= $k
UNION ALL SELECT 'o', NULL, 'other', count(DISTINCT pn), (SELECT count(*) FROM fn WHERE n < $k)
	FROM f JOIN fn USING (feature) WHERE fn.n < $k
)
ORDER BY kind, wk, n DESC, feature`

func (q *query) features(r *Report) error {
	rows, series := []FeatureRow{}, []FeaturePoint{}
	defer func() { r.Summary, r.Rows, r.Series = FeaturesSummary{}, rows, series }()
	n, err := q.projectCount()
	if err != nil || n == 0 {
		return err
	}
	var (
		kind        string
		wk          sql.NullInt64
		feature     sql.NullString
		count, fold int
	)
	weekActive := map[int64]int{}
	var weeks []int64 // of the series points
	cte, agg := projectSets(weekOf+" AS wk", n, q.weeks())
	query := fmt.Sprintf(featuresQuery, cte, agg, sqlList(q.in.eventNames(plan.KindFeature)), q.in.featureExpr())
	err = q.each(query, q.args(), []any{&kind, &wk, &feature, &count, &fold}, func() error {
		switch kind {
		case "a":
			r.ActiveProjects = count
		case "w":
			weekActive[wk.Int64] = count
		case "p":
			if count < q.in.k {
				r.Suppressed++
				return nil
			}
			series = append(series, FeaturePoint{Week: weekDate(wk.Int64), Feature: feature.String, Projects: count, Partial: q.partialWeek(wk.Int64)})
			weeks = append(weeks, wk.Int64)
		case "f":
			rows = append(rows, FeatureRow{Feature: feature.String, Projects: count})
		case "o":
			r.Suppressed += fold
			if count >= q.in.k {
				rows = append(rows, FeatureRow{Feature: other, Projects: count})
			}
		}
		return nil
	})
	for i := range rows {
		rows[i].Adoption = ratio(float64(rows[i].Projects), float64(r.ActiveProjects))
	}
	for i := range series {
		series[i].Adoption = ratio(float64(series[i].Projects), float64(weekActive[weeks[i]]))
	}
	return err
}
