package human

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// NA is what a value that is not a number reads as.
const NA = "–"

func bad(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }

// Count formats a whole number with thousands separators: 12,345.
func Count(v float64) string {
	if bad(v) {
		return NA
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

// Plural formats a count and its noun, in the plural unless the count is
// one: 1 bucket, 0 buckets, 1,204 events. An irregular plural is given as a
// second word: Plural(2, "query", "queries").
func Plural(n int, noun string, plural ...string) string {
	if n == 1 || n == -1 {
		return Count(float64(n)) + " " + noun
	}
	if len(plural) > 0 {
		return Count(float64(n)) + " " + plural[0]
	}
	return Count(float64(n)) + " " + noun + "s"
}

// Percent formats a share (0.423) as 42.3%; a share that is not zero but
// would read as 0.0% is written <0.1%, one short of 1 as >99.9%.
func Percent(v float64) string {
	switch {
	case bad(v):
		return NA
	case v == 0:
		return "0%"
	case v > 0 && v < 0.0005:
		return "<0.1%"
	case v >= 0.9995 && v < 1:
		return ">99.9%"
	}
	return strconv.FormatFloat(v*100, 'f', 1, 64) + "%"
}

// Duration formats milliseconds in the two largest units that matter:
// 850 ms, 4.5 s, 12 s, 1 min 23 s, 2 h 5 min, 3 d 4 h.
func Duration(ms float64) string {
	if bad(ms) {
		return NA
	}
	d := time.Duration(math.Round(ms)) * time.Millisecond
	neg := ""
	if d < 0 {
		neg, d = "-", -d
	}
	switch {
	case d == 0:
		return "0"
	case d < time.Second:
		return fmt.Sprintf("%s%d ms", neg, d.Milliseconds())
	case d < 10*time.Second-50*time.Millisecond:
		return neg + strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
	case d < time.Minute-500*time.Millisecond:
		return fmt.Sprintf("%s%d s", neg, int(d.Round(time.Second).Seconds()))
	case d < time.Hour-500*time.Millisecond:
		d = d.Round(time.Second)
		return neg + pair(int(d/time.Minute), "min", int(d%time.Minute/time.Second), "s")
	case d < 24*time.Hour-30*time.Second:
		d = d.Round(time.Minute)
		return neg + pair(int(d/time.Hour), "h", int(d%time.Hour/time.Minute), "min")
	}
	d = d.Round(time.Hour)
	return neg + pair(int(d/(24*time.Hour)), "d", int(d%(24*time.Hour)/time.Hour), "h")
}

func pair(a int, au string, b int, bu string) string {
	if b == 0 {
		return fmt.Sprintf("%d %s", a, au)
	}
	return fmt.Sprintf("%d %s %d %s", a, au, b, bu)
}

// PValue formats a p-value with three decimals, or as < 0.001.
func PValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return NA
	case v < 0.001:
		return "< 0.001"
	}
	return strconv.FormatFloat(min(v, 1), 'f', 3, 64)
}

// P states a p-value: p = 0.012, or p < 0.001.
func P(v float64) string {
	if s := PValue(v); s != "< 0.001" {
		return "p = " + s
	}
	return "p < 0.001"
}

// Lift formats a ratio: 3.02×; an infinite one (nothing to compare with)
// as ∞.
func Lift(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "∞"
	case bad(v):
		return NA
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + "×"
}

// Signed formats a change in a count: +12, −3 (a minus sign), 0.
func Signed(v float64) string {
	switch {
	case bad(v):
		return NA
	case v > 0:
		return "+" + Count(v)
	case v < 0:
		return "−" + Count(-v)
	}
	return "0"
}
