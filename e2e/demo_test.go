package e2e

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// serve --demo loads the simulated population into a new data directory, and
// only into a new one.
func TestServeDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 90 days of simulated data")
	}
	srv := startServer(t, serveOpts{args: []string{"--demo"}, bin: plainBinary(t)}) // full speed: see TestDashboardInBrowser
	accepted := regexp.MustCompile(`(?m)^abacus_events_accepted_total (\d+)$`)
	waitForDemo(t, srv)
	m := accepted.FindStringSubmatch(string(adminGet(t, srv.URL+"/metrics").body))
	n, _ := strconv.Atoi(m[1])
	if n < 200000 {
		t.Fatalf("the demo loaded %d events, want its population of 3,000 projects (about 300,000)", n)
	}
	srv.term()
	srv.restart()
	waitFor(t, "the second start to see the data", func() bool { return strings.Contains(srv.logs(), "already holds events") })
}

// waitForDemo waits until serve --demo has sent its population (its summary
// line); the race detector's build takes a minute or more.
func waitForDemo(t *testing.T, srv *proc) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for !strings.Contains(srv.logs(), "collector:") {
		if time.Now().After(deadline) {
			t.Fatalf("the demo did not finish loading:\n%s", srv.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
}
