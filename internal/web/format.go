package web

import (
	"fmt"
	"strings"
	"time"

	"github.com/abacushq/abacus/internal/human"
)

// Numbers as people read them, in the style of package human (shared with
// the tables of abacus report).

func count(v float64) string     { return human.Count(v) }
func percent(v float64) string   { return human.Percent(v) }
func duration(ms float64) string { return human.Duration(ms) }

// hidden is what stands in place of a number the report did not publish
// (null in its JSON) because it covers fewer than k projects: said in
// place, never drawn as 0.
func hidden(k int) string { return fmt.Sprintf("hidden: fewer than %d projects", k) }

// durationOr, percentOr and countOr format a number that may be hidden.
func durationOr(ms *int64, k int) string {
	if ms == nil {
		return hidden(k)
	}
	return duration(float64(*ms))
}

func percentOr(v *float64, k int) string {
	if v == nil {
		return hidden(k)
	}
	return percent(*v)
}

func countOr(n *int, k int) string {
	if n == nil {
		return hidden(k)
	}
	return count(float64(*n))
}
func lift(v float64) string   { return human.Lift(v) }
func pvalue(v float64) string { return human.PValue(v) }

// pIs writes "p = 0.004", or "p < 0.001" where pvalue gives "< 0.001".
func pIs(v float64) string {
	if s := pvalue(v); strings.HasPrefix(s, "<") {
		return "p " + s
	} else {
		return "p = " + s
	}
}
func signed(v float64) string { return human.Signed(v) }

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
