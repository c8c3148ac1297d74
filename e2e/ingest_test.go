package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/ingest"
	"github.com/abacushq/abacus/telemetry"
	"github.com/abacushq/abacus/telemetry/wire"
)

// The Go SDK sends to the real collector; the export shows the events with
// re-keyed IDs.
func TestSDKToCollector(t *testing.T) {
	srv := startServer(t, serveOpts{})
	for _, k := range []string{"DO_NOT_TRACK", "STRAPI_TELEMETRY_DISABLED", "STRAPI_TELEMETRY_DEBUG"} {
		t.Setenv(k, "")
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name": "blog"}`+"\n"), 0o644)
	projectID, err := telemetry.CreateProject(dir, "strapi")
	if err != nil {
		t.Fatal(err)
	}
	c, err := telemetry.New(telemetry.Config{
		Product: "strapi", Version: "5.3.1", Endpoint: srv.URL, Dir: dir, StateDir: t.TempDir(),
		Build:       map[string]any{"plugins": []string{"i18n", "graphql"}, "typescript": true, "database": "postgres"},
		CloseBudget: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Track("willCreateProject", map[string]any{"quickstart": true})
	c.Track("didStartServer", map[string]any{"durationMs": 1234, "notInPlan": "dropped"})
	c.Track("didUseFeature", map[string]any{"feature": "jane@example.com"}) // redacted by the SDK, rejected by the collector
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := c.Status()
	if st.Sent != 2 || st.Rejected != 1 {
		t.Fatalf("SDK status %+v: want 2 sent, 1 rejected", st)
	}

	secret, err := os.ReadFile(filepath.Join(srv.dir, "secret"))
	if err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(filepath.Join(srv.dir, "secret"))
	if info.Mode().Perm() != 0o600 {
		t.Errorf("secret has mode %v, want 0600", info.Mode().Perm())
	}
	key := make([]byte, 32)
	fmt.Sscanf(strings.TrimSpace(string(secret)), "%x", &key)
	want := ingest.NewKeyer(key).Project(projectID)

	var got []exported
	waitFor(t, "2 events in the export", func() bool { got = export(t, srv); return len(got) == 2 })
	for _, e := range got {
		if e.ProjectID != want || e.ProjectID == projectID || strings.Contains(e.ProjectID, strings.ReplaceAll(projectID, "-", "")) {
			t.Errorf("projectId %q: want the re-keyed %q, never the raw %q", e.ProjectID, want, projectID)
		}
		if !hex32.MatchString(e.MachineID) || !hex32.MatchString(e.SessionID) {
			t.Errorf("machineId %q sessionId %q: want re-keyed 32-hex IDs", e.MachineID, e.SessionID)
		}
		if e.Build["database"] != "postgres" || fmt.Sprint(e.Build["plugins"]) != "[i18n graphql]" {
			t.Errorf("build = %v", e.Build)
		}
	}
	// Both were tracked within a millisecond or so: find them by name.
	start := got[0]
	if start.Event != "didStartServer" {
		start = got[1]
	}
	if start.Event != "didStartServer" || start.Properties["durationMs"] != float64(1234) {
		t.Errorf("didStartServer = %+v", start)
	}
	if _, ok := start.Properties["notInPlan"]; ok {
		t.Errorf("an undeclared property was stored: %v", start.Properties)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Concurrent senders post batches while the server is SIGKILLed and restarted
// several times. Every id that got a 202 is in the export afterwards, once.
func TestCrashLosesNoAcknowledgedEvent(t *testing.T) {
	srv := startServer(t, serveOpts{})
	url := srv.URL // the same across restarts; read once, as restart rewrites the field
	project := newUUID()

	var mu sync.Mutex
	acked := map[string]bool{}
	var sent []string // every id ever sent, to resend some
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 7))
			for {
				select {
				case <-stop:
					return
				default:
				}
				events := make([]wire.Event, 20)
				for i := range events {
					events[i] = event(project, "didStartServer", map[string]any{"durationMs": r.IntN(5000)})
				}
				mu.Lock()
				if len(sent) > 0 && r.IntN(4) == 0 { // resend an earlier id now and then
					events[0].ID = sent[r.IntN(len(sent))]
				}
				mu.Unlock()
				body, _ := json.Marshal(wire.Batch{SentAt: time.Now().UTC(), Events: events})
				req, _ := http.NewRequest(http.MethodPost, url+wire.BatchPath, bytes.NewReader(gz(body)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Content-Encoding", "gzip")
				resp, err := client.Do(req)
				if err != nil {
					time.Sleep(20 * time.Millisecond) // the server is down; try again
					continue
				}
				var ans wire.Response
				ok := resp.StatusCode == http.StatusAccepted && json.NewDecoder(resp.Body).Decode(&ans) == nil
				resp.Body.Close()
				mu.Lock()
				for _, e := range events {
					sent = append(sent, e.ID)
					if ok {
						acked[e.ID] = true
					}
				}
				mu.Unlock()
				if ok && len(ans.Rejected) > 0 {
					t.Errorf("valid events rejected: %+v", ans.Rejected)
				}
			}
		}()
	}
	for round := range 4 {
		time.Sleep(time.Duration(300+rand.IntN(700)) * time.Millisecond)
		srv.kill()
		mu.Lock()
		t.Logf("round %d: killed with %d ids acknowledged", round, len(acked))
		mu.Unlock()
		time.Sleep(50 * time.Millisecond)
		srv.restart()
	}
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	if len(acked) < 200 {
		t.Fatalf("only %d ids acknowledged; the test did not exercise the server", len(acked))
	}
	var got []exported
	waitFor(t, "every acknowledged event stored", func() bool {
		got = export(t, srv)
		seen := map[string]bool{}
		for _, e := range got {
			seen[e.ID] = true
		}
		for id := range acked {
			if !seen[id] {
				return false
			}
		}
		return true
	})
	count := map[string]int{}
	for _, e := range got {
		count[e.ID]++
	}
	for id, n := range count {
		if n > 1 {
			t.Errorf("id %s stored %d times", id, n)
		}
	}
	t.Logf("%d ids acknowledged, %d stored, over 4 SIGKILLs", len(acked), len(got))
}

// Graceful shutdown: SIGTERM stores every acknowledged event and exits 0; the
// next start has nothing to replay.
func TestSIGTERMStoresEverything(t *testing.T) {
	srv := startServer(t, serveOpts{})
	project := newUUID()
	var ids []string
	for range 5 {
		events := []wire.Event{event(project, "ping", nil), event(project, "ping", nil)}
		if a := postBatch(t, srv.URL, events); a.status != http.StatusAccepted {
			t.Fatalf("status %d: %s", a.status, a.body)
		}
		ids = append(ids, events[0].ID, events[1].ID)
	}
	srv.term()
	if !strings.Contains(srv.logs(), "stopped") {
		t.Errorf("no clean stop in the logs:\n%s", srv.logs())
	}
	srv.restart()
	if !strings.Contains(srv.logs(), `msg="write-ahead log replayed" events=0`) {
		t.Errorf("the second start replayed events that SIGTERM should have stored:\n%s", srv.logs())
	}
	got := export(t, srv)
	if len(got) != len(ids) {
		t.Fatalf("export has %d events, want %d", len(got), len(ids))
	}
}

func TestDuplicatesAreCountedAndStoredOnce(t *testing.T) {
	srv := startServer(t, serveOpts{})
	project := newUUID()
	e1, e2 := event(project, "ping", nil), event(project, "ping", nil)
	a := postBatch(t, srv.URL, []wire.Event{e1, e2, e1})
	if r := a.response(t); a.status != http.StatusAccepted || r.Accepted != 2 || r.Duplicates != 1 {
		t.Fatalf("first batch: %d %s", a.status, a.body)
	}
	a = postBatch(t, srv.URL, []wire.Event{e1, e2})
	if r := a.response(t); r.Accepted != 0 || r.Duplicates != 2 {
		t.Fatalf("repeat batch: %s", a.body)
	}
	// After the events reach the store (and after a restart) repeats are still counted.
	waitFor(t, "stored", func() bool { return len(export(t, srv)) == 2 })
	srv.term()
	srv.restart()
	a = postBatch(t, srv.URL, []wire.Event{e2})
	if r := a.response(t); r.Accepted != 0 || r.Duplicates != 1 {
		t.Fatalf("repeat after restart: %s", a.body)
	}
	if got := export(t, srv); len(got) != 2 {
		t.Errorf("export has %d events, want 2", len(got))
	}
}

func TestEraseProject(t *testing.T) {
	srv := startServer(t, serveOpts{})
	gone, kept := newUUID(), newUUID()
	postBatch(t, srv.URL, []wire.Event{event(gone, "ping", nil), event(gone, "ping", nil), event(kept, "ping", nil)})
	out, err := runCLI(t, srv, "erase", "--project", gone, "--server", srv.URL)
	if err != nil || !strings.Contains(out, "erased 2 events") {
		t.Fatalf("erase: %v\n%s", err, out)
	}
	srv.kill() // before the log is released: replay must not bring them back
	srv.restart()
	got := export(t, srv)
	if len(got) != 1 {
		t.Fatalf("export after erase has %d events, want 1", len(got))
	}
	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/api/v1/projects/not-a-uuid", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("erase of a bad id: %d, want 400", resp.StatusCode)
	}
}

// runCLI runs an abacus client command with the admin token.
func runCLI(t *testing.T, srv *proc, args ...string) (string, error) {
	t.Helper()
	cmd := osexec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "ABACUS_TOKEN="+testToken)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestAdminNeedsTheToken(t *testing.T) {
	srv := startServer(t, serveOpts{env: []string{"ABACUS_TOKEN="}})
	tokenFile := filepath.Join(srv.dir, "token")
	b, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatalf("no token file: %v", err)
	}
	token := strings.TrimSpace(string(b))
	info, _ := os.Stat(tokenFile)
	if info.Mode().Perm() != 0o600 || len(token) < 32 {
		t.Errorf("token file mode %v, length %d", info.Mode().Perm(), len(token))
	}
	if !strings.Contains(srv.logs(), token) {
		t.Errorf("the new token was not printed")
	}
	for _, auth := range []string{"", "Bearer wrong", "Basic " + token, "Bearer " + token + "x"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/export", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %d, want 401", auth, resp.StatusCode)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/export", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("with the token: %d", resp.StatusCode)
	}
	// The token is printed once: a restart keeps it and does not show it again.
	before := strings.Count(srv.logs(), token)
	srv.term()
	srv.restart()
	if n := strings.Count(srv.logs(), token); n != before {
		t.Errorf("the token was printed again on restart")
	}
}

