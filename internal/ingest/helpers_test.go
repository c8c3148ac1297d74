package ingest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/plan"
)

const (
	testProject = "7b581c0d-89b7-479e-b379-a76ab90b8754"
	testMachine = "3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f"
	testSession = "0193723e-5a00-7000-8000-000000000001"
)

var (
	testSecret = []byte("0123456789abcdef0123456789abcdef-test-secret")
	testNow    = time.Date(2026, 11, 28, 10, 0, 5, 0, time.UTC)
	testPlan   = plan.Default()
	testKeyer  = NewKeyer(testSecret)
)

func newPipeline(tb testing.TB, mod func(*Config)) *Pipeline {
	tb.Helper()
	cfg := Config{Plan: testPlan, Keyer: testKeyer}
	if mod != nil {
		mod(&cfg)
	}
	return New(cfg)
}

// ev is an event under construction; goodEvent returns a valid one.
type ev = map[string]any

func eventID(i int) string { return fmt.Sprintf("0193723e-6f1a-7cc2-9c5e-%012x", i) }

func goodEvent(i int) ev {
	return ev{
		"id":          eventID(i),
		"event":       "didStartServer",
		"timestamp":   testNow.Add(-5 * time.Second).Format(time.RFC3339Nano),
		"projectId":   testProject,
		"machineId":   testMachine,
		"sessionId":   testSession,
		"environment": "development",
		"product":     ev{"name": "strapi", "version": "5.3.1"},
		"context": ev{"os": "linux", "osVersion": "6.1.0", "arch": "amd64", "cpus": 8,
			"memoryMB": 16384, "runtime": "node", "runtimeVersion": "20.11.1",
			"ci": false, "ciName": "", "docker": false, "wsl": false, "sdk": "abacus-go/0.1.0"},
		"build":      ev{"plugins": []any{"i18n", "graphql"}, "typescript": true},
		"properties": ev{"durationMs": 1234},
	}
}

// with returns a copy of e with path (dotted) set to v; v == del removes it.
func with(e ev, path string, v any) ev {
	out := clone(e).(ev)
	m := out
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(ev)
		if !ok {
			next = ev{}
			m[p] = next
		}
		m = next
	}
	if v == del {
		delete(m, parts[len(parts)-1])
	} else {
		m[parts[len(parts)-1]] = v
	}
	return out
}

type delete_ struct{}

var del = delete_{}

func clone(v any) any {
	switch x := v.(type) {
	case ev:
		out := ev{}
		for k, v := range x {
			out[k] = clone(v)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, v := range x {
			out[i] = clone(v)
		}
		return out
	}
	return v
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// batchBody builds a batch body; sentAt "" leaves it out. Events may be ev values or
// raw JSON ([]byte or json.RawMessage).
func batchBody(tb testing.TB, sentAt string, events ...any) []byte {
	tb.Helper()
	var b bytes.Buffer
	b.WriteString(`{`)
	if sentAt != "" {
		fmt.Fprintf(&b, `"sentAt":%q,`, sentAt)
	}
	b.WriteString(`"events":[`)
	for i, e := range events {
		if i > 0 {
			b.WriteByte(',')
		}
		switch x := e.(type) {
		case []byte:
			b.Write(x)
		case json.RawMessage:
			b.Write(x)
		case string:
			b.WriteString(x)
		default:
			b.Write(mustJSON(tb, x))
		}
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func gz(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	if _, err := w.Write(b); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

// req builds a POST with the given body and headers (Content-Type application/json unless
// set in hdr; an empty value in hdr removes the header).
func req(body []byte, hdr ...string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/v1/batch", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			r.Header.Del(hdr[i])
		} else {
			r.Header.Set(hdr[i], hdr[i+1])
		}
	}
	return r
}

func gzReq(tb testing.TB, body []byte) *http.Request {
	return req(gz(tb, body), "Content-Encoding", "gzip")
}
