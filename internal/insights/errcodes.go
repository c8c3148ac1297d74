package insights

import (
	"database/sql"
	"fmt"

	"github.com/abacushq/abacus/internal/plan"
)

// ErrorsSummary is the errors report's summary (empty).
type ErrorsSummary struct{}

// ErrorRow is one error code in the window. The top values are those of the
// most projects that reported the code (ties: more events, then the smaller
// value), shown only
// when at least k projects share it, else "".
type ErrorRow struct {
	Code            string `json:"code"`
	Events          int64  `json:"events"`
	Projects        int    `json:"projects"`
	FirstSeen       string `json:"firstSeen"` // date of the first event in the window
	LastSeen        string `json:"lastSeen"`
	TopVersion      string `json:"topVersion"` // product version
	TopOS           string `json:"topOS"`
	TopRuntimeMajor string `json:"topRuntimeMajor"`
}

// ErrorPoint is one code in one week.
type ErrorPoint struct {
	Week     string `json:"week"`
	Code     string `json:"code"`
	Events   int64  `json:"events"`
	Projects int    `json:"projects"`
}

// errorsQuery reads the window's error events once (a small share of all
// events) with the facts of their sources. Codes under k fold into "other".
// Kinds: 'c' a code's totals, 'v', 'o', 'm' its projects per product
// version, OS and runtime major, 's' a series point, 'x' the number of codes
// folded.
const errorsQuery = `WITH e AS MATERIALIZED (
	SELECT so.project_id, e.time, coalesce(json_extract_string(e.properties, '$.code'), e.name) AS code,
		so.product_version, so.os, nullif(split_part(so.runtime_version, '.', 1), '') AS rm
	FROM event_rows e JOIN sources so USING (source_id)
	WHERE e.name IN %s AND e.time >= $lo AND e.time < $hi
), c AS (
	SELECT code, count(DISTINCT project_id) AS n FROM e GROUP BY code
), m AS (
	SELECT e.*, CASE WHEN c.n >= $k THEN e.code ELSE 'other' END AS code2 FROM e JOIN c USING (code)
)
SELECT * FROM (
SELECT CASE GROUPING(product_version, os, rm) WHEN 7 THEN 'c' WHEN 3 THEN 'v' WHEN 5 THEN 'o' ELSE 'm' END AS kind,
	code2 AS code, coalesce(product_version, os, rm) AS value, NULL::BIGINT AS wk,
	count(*) AS events, count(DISTINCT project_id) AS projects, min(time) AS first, max(time) AS last
FROM m
GROUP BY GROUPING SETS ((code2), (code2, product_version), (code2, os), (code2, rm))
HAVING GROUPING(product_version, os, rm) = 7 OR coalesce(product_version, os, rm) IS NOT NULL
UNION ALL
SELECT 's', code, NULL, ` + weekOf + `, count(*), count(DISTINCT project_id), NULL, NULL FROM e GROUP BY ALL
UNION ALL
SELECT 'x', NULL, NULL, NULL, count(*), 0, NULL, NULL FROM c WHERE n < $k
)
ORDER BY kind, wk, code = 'other', projects DESC, events DESC, code, value`

func (q *query) errors(r *Report) error {
	rows, series := []ErrorRow{}, []ErrorPoint{}
	defer func() { r.Summary, r.Rows, r.Series = ErrorsSummary{}, rows, series }()
	n, err := q.activeProjects()
	if err != nil {
		return err
	}
	r.ActiveProjects = n
	var (
		kind        string
		code, value sql.NullString
		wk          sql.NullInt64
		events      int64
		projects    int
		first, last sql.NullTime
	)
	k := q.in.k
	byCode := map[string]int{} // index in rows
	type top struct {
		value    string
		projects int
	}
	tops := map[string]*[3]top{}
	query := fmt.Sprintf(errorsQuery, sqlList(q.in.eventNames(plan.KindError)))
	err = q.each(query, q.args(), []any{&kind, &code, &value, &wk, &events, &projects, &first, &last}, func() error {
		switch kind {
		case "c":
			if projects < k {
				return nil // "other" under k; its codes are counted by 'x'
			}
			byCode[code.String] = len(rows)
			rows = append(rows, ErrorRow{Code: code.String, Events: events, Projects: projects,
				FirstSeen: first.Time.UTC().Format(dateLayout), LastSeen: last.Time.UTC().Format(dateLayout)})
		case "v", "o", "m":
			i := map[string]int{"v": 0, "o": 1, "m": 2}[kind]
			t := tops[code.String]
			if t == nil {
				t = new([3]top)
				tops[code.String] = t
			}
			// Rows come by projects, then events, descending: the first is the top.
			if t[i].value == "" && projects >= k {
				t[i] = top{value.String, projects}
			}
		case "s":
			if projects < k {
				r.Suppressed++
				return nil
			}
			series = append(series, ErrorPoint{Week: weekDate(wk.Int64), Code: code.String, Events: events, Projects: projects})
		case "x":
			r.Suppressed += int(events)
		}
		return nil
	})
	for c, t := range tops {
		if i, ok := byCode[c]; ok {
			rows[i].TopVersion, rows[i].TopOS, rows[i].TopRuntimeMajor = t[0].value, t[1].value, t[2].value
		}
	}
	return err
}
