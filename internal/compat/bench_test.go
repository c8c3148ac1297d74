package compat

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/plan"
)

func benchBodies() (posthog, segment []byte) {
	var ph, seg []map[string]any
	for i := range 100 {
		ph = append(ph, map[string]any{"event": "didUseFeature", "distinct_id": fmt.Sprintf("%064x", i), "uuid": fmt.Sprintf("0193723e-6f1a-7cc2-9c5e-%012d", i),
			"timestamp": "2026-11-28T10:00:00Z", "type": "capture", "library": "posthog-node", "library_version": "5.74.0",
			"properties": map[string]any{"feature": "releases", "$groups": map[string]string{"project": project}, "$os": "linux", "$os_version": "6.1.0",
				"$lib": "posthog-node", "$lib_version": "5.74.0", "$app_version": "5.3.1", "environment": "production", "$geoip_disable": true}})
		seg = append(seg, map[string]any{"type": "track", "event": "didUseFeature", "messageId": fmt.Sprintf("node-next-%d", i), "anonymousId": fmt.Sprintf("%064x", i),
			"timestamp": "2026-11-28T10:00:00Z", "properties": map[string]any{"feature": "releases", "projectId": project, "environment": "production"},
			"integrations": map[string]any{}, "context": map[string]any{"library": map[string]string{"name": "@segment/analytics-node", "version": "3.1.0"},
				"os": map[string]string{"name": "linux", "version": "6.1.0"}, "app": map[string]string{"version": "5.3.1"}}})
	}
	posthog, _ = json.Marshal(map[string]any{"api_key": "k", "batch": ph, "sent_at": "2026-11-28T10:00:01Z"})
	segment, _ = json.Marshal(map[string]any{"batch": seg, "sentAt": "2026-11-28T10:00:01Z"})
	return
}

// BenchmarkMap measures the mapping of one 100-event body of each protocol:
// the one-pass mapping (as the collector calls it, releasing the batch) and
// the encoding/json mapping it replaced, which still maps the bodies the
// one-pass mapping declines.
func BenchmarkMap(b *testing.B) {
	m := New(plan.Default())
	ph, seg := benchBodies()
	at := time.Date(2026, 11, 28, 10, 0, 2, 0, time.UTC)
	for _, c := range []struct {
		name string
		body []byte
		run  func([]byte) (Result, *Error)
	}{
		{"posthog", ph, func(b []byte) (Result, *Error) { return m.Map(PostHog, b, Options{ReceivedAt: at}) }},
		{"posthog-json", ph, func(b []byte) (Result, *Error) { return m.postHogJSON(b, at) }},
		{"segment", seg, func(b []byte) (Result, *Error) { return m.Map(Segment, b, Options{ReceivedAt: at}) }},
		{"segment-json", seg, func(b []byte) (Result, *Error) { return m.segmentJSON(b, false, "", at) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.body)))
			b.ReportAllocs()
			for b.Loop() {
				r, err := c.run(c.body)
				if err != nil || r.Events != 100 {
					b.Fatal(err, r.Counts)
				}
				r.Release()
			}
		})
	}
}
