package insights

import (
	"cmp"
	"database/sql"
	"fmt"
	"slices"

	"github.com/abacushq/abacus/internal/plan"
)

// ErrorsSummary is the errors report's summary (empty).
type ErrorsSummary struct{}

// ErrorRow is one error code in the window. The top values are the product
// version, OS and runtime major most over-represented among the code's
// projects (see ErrorAttribution), "" when none is significantly so.
type ErrorRow struct {
	Code            string             `json:"code"`
	Events          int64              `json:"events"`
	Projects        int                `json:"projects"`
	FirstSeen       string             `json:"firstSeen"` // date of the first event the store has with the code, up to the window's end
	LastSeen        string             `json:"lastSeen"`
	TopVersion      string             `json:"topVersion"` // product version
	TopOS           string             `json:"topOS"`
	TopRuntimeMajor string             `json:"topRuntimeMajor"`
	Attribution     []ErrorAttribution `json:"attribution"` // the significant ones, smallest p first
}

// ErrorAttribution is a value over-represented among the projects that
// reported a code: Share of them reported it on Value, against BaseShare of
// all the window's active projects that sent any event on Value.
type ErrorAttribution struct {
	By        string  `json:"by"` // productVersion, os or runtimeMajor
	Value     string  `json:"value"`
	Projects  int     `json:"projects"`  // the code's projects that reported it on Value
	Share     float64 `json:"share"`     // Projects / the code's projects
	BaseShare float64 `json:"baseShare"` // active projects on Value / active projects
	Lift      float64 `json:"lift"`      // Share / BaseShare
	P         float64 `json:"p"`         // one-sided two-proportion z-test against the other active projects, Holm-adjusted over the code's values
}

// attributionP is the significance level of an attribution.
const attributionP = 0.01

// ErrorPoint is one code in one week.
type ErrorPoint struct {
	Week     string `json:"week"`
	Code     string `json:"code"`
	Events   int64  `json:"events"`
	Projects int    `json:"projects"`
	Partial  bool   `json:"partial"` // the week is not wholly in the window and over
}

// errorsQuery reads the window's error events once (a small share of all
// events) and first sums them per source, code and week, so what follows
// works on those few groups and on integers: the facts of the sources are
// joined after, and projects are counted by a number (dense_rank over the
// sources' project IDs), not by their 32-character IDs. At abacus serve's
// 64 MB the query carrying every error event's strings ran out of memory
// at 10M events, and so did counting distinct projects per grouping set,
// which plain GROUP BYs over (code, project, value) replace. Codes under k
// fold into "other". Kinds: 'c' a code's totals, 'v', 'o', 'm' its
// projects per product version, OS and runtime major, 's' a series point,
// 'x' the number of codes folded, 'f' a code's first event in the store
// before the window.
const errorsQuery = `WITH g AS (
	SELECT source_id, coalesce(json_extract_string(properties, '$.code'), name) AS code, ` + weekOf + ` AS wk,
		count(*) AS events, min(time) AS first, max(time) AS last
	FROM event_rows
	WHERE name IN %[1]s AND time >= $lo AND time < $hi
	GROUP BY ALL
), src AS (
	SELECT source_id, dense_rank() OVER (ORDER BY project_id) AS pn, product_version, os,
		nullif(split_part(runtime_version, '.', 1), '') AS rm
	FROM sources WHERE source_id IN (SELECT source_id FROM g)
), e AS MATERIALIZED (
	SELECT g.code, g.wk, g.events, g.first, g.last, src.pn, src.product_version, src.os, src.rm
	FROM g JOIN src USING (source_id)
), c AS (
	SELECT code, count(*) AS n FROM (SELECT DISTINCT code, pn FROM e) GROUP BY code
), m AS (
	SELECT e.*, CASE WHEN c.n >= $k THEN e.code ELSE 'other' END AS code2 FROM e JOIN c USING (code)
)
SELECT * FROM (
SELECT 'c' AS kind, code2 AS code, NULL AS value, NULL::BIGINT AS wk, sum(events)::BIGINT AS events, count(*) AS projects,
	min(first) AS first, max(last) AS last
FROM (SELECT code2, pn, sum(events) AS events, min(first) AS first, max(last) AS last FROM m GROUP BY code2, pn) GROUP BY code2
UNION ALL
SELECT 'v', code2, product_version, NULL, 0, count(*), NULL, NULL
FROM (SELECT DISTINCT code2, pn, product_version FROM m WHERE product_version IS NOT NULL) GROUP BY ALL
UNION ALL
SELECT 'o', code2, os, NULL, 0, count(*), NULL, NULL FROM (SELECT DISTINCT code2, pn, os FROM m WHERE os IS NOT NULL) GROUP BY ALL
UNION ALL
SELECT 'm', code2, rm, NULL, 0, count(*), NULL, NULL FROM (SELECT DISTINCT code2, pn, rm FROM m WHERE rm IS NOT NULL) GROUP BY ALL
UNION ALL
SELECT 's', code, NULL, wk, sum(events)::BIGINT, count(*), NULL, NULL
FROM (SELECT code, wk, pn, sum(events) AS events FROM e GROUP BY ALL) GROUP BY code, wk
UNION ALL
SELECT 'x', NULL, NULL, NULL, count(*), 0, NULL, NULL FROM c WHERE n < $k
UNION ALL
SELECT 'f', coalesce(json_extract_string(properties, '$.code'), name), NULL, NULL, 0, 0, min(time), NULL
FROM event_rows WHERE name IN %[1]s AND time < $lo GROUP BY 2
)
ORDER BY kind, wk, code = 'other', projects DESC, events DESC, code, value`

