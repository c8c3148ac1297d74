package bench

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/abacushq/abacus/telemetry"
	posthog "github.com/posthog/posthog-go"
	analytics "gopkg.in/segmentio/analytics-go.v3"
)

// sdk is one client under test, with the few calls the benchmarks need.
type sdk struct {
	name  string
	start func(b *testing.B, endpoint string) (track func(), close func())
}

// The same event with the same two properties for every SDK.
var props = map[string]any{"durationMs": 1234, "feature": "i18n"}

var sdks = []sdk{
	{"abacus", func(b *testing.B, endpoint string) (func(), func()) {
		dir := b.TempDir()
		os.WriteFile(filepath.Join(dir, "package.json"),
			[]byte(`{"name":"bench","strapi":{"uuid":"7b581c0d-89b7-479e-b379-a76ab90b8754"}}`), 0o644)
		c, err := telemetry.New(telemetry.Config{
			Product: "strapi", Version: "5.3.1", Endpoint: endpoint, Dir: dir, StateDir: b.TempDir(),
		})
		if err != nil || !c.Status().Enabled {
			b.Fatalf("abacus: %v %+v", err, c.Status())
		}
		return func() { c.Track("didStartServer", props) },
			func() { c.Close(context.Background()) }
	}},
	{"posthog-go", func(b *testing.B, endpoint string) (func(), func()) {
		c, err := posthog.NewWithConfig("phc_bench", posthog.Config{
			Endpoint: endpoint, Logger: posthog.StdLogger(log.New(io.Discard, "", 0)),
		})
		if err != nil {
			b.Fatal(err)
		}
		p := posthog.Properties(props)
		return func() { c.Enqueue(posthog.Capture{DistinctId: "machine", Event: "didStartServer", Properties: p}) },
			func() { c.Close() }
	}},
	{"segment-analytics-go", func(b *testing.B, endpoint string) (func(), func()) {
		c, err := analytics.NewWithConfig("bench", analytics.Config{
			Endpoint: endpoint, Logger: analytics.StdLogger(log.New(io.Discard, "", 0)),
		})
		if err != nil {
			b.Fatal(err)
		}
		p := analytics.Properties(props)
		return func() { c.Enqueue(analytics.Track{UserId: "machine", Event: "didStartServer", Properties: p}) },
			func() { c.Close() }
	}},
}

// isolate keeps the SDK's consent rules and state away from the user's own.
func isolate(b *testing.B) {
	for _, k := range []string{"DO_NOT_TRACK", "STRAPI_TELEMETRY_DISABLED", "STRAPI_TELEMETRY_DEBUG"} {
		b.Setenv(k, "")
	}
	b.Setenv("XDG_CONFIG_HOME", b.TempDir())
}

// collector answers every batch with 202 after reading it, like a healthy
// collector on loopback.
func collector(b *testing.B) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"accepted":0,"duplicates":0,"rejected":[]}`)
	}))
	b.Cleanup(srv.Close)
	return srv.URL
}

// BenchmarkTrack measures the call a host makes on its own goroutine for each
// event, with the SDK sending to a healthy local collector in the background.
func BenchmarkTrack(b *testing.B) {
	isolate(b)
	endpoint := collector(b)
	for _, s := range sdks {
		b.Run(s.name, func(b *testing.B) {
			track, closeFn := s.start(b, endpoint)
			defer closeFn()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				track()
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
				track, closeFn := s.start(b, endpoint)
				for range 10 {
					track()
				}
				b.StartTimer()
				start := time.Now()
				closeFn()
				total += time.Since(start)
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/close")
		})
	}
}
