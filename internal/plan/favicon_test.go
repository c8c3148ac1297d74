package plan

import (
	"strings"
	"testing"
)

// The privacy page names its icon in the page itself, so a browser showing
// GET /privacy does not ask the collector for /favicon.ico and get a 404.
func TestHTMLNamesItsIcon(t *testing.T) {
	page := string(Default().HTML())
	head, _, ok := strings.Cut(page, "</head>")
	if !ok {
		t.Fatalf("the page has no </head>:\n%.300s", page)
	}
	if !strings.Contains(head, `<link rel="icon" href="data:,">`) {
		t.Errorf("the page's head names no icon; a browser will fetch /favicon.ico:\n%s", head)
	}
}
