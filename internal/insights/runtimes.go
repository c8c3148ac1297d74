package insights

import (
	"cmp"
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

func (q *query) runtimes(r *Report) error {
	rows, series := []RuntimeRow{}, []RuntimePoint{}
	defer func() { r.Summary, r.Rows, r.Series = RuntimesSummary{}, rows, series }()
	k := q.in.k
	rc, err := q.qs.Runtimes(q.ctx, q.window(), k)
	if err != nil {
		return err
	}
	r.ActiveProjects = rc.Total.Projects
	// A share of 1 to k−1 projects is not published: nil, counted.
	share := func(n, total int) *float64 {
		if n > 0 && n < k {
			r.Suppressed++
			return nil
		}
		s := ratio(float64(n), float64(total))
		return &s
	}
	for _, c := range rc.Rows {
		r.Suppressed += c.Folded
		if c.Projects < k {
			if c.Version != "" {
				r.Suppressed++
			}
			continue
		}
		rows = append(rows, RuntimeRow{Runtime: c.Runtime, Major: c.Major, Version: c.Version, Projects: c.Projects,
			Share:           ratio(float64(c.Projects), float64(r.ActiveProjects)),
			ProductionShare: share(c.Prod, rc.Total.Prod),
			OtherShare:      share(c.NonProd, rc.Total.NonProd)})
	}
	slices.SortFunc(rows, func(a, b RuntimeRow) int {
		return cmp.Or(cmp.Compare(a.Runtime, b.Runtime), compareVersion(a.Major, b.Major), compareVersion(a.Version, b.Version))
	})

	weeks, err := q.qs.RuntimeWeeks(q.ctx, q.window())
	if err != nil {
		return err
	}
	active := map[int64]int{}
	for _, w := range weeks {
		if w.Major == "" {
			active[w.Week] = w.Projects
		}
	}
	slices.SortFunc(weeks, func(a, b RuntimeWeek) int {
		return cmp.Or(cmp.Compare(a.Week, b.Week), cmp.Compare(a.Runtime, b.Runtime), -cmp.Compare(a.Projects, b.Projects), cmp.Compare(a.Major, b.Major))
	})
	for _, w := range weeks {
		switch {
		case w.Major == "":
		case w.Projects < k:
			r.Suppressed++
		default:
			series = append(series, RuntimePoint{Week: weekDate(w.Week), Runtime: w.Runtime, Major: w.Major,
				Share: ratio(float64(w.Projects), float64(active[w.Week])), Partial: q.partialWeek(w.Week)})
		}
	}
	return nil
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
