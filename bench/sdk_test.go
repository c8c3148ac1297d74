package bench

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/abacushq/abacus/telemetry"
	posthog "github.com/posthog/posthog-go"
	analytics "gopkg.in/segmentio/analytics-go.v3"
)

// The same event with the same two properties for every SDK.
var props = map[string]any{"durationMs": 1234, "feature": "i18n"}

// round is how many events BenchmarkTrack tracks between two drains. It is
// below the smallest queue of the three SDKs (posthog-go and analytics-go
// buffer 100 messages in a channel and block past it; Abacus buffers 1,000 and
// drops past it), so every call of a round takes the path where the event is
// kept, whatever the SDK's goroutine is doing.
const round = 50

// flushEvery is the flush interval of all three SDKs in BenchmarkTrack (their
// default is 5s each). A round never fills a batch (Abacus sends 200 events a
// request, the peers 250), so the interval is what sends it; with the default
// a drain would take 5s.
const flushEvery = 5 * time.Millisecond

// client is one SDK under test, with the few calls the benchmarks need.
type client struct {
	track func()
	// delivered counts events the collector acknowledged, as the SDK saw it.
	delivered func() uint64
	// dropped counts events the SDK lost: a full queue, a failed delivery.
	dropped func() uint64
	close   func()
}

// sdk is one SDK and the server it is made for.
type sdk struct {
	name string
	// path is the route the SDK posts batches to; answer replies to a batch of
	// n events as the SDK's own server does.
	path   string
	answer func(w http.ResponseWriter, n int)
	// start makes a client sending to endpoint; flush 0 means the SDK's default
	// flush interval.
	start func(b *testing.B, endpoint string, flush time.Duration) *client
}

// callbacks counts the per-message outcomes posthog-go and analytics-go report.
type callbacks struct{ ok, failed atomic.Uint64 }

type posthogCallbacks struct{ *callbacks }

func (c posthogCallbacks) Success(posthog.APIMessage)        { c.ok.Add(1) }
func (c posthogCallbacks) Failure(posthog.APIMessage, error) { c.failed.Add(1) }

type segmentCallbacks struct{ *callbacks }

func (c segmentCallbacks) Success(analytics.Message)        { c.ok.Add(1) }
func (c segmentCallbacks) Failure(analytics.Message, error) { c.failed.Add(1) }

var sdks = []sdk{
	{
		name: "abacus",
		path: "/v1/batch",
		answer: func(w http.ResponseWriter, n int) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprintf(w, `{"accepted":%d,"duplicates":0,"rejected":[]}`, n)
		},
		start: func(b *testing.B, endpoint string, flush time.Duration) *client {
			dir := b.TempDir()
			os.WriteFile(filepath.Join(dir, "package.json"),
				[]byte(`{"name":"bench","strapi":{"uuid":"7b581c0d-89b7-479e-b379-a76ab90b8754"}}`), 0o644)
			c, err := telemetry.New(telemetry.Config{
				Product: "strapi", Version: "5.3.1", Endpoint: endpoint, Dir: dir, StateDir: b.TempDir(),
				FlushInterval: flush,
			})
			if err != nil || !c.Status().Enabled {
				b.Fatalf("abacus: %v %+v", err, c.Status())
			}
			return &client{
				track:     func() { c.Track("didStartServer", props) },
				delivered: func() uint64 { return c.Status().Sent },
				dropped:   func() uint64 { return c.Status().Dropped },
				close:     func() { c.Close(context.Background()) },
			}
		},
	},
	{
		name: "posthog-go",
		path: "/batch/",
		answer: func(w http.ResponseWriter, n int) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"status":1}`)
		},
		start: func(b *testing.B, endpoint string, flush time.Duration) *client {
			cb := &callbacks{}
			c, err := posthog.NewWithConfig("phc_bench", posthog.Config{
				Endpoint: endpoint, Interval: flush, Callback: posthogCallbacks{cb},
				Logger: posthog.StdLogger(log.New(io.Discard, "", 0)),
			})
			if err != nil {
				b.Fatal(err)
			}
			var refused atomic.Uint64
			p := posthog.Properties(props)
			return &client{
				track: func() {
					if c.Enqueue(posthog.Capture{DistinctId: "machine", Event: "didStartServer", Properties: p}) != nil {
						refused.Add(1)
					}
				},
				delivered: cb.ok.Load,
				dropped:   func() uint64 { return cb.failed.Load() + refused.Load() },
				close:     func() { c.Close() },
			}
		},
	},
	{
		name: "segment-analytics-go",
		path: "/v1/batch",
		answer: func(w http.ResponseWriter, n int) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"success":true}`)
		},
		start: func(b *testing.B, endpoint string, flush time.Duration) *client {
			cb := &callbacks{}
			c, err := analytics.NewWithConfig("bench", analytics.Config{
				Endpoint: endpoint, Interval: flush, Callback: segmentCallbacks{cb},
				Logger: analytics.StdLogger(log.New(io.Discard, "", 0)),
			})
			if err != nil {
				b.Fatal(err)
			}
			var refused atomic.Uint64
			p := analytics.Properties(props)
			return &client{
				track: func() {
					if c.Enqueue(analytics.Track{UserId: "machine", Event: "didStartServer", Properties: p}) != nil {
						refused.Add(1)
					}
				},
				delivered: cb.ok.Load,
				dropped:   func() uint64 { return cb.failed.Load() + refused.Load() },
				close:     func() { c.Close() },
			}
		},
	},
}