func TestOperationsEndpoints(t *testing.T) {
	srv := startServer(t, serveOpts{})
	postBatch(t, srv.URL, []wire.Event{event(newUUID(), "ping", nil)})
	post(t, srv.URL+wire.BatchPath, []byte("{"), nil)
	for path, want := range map[string][]string{
		"/healthz": {`"ok"`},
		"/readyz":  {`"ready"`},
		"/v1/plan": {`"product":"strapi"`, `"didStartServer"`},
		"/privacy": {"What data is collected", "didStartServer", "DO_NOT_TRACK"},
		"/metrics": {`abacus_http_requests_total{route="/v1/batch",code="202"} 1`, `abacus_http_requests_total{route="/v1/batch",code="400"} 1`,
			"abacus_events_accepted_total 1", "abacus_wal_bytes", "abacus_wal_fsync_seconds_total", "abacus_store_lag_events"},
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
		for _, w := range want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s lacks %q", path, w)
			}
		}
	}
}

// An IP address (TCP peer and X-Forwarded-For) and a user agent never reach the
// log files, the store, the export or the logs.
func TestNoIPOrUserAgentIsKept(t *testing.T) {
	srv := startServer(t, serveOpts{args: []string{"--log-level", "debug"}})
	const peer, forwarded, agent = "127.0.0.77", "203.0.113.77", "DistinctiveAgent/9.9"
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(peer)}}
	client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
	events := []wire.Event{event(newUUID(), "ping", nil), event(newUUID(), "didFailWithError", map[string]any{"code": "E_X"})}
	body, _ := json.Marshal(wire.Batch{Events: events})
	for _, path := range []string{wire.BatchPath, "/v1/nowhere", wire.TrackPath} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", forwarded)
		req.Header.Set("User-Agent", agent)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	waitFor(t, "2 events in the export", func() bool { return len(export(t, srv)) == 2 })
	exportBody := adminGet(t, srv.URL+"/api/v1/export").body
	walBytes := readTree(t, filepath.Join(srv.dir, "wal"))
	srv.term()
	storeBytes := readTree(t, srv.dir)
	for _, needle := range []string{peer, forwarded, agent} {
		for where, hay := range map[string][]byte{"wal": walBytes, "export": exportBody, "logs": []byte(srv.logs()), "data directory": storeBytes} {
			if bytes.Contains(hay, []byte(needle)) {
				t.Errorf("%q found in the %s", needle, where)
			}
		}
	}
	if len(walBytes) == 0 {
		t.Errorf("the check read no write-ahead log bytes")
	}
}

