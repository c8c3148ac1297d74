package web

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
)

// Charts are drawn on the server as inline SVG: the page needs no script to
// show them, they print, and they follow the page's colours through CSS
// classes (s0…s7) rather than inline styles, which the Content-Security-Policy
// forbids. Every drawn datum is an element of class "mark" with a <title>, so
// pointing at it names the value; the figure around the SVG carries a caption
// and a data table for screen readers.

// The drawing area of every chart, in SVG user units; the SVG scales to the
// width of its figure.
const (
	chartW = 720
	chartH = 240
)

// palette is the number of series classes the stylesheet defines.
const palette = 8

// format writes a value for people: a count, a share, a duration.
type format func(float64) string

// series is one line of a line chart: a value per x label, NaN where there is
// none.
type series struct {
	Name   string
	Values []float64
}

// lineChart draws series over shared x labels (dates). area fills under the
// first series; share fixes the y axis at 0–100%.
type lineChart struct {
	X      []string // x labels, already formatted
	Series []series
	Format format
	Area   bool
	Ticks  ticks   // how to space the y axis; the zero value suits any number
	YMax   float64 // 0: from the data
	// Partial marks the x labels whose period is not over or not wholly in
	// the window: their points are hollow and the lines to them dashed, so
	// an unfinished day does not read as a drop.
	Partial []bool
}

// partialAt says whether point i of c is partial.
func (c lineChart) partialAt(i int) bool { return i < len(c.Partial) && c.Partial[i] }

// ticks chooses round steps for a y axis.
type ticks int

const (
	anyTicks      ticks = iota
	wholeTicks          // counts: whole steps
	durationTicks       // milliseconds: steps of round durations
)

