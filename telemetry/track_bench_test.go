package telemetry

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// gateWriter blocks every write while its gate is held.
type gateWriter struct{ gate sync.Mutex }

func (w *gateWriter) Write(p []byte) (int, error) {
	w.gate.Lock()
	w.gate.Unlock()
	return len(p), nil
}

// BenchmarkTrackKept measures Track alone on the path where the event is kept:
// rounds smaller than the queue, during which the client's goroutine is held (so
// that it neither competes for the CPU nor empties the queue), drained between
// rounds with the timer stopped; nothing may be dropped.
func BenchmarkTrackKept(b *testing.B) {
	for _, k := range []string{"DO_NOT_TRACK", "STRAPI_TELEMETRY_DISABLED"} {
		b.Setenv(k, "")
	}
	b.Setenv("STRAPI_TELEMETRY_DEBUG", "1")
	b.Setenv("XDG_CONFIG_HOME", b.TempDir())
	dir := b.TempDir()
	os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"strapi": {"uuid": "7b581c0d-89b7-479e-b379-a76ab90b8754"}}`), 0o644)
	const round = 1000
	w := &gateWriter{}
	c, err := New(Config{Product: "strapi", Dir: dir, StateDir: b.TempDir(), QueueSize: 2 * round, Debug: w})
	if err != nil {
		b.Fatal(err)
	}
	props := map[string]any{"durationMs": 1234, "feature": "i18n"}
	w.gate.Lock()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%round == 0 && i > 0 {
			b.StopTimer()
			w.gate.Unlock()
			for c.Status().Pending > 0 {
				time.Sleep(50 * time.Microsecond)
			}
			w.gate.Lock()
			b.StartTimer()
		}
		c.Track("didStartServer", props)
	}
	b.StopTimer()
	w.gate.Unlock()
	c.Close(context.Background())
	if d := c.Status().Dropped; d != 0 {
		b.Fatalf("%d events dropped: not the kept path", d)
	}
}
