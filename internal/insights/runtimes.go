package insights

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// RuntimesSummary is the runtimes report's summary (empty).
type RuntimesSummary struct{}

// RuntimeRow counts the projects with an event on a runtime version in the
// window: a row per major (Version "") and one per major.minor. A project
// that ran several versions counts in each. Majors under k fold into the
// major "other"; major.minor rows under k are dropped (their projects stay in
// their major's row).
type RuntimeRow struct {
	Runtime         string   `json:"runtime"`
	Major           string   `json:"major"`
	Version         string   `json:"version"`
	Projects        int      `json:"projects"`
	Share           float64  `json:"share"`           // of active projects
	ProductionShare *float64 `json:"productionShare"` // of the projects with a production event, those with one on this version; nil when 1 to k−1 projects
	OtherShare      *float64 `json:"otherShare"`      // the same for events of every other environment
}

// RuntimePoint is a major's share of the active projects of a week.
type RuntimePoint struct {
	Week    string  `json:"week"`
	Runtime string  `json:"runtime"`
	Major   string  `json:"major"`
	Share   float64 `json:"share"`
	Partial bool    `json:"partial"` // the week is not wholly in the window and over
}

// runtimesRows reads the distinct (source, production or not) pairs of the
// window, then counts projects on the sources' facts. Kinds: 'a' totals (all,
// production, other environments), 'j' a major with the number of majors
// folded into it, 'v' a major.minor of a major that is not folded.
const runtimesRows = `WITH sp AS (
	SELECT source_id, coalesce(environment = 'production', false) AS prod
	FROM event_rows WHERE time >= $lo AND time < $hi GROUP BY ALL
), s AS (
	SELECT so.project_id, sp.prod, coalesce(so.runtime, '') AS runtime,
		nullif(split_part(so.runtime_version, '.', 1), '') AS major,
		regexp_extract(so.runtime_version, '^[^.]*(\.[^.]*)?') AS version
	FROM sp JOIN sources so USING (source_id)
), mj AS (
	SELECT runtime, major, count(DISTINCT project_id) AS n FROM s WHERE major IS NOT NULL GROUP BY ALL
), m AS (
	SELECT s.*, mj.n, CASE WHEN mj.n >= $k THEN s.major ELSE 'other' END AS major2 FROM s JOIN mj USING (runtime, major)
)
SELECT 'a' AS kind, '' AS runtime, '' AS major, '' AS version, count(DISTINCT project_id) AS projects,
	count(DISTINCT project_id) FILTER (WHERE prod) AS prod, count(DISTINCT project_id) FILTER (WHERE NOT prod) AS nonprod, 0 AS folded
FROM s
UNION ALL
SELECT 'j', runtime, major2, '', count(DISTINCT project_id), count(DISTINCT project_id) FILTER (WHERE prod),
	count(DISTINCT project_id) FILTER (WHERE NOT prod), count(DISTINCT major) FILTER (WHERE n < $k)
FROM m GROUP BY runtime, major2
UNION ALL
SELECT 'v', runtime, major, version, count(DISTINCT project_id), count(DISTINCT project_id) FILTER (WHERE prod),
	count(DISTINCT project_id) FILTER (WHERE NOT prod), 0
FROM m WHERE major2 <> 'other' GROUP BY ALL`

// runtimesSeries makes one pass over the window's events, grouped on
// integers only (rm numbers the sources' runtime and major; see projectSets):
// the projects of each (week, runtime major), and of each week. Kinds: 'w' a
// week's active projects, 'p' a point.
const runtimesSeries = `WITH s AS (
	SELECT source_id, (dense_rank() OVER (ORDER BY project_id))::INTEGER AS pn, coalesce(runtime, '') AS runtime,
		nullif(split_part(runtime_version, '.', 1), '') AS major
	FROM sources
), src AS (
	SELECT source_id, pn, (dense_rank() OVER (ORDER BY runtime, major))::INTEGER AS rm, runtime, major FROM s
), names AS (
	SELECT DISTINCT rm, runtime, major FROM src
), %[1]s
SELECT 'w' AS kind, wk, '' AS runtime, '' AS major, %[2]s AS n FROM wb GROUP BY wk
UNION ALL
SELECT 'p', wk, runtime, major, %[2]s FROM wb JOIN names USING (rm) WHERE major IS NOT NULL GROUP BY wk, runtime, major
ORDER BY kind DESC, wk, runtime, n DESC, major`

