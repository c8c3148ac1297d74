package web

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"sync"

	"github.com/abacushq/abacus/internal/insights"
)

// Each builder runs its page's report and turns it into key figures, charts
// and tables. Charts show the first rows of a ranking; the tables show all.

// maxBars and maxLines bound a chart: the rest of the data is in its table.
const (
	maxBars  = 15
	maxLines = 6
)

// grid collects points into series over sorted x values; a series without a
// point at some x gets NaN there.
type grid struct {
	xs      map[string]bool
	order   []string
	values  map[string]map[string]float64
	partial map[string]bool // x values of periods not over or not wholly in the window
}

func newGrid() *grid {
	return &grid{xs: map[string]bool{}, values: map[string]map[string]float64{}, partial: map[string]bool{}}
}

// markPartial records that the period x is partial when p.
func (g *grid) markPartial(x string, p bool) {
	if p {
		g.partial[x] = true
	}
}

// partials returns, in the order of chart's x labels, which are partial.
func (g *grid) partials() []bool {
	xs := make([]string, 0, len(g.xs))
	for x := range g.xs {
		xs = append(xs, x)
	}
	sort.Strings(xs)
	out := make([]bool, len(xs))
	for i, x := range xs {
		out[i] = g.partial[x]
	}
	return out
}

func (g *grid) add(name, x string, v float64) {
	g.xs[x] = true
	if g.values[name] == nil {
		g.values[name] = map[string]float64{}
		g.order = append(g.order, name)
	}
	g.values[name][x] = v
}

// chart returns the x labels (dates, shortened) and the series named in keep
// (all, in order of appearance, when keep is nil).
func (g *grid) chart(keep []string) ([]string, []series) {
	xs := make([]string, 0, len(g.xs))
	for x := range g.xs {
		xs = append(xs, x)
	}
	sort.Strings(xs)
	if keep == nil {
		keep = g.order
	}
	var out []series
	for _, name := range keep {
		vals, ok := g.values[name]
		if !ok {
			continue
		}
		s := series{Name: name, Values: make([]float64, len(xs))}
		for i, x := range xs {
			v, ok := vals[x]
			if !ok {
				v = math.NaN()
			}
			s.Values[i] = v
		}
		out = append(out, s)
	}
	labels := make([]string, len(xs))
	for i, x := range xs {
		labels[i] = shortDate(x)
	}
	return labels, out
}

var dimensionLabels = map[string]string{
	"environment": "environment", "os": "operating system", "productVersion": "product version", "runtimeMajor": "runtime major",
}

