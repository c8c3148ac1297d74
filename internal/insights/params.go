package insights

import (
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Params selects what a report covers.
type Params struct {
	// From and To are UTC dates (midnight), both inclusive.
	From, To time.Time
	// Feature or Event names the cohort of the cohort report; other reports
	// ignore them.
	Feature, Event string
}

// Limits of ParseParams.
const (
	DefaultDays = 30
	MaxDays     = 3660 // ten years: a longer window is a mistake, not a question
	maxNameLen  = 128
)

// paramNames are the query parameters of a report; any other is refused.
var paramNames = []string{"last", "from", "to", "feature", "event"}

// ParseParams reads a report's query parameters (see api.md): last (30d,
// 12w; default 30d, ending today in UTC), or from and to (YYYY-MM-DD, both
// inclusive; they override last; either alone takes the other end from last),
// feature and event. Its errors wrap ErrBadParams; their text names the
// parameter and what was expected, as "last: expected a number of days like
// 30d (or weeks like 12w), got "30""; a parameter of another name is refused
// ("range: unknown parameter; …"), so a misspelt one is not silently ignored.
func ParseParams(q url.Values, now time.Time) (Params, error) {
	var p Params
	for _, k := range slices.Sorted(maps.Keys(q)) {
		if !slices.Contains(paramNames, k) {
			return Params{}, badParam("%s: unknown parameter; expected %s", k, strings.Join(paramNames, ", "))
		}
	}
	today := day(now)
	days := DefaultDays
	if s := q.Get("last"); s != "" {
		n, err := parseLast(s)
		if err != nil {
			return Params{}, err
		}
		days = n
	}
	p.To = today
	if s := q.Get("to"); s != "" {
		t, err := parseDate("to", s)
		if err != nil {
			return Params{}, err
		}
		p.To = t
	}
	p.From = p.To.AddDate(0, 0, 1-days)
	if s := q.Get("from"); s != "" {
		t, err := parseDate("from", s)
		if err != nil {
			return Params{}, err
		}
		p.From = t
		if q.Get("to") == "" && q.Get("last") != "" {
			p.To = t.AddDate(0, 0, days-1)
		}
	}
	if p.To.Before(p.From) {
		return Params{}, badParam("to: expected a date on or after from (%s), got %s", p.From.Format(dateLayout), p.To.Format(dateLayout))
	}
	if n := int(p.To.Sub(p.From)/(24*time.Hour)) + 1; n > MaxDays {
		return Params{}, badParam("from: expected a window of at most %d days, got %d", MaxDays, n)
	}
	p.Feature, p.Event = q.Get("feature"), q.Get("event")
	for _, f := range []struct{ name, v string }{{"feature", p.Feature}, {"event", p.Event}} {
		if len(f.v) > maxNameLen || strings.ContainsFunc(f.v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return Params{}, badParam("%s: expected a name of at most %d printable characters", f.name, maxNameLen)
		}
	}
	if p.Feature != "" && p.Event != "" {
		return Params{}, badParam("event: expected either feature or event, not both")
	}
	return p, nil
}

func parseLast(s string) (int, error) {
	bad := badParam("last: expected a number of days like 30d (or weeks like 12w), got %q", s)
	if len(s) < 2 {
		return 0, bad
	}
	unit := 1
	switch s[len(s)-1] {
	case 'd':
	case 'w':
		unit = 7
	default:
		return 0, bad
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n < 1 || s[0] == '+' {
		return 0, bad
	}
	if n > MaxDays/unit {
		return 0, badParam("last: expected at most %d days, got %q", MaxDays, s)
	}
	return n * unit, nil
}

func parseDate(name, s string) (time.Time, error) {
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return time.Time{}, badParam("%s: expected a date like 2026-01-31 (YYYY-MM-DD), got %q", name, s)
	}
	return t, nil
}
