package metrics

import (
	"strings"
	"testing"
)

func TestTextFormat(t *testing.T) {
	var r Registry
	req := r.Counter("abacus_http_requests_total", "Requests by route and status.", "route", "code")
	req.Inc("/v1/batch", "202")
	req.Add(2, "/v1/batch", "202")
	req.Inc("/v1/batch", "400")
	r.Counter("abacus_events_accepted_total", "Events accepted.")
	r.Gauge("abacus_wal_bytes", "Bytes in the WAL.", func() float64 { return 1536 })
	h := r.Histogram("abacus_wal_fsync_seconds", "fsync latency.", 0.001, 0.01)
	h.Observe(0.0005)
	h.Observe(0.005)
	h.Observe(1)
	var b strings.Builder
	r.Write(&b)
	want := `# HELP abacus_http_requests_total Requests by route and status.
# TYPE abacus_http_requests_total counter
abacus_http_requests_total{route="/v1/batch",code="202"} 3
abacus_http_requests_total{route="/v1/batch",code="400"} 1
# HELP abacus_events_accepted_total Events accepted.
# TYPE abacus_events_accepted_total counter
abacus_events_accepted_total 0
# HELP abacus_wal_bytes Bytes in the WAL.
# TYPE abacus_wal_bytes gauge
abacus_wal_bytes 1536
# HELP abacus_wal_fsync_seconds fsync latency.
# TYPE abacus_wal_fsync_seconds histogram
abacus_wal_fsync_seconds_bucket{le="0.001"} 1
abacus_wal_fsync_seconds_bucket{le="0.01"} 2
abacus_wal_fsync_seconds_bucket{le="+Inf"} 3
abacus_wal_fsync_seconds_sum 1.0055
abacus_wal_fsync_seconds_count 3
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	if v := req.Value("/v1/batch", "202"); v != 3 {
		t.Errorf("Value = %d", v)
	}
}
