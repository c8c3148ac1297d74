package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/abacushq/abacus/internal/human"
	"github.com/abacushq/abacus/internal/insights"
)

// view is what a template shows.
type view struct {
	Product  string
	Page     string // the report, "" on the sign-in and not-found pages
	Title    string
	Question string
	Nav      []navLink
	Controls *controls
	Error    string
	Window   string
	KPIs     []kpi
	Verdict  *verdict
	Figures  []*figure
	Tables   []*table
	Notes    []string
	APIURL   string
	Next     string // sign-in: where to go after
}

type navLink struct {
	Title, URL string
	Current    bool
}

type kpi struct{ Label, Value, Note string }

// verdict is a key figure that answers a question, with its reasons: a card
// as wide as the page, after the others.
type verdict struct {
	Label, Value string
	Lines        []string // one reason a line
}

// figure is a chart with its caption, legend and data table. A figure with
// no data shows Empty instead of a chart.
type figure struct {
	ID, Title, Kind string
	SVG             template.HTML
	Legend          []string
	Note            string // below the legend: how to read the chart
	Data            *table
	Empty           string
}

type table struct {
	Caption string
	Head    []column
	Rows    [][]string
	Muted   bool // greyed: rows shown for reference only
}

type column struct {
	Name string
	Num  bool // right-aligned
}

type controls struct {
	Range    string
	Ranges   []option
	From, To string
	Selects  []selectControl
}

type selectControl struct {
	Name, Label string
	Groups      []optionGroup
}

type optionGroup struct {
	Label   string // "" for options outside any group
	Options []option
}

type option struct {
	Value, Label string
	Selected     bool
}

// page is one report's page.
type page struct {
	name, title, question string
	url                   string
	build                 func(h *Handler, r *http.Request, v *view, q url.Values, p insights.Params) (*insights.Report, error)
}

var pages = []*page{
	{"overview", "Overview", "How many projects use the product, where, and on which version?", "/", (*Handler).overview},
	{"features", "Features", "Is each feature used, and is its use growing?", "/features", (*Handler).features},
	{"cohort", "Cohorts", "What do the projects that use a feature have in common?", "/cohort", (*Handler).cohort},
	{"setup", "Setup time", "How long does setting up a project take, and is it getting longer?", "/setup", (*Handler).setup},
	{"errors", "Errors", "Which errors do users hit, and on what?", "/errors", (*Handler).errors},
	{"plugins", "Plugins", "Which plugins are most used?", "/plugins", (*Handler).plugins},
	{"runtimes", "Runtimes", "Which runtime versions does the community run?", "/runtimes", (*Handler).runtimes},
}

// ranges are the windows of the range control; "custom" takes from and to.
var ranges = []option{{"7d", "Last 7 days", false}, {"14d", "Last 14 days", false}, {"30d", "Last 30 days", false},
	{"90d", "Last 90 days", false}, {"180d", "Last 180 days", false}, {"365d", "Last 365 days", false}, {"custom", "Dates below", false}}

// errBadControl marks a control value the page does not know.
var errBadControl = errors.New("bad control")

func badControl(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errBadControl}, args...)...)
}