func (h *Handler) overview(r *http.Request, v *view, q url.Values, p insights.Params) (*insights.Report, error) {
	by, err := choose(r.URL.Query(), "by", "environment", "os", "productVersion")
	if err != nil {
		return nil, err
	}
	v.Controls.Selects = append(v.Controls.Selects, selectOf("by", "Projects by", by,
		[]string{"environment", "os", "productVersion"}, []string{"Environment", "Operating system", "Product version"}))
	rep, err := h.run(r, "overview", p)
	if err != nil {
		return nil, err
	}
	sum := rep.Summary.(insights.OverviewSummary)
	v.KPIs = []kpi{
		{"Active projects", count(float64(rep.ActiveProjects)), "sent at least one event"},
		{"Machines", count(float64(sum.Machines)), "distinct hashed machine IDs"},
		{"Events", count(float64(sum.Events)), ""},
		{"Seen in CI", percent(sum.CIShare), "of active projects"},
	}
	points := rep.Series.([]insights.OverviewPoint)
	events, active := newGrid(), newGrid()
	for _, pt := range points {
		events.add("Events", pt.Date, float64(pt.Events))
		active.add("Active projects", pt.Date, float64(pt.ActiveProjects))
		events.markPartial(pt.Date, pt.Partial)
		active.markPartial(pt.Date, pt.Partial)
	}
	x, s := events.chart(nil)
	v.Figures = append(v.Figures, newFigure("events-per-day", "Events per day", "area").line(lineChart{X: x, Series: s, Format: count, Area: true, Ticks: wholeTicks, Partial: events.partials()}))
	x, s = active.chart(nil)
	v.Figures = append(v.Figures, newFigure("projects-per-day", "Active projects per day", "line").line(lineChart{X: x, Series: s, Format: count, Ticks: wholeTicks, Partial: active.partials()}))
	var bars []bar
	for _, row := range rep.Rows.([]insights.OverviewRow) {
		if row.Dimension == by {
			bars = append(bars, bar{Label: row.Value, Values: []float64{row.Share}})
		}
	}
	v.Figures = append(v.Figures, newFigure("projects-by", "Share of active projects by "+dimensionLabels[by], "bars").
		bars(barChart{Rows: head(bars, maxBars), Format: percent, Max: 1}))
	t := &table{Caption: "Active projects by environment, operating system and product version",
		Head: []column{{Name: "Dimension"}, {Name: "Value"}, {Name: "Projects", Num: true}, {Name: "Share", Num: true}}}
	for _, row := range rep.Rows.([]insights.OverviewRow) {
		t.Rows = append(t.Rows, []string{dimensionLabels[row.Dimension], row.Value, count(float64(row.Projects)), percent(row.Share)})
	}
	v.Tables = append(v.Tables, t)
	return rep, nil
}

func (h *Handler) features(r *http.Request, v *view, q url.Values, p insights.Params) (*insights.Report, error) {
	rep, err := h.run(r, "features", p)
	if err != nil {
		return nil, err
	}
	rows := rep.Rows.([]insights.FeatureRow)
	var bars []bar
	var top []string
	t := &table{Caption: "Adoption by feature", Head: []column{{Name: "Feature"}, {Name: "Projects", Num: true}, {Name: "Adoption", Num: true}}}
	for _, row := range rows {
		bars = append(bars, bar{Label: row.Feature, Values: []float64{row.Adoption}})
		if len(top) < maxLines {
			top = append(top, row.Feature)
		}
		t.Rows = append(t.Rows, []string{row.Feature, count(float64(row.Projects)), percent(row.Adoption)})
	}
	v.KPIs = []kpi{{"Active projects", count(float64(rep.ActiveProjects)), ""}, {"Features in use", count(float64(len(rows))), fmt.Sprintf("by at least %d projects", rep.K)}}
	if len(rows) > 0 {
		v.KPIs = append(v.KPIs, kpi{"Most adopted", rows[0].Feature, percent(rows[0].Adoption) + " of active projects"})
	}
	v.Figures = append(v.Figures, newFigure("adoption", "Adoption: share of active projects that used each feature", "bars").
		bars(barChart{Rows: head(bars, maxBars), Format: percent, Max: 1}))
	g := newGrid()
	for _, pt := range rep.Series.([]insights.FeaturePoint) {
		g.add(pt.Feature, pt.Week, pt.Adoption)
		g.markPartial(pt.Week, pt.Partial)
	}
	x, s := g.chart(top)
	v.Figures = append(v.Figures, newFigure("adoption-weekly", "Weekly adoption of the most adopted features (week starting)", "line").
		line(lineChart{X: x, Series: s, Format: percent, Partial: g.partials()}))
	v.Tables = append(v.Tables, t)
	return rep, nil
}