// runtimesCounts counts the projects and the (runtime, major) pairs of the
// store: the size of runtimesSeries' bitstrings and their number a week.
const runtimesCounts = `SELECT count(DISTINCT project_id),
	count(DISTINCT (coalesce(runtime, ''), split_part(runtime_version, '.', 1))) FROM sources`

func (q *query) runtimes(r *Report) error {
	rows, series := []RuntimeRow{}, []RuntimePoint{}
	defer func() { r.Summary, r.Rows, r.Series = RuntimesSummary{}, rows, series }()
	var (
		kind, runtime, major, version string
		projects, prod, nonprod, fold int
		totalProd, totalOther         int
	)
	k := q.in.k
	err := q.each(runtimesRows, q.args(), []any{&kind, &runtime, &major, &version, &projects, &prod, &nonprod, &fold}, func() error {
		if kind == "a" {
			r.ActiveProjects, totalProd, totalOther = projects, prod, nonprod
			return nil
		}
		r.Suppressed += fold
		if projects < k {
			if kind == "v" {
				r.Suppressed++
			}
			return nil
		}
		// A share of 1 to k−1 projects is not published: nil, counted.
		share := func(n, total int) *float64 {
			if n > 0 && n < k {
				r.Suppressed++
				return nil
			}
			s := ratio(float64(n), float64(total))
			return &s
		}
		rows = append(rows, RuntimeRow{Runtime: runtime, Major: major, Version: version, Projects: projects,
			Share:           ratio(float64(projects), float64(r.ActiveProjects)),
			ProductionShare: share(prod, totalProd),
			OtherShare:      share(nonprod, totalOther)})
		return nil
	})
	if err != nil {
		return err
	}
	slices.SortFunc(rows, func(a, b RuntimeRow) int {
		return cmp.Or(cmp.Compare(a.Runtime, b.Runtime), compareVersion(a.Major, b.Major), compareVersion(a.Version, b.Version))
	})

	var n, majors int
	if err := q.tx.QueryRowContext(q.ctx, runtimesCounts).Scan(&n, &majors); err != nil || n == 0 {
		return err
	}
	var (
		wk     int64
		count  int
		active = map[int64]int{}
	)
	cte, agg := projectSets(weekOf+" AS wk, rm", n, q.weeks()*(majors+1))
	return q.each(fmt.Sprintf(runtimesSeries, cte, agg), q.args(), []any{&kind, &wk, &runtime, &major, &count}, func() error {
		switch {
		case kind == "w":
			active[wk] = count
		case count < k:
			r.Suppressed++
		default:
			series = append(series, RuntimePoint{Week: weekDate(wk), Runtime: runtime, Major: major, Share: ratio(float64(count), float64(active[wk])), Partial: q.partialWeek(wk)})
		}
		return nil
	})
}

// compareVersion orders dotted versions by their numeric parts ("" first,
// "other" and other non-numbers last).
func compareVersion(a, b string) int {
	if a == b {
		return 0
	}
	if a == "" || b == "" {
		return cmp.Compare(a, b)
	}
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, errx := strconv.Atoi(as[i])
		y, erry := strconv.Atoi(bs[i])
		switch {
		case errx == nil && erry == nil:
			if c := cmp.Compare(x, y); c != 0 {
				return c
			}
		case errx == nil:
			return -1
		case erry == nil:
			return 1
		default:
			if c := cmp.Compare(as[i], bs[i]); c != 0 {
				return c
			}
		}
	}
	return cmp.Compare(len(as), len(bs))
}
