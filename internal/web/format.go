package web

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Numbers as people read them: thousands separated, shares as percentages,
// durations in the largest units that keep them short.

// count formats a whole number with thousands separators: 12,345.
func count(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	n := int64(math.Round(v))
	s := strconv.FormatInt(max(n, -n), 10)
	var b strings.Builder
	if n < 0 {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// percent formats a share (0.423) as 42.3%; a share that is not zero but
// would read as 0.0% is written <0.1%.
func percent(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "–"
	case v == 0:
		return "0%"
	case v > 0 && v < 0.0005:
		return "<0.1%"
	case v >= 0.9995 && v < 1:
		return ">99.9%"
	}
	return strconv.FormatFloat(v*100, 'f', 1, 64) + "%"
}

// duration formats milliseconds: 850 ms, 12.5 s, 4 min 30 s, 2 h 5 min, 3 d 4 h.
func duration(ms float64) string {
	if math.IsNaN(ms) || math.IsInf(ms, 0) {
		return "–"
	}
	d := time.Duration(math.Round(ms)) * time.Millisecond
	switch {
	case d == 0:
		return "0"
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < 10*time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Round(time.Second).Seconds()))
	case d < time.Hour:
		d = d.Round(time.Second)
		return pair(int(d/time.Minute), "min", int(d%time.Minute/time.Second), "s")
	case d < 24*time.Hour:
		d = d.Round(time.Minute)
		return pair(int(d/time.Hour), "h", int(d%time.Hour/time.Minute), "min")
	}
	d = d.Round(time.Hour)
	return pair(int(d/(24*time.Hour)), "d", int(d%(24*time.Hour)/time.Hour), "h")
}

func pair(a int, au string, b int, bu string) string {
	if b == 0 {
		return fmt.Sprintf("%d %s", a, au)
	}
	return fmt.Sprintf("%d %s %d %s", a, au, b, bu)
}

// lift formats a ratio: 3.02×; an infinite one (nobody outside the cohort)
// as ∞.
func lift(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "∞"
	case math.IsNaN(v):
		return "–"
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + "×"
}

// pvalue formats a p-value: p < 0.001, or with three decimals.
func pvalue(v float64) string {
	if v < 0.001 {
		return "< 0.001"
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

// signed formats a change in a count: +12, −3, 0.
func signed(v float64) string {
	switch {
	case v > 0:
		return "+" + count(v)
	case v < 0:
		return "−" + count(-v)
	}
	return "0"
}

// shortDate formats a report date (YYYY-MM-DD) as Nov 2; a value that is not
// a date comes back as it is.
func shortDate(s string) string {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return s
	}
	return t.Format("Jan 2")
}

// longDate formats a report date as 2 Nov 2026.
func longDate(s string) string {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return s
	}
	return t.Format("2 Jan 2006")
}
