package server

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/abacushq/abacus/internal/plan"
	"github.com/abacushq/abacus/telemetry/wire"
)

func startPlanServer(t *testing.T, cfg Config, p *plan.Plan) *httptest.Server {
	t.Helper()
	cfg.Plan = p
	_, hs := startTestServer(t, cfg)
	return hs
}

type answer struct {
	code  int
	retry string
	body  map[string]any
}

func post(t *testing.T, url string, body []byte, header ...string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{code: resp.StatusCode, retry: resp.Header.Get("Retry-After")}
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("POST %s: answer %d is not a JSON object: %q", url, resp.StatusCode, raw)
	}
	return a
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func metricLine(t *testing.T, url, prefix string) string {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

const phBatch = `{"api_key":"phc_1","batch":[
{"event":"didUseFeature","distinct_id":"d1","uuid":"0193723e-6f1a-7cc2-9c5e-3a1f0e4b2d10","timestamp":"2026-11-28T10:00:00Z","properties":{"feature":"graphql","$groups":{"project":"` + projectA + `"},"$ip":"10.0.0.1"}},
{"event":"$identify","distinct_id":"d1","properties":{"$set":{"email":"a@b.c"}}},
{"event":"unknownEvent","distinct_id":"d1","properties":{"projectId":"` + projectA + `"}},
{"event":"ping","distinct_id":"d1","properties":{"projectId":"not-a-uuid"}}]}`

func TestCompatRoutesStoreThroughTheNativePath(t *testing.T) {
	st := &memStore{faultyStore{stored: map[string]bool{}}}
	_, hs := startTestServer(t, Config{Store: st, RateIP: -1, RateProject: -1})

	a := post(t, hs.URL+"/posthog/batch/", gz([]byte(phBatch)), "Content-Encoding", "gzip")
	if a.code != 200 || a.body["status"] != 1.0 {
		t.Fatalf("posthog batch: %d %v, want 200 {status: 1}", a.code, a.body)
	}
	// A retry of the same uuid is a duplicate, not a second event.
	if a := post(t, hs.URL+"/posthog/batch", []byte(phBatch)); a.code != 200 {
		t.Fatalf("posthog retry: %d %v", a.code, a.body)
	}
	seg := `{"batch":[{"type":"track","event":"ping","messageId":"m-1","anonymousId":"a","properties":{"projectId":"` + projectB + `"}},{"type":"identify","userId":"u"}],"sentAt":"2026-11-28T10:00:00Z"}`
	a = post(t, hs.URL+"/segment/v1/batch", []byte(seg))
	if a.code != 200 || a.body["success"] != true {
		t.Fatalf("segment batch: %d %v, want 200 {success: true}", a.code, a.body)
	}
	strapi := `{"event":"ping","userId":"","installId":"i-1","userProperties":{},"groupProperties":{"projectId":"` + projectB + `"}}`
	if a := post(t, hs.URL+"/api/v2/track", []byte(strapi), "X-Strapi-Event", "ping"); a.code != 200 {
		t.Fatalf("strapi: %d %v", a.code, a.body)
	}
	for _, path := range []string{"/posthog/capture/", "/posthog/e/", "/posthog/i/v0/e/"} {
		one := `{"api_key":"k","event":"ping","distinct_id":"d9","properties":{"projectId":"` + projectA + `"}}`
		if a := post(t, hs.URL+path, gz([]byte(one)), "Content-Encoding", "gzip"); a.code != 200 || a.body["status"] != 1.0 {
			t.Errorf("%s: %d %v", path, a.code, a.body)
		}
	}
	if a := post(t, hs.URL+"/segment/v1/track", []byte(`{"event":"ping","userId":"u","properties":{"projectId":"`+projectA+`"}}`)); a.code != 200 {
		t.Errorf("segment track: %d %v", a.code, a.body)
	}
	for line, want := range map[string]string{
		`abacus_compat_events_total{protocol="posthog",outcome="stored"}`:     "4",
		`abacus_compat_events_total{protocol="posthog",outcome="duplicate"}`:  "1",
		`abacus_compat_events_total{protocol="posthog",outcome="not_track"}`:  "2",
		`abacus_compat_events_total{protocol="posthog",outcome="undeclared"}`: "2",
		`abacus_compat_events_total{protocol="posthog",outcome="invalid"}`:    "2",
		`abacus_compat_events_total{protocol="segment",outcome="stored"}`:     "2",
		`abacus_compat_events_total{protocol="segment",outcome="not_track"}`:  "1",
		`abacus_compat_events_total{protocol="strapi",outcome="stored"}`:      "1",
		`abacus_events_accepted_total`:                                        "7",
	} {
		if got := metricLine(t, hs.URL, line); got != line+" "+want {
			t.Errorf("metrics: %q, want %s %s", got, line, want)
		}
	}
}

func TestCompatErrorShapes(t *testing.T) {
	p, err := plan.Parse("plan.yaml", []byte("product: strapi\ningestKeys: [phc_good, wk_good]\nevents:\n  ping: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	st := &memStore{faultyStore{stored: map[string]bool{}}}
	hs := startPlanServer(t, Config{Store: st, RateIP: 1, RateProject: -1}, p) // 10 requests a burst
	one := `{"event":"ping","distinct_id":"d","properties":{"projectId":"` + projectA + `"}}`

	a := post(t, hs.URL+"/posthog/capture/", []byte(`{"api_key":"phc_bad",`+one[1:]))
	if a.code != 401 || a.body["type"] != "authentication_error" || !strings.Contains(a.body["detail"].(string), "ingestKeys") {
		t.Errorf("posthog bad key: %d %v", a.code, a.body)
	}
	if a := post(t, hs.URL+"/posthog/capture/", []byte(`{"api_key":"phc_good",`+one[1:])); a.code != 200 {
		t.Errorf("posthog good key: %d %v", a.code, a.body)
	}
	seg := []byte(`{"batch":[{"type":"track","event":"ping","anonymousId":"a","properties":{"projectId":"` + projectA + `"}}]}`)
	a = post(t, hs.URL+"/segment/v1/batch", seg)
	if a.code != 401 || a.body["success"] != false || a.body["message"] == "" {
		t.Errorf("segment without a key: %d %v", a.code, a.body)
	}
	req, _ := http.NewRequest(http.MethodPost, hs.URL+"/segment/v1/batch", bytes.NewReader(seg))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("wk_good", "")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("segment with the Basic key: %v %v", resp, err)
	}
	a = post(t, hs.URL+"/segment/v1/batch", []byte(`{"batch":[`))
	if a.code != 400 || a.body["success"] != false || !strings.Contains(a.body["message"].(string), "malformed JSON") {
		t.Errorf("segment malformed: %d %v", a.code, a.body)
	}
	a = post(t, hs.URL+"/posthog/batch/", bytes.Repeat([]byte(" "), 2<<20))
	if a.code != 413 || a.body["type"] != "validation_error" {
		t.Errorf("posthog too large: %d %v", a.code, a.body)
	}
	// Strapi's sender carries no key: its route stays public.
	if a := post(t, hs.URL+"/api/v2/track", []byte(`{"event":"ping","installId":"i","groupProperties":{"projectId":"`+projectA+`"}}`)); a.code != 200 {
		t.Errorf("strapi with ingestKeys listed: %d %v, want 200", a.code, a.body)
	}
	var last answer
	for range 8 {
		last = post(t, hs.URL+"/api/v2/track", []byte(`{"event":"ping","installId":"i","groupProperties":{"projectId":"`+projectA+`"}}`))
	}
	if last.code != 429 || last.retry == "" || last.body["error"] == "" {
		t.Errorf("strapi over the address rate: %d %q %v, want 429 with Retry-After", last.code, last.retry, last.body)
	}
	a = post(t, hs.URL+"/posthog/batch/", []byte(phBatch))
	if a.code != 429 || a.retry == "" || a.body["type"] != "throttled" {
		t.Errorf("posthog over the address rate: %d %q %v", a.code, a.retry, a.body)
	}
}

func TestSegmentBodyOnNativeRouteSaysWhere(t *testing.T) {
	st := &memStore{faultyStore{stored: map[string]bool{}}}
	_, hs := startTestServer(t, Config{Store: st, RateIP: -1, RateProject: -1})
	a := post(t, hs.URL+wire.BatchPath, []byte(`{"batch":[{"type":"track","event":"ping"}],"sentAt":"2026-11-28T10:00:00Z"}`))
	if a.code != 400 || !strings.Contains(a.body["error"].(string), "/segment/v1/batch") {
		t.Errorf("Segment body on /v1/batch: %d %v, want 400 naming /segment/v1/batch", a.code, a.body)
	}
}

// The native batch a foreign body maps to is held against the body memory
// budget with the body: a body that fits the budget but maps to a batch that
// does not is answered 503 with Retry-After, in the protocol's shape, and the
// same body is stored under a budget that holds both.
func TestCompatMappedBatchCountsInBodyBudget(t *testing.T) {
	// 1,000 small events: about 90 KB here, about 480 KB as a native batch.
	var b strings.Builder
	b.WriteString(`{"api_key":"k","batch":[`)
	for i := range 1000 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"event":"ping","distinct_id":"d","properties":{"projectId":"` + projectA + `"}}`)
	}
	b.WriteString(`]}`)
	body := []byte(b.String())
	if len(body) > 128<<10 {
		t.Fatalf("body of %d bytes: the test needs it under 128 KiB", len(body))
	}
	for _, c := range []struct {
		budget int64
		code   int
	}{{256 << 10, 503}, {4 << 20, 200}} {
		st := &memStore{faultyStore{stored: map[string]bool{}}}
		_, hs := startTestServer(t, Config{Store: st, RateIP: -1, RateProject: -1, RateIPEvents: -1, BodyMemory: c.budget})
		a := post(t, hs.URL+"/posthog/batch/", body)
		if a.code != c.code {
			t.Errorf("budget %d bytes: answer %d %v, want %d", c.budget, a.code, a.body, c.code)
			continue
		}
		if c.code == 503 && (a.retry == "" || a.body["type"] != "server_error" || !strings.Contains(a.body["detail"].(string), "budget")) {
			t.Errorf("budget %d bytes: %q %v, want Retry-After and a server_error naming the budget", c.budget, a.retry, a.body)
		}
		if got := metricLine(t, hs.URL, "abacus_events_accepted_total"); c.code == 200 && got != "abacus_events_accepted_total 1000" {
			t.Errorf("budget %d bytes: %q, want 1000 events accepted", c.budget, got)
		}
	}
}
