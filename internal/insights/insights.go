package insights

import (
	"context"
	"database/sql"
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

// Insights computes the reports over a store's DuckDB database.
type Insights struct {
	db   *sql.DB
	plan *plan.Plan
	k    int
	now  func() time.Time // the clock that says which day is today; time.Now
}

// New returns the reports over db, the *sql.DB of a duckdb.Store (read only),
// for the events of plan p (nil: the default plan). The plan's K is the
// k-anonymity threshold of every report.
func New(db *sql.DB, p *plan.Plan) *Insights {
	if p == nil {
		p = plan.Default()
	}
	k := p.K
	if k < 1 {
		k = plan.DefaultK
	}
	return &Insights{db: db, plan: p, k: k, now: time.Now}
}

// Run computes the report called name over the window of p. A zero p.From or
// p.To means the last 30 days. It runs a few SQL queries in one read
// transaction, so every number of a report comes from the same snapshot.
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
	tx, err := in.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("insights: cannot start the %s report: %w", name, err)
	}
	defer tx.Rollback() // read only: nothing to commit
	q := &query{ctx: ctx, tx: tx, in: in, p: p, lo: p.From, hi: p.To.AddDate(0, 0, 1), now: in.now().UTC()}
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

// query is one Run: its transaction and window [lo, hi).
type query struct {
	ctx    context.Context
	tx     *sql.Tx
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

// args returns the named parameters every query may use: $lo and $hi (the
// window), $k, plus extra.
func (q *query) args(extra ...any) []any {
	return append([]any{sql.Named("lo", q.lo), sql.Named("hi", q.hi), sql.Named("k", q.in.k)}, extra...)
}

// each runs a query and calls fn for every row, after which scan has filled
// the destinations.
func (q *query) each(query string, args []any, dest []any, fn func() error) error {
	rows, err := q.tx.QueryContext(q.ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if err := fn(); err != nil {
			return err
		}
	}
	return rows.Err()
}

// projectCount returns the number of distinct projects in the store: the
// upper bound of the dense project numbers (pn) of projectNumbers, which
// bitstring_agg needs as a constant.
func (q *query) projectCount() (int, error) {
	var n int
	err := q.tx.QueryRowContext(q.ctx, `SELECT count(DISTINCT project_id) FROM sources`).Scan(&n)
	return n, err
}

// projectNumbers is a CTE numbering the projects 1…n (dense, in project_id
// order) for each source. Counting distinct small integers, or setting their
// bits with bitstring_agg(pn, 1, n) and counting them with bit_count, is
// several times faster over millions of events than count(DISTINCT
// project_id) over 32-character strings.
const projectNumbers = `src AS (
	SELECT source_id, (dense_rank() OVER (ORDER BY project_id))::INTEGER AS pn FROM sources
)`

// bitstringBudget bounds the memory of the project bitstrings of one query:
// buckets × n/8 bytes (each of DuckDB's threads may hold a copy).
var bitstringBudget int64 = 32 << 20

// projectSets returns a CTE named wb over the window's events, joined to a
// CTE src that holds each source's project number pn, grouped by keys (SQL
// select items, such as "<day> AS d"), and the aggregate that counts the
// distinct projects of any grouping of wb's rows (coalesce it to 0 for no
// rows); sum(events) counts their events. While buckets bitstrings of n bits
// fit in bitstringBudget, wb holds one bitstring of projects per key (one bit
// operation an event); beyond, one row per key and project (a hash table as
// large as the distinct pairs), which gives the same counts.
func projectSets(keys string, n, buckets int) (cte, count string) {
	if int64(buckets)*int64(n/8+1) <= bitstringBudget {
		return fmt.Sprintf(`wb AS (
	SELECT %s, count(*) AS events, bitstring_agg(pn, 1, %d) AS bs
	FROM event_rows JOIN src USING (source_id)
	WHERE time >= $lo AND time < $hi
	GROUP BY ALL
)`, keys, max(n, 1)), `bit_count(bit_or(bs))`
	}
	return fmt.Sprintf(`wb AS (
	SELECT %s, pn, count(*) AS events
	FROM event_rows JOIN src USING (source_id)
	WHERE time >= $lo AND time < $hi
	GROUP BY ALL
)`, keys), `count(DISTINCT pn)`
}

// days and weeks count the days and the weeks the window touches.
func (q *query) days() int  { return int(q.hi.Sub(q.lo) / (24 * time.Hour)) }
func (q *query) weeks() int { return q.days()/7 + 2 }

// activeProjects counts the distinct projects with an event in the window.
func (q *query) activeProjects() (int, error) {
	var n int
	err := q.tx.QueryRowContext(q.ctx, `SELECT count(DISTINCT project_id) FROM sources
		WHERE source_id IN (SELECT source_id FROM event_rows WHERE time >= $lo AND time < $hi)`, q.args()...).Scan(&n)
	return n, err
}

// The week of a time: weeks are numbered since the Monday 1969-12-29, so
// week w starts on day 7w−3 after 1970-01-01.
const (
	weekOf = `((epoch_ms(time) // 86400000 + 3) // 7)`
	dayOf  = `(epoch_ms(time) // 86400000)`
)

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

// sqlString quotes s as an SQL string literal. Only names from the plan
// (validated identifiers) are written into SQL this way; values from the
// request are bound as parameters.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// sqlList quotes names as a list for IN (…); an empty list matches nothing.
func sqlList(names []string) string {
	if len(names) == 0 {
		return "(NULL)"
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = sqlString(n)
	}
	return "(" + strings.Join(q, ", ") + ")"
}

// eventNames returns the names of the plan's events of a kind.
func (in *Insights) eventNames(kind string) []string {
	var names []string
	for _, e := range in.plan.EventsOfKind(kind) {
		names = append(names, e.Name)
	}
	return names
}

// featureExpr is the SQL of an event's feature (for events of kind feature):
// its "feature" property where the plan declares one, else its name.
func (in *Insights) featureExpr() string {
	var withProp []string
	for _, e := range in.plan.EventsOfKind(plan.KindFeature) {
		if e.FeatureProperty() != "" {
			withProp = append(withProp, e.Name)
		}
	}
	if len(withProp) == 0 {
		return "name"
	}
	return `CASE WHEN name IN ` + sqlList(withProp) + ` THEN json_extract_string(properties, '$.feature') ELSE name END`
}

// other is the value of the row that gathers the buckets under k.
const other = "other"
