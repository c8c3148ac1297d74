package compat

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/plan"
	"github.com/abacushq/abacus/telemetry/wire"
)

// mapFast runs the one-pass mapping alone; ok is false when it declines.
func mapFast(m *Mapper, protocol string, body []byte, single bool, at time.Time) (r Result, ok bool) {
	w := m.getWriter(nil)
	switch protocol {
	case Strapi:
		ok = m.strapiFast(w, body, at)
	case PostHog:
		ok = m.postHogFast(w, body, at)
	default:
		ok = m.segmentFast(w, body, single, "basic-user", at)
	}
	if !ok {
		putWriter(w)
		return Result{}, false
	}
	r = w.done()
	// A copy: the test compares it after the writer is reused.
	native := slices.Clone(r.Native)
	r.Release()
	r.Native = native
	return r, true
}

func mapJSON(m *Mapper, protocol string, body []byte, single bool, at time.Time) (Result, *Error) {
	switch protocol {
	case Strapi:
		return m.strapiJSON(body, at)
	case PostHog:
		return m.postHogJSON(body, at)
	}
	return m.segmentJSON(body, single, "basic-user", at)
}

func decodeNative(t *testing.T, native []byte) []wire.Event {
	t.Helper()
	if native == nil {
		return nil
	}
	var b wire.Batch
	if err := json.Unmarshal(native, &b); err != nil {
		t.Fatalf("native batch %q does not decode: %v", native, err)
	}
	for i := range b.Events {
		e := &b.Events[i]
		if len(e.Properties) == 0 {
			e.Properties = nil
		}
		if len(e.Build) == 0 {
			e.Build = nil
		}
	}
	return b.Events
}

// sameAsJSON checks that the one-pass mapping of body, when it does not
// decline it, gives what the encoding/json mapping gives: the same counts,
// keys and native events, the same IDs where they are derived from the
// body (a random ID where the encoding/json mapping assigns one).
func sameAsJSON(t *testing.T, m *Mapper, protocol string, body []byte, single bool) (fast bool) {
	t.Helper()
	at := time.Date(2026, 11, 28, 10, 0, 5, 0, time.UTC)
	got, ok := mapFast(m, protocol, body, single, at)
	if !ok {
		return false
	}
	want, err := mapJSON(m, protocol, body, single, at)
	if err != nil {
		t.Fatalf("%s %.200q: the one-pass mapping took a body the encoding/json mapping refuses: %s", protocol, body, err.Msg)
	}
	if got.Events != want.Events || !reflect.DeepEqual(got.Counts, want.Counts) || !slices.Equal(got.Keys, want.Keys) {
		t.Fatalf("%s %.200q:\none-pass: %d events, counts %v, keys %q\nencoding/json: %d events, counts %v, keys %q",
			protocol, body, got.Events, got.Counts, got.Keys, want.Events, want.Counts, want.Keys)
	}
	ge, we := decodeNative(t, got.Native), decodeNative(t, want.Native)
	if len(ge) != len(we) {
		t.Fatalf("%s %.200q: one-pass %d native events, encoding/json %d", protocol, body, len(ge), len(we))
	}
	again, _ := mapJSON(m, protocol, body, single, at)
	ae := decodeNative(t, again.Native)
	for i := range we {
		if we[i].ID != ae[i].ID { // assigned at random
			if !wire.IsUUID(ge[i].ID) {
				t.Fatalf("%s %.200q: event %d: id %q, want a UUID", protocol, body, i, ge[i].ID)
			}
			ge[i].ID, we[i].ID = "", ""
		}
		if !reflect.DeepEqual(ge[i], we[i]) {
			t.Fatalf("%s %.200q: event %d:\none-pass:      %+v\nencoding/json: %+v", protocol, body, i, ge[i], we[i])
		}
	}
	return true
}

// clientBodies are bodies as the real clients send them (see e2e/compat):
// the one-pass mapping must take every one of them.
func clientBodies() map[string][][]byte {
	ph, seg := benchBodies()
	return map[string][][]byte{
		PostHog: {ph,
			// posthog-go: uuid "" when the app sets none, $lib_version, no sent_at.
			[]byte(`{"api_key":"phc_x","batch":[{"distinct_id":"machine-1","event":"didUseFeature","timestamp":"2026-11-28T10:00:00.123456789Z","uuid":"","properties":{"$groups":{"project":"` + project + `"},"$lib":"posthog-go","$lib_version":"1.5.2","feature":"x"},"type":"capture","library":"posthog-go","library_version":"1.5.2"}]}`),
			// posthog-node, pretty-printed by a proxy, and a single capture.
			[]byte("{\n  \"api_key\": \"phc_x\",\n  \"batch\": [\n    {\"event\": \"ping\", \"distinct_id\": 42, \"properties\": {\"projectId\": \"" + project + "\", \"list\": [1, 2, {\"a\": null}]}}\n  ],\n  \"sent_at\": \"2026-11-28T10:00:06Z\"\n}"),
			[]byte(`{"api_key":"k","event":"ping","distinct_id":"d","properties":{"projectId":"` + project + `","$set":{"email":"a@b.c"}}}`),
			[]byte(`[{"event":"ping","distinct_id":"d","properties":{"token":"k2","projectId":"` + project + `"}}]`),
		},
		Segment: {seg,
			// analytics-go: batch context, messageId, writeKey in Basic auth.
			[]byte(`{"batch":[{"type":"track","event":"didInstallPlugin","messageId":"m-1","anonymousId":"a","userId":"jane","timestamp":"2026-11-28T10:00:00Z","properties":{"plugin":"x","projectId":"` + project + `"},"context":{"groupId":"` + project + `","ip":"10.0.0.1"}},{"type":"identify","userId":"jane","traits":{"email":"j@x"}}],"context":{"library":{"name":"analytics-go","version":"3.0.0"}},"sentAt":"2026-11-28T10:00:01Z","messageId":"batch-1"}`),
		},
		Strapi: {
			[]byte(`{"event":"didStartServer","userId":"","installId":"x","eventProperties":{"durationMs":5},"userProperties":{},"groupProperties":{"projectId":"` + project + `","version":"5.13.0","docker":"podman","isCI":false,"typescript":true,"plugins":["i18n"]}}`),
			[]byte(`{"event":"didOpenAdmin","userId":"hash","installId":"x","eventProperties":{},"userProperties":{"environment":"development","os":"Linux","osPlatform":"win32","osArch":"x64","osRelease":"10.0","nodeVersion":"v20.11.1"},"groupProperties":{"projectId":"` + project + `"}}`),
			[]byte(`{"event":"ping","deviceId":"old-sender","groupProperties":{"projectId":"getstarted-` + project + `"}}`),
		},
	}
}

