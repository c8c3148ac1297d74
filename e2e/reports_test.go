package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	osexec "os/exec"
	"strings"
	"testing"
)

// The reports answer over HTTP and through `abacus report`, from a running
// collector and from the data directory of a stopped one.
func TestReports(t *testing.T) {
	srv := startServer(t, serveOpts{})
	sim := osexec.Command(binary, "simulate", "--server", srv.URL, "--projects", "60", "--days", "30", "--seed", "3")
	if out, err := sim.CombinedOutput(); err != nil {
		t.Fatalf("simulate: %v\n%s", err, out)
	}
	waitFor(t, "the population stored", func() bool {
		a := adminGet(t, srv.URL+"/metrics")
		return strings.Contains(string(a.body), "abacus_store_lag_events 0\n")
	})
	for _, name := range []string{"overview", "features", "cohort?feature=releases", "setup", "errors", "plugins", "runtimes"} {
		a := adminGet(t, srv.URL+"/api/v1/reports/"+name)
		if a.status != http.StatusOK {
			t.Errorf("%s: %d %s", name, a.status, a.body)
			continue
		}
		var r map[string]any
		if err := json.Unmarshal(a.body, &r); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, key := range []string{"report", "from", "to", "k", "activeProjects", "summary", "rows", "series", "suppressed"} {
			if _, ok := r[key]; !ok {
				t.Errorf("%s: no %q in %s", name, key, a.body)
			}
		}
		if r["activeProjects"].(float64) < 5 {
			t.Errorf("%s: activeProjects = %v", name, r["activeProjects"])
		}
	}
	if a := adminGet(t, srv.URL+"/api/v1/reports/nothing"); a.status != http.StatusNotFound {
		t.Errorf("unknown report: %d", a.status)
	}
	if a := adminGet(t, srv.URL+"/api/v1/reports/overview?last=soon"); a.status != http.StatusBadRequest || !strings.HasPrefix(a.errorMsg(t), "last") {
		t.Errorf("bad last: %d %s", a.status, a.body)
	}
	if a := adminGet(t, srv.URL+"/api/v1/reports/cohort"); a.status != http.StatusBadRequest {
		t.Errorf("cohort without a feature: %d %s", a.status, a.body)
	}
	resp, _ := http.Get(srv.URL + "/api/v1/reports/overview")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("reports without the token: %d", resp.StatusCode)
	}
	resp.Body.Close()

	cli := func(args ...string) string {
		t.Helper()
		cmd := osexec.Command(binary, append([]string{"report"}, args...)...)
		cmd.Env = append(os.Environ(), "ABACUS_TOKEN="+testToken)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("report %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := cli("plugins", "--server", srv.URL); !strings.Contains(out, "active projects") || !strings.Contains(out, "plugin") {
		t.Errorf("table:\n%s", out)
	}
	if out := cli("runtimes", "--server", srv.URL, "--format", "csv"); !strings.HasPrefix(out, "runtime,") {
		t.Errorf("csv:\n%s", out)
	}
	var viaServer, viaData map[string]any
	json.Unmarshal([]byte(cli("overview", "--server", srv.URL, "--format", "json")), &viaServer)
	srv.term()
	json.Unmarshal([]byte(cli("overview", "--data", srv.dir, "--format", "json")), &viaData)
	if viaServer["activeProjects"] == nil || viaServer["activeProjects"] != viaData["activeProjects"] {
		t.Errorf("from the server %v active projects, from the data directory %v", viaServer["activeProjects"], viaData["activeProjects"])
	}
}