func (h *Handler) cohort(r *http.Request, v *view, q url.Values, p insights.Params) (*insights.Report, error) {
	// The picker lists the features in use in the window and the plan's
	// events; with none picked, the page shows the most adopted feature.
	var (
		feats    *insights.Report
		featsErr error
		wg       sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		feats, featsErr = h.run(r, "features", p)
	}()
	if p.Feature == "" && p.Event == "" {
		wg.Wait()
		if featsErr != nil {
			return nil, featsErr
		}
		if rows := feats.Rows.([]insights.FeatureRow); len(rows) > 0 && rows[0].Feature != "other" {
			p.Feature = rows[0].Feature
		} else if len(h.cfg.Plan.Events) > 0 {
			p.Event = h.cfg.Plan.Events[0].Name
		}
	}
	rep, err := h.run(r, "cohort", p)
	wg.Wait()
	if err == nil {
		err = featsErr
	}
	if err != nil {
		return nil, err
	}
	current := "feature:" + p.Feature
	if p.Event != "" {
		current = "event:" + p.Event
	}
	fg := optionGroup{Label: "Features"}
	for _, row := range feats.Rows.([]insights.FeatureRow) {
		if row.Feature != "other" {
			fg.Options = append(fg.Options, option{Value: "feature:" + row.Feature, Label: row.Feature, Selected: current == "feature:"+row.Feature})
		}
	}
	eg := optionGroup{Label: "Events"}
	for _, e := range h.cfg.Plan.Events {
		eg.Options = append(eg.Options, option{Value: "event:" + e.Name, Label: e.Name, Selected: current == "event:"+e.Name})
	}
	if p.Feature != "" && !slices.ContainsFunc(fg.Options, func(o option) bool { return o.Selected }) {
		fg.Options = append(fg.Options, option{Value: current, Label: p.Feature, Selected: true})
	}
	v.Controls.Selects = append(v.Controls.Selects, selectControl{Name: "cohort", Label: "Cohort: projects that used", Groups: []optionGroup{fg, eg}})

	sum := rep.Summary.(insights.CohortSummary)
	who := "feature " + sum.Feature
	if sum.Event != "" {
		who = "event " + sum.Event
	}
	v.KPIs = []kpi{
		{"In the cohort", countOr(sum.Cohort, rep.K), "active projects that used the " + who},
		{"The rest", countOr(sum.Rest, rep.K), "active projects that did not"},
		{"Test", sum.Test, "two-sided; lift = share in cohort ÷ share in the rest"},
	}
	var more, less []bar
	cols := []column{{Name: "Attribute"}, {Name: "Value"}, {Name: "In cohort", Num: true}, {Name: "In the rest", Num: true},
		{Name: "Lift", Num: true}, {Name: "p-value", Num: true}, {Name: "q-value", Num: true}, {Name: "Cohort projects", Num: true}, {Name: "Rest projects", Num: true}}
	t := &table{Caption: "Significant differences (false-discovery rate 5%, Benjamini-Hochberg over these attributes), most significant first. " +
		"Each project is described by its latest event in the window, which is why its environment and CI shares differ from the overview's, which counts every project seen on each.",
		Head: cols}
	ns := &table{Caption: "Not significant: shown for reference, differences that chance alone explains at this false-discovery rate", Head: cols, Muted: true}
	for _, row := range rep.Rows.([]insights.CohortRow) {
		tt := ns
		if row.Significant {
			tt = t
			b := bar{Label: fmt.Sprintf("%s %s (%s)", row.Attribute, row.Value, lift(row.Lift)), Values: []float64{row.CohortShare, row.RestShare}}
			if row.Direction == "more" {
				more = append(more, b)
			} else {
				less = append(less, b)
			}
		}
		tt.Rows = append(tt.Rows, []string{row.Attribute, row.Value, percent(row.CohortShare), percent(row.RestShare),
			lift(row.Lift), pvalue(row.PValue), pvalue(row.QValue), count(float64(row.CohortProjects)), count(float64(row.RestProjects))})
	}
	groups := []string{"In the cohort", "In the rest"}
	v.Figures = append(v.Figures,
		newFigure("more-likely", "Significantly more likely in the cohort (most significant first)", "bars").bars(barChart{Rows: head(more, 10), Groups: groups, Format: percent, Max: 1}),
		newFigure("less-likely", "Significantly less likely in the cohort (most significant first)", "bars").bars(barChart{Rows: head(less, 10), Groups: groups, Format: percent, Max: 1}))
	v.Tables = append(v.Tables, t)
	if len(ns.Rows) > 0 {
		v.Tables = append(v.Tables, ns)
	}
	if q.Get("feature") == "" && q.Get("event") == "" {
		if p.Feature != "" {
			q.Set("feature", p.Feature)
		} else {
			q.Set("event", p.Event)
		}
	}
	return rep, nil
}