// page serves a report's page: the report named by the path, with the
// window and the controls of the query string.
func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("page")
	if name == "" {
		name = "overview"
	}
	i := slices.IndexFunc(pages, func(p *page) bool { return p.name == name })
	if i < 0 || (name == "overview" && r.URL.Path != "/") {
		h.render(w, http.StatusNotFound, "notfound", &view{Title: "Not found", Product: h.cfg.Plan.Product})
		return
	}
	form := r.URL.Query()
	if form.Has("range") {
		// The window was named range before it took the report API's name,
		// last; old links and bookmarks land on the same window.
		rng := form.Get("range")
		form.Del("range")
		if rng != "custom" && rng != "" && !form.Has("last") {
			form.Set("last", rng)
		}
		http.Redirect(w, r, withQuery(r.URL.Path, form), http.StatusMovedPermanently)
		return
	}
	if !h.SignedIn(r) {
		http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	pg := pages[i]
	v := &view{Product: h.cfg.Plan.Product, Page: pg.name, Title: pg.title, Question: pg.question}
	window := url.Values{}
	for _, k := range []string{"last", "from", "to"} {
		if s := form.Get(k); s != "" {
			window.Set(k, s)
		}
	}
	for _, p := range pages {
		v.Nav = append(v.Nav, navLink{Title: p.title, URL: withQuery(p.url, window), Current: p == pg})
	}
	v.Controls = &controls{Range: form.Get("last"), From: form.Get("from"), To: form.Get("to")}
	q, err := reportQuery(form)
	var p insights.Params
	if err == nil {
		p, err = insights.ParseParams(q, h.cfg.Now().UTC())
	}
	if err == nil && v.Controls.Range == "" {
		v.Controls.Range = "30d"
		if form.Get("from") != "" || form.Get("to") != "" {
			v.Controls.Range = "custom"
		}
	}
	if err == nil {
		v.Controls.From, v.Controls.To = p.From.Format(time.DateOnly), p.To.Format(time.DateOnly)
	}
	for _, o := range ranges {
		o.Selected = o.Value == v.Controls.Range
		v.Controls.Ranges = append(v.Controls.Ranges, o)
	}
	if err == nil && !slices.ContainsFunc(ranges, func(o option) bool { return o.Value == v.Controls.Range }) {
		// A window the menu does not offer (last=12w, as the API takes it).
		v.Controls.Ranges = append(v.Controls.Ranges, option{v.Controls.Range, "Last " + v.Controls.Range, true})
	}
	status := http.StatusOK
	switch {
	case err != nil:
		v.Error, status = err.Error(), http.StatusBadRequest
	case h.cfg.Reports == nil:
		v.Error, status = "This store offers no reports.", http.StatusNotFound
	default:
		rep, err := pg.build(h, r, v, q, p)
		switch {
		case err == nil:
			v.Window, v.Notes = windowText(rep), suppressedNote(rep)
			explainEmpty(v, rep)
			v.APIURL = withQuery("/api/v1/reports/"+pg.name, q)
		case errors.Is(err, insights.ErrBadParams), errors.Is(err, errBadControl):
			v.Error, status = strings.TrimPrefix(err.Error(), errBadControl.Error()+": "), http.StatusBadRequest
		case r.Context().Err() != nil:
			return // the browser has gone
		default:
			h.cfg.Logger.Error("dashboard: report failed", "report", pg.name, "err", err)
			v.Error, status = "The report could not be computed; the server log says why.", http.StatusInternalServerError
		}
		if err != nil {
			v.Figures, v.Tables, v.KPIs, v.Verdict = nil, nil, nil, nil
		}
	}
	h.render(w, status, "page", v)
}

// reportQuery turns the dashboard's query (last, from, to, cohort) into
// the report API's (last, from, to, feature, event). The window has the API's
// name and values (last=90d, last=12w), plus last=custom: the dates below.
func reportQuery(form url.Values) (url.Values, error) {
	q := url.Values{}
	switch last := form.Get("last"); last {
	case "custom", "":
		for _, k := range []string{"from", "to"} {
			if s := form.Get(k); s != "" {
				q.Set(k, s)
			}
		}
	default:
		q.Set("last", last)
	}
	if c := form.Get("cohort"); c != "" {
		kind, name, ok := strings.Cut(c, ":")
		if !ok || (kind != "feature" && kind != "event") || name == "" {
			return nil, fmt.Errorf("cohort: expected feature:NAME or event:NAME, got %q", c)
		}
		q.Set(kind, name)
	}
	return q, nil
}

// run computes a report within the page's time budget.
func (h *Handler) run(r *http.Request, name string, p insights.Params) (*insights.Report, error) {
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.Timeout)
	defer cancel()
	return h.cfg.Reports.Run(ctx, name, p)
}

// choose reads a select control's value from the query: one of values, the
// first when absent.
func choose(form url.Values, name string, values ...string) (string, error) {
	s := form.Get(name)
	if s == "" {
		return values[0], nil
	}
	if !slices.Contains(values, s) {
		return "", badControl("%s: expected one of %s, got %q", name, strings.Join(values, ", "), s)
	}
	return s, nil
}

// selectOf builds a select control from values and their labels.
func selectOf(name, label, current string, values, labels []string) selectControl {
	g := optionGroup{}
	for i, val := range values {
		g.Options = append(g.Options, option{Value: val, Label: labels[i], Selected: val == current})
	}
	return selectControl{Name: name, Label: label, Groups: []optionGroup{g}}
}

func withQuery(u string, q url.Values) string {
	if len(q) == 0 {
		return u
	}
	return u + "?" + q.Encode()
}

// windowText describes the report's window.
func windowText(rep *insights.Report) string {
	from, _ := time.Parse(time.DateOnly, rep.From)
	to, _ := time.Parse(time.DateOnly, rep.To)
	days := int(to.Sub(from)/(24*time.Hour)) + 1
	return fmt.Sprintf("%s – %s (%s, UTC) · %s · buckets under %d projects are hidden",
		longDate(rep.From), longDate(rep.To), human.Plural(days, "day"), human.Plural(rep.ActiveProjects, "active project"), rep.K)
}