func (c lineChart) svg(label string) template.HTML {
	const ml, mr, mt, mb = 64.0, 16.0, 12.0, 28.0
	n := len(c.X)
	vmax := c.YMax
	if vmax == 0 {
		for _, s := range c.Series {
			for _, v := range s.Values {
				if !math.IsNaN(v) {
					vmax = max(vmax, v)
				}
			}
		}
	}
	top, step := niceScale(vmax, c.Ticks)
	x := func(i int) float64 {
		if n == 1 {
			return ml + (chartW-ml-mr)/2
		}
		return ml + (chartW-ml-mr)*float64(i)/float64(n-1)
	}
	y := func(v float64) float64 { return mt + (chartH-mt-mb)*(1-v/top) }

	var b strings.Builder
	open(&b, label, chartH)
	yAxis(&b, top, step, c.Format, ml, chartW-mr, y)
	every := max(1, (n+7)/8)
	for i := 0; i < n; i += every {
		fmt.Fprintf(&b, `<text class="tick" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x(i), chartH-8.0, html.EscapeString(c.X[i]))
	}
	for si, s := range c.Series {
		cls := fmt.Sprintf("s%d", si%palette)
		var d, area, dashed strings.Builder // solid lines, the area's outline, lines to or from a partial point
		pen := false
		first, last, prev := -1, -1, -1
		for i, v := range s.Values {
			if math.IsNaN(v) {
				pen = false
				continue
			}
			if first < 0 {
				first = i
			}
			last = i
			if pen {
				fmt.Fprintf(&area, "L%.1f %.1f", x(i), y(v))
			} else {
				fmt.Fprintf(&area, "M%.1f %.1f", x(i), y(v))
			}
			switch {
			case pen && (c.partialAt(i) || c.partialAt(prev)):
				fmt.Fprintf(&dashed, "M%.1f %.1fL%.1f %.1f", x(prev), y(s.Values[prev]), x(i), y(v))
			case pen:
				fmt.Fprintf(&d, "M%.1f %.1fL%.1f %.1f", x(prev), y(s.Values[prev]), x(i), y(v))
			}
			pen, prev = true, i
		}
		if first < 0 {
			continue
		}
		if c.Area && si == 0 {
			fmt.Fprintf(&b, `<path class="area %s" d="%sL%.1f %.1fL%.1f %.1fZ"/>`, cls, area.String(), x(last), y(0), x(first), y(0))
		}
		if d.Len() > 0 {
			fmt.Fprintf(&b, `<path class="line mark %s" d="%s"/>`, cls, d.String())
		}
		if dashed.Len() > 0 {
			fmt.Fprintf(&b, `<path class="line partial mark %s" d="%s"/>`, cls, dashed.String())
		}
		for i, v := range s.Values {
			if math.IsNaN(v) {
				continue
			}
			tip := c.X[i] + ": " + c.Format(v)
			if len(c.Series) > 1 {
				tip = s.Name + ", " + tip
			}
			dot, r := "dot mark "+cls, 2.5
			if c.partialAt(i) {
				dot, r, tip = "dot partial mark "+cls, 3.5, tip+" (partial)"
			}
			fmt.Fprintf(&b, `<circle class="%s" cx="%.1f" cy="%.1f" r="%.1f"><title>%s</title></circle>`, dot, x(i), y(v), r, html.EscapeString(tip))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// bar is one row of a bar chart: a label and one value per group.
type bar struct {
	Label  string
	Values []float64
}

// barChart draws horizontal bars, one row per label and one bar per group
// (a legend names the groups when there are several).
type barChart struct {
	Rows   []bar
	Groups []string
	Format format
	Max    float64 // the value of a full bar; 0: the largest value
}

func (c barChart) svg(label string) template.HTML {
	const labelW, valueW, pad = 250.0, 84.0, 6.0
	groups := max(1, len(c.Groups))
	barH := 14.0
	if groups == 1 {
		barH = 18
	}
	rowH := barH*float64(groups) + 2*pad
	h := rowH * float64(len(c.Rows))
	vmax := c.Max
	if vmax == 0 {
		for _, r := range c.Rows {
			for _, v := range r.Values {
				vmax = max(vmax, v)
			}
		}
	}
	if vmax <= 0 {
		vmax = 1
	}
	span := chartW - labelW - valueW
	var b strings.Builder
	open(&b, label, h)
	for i, r := range c.Rows {
		top := float64(i) * rowH
		short := r.Label
		if len([]rune(short)) > 36 {
			short = string([]rune(short)[:35]) + "…"
		}
		fmt.Fprintf(&b, `<text class="label" x="%.1f" y="%.1f" text-anchor="end">%s<title>%s</title></text>`,
			labelW-8, top+rowH/2+4, html.EscapeString(short), html.EscapeString(r.Label))
		for g, v := range r.Values {
			w := span * v / vmax
			if v > 0 {
				w = max(w, 1.5) // a value, however small, shows
			}
			by := top + pad + barH*float64(g)
			name := r.Label
			if len(c.Groups) > 1 {
				name += ", " + c.Groups[g]
			}
			fmt.Fprintf(&b, `<rect class="bar mark s%d" x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="2"><title>%s: %s</title></rect>`,
				g%palette, labelW, by+1, w, barH-2, html.EscapeString(name), html.EscapeString(c.Format(v)))
			fmt.Fprintf(&b, `<text class="value" x="%.1f" y="%.1f">%s</text>`, labelW+w+6, by+barH/2+4, html.EscapeString(c.Format(v)))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// histogram draws adjoining vertical bars, one per bucket, labelled at their
// edges. A count of NaN is a hidden bucket (fewer than k projects): drawn as
// a dashed outline the height of the plot, with Hidden as its title, so that
// it does not read as a bucket of none.
type histogram struct {
	Edges  []string // len(Counts)+1 bucket bounds
	Counts []float64
	Format format
	Hidden string // what a hidden bucket says, as "hidden: fewer than 5 projects"
}

func (c histogram) svg(label string) template.HTML {
	const ml, mr, mt, mb = 64.0, 16.0, 12.0, 28.0
	vmax := 0.0
	for _, v := range c.Counts {
		if !math.IsNaN(v) {
			vmax = max(vmax, v)
		}
	}
	top, step := niceScale(vmax, wholeTicks)
	y := func(v float64) float64 { return mt + (chartH-mt-mb)*(1-v/top) }
	n := len(c.Counts)
	bw := (chartW - ml - mr) / float64(max(n, 1))
	var b strings.Builder
	open(&b, label, chartH)
	yAxis(&b, top, step, c.Format, ml, chartW-mr, y)
	every := max(1, (n+9)/10)
	for i, v := range c.Counts {
		x0 := ml + bw*float64(i)
		if math.IsNaN(v) {
			fmt.Fprintf(&b, `<rect class="bar hidden" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s–%s: %s</title></rect>`,
				x0+1.5, y(top), bw-3, y(0)-y(top), html.EscapeString(c.Edges[i]), html.EscapeString(c.Edges[i+1]), html.EscapeString(c.Hidden))
			fmt.Fprintf(&b, `<text class="tick" x="%.1f" y="%.1f" text-anchor="middle">hidden</text>`, x0+bw/2, y(0)-6)
			continue
		}
		fmt.Fprintf(&b, `<rect class="bar mark s0" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s–%s: %s</title></rect>`,
			x0+0.5, y(v), bw-1, y(0)-y(v), html.EscapeString(c.Edges[i]), html.EscapeString(c.Edges[i+1]), html.EscapeString(c.Format(v)))
	}
	for i := 0; i <= n; i += every {
		fmt.Fprintf(&b, `<text class="tick" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, ml+bw*float64(i), chartH-8.0, html.EscapeString(c.Edges[i]))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// open starts an SVG of the chart width and height h: an image whose label
// says what it shows; the figure's data table beside it has the numbers.
func open(b *strings.Builder, label string, h float64) {
	fmt.Fprintf(b, `<svg class="plot" role="img" aria-label="%s" viewBox="0 0 %d %.0f" width="%d" height="%.0f" focusable="false">`,
		html.EscapeString(label), chartW, h, chartW, h)
}

// yAxis draws the horizontal grid lines from 0 to top with their labels.
func yAxis(b *strings.Builder, top, step float64, f format, x0, x1 float64, y func(float64) float64) {
	for t := 0.0; t <= top+step/2; t += step {
		fmt.Fprintf(b, `<line class="grid" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/>`, x0, x1, y(t), y(t))
		fmt.Fprintf(b, `<text class="tick" x="%.1f" y="%.1f" text-anchor="end">%s</text>`, x0-6, y(t)+4, html.EscapeString(f(t)))
	}
}

// durationSteps are the steps of a duration axis, in milliseconds.
var durationSteps = []float64{1, 2, 5, 10, 20, 50, 100, 200, 500,
	1e3, 2e3, 5e3, 10e3, 15e3, 30e3, 60e3, 2 * 60e3, 5 * 60e3, 10 * 60e3, 15 * 60e3, 30 * 60e3,
	3600e3, 2 * 3600e3, 3 * 3600e3, 6 * 3600e3, 12 * 3600e3, 24 * 3600e3, 48 * 3600e3, 7 * 24 * 3600e3}

// niceScale returns the top of an axis that shows v and a step that divides
// it into about four round intervals.
func niceScale(v float64, kind ticks) (top, step float64) {
	if !(v > 0) || math.IsInf(v, 0) {
		if kind != anyTicks {
			return 1, 1
		}
		return 1, 0.25
	}
	if kind == durationTicks {
		step = durationSteps[len(durationSteps)-1]
		for _, s := range durationSteps {
			if v/s <= 5 {
				step = s
				break
			}
		}
		return math.Ceil(v/step-1e-9) * step, step
	}
	raw := v / 4
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step = 10 * mag
	for _, m := range []float64{1, 2, 2.5, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	if kind == wholeTicks {
		step = max(step, 1)
	}
	return math.Ceil(v/step-1e-9) * step, step
}
