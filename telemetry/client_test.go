package telemetry

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/abacushq/abacus/telemetry/redact"
	"github.com/abacushq/abacus/telemetry/wire"
)

const testUUID = "7b581c0d-89b7-479e-b379-a76ab90b8754"

// isolate gives the test its own environment: no opt-out variables, and user
// config and cache directories of its own.
func isolate(t *testing.T) {
	t.Helper()
	for _, k := range []string{"DO_NOT_TRACK", "STRAPI_TELEMETRY_DISABLED", "STRAPI_TELEMETRY_DEBUG",
		"STRAPI_ENV", "NODE_ENV", "APP_ENV"} {
		t.Setenv(k, "")
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
}

// newProject makes a project directory whose package.json carries manifest.
func newProject(t *testing.T, manifest string) string {
	t.Helper()
	dir := t.TempDir()
	if manifest != "" {
		if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(manifest), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const projectManifest = `{"name": "my-project", "strapi": {"uuid": "` + testUUID + `"}}`

func testConfig(t *testing.T, endpoint string) Config {
	t.Helper()
	return Config{
		Product:       "strapi",
		Version:       "5.3.1",
		Endpoint:      endpoint,
		Dir:           newProject(t, projectManifest),
		StateDir:      filepath.Join(t.TempDir(), "state"),
		FlushInterval: 20 * time.Millisecond,
	}
}

// collector is an httptest collector that records what it receives and answers
// with respond (202 with every event accepted when respond is nil).
type collector struct {
	*httptest.Server
	mu       sync.Mutex
	batches  []wire.Batch
	requests atomic.Int32
	times    []time.Time
}

type responder func(n int, b wire.Batch, w http.ResponseWriter, r *http.Request)

func newCollector(t *testing.T, respond responder) *collector {
	t.Helper()
	c := &collector{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(c.requests.Add(1))
		if r.URL.Path != wire.BatchPath || r.Method != http.MethodPost {
			t.Errorf("request %s %s, want POST %s", r.Method, r.URL.Path, wire.BatchPath)
		}
		if r.Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("Content-Encoding = %q, want gzip", r.Header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			t.Errorf("body is not gzip: %v", err)
			return
		}
		var b wire.Batch
		if err := json.NewDecoder(zr).Decode(&b); err != nil {
			t.Errorf("body is not a batch: %v", err)
			return
		}
		c.mu.Lock()
		c.batches = append(c.batches, b)
		c.times = append(c.times, time.Now())
		c.mu.Unlock()
		if respond != nil {
			respond(n, b, w, r)
			return
		}
		accept(w, len(b.Events), nil)
	}))
	t.Cleanup(c.Close)
	return c
}

func accept(w http.ResponseWriter, n int, rejected []wire.Rejection) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	json.NewEncoder(w).Encode(wire.Response{Accepted: n - len(rejected), Rejected: rejected})
}

func (c *collector) events() []wire.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []wire.Event
	for _, b := range c.batches {
		out = append(out, b.Events...)
	}
	return out
}

