//go:build !race

package ingest

import (
	"bytes"
	"io"
	"testing"
)

// maxAllocsPerEvent is the allocation budget of Process per event of a
// typical batch (100 events, SDK-shaped, gzip): the event's properties map
// and its boxed values; the build map, IDs, strings and the request's own
// buffers are shared or pooled.
const maxAllocsPerEvent = 3.2

// TestProcessAllocations holds Process to its allocation budget. It does not
// build under the race detector, whose pools drop items at random.
func TestProcessAllocations(t *testing.T) {
	p := newPipeline(t, nil)
	_, gzBody := benchBatch(t)
	rd := bytes.NewReader(gzBody)
	r := benchRequest(gzBody)
	allocs := testing.AllocsPerRun(200, func() {
		rd.Reset(gzBody)
		r.Body = io.NopCloser(rd)
		b, e := p.Process(r, false, testNow)
		if e != nil || len(b.Events) != benchEvents {
			t.Fatalf("Process = %v, %v", b, e)
		}
	})
	perEvent := allocs / benchEvents
	t.Logf("%.0f allocations per request of %d events: %.2f per event", allocs, benchEvents, perEvent)
	if perEvent > maxAllocsPerEvent {
		t.Errorf("Process allocates %.2f times per event, budget %.1f", perEvent, maxAllocsPerEvent)
	}
}