func (h *Handler) setup(r *http.Request, v *view, q url.Values, p insights.Params) (*insights.Report, error) {
	by, err := choose(r.URL.Query(), "by", "os", "runtimeMajor")
	if err != nil {
		return nil, err
	}
	v.Controls.Selects = append(v.Controls.Selects, selectOf("by", "Break down by", by,
		[]string{"os", "runtimeMajor"}, []string{"Operating system", "Runtime major"}))
	rep, err := h.run(r, "setup", p)
	if err != nil {
		return nil, err
	}
	sum := rep.Summary.(insights.SetupSummary)
	reg := sum.Regression
	// The verdict takes a card of its own, as wide as the page: where it
	// found setups slower, and what it compared, one line each.
	regText := "No"
	overall := fmt.Sprintf("All setups, the week of %s against the four before: p50 %s (was %s), p90 %s (was %s); p50: %s, p90: %s.",
		longDate(reg.LastWeek), duration(float64(reg.LastP50Ms)), duration(float64(reg.PriorP50Ms)),
		duration(float64(reg.LastP90Ms)), duration(float64(reg.PriorP90Ms)), pIs(reg.P50PValue), pIs(reg.P90PValue))
	var regLines []string
	if reg.Flag {
		regText = "Yes: " + reg.Metric + " rose"
	}
	for _, w := range reg.Where {
		place := dimensionLabels[w.By] + " " + w.Value
		if w.By == "all" {
			place = "all setups"
		}
		if len(regLines) == 0 {
			regText = "Yes, on " + place
		}
		regLines = append(regLines, fmt.Sprintf("%s: %s %s, was %s (%s)", place, w.Quantile,
			duration(float64(w.After)), duration(float64(w.Before)), pIs(w.P)))
	}
	if len(reg.Where) > 0 {
		regLines = append(regLines, fmt.Sprintf("Compared: the 14 days from %s to %s against the 8 weeks before, per operating system, runtime major and product version.",
			longDate(reg.WhereFrom), longDate(reg.WhereTo)))
	}
	regLines = append(regLines, overall, "Tests: "+reg.Test+"; each segment by rank tests, Holm-adjusted.")
	if !reg.Tested {
		regText = "Not known yet"
		regLines = []string{fmt.Sprintf("Not tested yet: it needs at least %d completed setups in the last full week and in the four weeks before it.", rep.K)}
	}
	v.KPIs = []kpi{
		{"Setups started", count(float64(sum.Started)), "projects whose first setup began in the window"},
		{"Completed", percent(sum.CompletionRate), fmt.Sprintf("%s of them within %s", count(float64(sum.Completed)), sum.Within)},
		{"Median (p50)", durationOr(sum.P50Ms, rep.K), "p75 " + durationOr(sum.P75Ms, rep.K)},
		{"p90", durationOr(sum.P90Ms, rep.K), ""},
	}
	v.Verdict = &verdict{Label: "Slower than before?", Value: regText, Lines: regLines}
	// The report lists the buckets that have projects, a hidden one with
	// projects null; a gap between two is a bucket of none, drawn as such.
	hist := histogram{Format: count, Hidden: hidden(rep.K)}
	for i, b := range sum.Histogram {
		switch {
		case i == 0:
			hist.Edges = append(hist.Edges, duration(float64(b.FromMs)))
		case b.FromMs != sum.Histogram[i-1].ToMs:
			hist.Edges = append(hist.Edges, duration(float64(b.FromMs)))
			hist.Counts = append(hist.Counts, 0)
		}
		hist.Edges = append(hist.Edges, duration(float64(b.ToMs)))
		if b.Projects == nil {
			hist.Counts = append(hist.Counts, math.NaN())
		} else {
			hist.Counts = append(hist.Counts, float64(*b.Projects))
		}
	}
	v.Figures = append(v.Figures, newFigure("setup-histogram", "Time to complete setup: projects per duration", "histogram").histogram(hist))
	g := newGrid()
	for _, pt := range rep.Series.([]insights.SetupPoint) {
		if pt.P50Ms == nil || pt.P75Ms == nil || pt.P90Ms == nil {
			continue // fewer than k completed: not published, not drawn as 0
		}
		g.add("p50", pt.Week, float64(*pt.P50Ms))
		g.add("p75", pt.Week, float64(*pt.P75Ms))
		g.add("p90", pt.Week, float64(*pt.P90Ms))
		g.markPartial(pt.Week, pt.Partial)
	}
	x, s := g.chart(nil)
	v.Figures = append(v.Figures, newFigure("setup-weekly", "Setup time by the week setup started: p50, p75, p90", "line").line(lineChart{X: x, Series: s, Format: duration, Ticks: durationTicks, Partial: g.partials()}))
	var bars []bar
	t := &table{Caption: "Setup by operating system and runtime major",
		Head: []column{{Name: "Dimension"}, {Name: "Value"}, {Name: "Started", Num: true}, {Name: "p50", Num: true}, {Name: "p90", Num: true}, {Name: "Completed", Num: true}}}
	for _, row := range rep.Rows.([]insights.SetupRow) {
		if row.Dimension == by && row.P50Ms != nil && row.P90Ms != nil {
			bars = append(bars, bar{Label: row.Value, Values: []float64{float64(*row.P50Ms), float64(*row.P90Ms)}})
		}
		t.Rows = append(t.Rows, []string{dimensionLabels[row.Dimension], row.Value, count(float64(row.Projects)),
			durationOr(row.P50Ms, rep.K), durationOr(row.P90Ms, rep.K), percent(row.CompletionRate)})
	}
	v.Figures = append(v.Figures, newFigure("setup-by", "Setup time by "+dimensionLabels[by], "bars").
		bars(barChart{Rows: head(bars, maxBars), Groups: []string{"p50", "p90"}, Format: duration}))
	var errs []bar
	for _, e := range sum.TopErrors {
		errs = append(errs, bar{Label: e.Code, Values: []float64{float64(e.Projects)}})
	}
	v.Figures = append(v.Figures, newFigure("setup-errors", "Errors of projects that started setup and did not complete it", "bars").
		bars(barChart{Rows: errs, Format: count}))
	v.Tables = append(v.Tables, t)
	return rep, nil
}