// suppressedNote says how many buckets k-anonymity hid, if any.
func suppressedNote(rep *insights.Report) []string {
	if rep.Suppressed == 0 {
		return nil
	}
	verb := "were"
	if rep.Suppressed == 1 {
		verb = "was"
	}
	return []string{fmt.Sprintf("%s covered fewer than %d projects and %s folded into “other” or left out.",
		human.Plural(rep.Suppressed, "bucket"), rep.K, verb)}
}

// explainEmpty says in each empty chart why it is empty: too few projects in
// the window for any bucket to be shown, buckets hidden for covering fewer
// than k projects, or no data.
func explainEmpty(v *view, rep *insights.Report) {
	msg := ""
	switch {
	case rep.ActiveProjects < rep.K:
		msg = fmt.Sprintf("Nothing to show yet: %s sent events in this window. "+
			"At least %d projects must have sent events in the window before a chart can show anything (for privacy).",
			human.Plural(rep.ActiveProjects, "project"), rep.K)
	case rep.Suppressed > 0:
		msg = fmt.Sprintf("Hidden: fewer than %d projects in each bucket of this chart (%s hidden in this report, for privacy).",
			rep.K, human.Plural(rep.Suppressed, "bucket"))
	default:
		return
	}
	for _, f := range v.Figures {
		if f.Empty != "" {
			f.Empty = msg
		}
	}
}

// newFigure returns a figure to draw with line, bars or histogram.
func newFigure(id, title, kind string) *figure {
	return &figure{ID: id, Title: title, Kind: kind}
}

func (f *figure) line(c lineChart) *figure {
	if len(c.X) == 0 || len(c.Series) == 0 {
		f.Empty = "No data in this window."
		return f
	}
	f.SVG = c.svg(fmt.Sprintf("%s: %s over %s from %s to %s", chartWord(f.Kind), f.Title, human.Plural(len(c.X), "point"), c.X[0], c.X[len(c.X)-1]))
	if len(c.Series) > 1 {
		for _, s := range c.Series {
			f.Legend = append(f.Legend, s.Name)
		}
	}
	if slices.Contains(c.Partial, true) {
		f.Note = "Hollow points and dashed lines: partial periods (not over yet, or not wholly in the window), not drops."
	}
	head := []column{{Name: "Date"}}
	for _, s := range c.Series {
		head = append(head, column{Name: s.Name, Num: true})
	}
	f.Data = &table{Head: head}
	for i, x := range c.X {
		row := []string{x}
		for _, s := range c.Series {
			row = append(row, c.Format(s.Values[i]))
		}
		f.Data.Rows = append(f.Data.Rows, row)
	}
	return f
}

func (f *figure) bars(c barChart) *figure {
	if len(c.Rows) == 0 {
		f.Empty = "No data in this window."
		return f
	}
	f.SVG = c.svg(fmt.Sprintf("%s: %s, %s, first %s", chartWord(f.Kind), f.Title, human.Plural(len(c.Rows), "row"), c.Rows[0].Label))
	groups := c.Groups
	if len(groups) == 0 {
		groups = []string{"Value"}
	} else if len(groups) > 1 {
		f.Legend = groups
	}
	head := []column{{Name: ""}}
	for _, g := range groups {
		head = append(head, column{Name: g, Num: true})
	}
	f.Data = &table{Head: head}
	for _, r := range c.Rows {
		row := []string{r.Label}
		for _, v := range r.Values {
			row = append(row, c.Format(v))
		}
		f.Data.Rows = append(f.Data.Rows, row)
	}
	return f
}

func (f *figure) histogram(c histogram) *figure {
	if len(c.Counts) == 0 || len(c.Edges) != len(c.Counts)+1 {
		f.Empty = "No data in this window."
		return f
	}
	f.SVG = c.svg(fmt.Sprintf("Histogram: %s, %s", f.Title, human.Plural(len(c.Counts), "bucket")))
	f.Data = &table{Head: []column{{Name: "From"}, {Name: "To"}, {Name: "Projects", Num: true}}}
	for i, n := range c.Counts {
		v := c.Hidden
		if !math.IsNaN(n) {
			v = c.Format(n)
		}
		f.Data.Rows = append(f.Data.Rows, []string{c.Edges[i], c.Edges[i+1], v})
	}
	if slices.ContainsFunc(c.Counts, math.IsNaN) {
		f.Note = "Dashed outlines: buckets hidden for privacy (" + c.Hidden + "), not empty ones."
	}
	return f
}

func chartWord(kind string) string {
	switch kind {
	case "line":
		return "Line chart"
	case "area":
		return "Area chart"
	}
	return "Bar chart"
}