// isolate keeps the SDK's consent rules and state away from the user's own.
func isolate(b *testing.B) {
	for _, k := range []string{"DO_NOT_TRACK", "STRAPI_TELEMETRY_DISABLED", "STRAPI_TELEMETRY_DEBUG"} {
		b.Setenv(k, "")
	}
	b.Setenv("XDG_CONFIG_HOME", b.TempDir())
}

// collector is a loopback server for one SDK: it reads each batch posted to
// s.path (gunzipping it when the SDK compressed it), counts its events and
// answers as the SDK's own server does. Any other request gets 404.
func collector(b *testing.B, s sdk) (endpoint string, received *atomic.Uint64) {
	received = new(atomic.Uint64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != s.path {
			http.NotFound(w, r)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		var batch struct {
			Events []json.RawMessage `json:"events"` // Abacus
			Batch  []json.RawMessage `json:"batch"`  // PostHog, Segment
		}
		if err := json.NewDecoder(body).Decode(&batch); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		n := len(batch.Events) + len(batch.Batch)
		received.Add(uint64(n))
		s.answer(w, n)
	}))
	b.Cleanup(srv.Close)
	return srv.URL, received
}

// drain waits, with the timer stopped, until the SDK has delivered want events
// and the collector has received them.
func drain(b *testing.B, c *client, received *atomic.Uint64, want uint64) {
	deadline := time.Now().Add(10 * time.Second)
	for c.delivered() < want || received.Load() < want {
		if d := c.dropped(); d > 0 {
			b.Fatalf("%d events dropped", d)
		}
		if time.Now().After(deadline) {
			b.Fatalf("drain: %d of %d events delivered after 10s (collector received %d)", c.delivered(), want, received.Load())
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// BenchmarkTrack measures the call a host makes on its own goroutine for each
// event, on the path where the event is kept: the SDK tracks rounds of events
// smaller than its queue, and between rounds, with the timer stopped, the SDK
// delivers the round to a loopback collector that answers like the SDK's own
// server. The benchmark fails if any event is dropped, and reports the count.
// allocs/op counts every allocation made while the timer runs, including
// those of the SDK's own goroutines, which build and send events concurrently.
//
// Each drain takes a few milliseconds, so run it with a fixed count, e.g.
// -benchtime=20000x.
func BenchmarkTrack(b *testing.B) {
	isolate(b)
	for _, s := range sdks {
		b.Run(s.name, func(b *testing.B) {
			endpoint, received := collector(b, s)
			c := s.start(b, endpoint, flushEvery)
			defer c.close()
			// One untimed round first: connections, lazy initialisation.
			for range round {
				c.track()
			}
			drain(b, c, received, round)
			b.ReportAllocs()
			b.ResetTimer()
			for done := 0; done < b.N; {
				n := min(round, b.N-done)
				for range n {
					c.track()
				}
				done += n
				b.StopTimer()
				drain(b, c, received, uint64(round+done))
				b.StartTimer()
			}
			b.StopTimer()
			dropped := c.dropped()
			b.ReportMetric(float64(dropped), "dropped")
			if dropped != 0 {
				b.Fatalf("%d of %d events dropped", dropped, b.N+round)
			}
			if got, want := received.Load(), uint64(b.N+round); got != want {
				b.Fatalf("collector received %d events, want %d", got, want)
			}
		})
	}
}

// BenchmarkCloseBlackHoled measures Close after ten events when the collector's
// address accepts connections into the kernel backlog and never answers: the
// worst network a CLI can exit on.
func BenchmarkCloseBlackHoled(b *testing.B) {
	isolate(b)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	endpoint := "http://" + ln.Addr().String()
	for _, s := range sdks {
		b.Run(s.name, func(b *testing.B) {
			var total time.Duration
			for b.Loop() {
				b.StopTimer()
				c := s.start(b, endpoint, 0)
				for range 10 {
					c.track()
				}
				b.StartTimer()
				start := time.Now()
				c.close()
				total += time.Since(start)
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/close")
		})
	}
}
