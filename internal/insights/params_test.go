package insights

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

// A parameter the reports do not know is refused by name, not ignored: the
// dashboard's old range=90d or a misspelt Last=7d would otherwise give the
// default 30 days without a word.
func TestParseParamsRefusesUnknownParameters(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for query, name := range map[string]string{
		"range=90d":             "range",
		"Last=7d":               "Last",
		"last=7d&fature=x":      "fature",
		"from=2026-12-01&days=": "days",
	} {
		q, _ := url.ParseQuery(query)
		_, err := ParseParams(q, now)
		if !errors.Is(err, ErrBadParams) || !strings.HasPrefix(err.Error(), name+": unknown parameter; expected last, from, to, feature, event") {
			t.Errorf("%q: error %v, want ErrBadParams naming %q", query, err, name)
		}
	}
	q, _ := url.ParseQuery("last=90d&feature=releases")
	if _, err := ParseParams(q, now); err != nil {
		t.Errorf("known parameters: %v", err)
	}
}
