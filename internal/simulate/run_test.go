package simulate

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/abacushq/abacus/telemetry"
	"github.com/abacushq/abacus/telemetry/wire"
)

// collector is a test collector: it decodes each batch, counts every event ID it has seen
// and answers with respond (by default 202 with the batch accepted, repeats as duplicates).
type collector struct {
	*httptest.Server
	mu      sync.Mutex
	ids     map[string]int
	batches int
	largest int
	respond func(w http.ResponseWriter, b wire.Batch) bool // true: answered
}

func newCollector(t *testing.T) *collector {
	c := &collector{ids: map[string]int{}}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != wire.BatchPath || r.Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("request %s %s %q", r.Method, r.URL.Path, r.Header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			t.Errorf("body: %v", err)
			return
		}
		var b wire.Batch
		if err := json.NewDecoder(zr).Decode(&b); err != nil {
			t.Errorf("body: %v", err)
			return
		}
		if c.respond != nil && c.respond(w, b) {
			return
		}
		var resp wire.Response
		c.mu.Lock()
		c.batches++
		c.largest = max(c.largest, len(b.Events))
		for _, e := range b.Events {
			if c.ids[e.ID]++; c.ids[e.ID] > 1 {
				resp.Duplicates++
			} else {
				resp.Accepted++
			}
		}
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		json.NewEncoder(w).Encode(resp)
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *collector) sender(t *testing.T) *telemetry.Sender {
	s, err := telemetry.NewSender(c.URL, c.Client())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRun(t *testing.T) {
	cfg := Config{Projects: 120, Days: 25, Seed: 9, End: testEnd}
	var want []string
	wantSum, err := Generate(cfg, func(e *wire.Event) error { want = append(want, e.ID); return nil })
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		concurrency int
		again       bool // send twice: the second run is all duplicates
	}{
		{"default concurrency", 0, false},
		{"one request at a time", 1, false},
		{"eight, twice", 8, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			col := newCollector(t)
			var out bytes.Buffer
			s, err := Run(context.Background(), cfg, col.sender(t), tt.concurrency, &out)
			if err != nil {
				t.Fatal(err)
			}
			if tt.again {
				s, err = Run(context.Background(), cfg, col.sender(t), tt.concurrency, nil)
				if err != nil || s.Duplicates != len(want) || s.Accepted != 0 {
					t.Fatalf("second Run = %+v, %v", s, err)
				}
			}
			if len(col.ids) != len(want) || s.Events != len(want) || s.Projects != wantSum.Projects || s.Truths != wantSum.Truths {
				t.Errorf("collector got %d distinct events, Run says %d, want %d", len(col.ids), s.Events, len(want))
			}
			times := 1
			if tt.again {
				times = 2
			}
			for _, id := range want {
				if col.ids[id] != times {
					t.Fatalf("event %s arrived %d times, want %d", id, col.ids[id], times)
				}
			}
			if n := (len(want) + BatchSize - 1) / BatchSize * times; col.batches != n || col.largest != BatchSize {
				t.Errorf("%d batches of at most %d, want %d of %d", col.batches, col.largest, n, BatchSize)
			}
			if !tt.again && (s.Accepted != len(want) || s.Duplicates != 0 || s.Rejected != 0) {
				t.Errorf("answers %+v", s)
			}
			// The progress bar: redrawn with \r, at 100% last, then the summary.
			text := out.String()
			lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
			bar := lines[0]
			if !strings.HasPrefix(bar, "\r") || !strings.Contains(bar[strings.LastIndex(bar, "\r"):], "100% [========================] "+thousands(len(want))+"/"+thousands(len(want))+" events") {
				t.Errorf("progress line %q", bar)
			}
			if !strings.Contains(bar, "events/s  ETA ") {
				t.Errorf("progress line has no rate or ETA: %q", bar)
			}
			summary := strings.Join(lines[1:], "\n")
			for _, s := range []string{
				"sent " + thousands(len(want)) + " events in ",
				"120 projects",
				"collector: " + thousands(len(want)) + " accepted, 0 duplicates, 0 rejected",
				`planted: feature "releases" users have plugin "seo" 3× as often`,
				"E_ADMIN_BUILD_CRASH only on 5.4.0",
			} {
				if !strings.Contains(summary, s) {
					t.Errorf("summary lacks %q:\n%s", s, summary)
				}
			}
			if len(lines) != 4 || !strings.HasSuffix(text, "\n") {
				t.Errorf("output:\n%q", text)
			}
		})
	}
}