// errorBaseQuery counts the window's active projects per product version,
// OS and runtime major (kinds 'v', 'o', 'm').
const errorBaseQuery = `WITH a AS (SELECT DISTINCT source_id FROM event_rows WHERE time >= $lo AND time < $hi)
SELECT CASE GROUPING(product_version, os, rm) WHEN 3 THEN 'v' WHEN 5 THEN 'o' ELSE 'm' END,
	coalesce(product_version, os, rm), count(DISTINCT project_id)
FROM (SELECT so.project_id, so.product_version, so.os, nullif(split_part(so.runtime_version, '.', 1), '') AS rm
	FROM sources so JOIN a USING (source_id))
GROUP BY GROUPING SETS ((product_version), (os), (rm))
HAVING coalesce(product_version, os, rm) IS NOT NULL`

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
	type cand struct {
		code, kind, value string
		projects          int
	}
	var cands []cand
	query := fmt.Sprintf(errorsQuery, sqlList(q.in.eventNames(plan.KindError)))
	err = q.each(query, q.args(), []any{&kind, &code, &value, &wk, &events, &projects, &first, &last}, func() error {
		switch kind {
		case "c":
			if projects < k {
				return nil // "other" under k; its codes are counted by 'x'
			}
			byCode[code.String] = len(rows)
			rows = append(rows, ErrorRow{Code: code.String, Events: events, Projects: projects,
				FirstSeen: first.Time.UTC().Format(dateLayout), LastSeen: last.Time.UTC().Format(dateLayout),
				Attribution: []ErrorAttribution{}})
		case "f":
			if i, ok := byCode[code.String]; ok {
				rows[i].FirstSeen = first.Time.UTC().Format(dateLayout)
			}
		case "v", "o", "m":
			if projects >= k {
				cands = append(cands, cand{code.String, kind, value.String, projects})
			}
		case "s":
			if projects < k {
				r.Suppressed++
				return nil
			}
			series = append(series, ErrorPoint{Week: weekDate(wk.Int64), Code: code.String, Events: events, Projects: projects, Partial: q.partialWeek(wk.Int64)})
		case "x":
			r.Suppressed += int(events)
		}
		return nil
	})
	if err != nil || len(cands) == 0 {
		return err
	}
	// Attribution: the share of a code's projects that reported it on a
	// value against the share of the other active projects that sent any
	// event on it.
	base := map[[2]string]int{}
	var bk, bv string
	var bn int
	if err := q.each(errorBaseQuery, q.args(), []any{&bk, &bv, &bn}, func() error {
		base[[2]string{bk, bv}] = bn
		return nil
	}); err != nil {
		return err
	}
	by := map[string]string{"v": "productVersion", "o": "os", "m": "runtimeMajor"}
	perCode := map[string][]ErrorAttribution{}
	for _, c := range cands {
		i, ok := byCode[c.code]
		if !ok {
			continue
		}
		n1, nv := rows[i].Projects, base[[2]string{c.kind, c.value}]
		restN, restX := n-n1, max(0, nv-c.projects)
		z, p := twoProportionZ(c.projects, n1, restX, restN)
		p = p / 2 // one-sided: more often among the code's projects
		if z <= 0 {
			p = 1 - p
		}
		share, baseShare := ratio(float64(c.projects), float64(n1)), ratio(float64(nv), float64(n))
		perCode[c.code] = append(perCode[c.code], ErrorAttribution{By: by[c.kind], Value: c.value, Projects: c.projects,
			Share: share, BaseShare: baseShare, Lift: ratio(share, baseShare), P: p})
	}
	for code, as := range perCode {
		// Holm over the code's values.
		slices.SortFunc(as, func(a, b ErrorAttribution) int {
			return cmp.Or(cmp.Compare(a.P, b.P), cmp.Compare(b.Lift, a.Lift), cmp.Compare(a.By, b.By), cmp.Compare(a.Value, b.Value))
		})
		row := &rows[byCode[code]]
		prev := 0.0
		for j, a := range as {
			a.P = max(prev, min(1, float64(len(as)-j)*a.P))
			prev = a.P
			if a.P >= attributionP || a.Lift <= 1 {
				continue
			}
			row.Attribution = append(row.Attribution, a)
		}
		// The top value of each dimension: the largest lift among the significant.
		for _, a := range row.Attribution {
			top := map[string]*string{"productVersion": &row.TopVersion, "os": &row.TopOS, "runtimeMajor": &row.TopRuntimeMajor}[a.By]
			if *top == "" || a.Lift > topLift(row.Attribution, a.By, *top) {
				*top = a.Value
			}
		}
	}
	return nil
}

// topLift is the lift of the attribution by/value in as.
func topLift(as []ErrorAttribution, by, value string) float64 {
	for _, a := range as {
		if a.By == by && a.Value == value {
			return a.Lift
		}
	}
	return 0
}