func mustNew(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func closeClient(t *testing.T, c *Client) {
	t.Helper()
	if err := c.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// waitFor polls cond for up to 5 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDeliversEventsWithEnvelope(t *testing.T) {
	isolate(t)
	t.Setenv("NODE_ENV", "prod")
	col := newCollector(t, nil)
	cfg := testConfig(t, col.URL)
	cfg.Build = map[string]any{"plugins": []string{"i18n", "graphql"}, "typescript": true}
	c := mustNew(t, cfg)
	before := time.Now()
	c.Track("didStartServer", map[string]any{"durationMs": 1234})
	c.Track("didUseFeature", map[string]any{"feature": "content-history"})
	closeClient(t, c)

	evs := col.events()
	if len(evs) != 2 {
		t.Fatalf("collector got %d events, want 2", len(evs))
	}
	if b := col.batches[0]; b.SentAt.IsZero() || b.SentAt.Before(before.Add(-time.Second)) {
		t.Errorf("sentAt = %v, want the send time", b.SentAt)
	}
	ev := evs[0]
	if ev.Event != "didStartServer" || ev.ProjectID != testUUID || ev.Environment != wire.Production {
		t.Errorf("event = %q project = %q env = %q", ev.Event, ev.ProjectID, ev.Environment)
	}
	if !wire.IsMachineID(ev.MachineID) || !wire.IsUUID(ev.ID) || !wire.IsUUID(ev.SessionID) {
		t.Errorf("ids: machine %q id %q session %q", ev.MachineID, ev.ID, ev.SessionID)
	}
	if ev.ID == evs[1].ID || ev.SessionID != evs[1].SessionID {
		t.Errorf("event ids must differ and session ids match: %q %q / %q %q", ev.ID, evs[1].ID, ev.SessionID, evs[1].SessionID)
	}
	if ev.Product != (wire.Product{Name: "strapi", Version: "5.3.1"}) {
		t.Errorf("product = %+v", ev.Product)
	}
	if ev.Context.OS == "" || ev.Context.Arch == "" || ev.Context.CPUs < 1 || ev.Context.Runtime != "go" ||
		ev.Context.RuntimeVersion == "" || ev.Context.SDK != "abacus-go/"+SDKVersion {
		t.Errorf("context = %+v", ev.Context)
	}
	if got := ev.Properties["durationMs"]; got != float64(1234) {
		t.Errorf("durationMs = %v", got)
	}
	if got := fmt.Sprint(ev.Build["plugins"]); got != "[i18n graphql]" || ev.Build["typescript"] != true {
		t.Errorf("build = %v", ev.Build)
	}
	if ev.Timestamp.Before(before.Add(-time.Millisecond)) || ev.Timestamp.After(time.Now()) {
		t.Errorf("timestamp %v not within the test", ev.Timestamp)
	}
	st := c.Status()
	if !st.Enabled || st.Reason != ReasonEnabled || st.Sent != 2 || st.Pending != 0 || st.Spooled != 0 {
		t.Errorf("status = %+v", st)
	}
}

func TestRejectedEventsAreNotResent(t *testing.T) {
	isolate(t)
	col := newCollector(t, func(n int, b wire.Batch, w http.ResponseWriter, r *http.Request) {
		accept(w, len(b.Events), []wire.Rejection{{Index: 1, Error: "properties.code: expected ^[A-Z0-9_]{1,64}$"}})
	})
	cfg := testConfig(t, col.URL)
	c := mustNew(t, cfg)
	for i := range 3 {
		c.Track("didFailWithError", map[string]any{"i": i})
	}
	closeClient(t, c)
	if n := col.requests.Load(); n != 1 {
		t.Fatalf("requests = %d, want 1 (no resend of rejected events)", n)
	}
	st := c.Status()
	if st.Sent != 2 || st.Rejected != 1 || st.Spooled != 0 || !strings.Contains(st.LastError, "properties.code") {
		t.Errorf("status = %+v", st)
	}
	// The next run has nothing to resend.
	c2 := mustNew(t, cfg)
	closeClient(t, c2)
	if n := col.requests.Load(); n != 1 {
		t.Errorf("requests after second run = %d, want 1", n)
	}
}

func TestClientErrorDropsBatch(t *testing.T) {
	isolate(t)
	col := newCollector(t, func(n int, b wire.Batch, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":"events[0].timestamp: expected RFC 3339"}`)
	})
	cfg := testConfig(t, col.URL)
	c := mustNew(t, cfg)
	c.Track("ping", nil)
	closeClient(t, c)
	st := c.Status()
	if col.requests.Load() != 1 || st.Dropped != 1 || st.Spooled != 0 || !strings.Contains(st.LastError, "400") {
		t.Errorf("requests = %d, status = %+v", col.requests.Load(), st)
	}
	files, _ := spoolFiles(filepath.Join(cfg.StateDir, "spool"), true)
	if len(files) != 0 {
		t.Errorf("a refused batch was spooled: %v", files)
	}
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	isolate(t)
	col := newCollector(t, func(n int, b wire.Batch, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"error":"rate limited"}`)
			return
		}
		accept(w, len(b.Events), nil)
	})
	c := mustNew(t, testConfig(t, col.URL))
	c.Track("ping", nil)
	waitFor(t, "delivery after 429", func() bool { return c.Status().Sent == 1 })
	closeClient(t, c)
	col.mu.Lock()
	gap := col.times[1].Sub(col.times[0])
	col.mu.Unlock()
	if gap < 950*time.Millisecond {
		t.Errorf("retried after %v, want at least the 1s of Retry-After", gap)
	}
	if ids := col.events(); ids[0].ID != ids[1].ID {
		t.Errorf("retry changed the event id: %s then %s", ids[0].ID, ids[1].ID)
	}
}

func TestRetriesServerErrorsWithBackoff(t *testing.T) {
	isolate(t)
	for _, code := range []int{http.StatusInternalServerError, http.StatusServiceUnavailable, http.StatusRequestTimeout} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			col := newCollector(t, func(n int, b wire.Batch, w http.ResponseWriter, r *http.Request) {
				if n <= 2 {
					w.WriteHeader(code)
					return
				}
				accept(w, len(b.Events), nil)
			})
			c := mustNew(t, testConfig(t, col.URL))
			c.Track("ping", nil)
			waitFor(t, "delivery after two failures", func() bool { return c.Status().Sent == 1 })
			closeClient(t, c)
			col.mu.Lock()
			defer col.mu.Unlock()
			if len(col.times) != 3 {
				t.Fatalf("requests = %d, want 3", len(col.times))
			}
			// backoff(1) is in [250ms, 500ms], backoff(2) in [500ms, 1s].
			if g := col.times[1].Sub(col.times[0]); g < 240*time.Millisecond {
				t.Errorf("first retry after %v, want >= 250ms", g)
			}
			if g := col.times[2].Sub(col.times[1]); g < 490*time.Millisecond {
				t.Errorf("second retry after %v, want >= 500ms", g)
			}
		})
	}
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	for n := 1; n < 40; n++ {
		d := backoff(n)
		ceil := min(backoffMax, backoffBase<<min(n-1, 30))
		if n >= 20 {
			ceil = backoffMax
		}
		if d < ceil/2 || d > ceil {
			t.Fatalf("backoff(%d) = %v, want within [%v, %v]", n, d, ceil/2, ceil)
		}
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"3", 3 * time.Second},
		{"-5", 0},
		{"junk", 0},
		{"86400", maxRetryAfter},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
	} {
		if got := retryAfter(tc.in, now); got != tc.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// Endpoints that misbehave in every way a network can. Close must return within
// its budget for each and spool the events.
func TestCloseBudgetWhateverTheNetwork(t *testing.T) {
	isolate(t)
	blackHole, err := net.Listen("tcp", "127.0.0.1:0") // never accepts
	if err != nil {
		t.Fatal(err)
	}
	defer blackHole.Close()
	reset := resetServer(t)
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // the server notices a closed connection only once the body is read
		<-r.Context().Done()
	}))
	defer hang.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-time.After(2 * time.Second):
			w.WriteHeader(http.StatusAccepted)
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()

	for _, tc := range []struct{ name, endpoint string }{
		{"black-holed", "http://" + blackHole.Addr().String()},
		{"hanging", hang.URL},
		{"slow", slow.URL},
		{"resetting", "http://" + reset},
		{"dns-failing", "http://abacus-collector.invalid"},
		{"refused", "http://127.0.0.1:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, tc.endpoint)
			cfg.FlushInterval = time.Hour // everything goes at Close
			c := mustNew(t, cfg)
			for i := range 5 {
				c.Track("didStartServer", map[string]any{"durationMs": i})
			}
			start := time.Now()
			err := c.Close(context.Background())
			elapsed := time.Since(start)
			if err != nil {
				t.Errorf("Close: %v", err)
			}
			if elapsed > defaultCloseBudget+100*time.Millisecond {
				t.Errorf("Close took %v, budget %v", elapsed, defaultCloseBudget)
			}
			st := c.Status()
			if st.Spooled != 5 || st.Sent != 0 {
				t.Errorf("status = %+v, want 5 spooled", st)
			}
			if got := spooledEvents(t, cfg.StateDir); len(got) != 5 {
				t.Errorf("spool holds %d events, want 5", len(got))
			}
		})
	}
}

// resetServer accepts connections and resets them at once.
func resetServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
		}
	}()
	return ln.Addr().String()
}

func spooledEvents(t *testing.T, stateDir string) []wire.Event {
	t.Helper()
	files, err := spoolFiles(filepath.Join(stateDir, "spool"), true)
	if err != nil {
		t.Fatal(err)
	}
	var out []wire.Event
	for _, f := range files {
		data, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		info, _ := os.Stat(f.path)
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("spool file mode %v, want 0600", perm)
		}
		for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
			var ev wire.Event
			if err := json.Unmarshal(line, &ev); err != nil {
				t.Fatalf("spool line %q: %v", line, err)
			}
			out = append(out, ev)
		}
	}
	return out
}

func TestCloseHonoursContextDeadline(t *testing.T) {
	isolate(t)
	blackHole, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer blackHole.Close()
	cfg := testConfig(t, "http://"+blackHole.Addr().String())
	cfg.CloseBudget = 5 * time.Second
	c := mustNew(t, cfg)
	c.Track("ping", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	c.Close(ctx)
	if el := time.Since(start); el > 250*time.Millisecond {
		t.Errorf("Close took %v with a 150ms context", el)
	}
	if st := c.Status(); st.Spooled != 1 {
		t.Errorf("status = %+v, want the event spooled", st)
	}
}

func TestSpoolIsDeliveredByTheNextRun(t *testing.T) {
	isolate(t)
	cfg := testConfig(t, "http://127.0.0.1:1") // collector down
	cfg.CloseBudget = 10 * time.Second         // this test is about the spool, not the budget
	c := mustNew(t, cfg)
	c.Track("willCreateProject", map[string]any{"quickstart": true})
	c.Track("didCreateProject", nil)
	c.Close(context.Background())
	spooled := spooledEvents(t, cfg.StateDir)
	if len(spooled) != 2 {
		t.Fatalf("spooled %d events, want 2", len(spooled))
	}

	col := newCollector(t, nil)
	cfg.Endpoint = col.URL
	c2 := mustNew(t, cfg)
	c2.Track("didStartServer", nil)
	closeClient(t, c2)
	got := col.events()
	if len(got) != 3 {
		t.Fatalf("collector got %d events, want the 2 spooled and 1 new", len(got))
	}
	// The run's own event goes first, then the spooled ones, unchanged.
	if got[0].Event != "didStartServer" || got[1].ID != spooled[0].ID || got[2].ID != spooled[1].ID || !got[1].Timestamp.Equal(spooled[0].Timestamp) {
		t.Errorf("spooled events changed on the way: %+v vs %+v", got, spooled)
	}
	if st := c2.Status(); st.Sent != 1 || st.Resent != 2 || st.Tracked != 1 {
		t.Errorf("status = %+v, want 1 sent and 2 resent", st)
	}
	if left := spooledEvents(t, cfg.StateDir); len(left) != 0 {
		t.Errorf("spool still holds %d events after delivery", len(left))
	}
}

func TestSpoolIsCappedDroppingOldest(t *testing.T) {
	isolate(t)
	cfg := testConfig(t, "http://127.0.0.1:1")
	cfg.FlushInterval = time.Hour
	cfg.QueueSize = 5000
	cfg.CloseBudget = 10 * time.Second
	big := strings.Repeat("a b ", 60) // 240 characters, not redacted
	total := 0
	for run := range 3 {
		c := mustNew(t, cfg)
		for i := range 1500 {
			c.Track("ping", map[string]any{"run": run, "i": i, "a": big, "b": big, "c": big})
		}
		total += 1500
		if err := c.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := spoolFiles(filepath.Join(cfg.StateDir, "spool"), true)
	var size int64
	for _, f := range files {
		size += f.size
	}
	if size > spoolMaxBytes {
		t.Errorf("spool is %d bytes, cap %d", size, spoolMaxBytes)
	}
	evs := spooledEvents(t, cfg.StateDir)
	if len(evs) == 0 || len(evs) >= total {
		t.Fatalf("spool holds %d of %d events; want some dropped", len(evs), total)
	}
	last := evs[len(evs)-1].Properties
	if last["run"] != float64(2) || last["i"] != float64(1499) {
		t.Errorf("newest kept event is run %v i %v, want run 2 i 1499", last["run"], last["i"])
	}
}

func TestOptOutPathsSendAndWriteNothing(t *testing.T) {
	for _, tc := range []struct {
		name     string
		setup    func(t *testing.T, cfg *Config)
		reason   string
		allSpool bool // a user-level opt-out discards every project's spool
	}{
		{"DO_NOT_TRACK=1", func(t *testing.T, cfg *Config) { t.Setenv("DO_NOT_TRACK", "1") }, "DO_NOT_TRACK", true},
		{"DO_NOT_TRACK=true", func(t *testing.T, cfg *Config) { t.Setenv("DO_NOT_TRACK", "true") }, "DO_NOT_TRACK", true},
		{"DO_NOT_TRACK=yes", func(t *testing.T, cfg *Config) { t.Setenv("DO_NOT_TRACK", "YES") }, "DO_NOT_TRACK", true},
		{"product variable", func(t *testing.T, cfg *Config) { t.Setenv("STRAPI_TELEMETRY_DISABLED", "1") }, "STRAPI_TELEMETRY_DISABLED", true},
		{"Disable", func(t *testing.T, cfg *Config) {
			if err := Disable(); err != nil {
				t.Fatal(err)
			}
		}, ReasonOptOutFile, true},
		{"no package.json", func(t *testing.T, cfg *Config) { cfg.Dir = newProject(t, "") }, ReasonNoManifest, false},
		{"uuid deleted", func(t *testing.T, cfg *Config) {
			cfg.Dir = newProject(t, `{"name": "x", "strapi": {"telemetryDisabled": false}}`)
		}, ReasonNoUUID, false},
		{"no product key", func(t *testing.T, cfg *Config) { cfg.Dir = newProject(t, `{"name": "x"}`) }, ReasonNoUUID, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolate(t)
			col := newCollector(t, nil)
			cfg := testConfig(t, col.URL)
			// An earlier run of this project, and of another one, left spools.
			mine := filepath.Join(cfg.StateDir, "spool", projectKey(cfg.Dir))
			other := filepath.Join(cfg.StateDir, "spool", "0000000000000000")
			tc.setup(t, &cfg)
			mine = filepath.Join(cfg.StateDir, "spool", projectKey(cfg.Dir))
			for _, d := range []string{mine, other} {
				os.MkdirAll(d, 0o700)
				os.WriteFile(filepath.Join(d, "1-a.jsonl"), []byte(`{"id":"x"}`+"\n"), 0o600)
			}
			before := listFiles(t, cfg.StateDir)

			goroutines := numGoroutine()
			c := mustNew(t, cfg)
			c.Track("ping", map[string]any{"a": 1})
			// At most one goroutine, deleting the spool set aside, and it ends.
			waitFor(t, "the deletion of the spool to end", func() bool { return numGoroutine() <= goroutines })
			if err := c.Close(context.Background()); err != nil {
				t.Errorf("Close: %v", err)
			}
			st := c.Status()
			if st.Enabled || !strings.Contains(st.Reason, tc.reason) {
				t.Errorf("status = %+v, want disabled by %q", st, tc.reason)
			}
			if n := col.requests.Load(); n != 0 {
				t.Errorf("a disabled client sent %d requests", n)
			}
			if _, err := os.Stat(mine); !os.IsNotExist(err) {
				t.Errorf("the project's spool survived the opt-out")
			}
			_, err := os.Stat(other)
			if tc.allSpool != os.IsNotExist(err) {
				t.Errorf("other projects' spool exists = %v, want %v", err == nil, !tc.allSpool)
			}
			after := listFiles(t, cfg.StateDir)
			for f := range after {
				if !before[f] {
					t.Errorf("a disabled client wrote %s", f)
				}
			}
		})
	}
}

func listFiles(t *testing.T, dir string) map[string]bool {
	files := map[string]bool{}
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files[path] = true
		}
		return nil
	})
	return files
}

func numGoroutine() int {
	time.Sleep(10 * time.Millisecond) // let exiting goroutines of earlier tests finish
	return runtime.NumGoroutine()
}

func TestEnableRemovesTheOptOut(t *testing.T) {
	isolate(t)
	col := newCollector(t, nil)
	cfg := testConfig(t, col.URL)
	if err := Disable(); err != nil {
		t.Fatal(err)
	}
	if c := mustNew(t, cfg); c.Status().Enabled {
		t.Fatal("enabled after Disable")
	}
	if err := Enable(); err != nil {
		t.Fatal(err)
	}
	if err := Enable(); err != nil {
		t.Fatalf("second Enable: %v", err)
	}
	c := mustNew(t, cfg)
	if st := c.Status(); !st.Enabled {
		t.Fatalf("disabled after Enable: %+v", st)
	}
	closeClient(t, c)
}

func TestDebugPrintsAndSendsNothing(t *testing.T) {
	isolate(t)
	t.Setenv("STRAPI_TELEMETRY_DEBUG", "1")
	col := newCollector(t, nil)
	cfg := testConfig(t, col.URL)
	var out bytes.Buffer
	cfg.Debug = &out
	c := mustNew(t, cfg)
	c.Track("didUseFeature", map[string]any{"feature": "i18n"})
	c.Track("ping", nil)
	closeClient(t, c)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("debug printed %d lines, want 2:\n%s", len(lines), out.String())
	}
	var ev wire.Event
	if err := json.Unmarshal([]byte(lines[0]), &ev); err != nil || ev.Event != "didUseFeature" || ev.Properties["feature"] != "i18n" {
		t.Errorf("first line %q: %v", lines[0], err)
	}
	if n := col.requests.Load(); n != 0 {
		t.Errorf("debug mode sent %d requests", n)
	}
	if st := c.Status(); !st.Debug || !st.Enabled {
		t.Errorf("status = %+v", st)
	}
	if files := listFiles(t, filepath.Join(cfg.StateDir, "spool")); len(files) != 0 {
		t.Errorf("debug mode spooled: %v", files)
	}
}

// blockingWriter stalls the client's goroutine in debug mode, so that the queue
// fills deterministically.
type blockingWriter struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
	buf     bytes.Buffer
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	w.once.Do(func() {
		close(w.entered)
		<-w.release
	})
	return w.buf.Write(p)
}

func TestFullQueueDropsNewest(t *testing.T) {
	isolate(t)
	t.Setenv("STRAPI_TELEMETRY_DEBUG", "1")
	cfg := testConfig(t, "")
	w := &blockingWriter{entered: make(chan struct{}), release: make(chan struct{})}
	cfg.Debug = w
	cfg.QueueSize = 10
	c := mustNew(t, cfg)
	c.Track("ping", map[string]any{"i": 0})
	<-w.entered // the goroutine holds event 0
	for i := 1; i <= 25; i++ {
		c.Track("ping", map[string]any{"i": i})
	}
	if st := c.Status(); st.Dropped != 15 || st.Tracked != 26 || st.DroppedBy["queueFull"] != 15 {
		t.Errorf("status = %+v, want 26 tracked and 15 dropped (queue full)", st)
	}
	close(w.release)
	closeClient(t, c)
	lines := strings.Split(strings.TrimSpace(w.buf.String()), "\n")
	if len(lines) != 11 {
		t.Fatalf("printed %d events, want 11", len(lines))
	}
	var last wire.Event
	json.Unmarshal([]byte(lines[10]), &last)
	if last.Properties["i"] != float64(10) {
		t.Errorf("last kept event i = %v, want 10 (the newest are dropped)", last.Properties["i"])
	}
}

func TestSafeValues(t *testing.T) {
	home, _ := os.UserHomeDir()
	s := sanitizer{rules: redact.Rules{Home: home}}
	type plugin string
	long := strings.Repeat("é", 300)
	in := map[string]any{
		"email":    "jane.doe@example.com",
		"ip":       "192.168.1.20",
		"url":      "postgres://admin:hunter2@db.internal:5432/app",
		"home":     filepath.Join(home, "projects", "acme"),
		"jwt":      "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
		"ok":       "graphql",
		"long":     long,
		"named":    plugin("i18n"),
		"n":        42,
		"f":        1.5,
		"nan":      nanValue(),
		"b":        true,
		"list":     []string{"i18n", "a@b.co"},
		"ints":     []int{1, 2},
		"nested":   map[string]any{"x": 1},
		"fn":       func() {},
		"nil":      nil,
		"bad key!": 1,
		"bytes":    []byte("x"),
		"invalid":  "a\xffb",
	}
	out, dropped := s.props(in)
	want := map[string]any{
		"email": redact.Placeholder, "ip": redact.Placeholder, "url": redact.Placeholder,
		"home": redact.Placeholder, "jwt": redact.Placeholder, "ok": "graphql",
		"long": strings.Repeat("é", wire.MaxStringLen), "named": "i18n", "n": 42, "f": 1.5, "b": true,
		"list": []any{"i18n", redact.Placeholder}, "ints": []any{int64(1), int64(2)}, "invalid": "a\uFFFDb",
	}
	if fmt.Sprint(out) != fmt.Sprint(want) {
		t.Errorf("props:\n got %v\nwant %v", out, want)
	}
	if dropped != 6 { // nan, nested, fn, nil, bad key, bytes
		t.Errorf("dropped = %d, want 6", dropped)
	}

	many := map[string]any{}
	for i := range 100 {
		many[fmt.Sprintf("k%03d", i)] = i
	}
	out, dropped = s.props(many)
	if len(out) != wire.MaxPropertiesPerEvent || dropped != 100-wire.MaxPropertiesPerEvent {
		t.Errorf("100 keys gave %d kept, %d dropped", len(out), dropped)
	}
	if _, ok := out["k000"]; !ok {
		t.Errorf("the first keys in order must be kept")
	}
}

func nanValue() float64 {
	var zero float64
	return zero / zero
}

func TestEventNames(t *testing.T) {
	for name, want := range map[string]bool{
		"didStartServer": true, "plugin:install": true, "a": true, "x.y-z_1": true,
		"": false, "1abc": false, "has space": false, strings.Repeat("a", 65): false, "é": false,
	} {
		if got := validEventName(name); got != want {
			t.Errorf("validEventName(%q) = %v", name, got)
		}
	}
}

func TestInvalidEventNameIsDropped(t *testing.T) {
	isolate(t)
	col := newCollector(t, nil)
	c := mustNew(t, testConfig(t, col.URL))
	c.Track("not valid!", nil)
	c.Track("ping", nil)
	closeClient(t, c)
	if evs := col.events(); len(evs) != 1 || evs[0].Event != "ping" {
		t.Errorf("events = %+v", evs)
	}
	if st := c.Status(); st.Dropped != 1 {
		t.Errorf("dropped = %d, want 1", st.Dropped)
	}
}

func TestConfigErrors(t *testing.T) {
	isolate(t)
	dir := newProject(t, projectManifest)
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "Config.Product"},
		{Config{Product: "Has Caps"}, "Config.Product"},
		{Config{Product: "strapi", Endpoint: "ftp://x", Dir: dir}, "Config.Endpoint"},
		{Config{Product: "strapi", Endpoint: "not a url", Dir: dir}, "Config.Endpoint"},
		{Config{Product: "strapi", Dir: dir, StateDir: t.TempDir()}, "Config.Endpoint"},
	} {
		c, err := New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) error = %v, want it to name %s", tc.cfg, err, tc.want)
		}
		if c != nil {
			t.Errorf("New returned a client with an error")
		}
	}
}

func TestNilAndClosedClientsAreSafe(t *testing.T) {
	isolate(t)
	var nilClient *Client
	nilClient.Track("ping", nil)
	if err := nilClient.Close(context.Background()); err != nil {
		t.Errorf("nil Close: %v", err)
	}
	if st := nilClient.Status(); st.Enabled {
		t.Errorf("nil status enabled")
	}

	col := newCollector(t, nil)
	c := mustNew(t, testConfig(t, col.URL))
	c.Track("ping", nil)
	closeClient(t, c)
	closeClient(t, c) // idempotent
	c.Track("ping", nil)
	if st := c.Status(); st.Sent != 1 || st.Tracked != 1 {
		t.Errorf("status after Track on a closed client = %+v", st)
	}
}

func TestConcurrentTrackAndClose(t *testing.T) {
	isolate(t)
	col := newCollector(t, nil)
	cfg := testConfig(t, col.URL)
	cfg.QueueSize = 100000
	cfg.CloseBudget = 5 * time.Second
	c := mustNew(t, cfg)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				c.Track("ping", map[string]any{"g": g, "i": i})
			}
		}()
	}
	wg.Wait()
	closeClient(t, c)
	st := c.Status()
	if got := len(col.events()); uint64(got) != st.Tracked || st.Tracked != 4000 || st.Sent != 4000 {
		t.Errorf("collector got %d events; status %+v", got, st)
	}
}
