package ingest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/store"
	"github.com/abacushq/abacus/telemetry/wire"
)

// Fuzz modes: how the fuzzed bytes are sent.
const (
	modePlain = iota // as the body
	modeGzip         // gzip-compressed, with Content-Encoding: gzip
	modeRawGz        // as the body, with Content-Encoding: gzip (the bytes are the compressed stream)
	modeSmall        // as the body, to a pipeline with small limits
	modeCount
)

func FuzzProcess(f *testing.F) {
	g := goodEvent(1)
	seeds := [][]byte{
		batchBody(f, testNow.Format(time.RFC3339), goodEvent(1), goodEvent(2), goodEvent(1)),
		batchBody(f, "", goodEvent(1), with(g, "context.cpus", "eight"), `12`, `null`, with(g, "event", "x")),
		batchBody(f, "", with(g, "build.plugins", []any{"10.0.0.1"}), with(g, "properties.x", json.RawMessage("1e400"))),
		mustJSON(f, g),
		[]byte(`{"events":[{"id":"` + eventID(1) + `"}], "x": [1, {"a": "\u00e9\"]"}], "sentAt": null}`),
		[]byte(`{"events": [x]}`),
		[]byte(`{"events": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`),
		[]byte(`{"events":"x","y":tru}`),
		[]byte(`{"ev\u0065nts":[{}],"events":[]}`),
		[]byte("{\"events\":[{\"a\":\"\xff\"}]}"),
		[]byte(`{"events":[{"id":"a\\"}]}`),
		[]byte(`{"events":[1,2,3,4,5]}`),
		[]byte(`[]`),
		[]byte(``),
		gz(f, []byte(`{"events":[{}]}`)),
	}
	for _, s := range seeds {
		for mode := uint8(0); mode < modeCount; mode++ {
			f.Add(s, mode, false)
			f.Add(s, mode, true)
		}
	}
	p := newPipeline(f, nil)
	small := newPipeline(f, func(c *Config) {
		c.Limits = Limits{MaxBody: 4096, MaxDecoded: 8192, MaxEvents: 3, MaxEventBytes: 700, MaxProperties: 2}
	})
	f.Fuzz(func(t *testing.T, data []byte, mode uint8, single bool) {
		pl := p
		var r = req(data)
		decoded := data // the body after gunzip; nil when it cannot be decoded
		switch mode % modeCount {
		case modeGzip:
			r = gzReq(t, data)
		case modeRawGz:
			r = req(data, "Content-Encoding", "gzip")
			decoded = gunzipAll(data, wire.MaxDecodedBytes+1)
		case modeSmall:
			pl = small
		}
		b, err := pl.Process(r, single, testNow)
		if err != nil {
			if b != nil {
				t.Fatal("both a batch and an error")
			}
			switch err.Status {
			case 400, 413, 415:
			default:
				t.Fatalf("status %d: %s", err.Status, err.Msg)
			}
			if err.Msg == "" {
				t.Fatal("empty message")
			}
			if err.Msg == errSyntax.Msg {
				t.Fatalf("the scanner rejected a body encoding/json accepts: %q", decoded)
			}
			if strings.Contains(err.Msg, "invalid JSON") && decoded != nil && json.Valid(decoded) {
				t.Fatalf("%s, for valid JSON %q", err.Msg, decoded)
			}
			return
		}
		if b == nil {
			t.Fatal("neither a batch nor an error")
		}
		if decoded == nil {
			t.Fatal("accepted a body that does not gunzip")
		}
		// Every byte of an accepted body was validated.
		if !json.Valid(decoded) {
			t.Fatalf("accepted invalid JSON %q", decoded)
		}
		n := 1
		if !single {
			n = countEvents(t, decoded)
		}
		if b.Received() != n {
			t.Fatalf("%d events + %d rejected + %d duplicates, but the request has %d events", len(b.Events), len(b.Rejected), b.DuplicatesInBatch, n)
		}
		if len(b.Index) != len(b.Events) {
			t.Fatalf("len(Index) = %d, len(Events) = %d", len(b.Index), len(b.Events))
		}
		used := map[int]bool{}
		for _, r := range b.Rejected {
			if r.Index < 0 || r.Index >= n || used[r.Index] || r.Error == "" || !strings.Contains(r.Error, ": ") {
				t.Fatalf("bad rejection %+v", r)
			}
			used[r.Index] = true
		}
		last := -1
		for i, e := range b.Events {
			if b.Index[i] <= last || b.Index[i] >= n || used[b.Index[i]] {
				t.Fatalf("bad Index %v", b.Index)
			}
			last = b.Index[i]
			recheck(t, pl, &e)
		}
		total := 0
		for _, c := range b.RejectReasons {
			total += c
		}
		if total != len(b.Rejected) {
			t.Fatalf("RejectReasons %v for %d rejections", b.RejectReasons, len(b.Rejected))
		}
	})
}