func TestFastTakesClientBodies(t *testing.T) {
	m := New(plan.Default())
	for protocol, bodies := range clientBodies() {
		for _, b := range bodies {
			if !sameAsJSON(t, m, protocol, b, false) {
				t.Errorf("%s: the one-pass mapping declined %.200q", protocol, b)
			}
		}
	}
	if !sameAsJSON(t, m, Segment, []byte(`{"event":"ping","anonymousId":"a","properties":{"projectId":"`+project+`"}}`), true) {
		t.Error("segment /v1/track body declined")
	}
}

// Bodies the one-pass mapping must decline (so that encoding/json's rules
// and messages apply), each next to one it takes.
func TestFastDeclines(t *testing.T) {
	m := New(plan.Default())
	ev := `"event":"ping","distinct_id":"d","properties":{"projectId":"` + project + `"}`
	for _, c := range []struct {
		body string
		fast bool
	}{
		{`{` + ev + `}`, true},
		{`{` + ev + `,"event":"ping"}`, false},        // a key twice
		{`{` + ev + `,"EVENT":"x"}`, false},           // a field in another case
		{`{"ev\u0065nt":"ping"}`, false},              // an escaped key
		{`{` + ev + `,"uuid":5}`, false},              // a value of the wrong type
		{`{` + ev + `,"x":1e999}`, false},             // a number beyond float64
		{`{` + ev + `,"x":[1,]}`, false},              // malformed
		{`{` + ev + "}\xff", false},                   // invalid UTF-8
		{`{` + ev + `} {}`, false},                    // two values
		{`{"api_key":"k","batch":[]}`, false},         // an error
		{`{"api_key":"k","batch":[null]}`, false},     // a null event
		{`{` + ev + `,"uuid":"\u0061"}`, true},        // an escaped value is read
		{`{` + ev + `,"x":{"$":{"\u0061":1}}}`, true}, // nested escapes are copied
	} {
		if got := sameAsJSON(t, m, PostHog, []byte(c.body), false); got != c.fast {
			t.Errorf("%s: one-pass %v, want %v", c.body, got, c.fast)
		}
	}
}

func fuzzSeeds(f *testing.F, protocol string) {
	for _, b := range clientBodies()[protocol] {
		f.Add(b, false)
	}
	f.Add([]byte(`{"event":"ping","installId":"i","userProperties":{"environment":"Prod"},"groupProperties":{"projectId":"`+project+`","isCI":"true","docker":true,"typescript":null,"database":{"a":[1,2]}},"eventProperties":{"$x":1,"feature":"a","feature":"b"}}`), false)
	f.Add([]byte(`{"event":"p\u0069ng","distinct_id":"d","timestamp":"0000-01-01T00:00:00Z","sent_at":"9999-12-31T23:59:59Z","properties":{"$groups":{"project":"`+project+`"},"$os":"Mac OS X"}}`), false)
	f.Add([]byte(`{"type":"track","event":"ping","context":{"os":{"name":"Linux","name":"x"},"groupId":null},"properties":{"projectId":"`+project+`"},"userId":7}`), true)
}

func fuzzSame(f *testing.F, protocol string) {
	fuzzSeeds(f, protocol)
	m := New(plan.Default())
	f.Fuzz(func(t *testing.T, body []byte, single bool) {
		sameAsJSON(t, m, protocol, body, single)
	})
}

// The one-pass mappings against the encoding/json mappings: whatever body
// the one-pass mapping takes, it must map as encoding/json does.
func FuzzFastStrapi(f *testing.F)  { fuzzSame(f, Strapi) }
func FuzzFastPostHog(f *testing.F) { fuzzSame(f, PostHog) }
func FuzzFastSegment(f *testing.F) { fuzzSame(f, Segment) }

func TestFastReleaseReuses(t *testing.T) {
	m := New(plan.Default())
	b := clientBodies()[PostHog][0]
	r1, err := m.PostHog(b, received)
	if err != nil {
		t.Fatal(err)
	}
	first := strings.Clone(string(r1.Native))
	r1.Release()
	if r1.Native != nil {
		t.Error("Native kept after Release")
	}
	r2, _ := m.PostHog(b, received)
	defer r2.Release()
	if len(r2.Native) != len(first) || r2.Events != 100 {
		t.Errorf("second mapping: %d bytes, %d events; want %d bytes, 100 events", len(r2.Native), r2.Events, len(first))
	}
}