func TestRunRejected(t *testing.T) {
	col := newCollector(t)
	col.respond = func(w http.ResponseWriter, b wire.Batch) bool {
		w.WriteHeader(http.StatusAccepted)
		json.NewEncoder(w).Encode(wire.Response{Accepted: len(b.Events) - 1, Rejected: []wire.Rejection{{Index: 0, Error: "properties.durationMs: expected an integer"}}})
		return true
	}
	s, err := Run(context.Background(), Config{Projects: 30, Days: 10, End: testEnd}, col.sender(t), 2, nil)
	batches := (s.Events + BatchSize - 1) / BatchSize
	if err == nil || !strings.Contains(err.Error(), "rejected") || !strings.Contains(err.Error(), "expected an integer") || s.Rejected != batches || s.Accepted != s.Events-batches {
		t.Errorf("Run = %+v, %v", s, err)
	}
}

func TestRunStops(t *testing.T) {
	tests := []struct {
		name    string
		respond func(w http.ResponseWriter, b wire.Batch) bool
		timeout time.Duration
		want    string
	}{
		{"collector busy until the deadline", func(w http.ResponseWriter, b wire.Batch) bool {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}, 300 * time.Millisecond, "deadline exceeded"},
		{"collector refuses", func(w http.ResponseWriter, b wire.Batch) bool {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"events: expected an array"}`))
			return true
		}, time.Minute, "expected an array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			col := newCollector(t)
			col.respond = tt.respond
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			began := time.Now()
			var out bytes.Buffer
			_, err := Run(ctx, Config{Projects: 200, Days: 30, End: testEnd}, col.sender(t), 2, &out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run err = %v, want %q", err, tt.want)
			}
			if took := time.Since(began); took > tt.timeout+5*time.Second {
				t.Errorf("Run took %v", took)
			}
			if !strings.Contains(out.String(), "sent 0 events") {
				t.Errorf("output %q", out.String())
			}
			// A run that sent nothing planted nothing, and says so.
			if strings.Contains(out.String(), "planted:") || !strings.Contains(out.String(), "planted effects are incomplete") {
				t.Errorf("a run cut short reports planted effects:\n%s", out.String())
			}
		})
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(canceled, Config{End: testEnd}, newCollector(t).sender(t), 0, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Run with a canceled context: %v", err)
	}
	if _, err := Run(context.Background(), Config{}, nil, 0, nil); err == nil {
		t.Error("nil sender accepted")
	}
	if _, err := Run(context.Background(), Config{Projects: -5}, &telemetry.Sender{}, 0, nil); err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("bad config: %v", err)
	}
}

// The summary counts in the right number and times in the dashboard's units.
func TestSummaryPlurals(t *testing.T) {
	var out bytes.Buffer
	day := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	writeSummary(&out, Summary{Projects: 1, Machines: 1, Accepted: 1, Duplicates: 1, First: day, Last: day}, 1, 83*time.Second, false)
	want := "sent 1 event in 1 min 23 s (0 events/s): 1 project, 1 machine, 2026-12-03 to 2026-12-03\ncollector: 1 accepted, 1 duplicate, 0 rejected\n"
	if got := out.String(); !strings.HasPrefix(got, want) {
		t.Errorf("summary:\n%s\nwant it to start:\n%s", got, want)
	}
}
