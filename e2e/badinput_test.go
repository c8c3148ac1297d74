package e2e

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/abacushq/abacus/telemetry/wire"
)

// Every kind of bad input gets its documented status and a JSON error naming
// what is wrong; the server stays up and nothing accepted before is lost.
func TestBadInput(t *testing.T) {
	srv := startServer(t, serveOpts{})
	project := newUUID()
	good := event(project, "didStartServer", map[string]any{"durationMs": 10})
	if a := postBatch(t, srv.URL, []wire.Event{good}); a.status != http.StatusAccepted {
		t.Fatalf("good batch: %d %s", a.status, a.body)
	}

	batchOf := func(events ...any) []byte {
		b, _ := json.Marshal(map[string]any{"sentAt": time.Now().UTC(), "events": events})
		return b
	}
	asMap := func(e wire.Event, edit func(m map[string]any)) map[string]any {
		b, _ := json.Marshal(e)
		var m map[string]any
		json.Unmarshal(b, &m)
		edit(m)
		return m
	}
	valid := func() wire.Event { return event(project, "ping", nil) }
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	zw.Write(bytes.Repeat([]byte(" "), 20<<20))
	zw.Close()
	truncated := gz(batchOf(valid()))
	truncated = truncated[:len(truncated)-10]
	deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)

	for _, tc := range []struct {
		name    string
		body    []byte
		headers map[string]string
		status  int
		mention string // the error names this
	}{
		{"malformed JSON", []byte(`{"events": [}`), nil, 400, "JSON"},
		{"truncated gzip", truncated, map[string]string{"Content-Encoding": "gzip"}, 400, "gzip"},
		{"gzip bomb", bomb.Bytes(), map[string]string{"Content-Encoding": "gzip"}, 413, "gunzip"},
		{"unknown encoding", []byte(`{}`), map[string]string{"Content-Encoding": "br"}, 400, "Content-Encoding"},
		{"wrong content type", batchOf(valid()), map[string]string{"Content-Type": "text/plain"}, 415, "Content-Type"},
		{"invalid UTF-8", []byte("{\"events\": [\"\xff\xfe\"]}"), nil, 400, "UTF-8"},
		{"NaN", []byte(`{"events": [{"id": NaN}]}`), nil, 400, "JSON"},
		{"deep nesting", []byte(`{"events": ` + deep + `}`), nil, 400, "nest"},
		{"events not an array", []byte(`{"events": "many"}`), nil, 400, "events"},
		{"missing events", []byte(`{"sentAt": "2026-11-28T10:00:00Z"}`), nil, 400, "events"},
		{"not an object", []byte(`[1, 2]`), nil, 400, "object"},
		{"too many events", batchOf(func() []any {
			var es []any
			for range 1001 {
				es = append(es, valid())
			}
			return es
		}()...), nil, 413, "events"},
		{"oversized body", bytes.Repeat([]byte(" "), 2<<20), nil, 413, "body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := post(t, srv.URL+wire.BatchPath, tc.body, tc.headers)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d: %s", a.status, tc.status, a.body)
			}
			if msg := a.errorMsg(t); !strings.Contains(strings.ToLower(msg), strings.ToLower(tc.mention)) {
				t.Errorf("error %q does not mention %q", msg, tc.mention)
			}
		})
	}

	// Per-event problems: 202 with the valid events kept and each bad one named.
	for _, tc := range []struct {
		name    string
		bad     any
		mention string
	}{
		{"wrong type", asMap(valid(), func(m map[string]any) { m["context"].(map[string]any)["cpus"] = "eight" }), "context.cpus"},
		{"unknown event", asMap(valid(), func(m map[string]any) { m["event"] = "didFly" }), "event"},
		{"wrong property type", asMap(valid(), func(m map[string]any) {
			m["event"] = "didStartServer"
			m["properties"] = map[string]any{"durationMs": "slow"}
		}), "properties.durationMs"},
		{"out of range", asMap(valid(), func(m map[string]any) {
			m["event"] = "didStartServer"
			m["properties"] = map[string]any{"durationMs": -5}
		}), "properties.durationMs"},
		{"oversized string", asMap(valid(), func(m map[string]any) {
			m["event"] = "didUseFeature"
			m["properties"] = map[string]any{"feature": strings.Repeat("a", 300)}
		}), "properties.feature"},
		{"personal data", asMap(valid(), func(m map[string]any) {
			m["event"] = "didUseFeature"
			// Matches the property's pattern, but is shaped like a 40-character hex token.
			m["properties"] = map[string]any{"feature": "3f2a9c8e7d6b5a4f3e2d1c0b9a8f7e6d5c4b3a29"}
		}), "personal"},
		{"missing id", asMap(valid(), func(m map[string]any) { delete(m, "id") }), "id"},
		{"missing machineId", asMap(valid(), func(m map[string]any) { delete(m, "machineId") }), "machineId"},
		{"bad environment", asMap(valid(), func(m map[string]any) { m["environment"] = "prod" }), "environment"},
		{"future", asMap(valid(), func(m map[string]any) { m["timestamp"] = time.Now().Add(72 * time.Hour) }), "future"},
		{"too old", asMap(valid(), func(m map[string]any) { m["timestamp"] = time.Now().Add(-500 * 24 * time.Hour) }), "retention"},
		{"oversized event", asMap(valid(), func(m map[string]any) {
			m["build"] = map[string]any{"x": strings.Repeat("b", 40<<10)}
		}), "event"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok1, ok2 := valid(), valid()
			a := post(t, srv.URL+wire.BatchPath, batchOf(ok1, tc.bad, ok2), nil)
			if a.status != http.StatusAccepted {
				t.Fatalf("status %d: %s", a.status, a.body)
			}
			r := a.response(t)
			if r.Accepted != 2 || len(r.Rejected) != 1 || r.Rejected[0].Index != 1 {
				t.Fatalf("answer %s: want 2 accepted and event 1 rejected", a.body)
			}
			if !strings.Contains(r.Rejected[0].Error, tc.mention) {
				t.Errorf("rejection %q does not mention %q", r.Rejected[0].Error, tc.mention)
			}
		})
	}

	// The server is still up and the first event is still there.
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("server down after bad input: %v", err)
	}
	resp.Body.Close()
	found := false
	waitFor(t, "the first event in the export", func() bool {
		for _, e := range export(t, srv) {
			found = found || e.ID == good.ID
		}
		return found
	})
}