// firstSeen writes an error code's first day, saying when it is before the
// window's first day (from).
func firstSeen(day, from string) string {
	if day != "" && day < from {
		return longDate(day) + " (before the window)"
	}
	return longDate(day)
}

func (h *Handler) errors(r *http.Request, v *view, q url.Values, p insights.Params) (*insights.Report, error) {
	rep, err := h.run(r, "errors", p)
	if err != nil {
		return nil, err
	}
	rows := rep.Rows.([]insights.ErrorRow)
	var bars []bar
	var top []string
	var events int64
	t := &table{Caption: "Error codes, most affected projects first. A version, OS or runtime major is shown when it is " +
		"significantly more common among the code's projects than among all active projects (×: how many times; p < 0.01, Holm)",
		Head: []column{{Name: "Code"}, {Name: "Projects", Num: true}, {Name: "Events", Num: true}, {Name: "First seen"}, {Name: "Last seen"},
			{Name: "Over-represented version"}, {Name: "OS"}, {Name: "Runtime major"}}}
	attributed := func(row insights.ErrorRow, by, value string) string {
		for _, a := range row.Attribution {
			if a.By == by && a.Value == value {
				return fmt.Sprintf("%s (×%.1f)", value, a.Lift)
			}
		}
		return orDash(value)
	}
	for _, row := range rows {
		events += row.Events
		bars = append(bars, bar{Label: row.Code, Values: []float64{float64(row.Projects)}})
		if len(top) < maxLines {
			top = append(top, row.Code)
		}
		t.Rows = append(t.Rows, []string{row.Code, count(float64(row.Projects)), count(float64(row.Events)),
			firstSeen(row.FirstSeen, rep.From), longDate(row.LastSeen), attributed(row, "productVersion", row.TopVersion),
			attributed(row, "os", row.TopOS), attributed(row, "runtimeMajor", row.TopRuntimeMajor)})
	}
	v.KPIs = []kpi{{"Error codes", count(float64(len(rows))), fmt.Sprintf("each reported by at least %d projects", rep.K)}, {"Error events", count(float64(events)), ""}}
	if len(rows) > 0 {
		v.KPIs = append(v.KPIs, kpi{"Most widespread", rows[0].Code, count(float64(rows[0].Projects)) + " projects"})
	}
	v.Figures = append(v.Figures, newFigure("errors-projects", "Projects affected by each error code", "bars").bars(barChart{Rows: head(bars, maxBars), Format: count}))
	g := newGrid()
	for _, pt := range rep.Series.([]insights.ErrorPoint) {
		g.add(pt.Code, pt.Week, float64(pt.Events))
		g.markPartial(pt.Week, pt.Partial)
	}
	x, s := g.chart(top)
	v.Figures = append(v.Figures, newFigure("errors-weekly", "Weekly events of the most widespread codes (week starting)", "line").
		line(lineChart{X: x, Series: s, Format: count, Ticks: wholeTicks, Partial: g.partials()}))
	v.Tables = append(v.Tables, t)
	return rep, nil
}

