//go:build !race

package telemetry

import (
	"context"
	"testing"
)

// Track's cost is part of its contract: at most 2 allocations a call, so that a
// host can track on hot paths. The race detector changes allocation counts, so
// this test runs without it.
func TestTrackAllocations(t *testing.T) {
	isolate(t)
	// Debug mode with a held writer: the client's goroutine waits on its first
	// event, so that its own allocations are not counted against Track.
	t.Setenv("STRAPI_TELEMETRY_DEBUG", "1")
	cfg := testConfig(t, "")
	w := &gateWriter{}
	cfg.Debug = w
	cfg.QueueSize = 100000
	c := mustNew(t, cfg)
	w.gate.Lock()
	defer c.Close(context.Background())
	defer w.gate.Unlock()
	props := map[string]any{"durationMs": 1234, "feature": "i18n"}
	if n := testing.AllocsPerRun(1000, func() { c.Track("didStartServer", props) }); n > 2 {
		t.Errorf("Track allocates %v times a call, budget 2", n)
	}
	if n := testing.AllocsPerRun(1000, func() { c.Track("ping", nil) }); n > 0 {
		t.Errorf("Track without properties allocates %v times a call, want 0", n)
	}
}
