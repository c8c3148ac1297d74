package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/plan"
	"github.com/abacushq/abacus/internal/store"
	"github.com/abacushq/abacus/internal/wal"
	"github.com/abacushq/abacus/telemetry/wire"
)

// memStore is faultyStore with the read methods Start needs.
type memStore struct{ faultyStore }

func (s *memStore) IDs(ctx context.Context, since time.Time, fn func(string) error) error { return nil }
func (s *memStore) Existing(ctx context.Context, ids []string) (map[string]bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]bool{}
	for _, id := range ids {
		out[id] = s.stored[id]
	}
	return out, nil
}
func (s *memStore) DeleteBefore(ctx context.Context, t time.Time) (int64, error) { return 0, nil }

// testAdminToken is an admin token of the length Open accepts.
const testAdminToken = "test-token-0123456789abcdef0123456789"

func startTestServer(t *testing.T, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	cfg.DataDir = t.TempDir()
	if cfg.Plan == nil {
		cfg.Plan = plan.Default()
	}
	cfg.Token = testAdminToken
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() { hs.Close(); s.Close() })
	return s, hs
}

var eventSeq int

func batchBody(project string, n int) []byte {
	events := make([]wire.Event, n)
	for i := range events {
		eventSeq++
		events[i] = wire.Event{
			ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", eventSeq), Event: "ping", Timestamp: time.Now().UTC(),
			ProjectID: project, MachineID: strings.Repeat("ab", 32), Environment: "development",
			Product: wire.Product{Name: "strapi", Version: "5.3.1"},
		}
	}
	b, _ := json.Marshal(wire.Batch{Events: events})
	return b
}

func postJSON(t *testing.T, url string, body []byte) *http.Response {
	t.Helper()
	resp, err := http.Post(url+wire.BatchPath, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

const projectA = "7b581c0d-89b7-479e-b379-a76ab90b8754"
const projectB = "8c692d1e-9ac8-48af-8c8a-b87bc01c9865"

func TestRateLimitsAnswer429WithRetryAfter(t *testing.T) {
	st := &memStore{faultyStore{stored: map[string]bool{}}}
	_, hs := startTestServer(t, Config{Store: st, RateIP: 1, RateProject: -1}) // burst 10 requests
	var last *http.Response
	for range 11 {
		last = postJSON(t, hs.URL, batchBody(projectA, 1))
	}
	if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Errorf("11th request from one address: %d, Retry-After %q; want 429 with Retry-After", last.StatusCode, last.Header.Get("Retry-After"))
	}

	st2 := &memStore{faultyStore{stored: map[string]bool{}}}
	_, hs2 := startTestServer(t, Config{Store: st2, RateIP: -1, RateProject: 1}) // burst 60 events
	if r := postJSON(t, hs2.URL, batchBody(projectA, 60)); r.StatusCode != http.StatusAccepted {
		t.Fatalf("first 60 events: %d", r.StatusCode)
	}
	r := postJSON(t, hs2.URL, batchBody(projectA, 5))
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Errorf("project over its rate: %d, want 429 with Retry-After", r.StatusCode)
	}
	if r := postJSON(t, hs2.URL, batchBody(projectB, 5)); r.StatusCode != http.StatusAccepted {
		t.Errorf("another project was limited too: %d", r.StatusCode)
	}
}

func TestStoreFarBehindAnswers503(t *testing.T) {
	st := &memStore{faultyStore{down: true, stored: map[string]bool{}}}
	s, hs := startTestServer(t, Config{Store: st, RateIP: -1, RateProject: -1, MaxLag: 10})
	if r := postJSON(t, hs.URL, batchBody(projectA, 11)); r.StatusCode != http.StatusAccepted {
		t.Fatalf("first batch: %d", r.StatusCode)
	}
	r := postJSON(t, hs.URL, batchBody(projectA, 1))
	if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Errorf("with 11 events waiting for a store that is down: %d, want 503 with Retry-After", r.StatusCode)
	}
	st.mu.Lock()
	st.down = false
	st.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.writer.flush(ctx); err != nil {
		t.Fatal(err)
	}
	if r := postJSON(t, hs.URL, batchBody(projectA, 1)); r.StatusCode != http.StatusAccepted {
		t.Errorf("after the store caught up: %d, want 202", r.StatusCode)
	}
	if err := s.writer.flush(ctx); err != nil {
		t.Fatal(err)
	}
	if st.count() != 12 {
		t.Errorf("stored %d, want 12", st.count())
	}
}

var _ store.Store = (*memStore)(nil)

// With MaxInflight requests being processed, the next one waits a second for
// its turn and is then told to come back: 503 with Retry-After. A request still
// sending its body holds no turn.
func TestBusyCollectorSheds(t *testing.T) {
	st := &memStore{faultyStore{stored: map[string]bool{}}}
	cfg := Config{Store: st, RateIP: -1, RateProject: -1, MaxInflight: 1}
	hold, holding := make(chan struct{}), make(chan struct{})
	var once sync.Once
	cfg.WAL.FaultHook = func(op string) error {
		if op == wal.OpSync {
			once.Do(func() { close(holding) })
			<-hold // the first append waits here, holding the only turn
		}
		return nil
	}
	_, hs := startTestServer(t, cfg)
	first := make(chan int, 1)
	go func() { first <- postJSON(t, hs.URL, batchBody(projectA, 2)).StatusCode }()
	<-holding
	start := time.Now()
	resp := postJSON(t, hs.URL, batchBody(projectA, 1))
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || time.Since(start) < 900*time.Millisecond {
		t.Errorf("second request: %d, Retry-After %q after %v; want 503 with Retry-After after about a second",
			resp.StatusCode, resp.Header.Get("Retry-After"), time.Since(start))
	}
	close(hold)
	if code := <-first; code != http.StatusAccepted {
		t.Fatalf("the first request: %d, want 202", code)
	}

	// A body that trickles in takes no turn: with the only turn free, another
	// request goes through while it is still arriving.
	pr, pw := io.Pipe()
	slow := make(chan *http.Response, 1)
	go func() {
		resp, err := http.Post(hs.URL+wire.BatchPath, "application/json", pr)
		if err != nil {
			slow <- nil
			return
		}
		resp.Body.Close()
		slow <- resp
	}()
	body := batchBody(projectA, 3)
	pw.Write(body[:10])
	time.Sleep(100 * time.Millisecond)
	start = time.Now()
	if resp := postJSON(t, hs.URL, batchBody(projectA, 1)); resp.StatusCode != http.StatusAccepted || time.Since(start) > 500*time.Millisecond {
		t.Errorf("beside a body still arriving: %d after %v, want 202 at once", resp.StatusCode, time.Since(start))
	}
	pw.Write(body[10:])
	pw.Close()
	if r := <-slow; r == nil || r.StatusCode != http.StatusAccepted {
		t.Fatalf("the slow request was not accepted: %v", r)
	}
}