func (h *Handler) plugins(r *http.Request, v *view, q url.Values, p insights.Params) (*insights.Report, error) {
	rep, err := h.run(r, "plugins", p)
	if err != nil {
		return nil, err
	}
	rows := rep.Rows.([]insights.PluginRow)
	var bars []bar
	sum, _ := rep.Summary.(insights.PluginsSummary)
	t := &table{Caption: fmt.Sprintf("Plugins in the latest build of each project. Change: in share of active projects (%s now, %s in the window before), "+
		"in percentage points; marked only when significant (%s)", count(float64(rep.ActiveProjects)), count(float64(sum.PreviousActiveProjects)), sum.Test),
		Head: []column{{Name: "Plugin"}, {Name: "Projects", Num: true}, {Name: "Share", Num: true}, {Name: "Previous window", Num: true},
			{Name: "Previous share", Num: true}, {Name: "Change in share", Num: true}, {Name: "Significant?"}}}
	for _, row := range rows {
		verdict, change := "no", hidden(rep.K)
		if row.PreviousShare != nil {
			bars = append(bars, bar{Label: row.Plugin, Values: []float64{row.Share, *row.PreviousShare}})
			change = fmt.Sprintf("%+.1f pp (%s projects)", 100**row.ShareChange, signed(float64(*row.Change)))
		}
		switch {
		case row.Significant && row.ShareChange != nil && *row.ShareChange > 0:
			verdict = "yes, up (p = " + pvalue(row.PValue) + ")"
		case row.Significant:
			verdict = "yes, down (p = " + pvalue(row.PValue) + ")"
		case row.PreviousProjects == nil || *row.PreviousProjects < rep.K:
			verdict = "not tested: fewer than " + count(float64(rep.K)) + " projects before"
		}
		t.Rows = append(t.Rows, []string{row.Plugin, count(float64(row.Projects)), percent(row.Share), countOr(row.PreviousProjects, rep.K),
			percentOr(row.PreviousShare, rep.K), change, verdict})
	}
	v.KPIs = []kpi{{"Active projects", count(float64(rep.ActiveProjects)), ""}, {"Plugins in use", count(float64(len(rows))), fmt.Sprintf("by at least %d projects", rep.K)}}
	if len(rows) > 0 {
		v.KPIs = append(v.KPIs, kpi{"Most used", rows[0].Plugin, percent(rows[0].Share) + " of active projects"})
	}
	v.Figures = append(v.Figures, newFigure("plugins-projects", "Share of active projects using each plugin, this window and the one before", "bars").
		bars(barChart{Rows: head(bars, maxBars), Groups: []string{"This window", "Previous window"}, Format: percent, Max: 1}))
	v.Tables = append(v.Tables, t)
	return rep, nil
}

