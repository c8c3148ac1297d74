package e2e

import (
	"os"
	osexec "os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// abacus simulate sends its population through the SDK's transport to the
// real collector, which stores every event it acknowledged.
func TestSimulateStoresThePopulation(t *testing.T) {
	srv := startServer(t, serveOpts{})
	cmd := osexec.Command(binary, "simulate", "--server", srv.URL, "--projects", "40", "--days", "14", "--seed", "7")
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("simulate: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`collector: ([0-9,]+) accepted, ([0-9,]+) duplicates, ([0-9,]+) rejected`).FindSubmatch(out)
	if m == nil || !strings.Contains(string(out), "100%") || !strings.Contains(string(out), "planted:") {
		t.Fatalf("no progress or summary:\n%s", out)
	}
	accepted, _ := strconv.Atoi(strings.ReplaceAll(string(m[1]), ",", ""))
	if accepted < 500 || string(m[3]) != "0" {
		t.Fatalf("accepted %d, rejected %s:\n%s", accepted, m[3], out)
	}
	waitFor(t, "the population in the export", func() bool { return len(export(t, srv)) == accepted })
}
