package insights

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/abacushq/abacus/internal/plan"
)

// Names lists the reports, in the order the dashboard and the CLI show them.
var Names = []string{"overview", "features", "cohort", "setup", "errors", "plugins", "runtimes"}

var (
	// ErrUnknownReport is wrapped by Run's error for a name not in Names.
	ErrUnknownReport = errors.New("unknown report")
	// ErrBadParams is wrapped by the errors of ParseParams, and of Run when
	// the parameters do not suit the report (cohort without feature or event).
	// Their text starts with the parameter's name and says what was expected:
	// an answer for the client as it is.
	ErrBadParams = errors.New("bad report parameters")
)

// paramError is a bad parameter: its message is for the client.
type paramError struct{ msg string }

func (e *paramError) Error() string { return e.msg }
func (e *paramError) Unwrap() error { return ErrBadParams }

func badParam(format string, args ...any) error { return &paramError{fmt.Sprintf(format, args...)} }

// Report is the answer of every report; api.md in this directory is its JSON
// contract. Summary, Rows and Series hold the report's own types
// (OverviewSummary, []OverviewRow, …); Rows and Series are never nil.
type Report struct {
	Report         string `json:"report"`
	From           string `json:"from"` // YYYY-MM-DD, inclusive
	To             string `json:"to"`   // YYYY-MM-DD, inclusive
	K              int    `json:"k"`
	ActiveProjects int    `json:"activeProjects"` // distinct projects with any event in the window
	Summary        any    `json:"summary"`
	Rows           any    `json:"rows"`
	Series         any    `json:"series"`
	Suppressed     int    `json:"suppressed"` // buckets removed for covering fewer than K projects
}

// Insights computes the reports over a store's events.
type Insights struct {
	b    Backend
	plan *plan.Plan
	k    int
	now  func() time.Time // the clock that says which day is today; time.Now
}

// New returns the reports over the store that b reads, for the events of
// plan p (nil: the default plan). The plan's K is the k-anonymity threshold
// of every report.
func New(b Backend, p *plan.Plan) *Insights {
	if p == nil {
		p = plan.Default()
	}
	k := p.K
	if k < 1 {
		k = plan.DefaultK
	}
	return &Insights{b: b, plan: p, k: k, now: time.Now}
}

// Run computes the report called name over the window of p. A zero p.From or
// p.To means the last 30 days. It reads one snapshot of the store, so every
// number of a report comes from the same events.
func (in *Insights) Run(ctx context.Context, name string, p Params) (*Report, error) {
	run, ok := runners[name]
	if !ok {
		return nil, fmt.Errorf("insights: %w %q (expected one of %s)", ErrUnknownReport, name, strings.Join(Names, ", "))
	}
	if p.From.IsZero() || p.To.IsZero() {
		d, _ := ParseParams(nil, time.Now())
		p.From, p.To = d.From, d.To
	}
	p.From, p.To = day(p.From), day(p.To)
	if p.To.Before(p.From) {
		return nil, badParam("to: expected a date on or after from (%s), got %s", p.From.Format(dateLayout), p.To.Format(dateLayout))
	}
	if name == "cohort" && p.Feature == "" && p.Event == "" {
		return nil, badParam("feature: the cohort report needs feature=NAME or event=NAME")
	}
	if name == "cohort" && p.Feature != "" && p.Event != "" {
		return nil, badParam("event: expected either feature or event, not both")
	}
	qs, err := in.b.Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("insights: cannot start the %s report: %w", name, err)
	}
	defer qs.Close()
	q := &query{ctx: ctx, qs: qs, in: in, p: p, lo: p.From, hi: p.To.AddDate(0, 0, 1), now: in.now().UTC()}
	r := &Report{Report: name, From: p.From.Format(dateLayout), To: p.To.Format(dateLayout), K: in.k}
	if name == "cohort" {
		if err := q.checkCohort(); err != nil {
			if errors.Is(err, ErrBadParams) {
				return nil, err
			}
			return nil, fmt.Errorf("insights: cannot check the cohort: %w", err)
		}
	}
	if err := run(q, r); err != nil {
		return nil, fmt.Errorf("insights: cannot compute the %s report: %w", name, err)
	}
	return r, nil
}

var runners = map[string]func(*query, *Report) error{
	"overview": (*query).overview,
	"features": (*query).features,
	"cohort":   (*query).cohort,
	"setup":    (*query).setup,
	"errors":   (*query).errors,
	"plugins":  (*query).plugins,
	"runtimes": (*query).runtimes,
}

const dateLayout = "2006-01-02"

// day returns the UTC midnight of t's UTC date.
func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// query is one Run: its snapshot and window [lo, hi).
type query struct {
	ctx    context.Context
	qs     Queries
	in     *Insights
	p      Params
	lo, hi time.Time
	now    time.Time
}

// partialDay says whether the day d (days since 1970-01-01) is unfinished:
// today, or later.
func (q *query) partialDay(d int64) bool {
	return time.UnixMilli((d + 1) * 86400000).After(q.now)
}

// partialWeek says whether the week w (see weekOf) is not wholly in the
// window and in the past: it starts before the window, ends after it, or is
// unfinished.
func (q *query) partialWeek(w int64) bool {
	start := time.UnixMilli((7*w - 3) * 86400000)
	end := start.AddDate(0, 0, 7)
	return start.Before(q.lo) || end.After(q.hi) || end.After(q.now)
}

// window is the report's window.
func (q *query) window() Window { return Window{q.lo, q.hi} }

// activeProjects counts the distinct projects with an event in the window.
func (q *query) activeProjects() (int, error) { return q.qs.ActiveProjects(q.ctx, q.window()) }

func weekDate(w int64) string { return time.UnixMilli((7*w - 3) * 86400000).UTC().Format(dateLayout) }
func dayDate(d int64) string  { return time.UnixMilli(d * 86400000).UTC().Format(dateLayout) }

// mondayOf returns the Monday starting t's week (UTC).
func mondayOf(t time.Time) time.Time {
	t = day(t)
	return t.AddDate(0, 0, -((int(t.Weekday()) + 6) % 7))
}

// ratio returns a/b, or 0 when b is 0: reports never hold NaN or Inf.
func ratio(a, b float64) float64 {
	if b == 0 || math.IsNaN(a) || math.IsNaN(b) {
		return 0
	}
	r := a / b
	if math.IsInf(r, 0) || math.IsNaN(r) {
		return 0
	}
	return r
}

// roundMs rounds a duration in milliseconds from SQL (nil: 0).
func roundMs(v *float64) int64 {
	if v == nil || math.IsNaN(*v) || math.IsInf(*v, 0) {
		return 0
	}
	return int64(math.Round(*v))
}

// eventNames returns the names of the plan's events of a kind.
func (in *Insights) eventNames(kind string) []string {
	var names []string
	for _, e := range in.plan.EventsOfKind(kind) {
		names = append(names, e.Name)
	}
	return names
}

// featureEvents lists the plan's feature events and their feature property.
func (in *Insights) featureEvents() []FeatureEvent {
	var fs []FeatureEvent
	for _, e := range in.plan.EventsOfKind(plan.KindFeature) {
		fs = append(fs, FeatureEvent{Name: e.Name, Property: e.FeatureProperty()})
	}
	return fs
}

// other is the value of the row that gathers the buckets under k.
const other = "other"