func (h *Handler) runtimes(r *http.Request, v *view, q url.Values, p insights.Params) (*insights.Report, error) {
	env, err := choose(r.URL.Query(), "env", "all", "production", "other")
	if err != nil {
		return nil, err
	}
	v.Controls.Selects = append(v.Controls.Selects, selectOf("env", "Environment", env,
		[]string{"all", "production", "other"}, []string{"All", "Production", "Development and staging"}))
	rep, err := h.run(r, "runtimes", p)
	if err != nil {
		return nil, err
	}
	var majors, minors []bar
	t := &table{Caption: "Runtime versions: majors, then major.minor",
		Head: []column{{Name: "Runtime"}, {Name: "Version"}, {Name: "Projects", Num: true}, {Name: "Share", Num: true},
			{Name: "In production", Num: true}, {Name: "Elsewhere", Num: true}}}
	var top []string
	for _, row := range rep.Rows.([]insights.RuntimeRow) {
		share := &row.Share
		switch env {
		case "production":
			share = row.ProductionShare
		case "other":
			share = row.OtherShare
		}
		name := runtimeLabel(row.Runtime, row.Major)
		version := row.Major
		if row.Version != "" {
			version = row.Version
			if share != nil { // hidden: not drawn as 0
				minors = append(minors, bar{Label: row.Runtime + " " + row.Version, Values: []float64{*share}})
			}
		} else {
			if share != nil {
				majors = append(majors, bar{Label: name, Values: []float64{*share}})
			}
			if len(top) < maxLines {
				top = append(top, name)
			}
		}
		t.Rows = append(t.Rows, []string{row.Runtime, version, count(float64(row.Projects)), percent(row.Share), percentOr(row.ProductionShare, rep.K), percentOr(row.OtherShare, rep.K)})
	}
	envText := map[string]string{"all": "all environments", "production": "production", "other": "development and staging"}[env]
	v.Figures = append(v.Figures,
		newFigure("runtime-majors", "Share of projects per runtime major, "+envText, "bars").bars(barChart{Rows: head(majors, maxBars), Format: percent, Max: 1}),
		newFigure("runtime-minors", "Share of projects per runtime version, "+envText, "bars").bars(barChart{Rows: head(minors, maxBars), Format: percent, Max: 1}))
	g := newGrid()
	for _, pt := range rep.Series.([]insights.RuntimePoint) {
		g.add(runtimeLabel(pt.Runtime, pt.Major), pt.Week, pt.Share)
		g.markPartial(pt.Week, pt.Partial)
	}
	x, s := g.chart(top)
	v.Figures = append(v.Figures, newFigure("runtime-weekly", "Weekly share of active projects per runtime major (week starting)", "line").
		line(lineChart{X: x, Series: s, Format: percent, Partial: g.partials()}))
	v.Tables = append(v.Tables, t)
	return rep, nil
}

func runtimeLabel(runtime, major string) string {
	if runtime == "" {
		return major
	}
	return runtime + " " + major
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func head[T any](s []T, n int) []T { return s[:min(len(s), n)] }
