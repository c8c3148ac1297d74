package web

import (
	"net/http"
	"strings"
	"testing"
)

// The window has the report API's name, last, and takes its values; links
// made with the old name, range, are sent to the same window.
func TestWindowIsLast(t *testing.T) {
	rep := &reports{}
	h, _ := newHandler(t, rep)
	c := signIn(t, h)
	for old, want := range map[string]string{
		"/plugins?range=90d": "/plugins?last=90d",
		"/errors?range=custom&from=2026-10-01&to=2026-10-31": "/errors?from=2026-10-01&to=2026-10-31",
		"/?range=7d&by=os": "/?by=os&last=7d",
		"/cohort?range=30d&cohort=feature:releases&last=14d": "/cohort?cohort=feature%3Areleases&last=14d",
	} {
		w := serve(h, "GET", old, nil, c)
		if w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != want {
			t.Errorf("%s: %d to %q, want 301 to %q", old, w.Code, w.Header().Get("Location"), want)
		}
	}
	rep.calls = nil
	w := serve(h, "GET", "/plugins?last=12w", nil, c)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `<select name="last"`) ||
		!strings.Contains(w.Body.String(), `<option value="12w" selected>Last 12w</option>`) {
		t.Errorf("last=12w: %d; the window menu does not show it:\n%s", w.Code, w.Body.String())
	}
	if got := strings.Join(rep.calls, "|"); got != "plugins 2026-09-07 2026-11-29 " {
		t.Errorf("last=12w ran %q, want the 84 days to 2026-11-29", got)
	}
}
