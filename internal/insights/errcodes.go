package insights

import (
	"cmp"
	"slices"
	"time"

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

func (q *query) errors(r *Report) error {
	rows, series := []ErrorRow{}, []ErrorPoint{}
	defer func() { r.Summary, r.Rows, r.Series = ErrorsSummary{}, rows, series }()
	n, err := q.activeProjects()
	if err != nil {
		return err
	}
	r.ActiveProjects = n
	k := q.in.k
	ec, err := q.qs.Errors(q.ctx, q.window(), k, q.in.eventNames(plan.KindError))
	if err != nil {
		return err
	}
	r.Suppressed += ec.Folded
	slices.SortFunc(ec.Codes, func(a, b ErrorCodeCount) int {
		return cmp.Or(cmpOther(a.Code, b.Code), -cmp.Compare(a.Projects, b.Projects), -cmp.Compare(a.Events, b.Events), cmp.Compare(a.Code, b.Code))
	})
	byCode := map[string]int{} // index in rows
	for _, c := range ec.Codes {
		if c.Projects < k {
			continue // "other" under k; its codes are counted in Folded
		}
		first := c.First
		if f, ok := ec.FirstBefore[c.Code]; ok {
			first = f
		}
		byCode[c.Code] = len(rows)
		rows = append(rows, ErrorRow{Code: c.Code, Events: c.Events, Projects: c.Projects,
			FirstSeen: msDate(first), LastSeen: msDate(c.Last), Attribution: []ErrorAttribution{}})
	}
	slices.SortFunc(ec.Points, func(a, b WeekCount) int {
		return cmp.Or(cmp.Compare(a.Week, b.Week), -cmp.Compare(a.Projects, b.Projects), -cmp.Compare(a.Events, b.Events), cmp.Compare(a.Value, b.Value))
	})
	for _, p := range ec.Points {
		if p.Projects < k {
			r.Suppressed++
			continue
		}
		series = append(series, ErrorPoint{Week: weekDate(p.Week), Code: p.Value, Events: p.Events, Projects: p.Projects, Partial: q.partialWeek(p.Week)})
	}
	var cands []ErrorValueCount
	for _, v := range ec.Values {
		if v.Projects >= k {
			cands = append(cands, v)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	// Attribution: the share of a code's projects that reported it on a
	// value against the share of the other active projects that sent any
	// event on it.
	bases, err := q.qs.ErrorBase(q.ctx, q.window())
	if err != nil {
		return err
	}
	base := map[[2]string]int{}
	for _, b := range bases {
		base[[2]string{b.Dimension, b.Value}] = b.Projects
	}
	perCode := map[string][]ErrorAttribution{}
	for _, c := range cands {
		i, ok := byCode[c.Code]
		if !ok {
			continue
		}
		n1, nv := rows[i].Projects, base[[2]string{c.Dimension, c.Value}]
		restN, restX := n-n1, max(0, nv-c.Projects)
		z, p := twoProportionZ(c.Projects, n1, restX, restN)
		p = p / 2 // one-sided: more often among the code's projects
		if z <= 0 {
			p = 1 - p
		}
		share, baseShare := ratio(float64(c.Projects), float64(n1)), ratio(float64(nv), float64(n))
		perCode[c.Code] = append(perCode[c.Code], ErrorAttribution{By: c.Dimension, Value: c.Value, Projects: c.Projects,
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

// msDate is the UTC date of a time in ms since the epoch.
func msDate(ms int64) string { return time.UnixMilli(ms).UTC().Format(dateLayout) }