// recheck checks a stored event independently of the code that made it.
func recheck(t *testing.T, p *Pipeline, e *store.Event) {
	t.Helper()
	if !wire.IsUUID(e.ID) || strings.ToLower(e.ID) != e.ID {
		t.Fatalf("ID %q", e.ID)
	}
	if !isKey(e.ProjectID) || !isKey(e.MachineID) || (e.SessionID != "" && !isKey(e.SessionID)) {
		t.Fatalf("keys %q %q %q", e.ProjectID, e.MachineID, e.SessionID)
	}
	if e.Time.Before(testNow.Add(-DefaultRetention)) || e.Time.After(testNow.Add(DefaultMaxFuture)) {
		t.Fatalf("Time %v outside the window", e.Time)
	}
	if e.Time.Location() != time.UTC || e.Time.Nanosecond()%1e6 != 0 || e.ReceivedAt != testNow {
		t.Fatalf("Time %#v, ReceivedAt %#v", e.Time, e.ReceivedAt)
	}
	pe := testPlan.Event(e.Name)
	if pe == nil || e.Product != testPlan.Product || !wire.IsEnvironment(e.Environment) {
		t.Fatalf("Name %q, Product %q, Environment %q", e.Name, e.Product, e.Environment)
	}
	if len(e.Properties) > p.lim.MaxProperties {
		t.Fatalf("%d properties", len(e.Properties))
	}
	for k, v := range e.Build {
		if testPlan.BuildKey(k) == nil || !storedValue(v) {
			t.Fatalf("build %q = %#v", k, v)
		}
	}
	for k, v := range e.Properties {
		if pe.Property(k) == nil || !storedValue(v) {
			t.Fatalf("property %q = %#v", k, v)
		}
	}
	for _, s := range []string{e.OS, e.OSVersion, e.Arch, e.Runtime, e.RuntimeVersion, e.CIName, e.SDK, e.ProductVersion} {
		if len(s) > MaxContextLen || strings.ContainsAny(s, "@:\\\"<>") {
			t.Fatalf("context string %q", s)
		}
	}
	if e.CPUs < 0 || e.CPUs > MaxCPUs || e.MemoryMB < 0 || e.MemoryMB > MaxMemoryMB {
		t.Fatalf("cpus %d memory %d", e.CPUs, e.MemoryMB)
	}
}

func storedValue(v any) bool {
	switch x := v.(type) {
	case string, float64, int64, bool:
		return true
	case []any:
		for _, it := range x {
			if _, ok := it.([]any); ok || !storedValue(it) {
				return false
			}
		}
		return true
	}
	return false
}

func isKey(s string) bool {
	return len(s) == KeyLen && strings.Trim(s, "0123456789abcdef") == ""
}

// countEvents counts the elements of the top-level "events" array (the key matched
// exactly, after unescaping), with encoding/json's tokenizer.
func countEvents(t *testing.T, body []byte) int {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		t.Fatalf("accepted a body that is not an object: %v %v", tok, err)
	}
	n := -1
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		if key != "events" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
			t.Fatalf("accepted events that are not an array: %v %v", tok, err)
		}
		n = 0
		for dec.More() {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				t.Fatal(err)
			}
			n++
		}
		if _, err := dec.Token(); err != nil {
			t.Fatal(err)
		}
	}
	if n < 0 {
		t.Fatal("accepted a batch without events")
	}
	return n
}

func gunzipAll(b []byte, limit int64) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil
	}
	out, err := io.ReadAll(io.LimitReader(zr, limit))
	if err != nil {
		return nil
	}
	return out
}

// FuzzEvent fuzzes the fields of one well-formed event: whatever they hold, the event is
// either stored (and passes recheck) or rejected with a message that quotes none of the
// client's text beyond short names.
func FuzzEvent(f *testing.F) {
	f.Add(eventID(1), "didStartServer", testNow.Format(time.RFC3339), testProject, testMachine, "production", "linux", "i18n", "DB_DOWN", 12.0, true)
	f.Add("X", "didFailWithError", "2026-11-28T10:00:00+01:00", "getstarted-"+testProject, "x", "prod", "a@b.c", "10.0.0.1", "john@example.com", 1e300, false)
	f.Add(strings.ToUpper(eventID(2)), "didUseFeature", "2026-11-28T09:59:59.999999999Z", strings.ToUpper(testProject), testMachine, "test", "Windows NT", "/home/john", "feature-x", -1.0, true)
	p := newPipeline(f, nil)
	f.Fuzz(func(t *testing.T, id, event, ts, project, machine, env, os, plugin, prop string, n float64, single bool) {
		e := goodEvent(0)
		e["id"], e["event"], e["timestamp"], e["projectId"], e["machineId"], e["environment"] = id, event, ts, project, machine, env
		e = with(e, "context.os", os)
		e = with(e, "build.plugins", []any{plugin})
		e = with(e, "properties", ev{"code": prop, "feature": prop, "durationMs": n, "template": plugin})
		raw, err := json.Marshal(e)
		if err != nil {
			return // NaN or infinite n
		}
		body := raw
		if !single {
			body = batchBody(t, testNow.Format(time.RFC3339), json.RawMessage(raw))
		}
		b, perr := p.Process(req(body), single, testNow)
		if perr != nil {
			t.Fatalf("a well-formed request failed: %v", perr)
		}
		if b.Received() != 1 {
			t.Fatalf("Received = %d", b.Received())
		}
		for _, e := range b.Events {
			recheck(t, p, &e)
		}
		for _, r := range b.Rejected {
			for _, s := range []string{id, event, ts, project, machine, env, os, plugin, prop} {
				if len(s) >= 3 && strings.ContainsAny(s, "@/ \\\"") && strings.Contains(r.Error, s) {
					t.Fatalf("message %q quotes %q", r.Error, s)
				}
			}
		}
	})
}