// readTree concatenates every file below dir.
func readTree(t *testing.T, dir string) []byte {
	var all []byte
	filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			b, _ := os.ReadFile(path)
			all = append(all, b...)
		}
		return nil
	})
	return all
}

// Export honours from/to; a shorter --retention deletes older events at start.
func TestExportWindowAndRetention(t *testing.T) {
	srv := startServer(t, serveOpts{})
	project := newUUID()
	old := event(project, "ping", nil)
	old.Timestamp = time.Now().UTC().Add(-10 * 24 * time.Hour)
	recent := event(project, "ping", nil)
	if a := postBatch(t, srv.URL, []wire.Event{old, recent}); a.status != http.StatusAccepted || a.response(t).Accepted != 2 {
		t.Fatalf("post: %d %s", a.status, a.body)
	}
	waitFor(t, "both stored", func() bool { return len(export(t, srv)) == 2 })
	day := func(d time.Duration) string { return time.Now().UTC().Add(d).Format(time.DateOnly) }
	a := adminGet(t, srv.URL+"/api/v1/export?from="+day(-11*24*time.Hour)+"&to="+day(-9*24*time.Hour))
	if a.status != http.StatusOK || strings.Count(string(a.body), "\n") != 1 || !strings.Contains(string(a.body), old.ID) {
		t.Errorf("export of the old window: %d %s", a.status, a.body)
	}
	if a := adminGet(t, srv.URL+"/api/v1/export?from=yesterday"); a.status != http.StatusBadRequest || !strings.Contains(a.errorMsg(t), "from:") {
		t.Errorf("bad from: %d %s", a.status, a.body)
	}

	srv.term()
	srv.args = []string{"--retention", "120h"}
	srv.restart()
	waitFor(t, "retention to delete the old event", func() bool {
		got := export(t, srv)
		return len(got) == 1 && got[0].ID == recent.ID
	})
}
