package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/abacushq/abacus/internal/store"
	"github.com/abacushq/abacus/telemetry/wire"
)

// decodeSeeds are event objects for FuzzDecodeEquivalence: the events of the other tests
// and benchmarks, and the corners of JSON decoding.
func decodeSeeds(tb testing.TB) [][]byte {
	g := goodEvent(1)
	props := ev{}
	for i := 0; i < 65; i++ {
		props[fmt.Sprintf("k%d", i)] = i
	}
	evs := []any{
		// TestRejections, TestProductAndContextMessages, TestMemoizedParts, TestPlanErrorOrder.
		`12`, `"x"`, `null`, `[]`, `{}`, `tru`, `{"a":}`,
		g, goodEvent(100),
		with(g, "id", del), with(g, "id", "123"), with(g, "id", 123), with(g, "id", strings.ToUpper(eventID(1))),
		with(g, "event", del), with(g, "event", "didHackThePlanet"), with(g, "event", "john@example.com"),
		with(g, "timestamp", del), with(g, "timestamp", nil), with(g, "timestamp", "yesterday"),
		with(g, "timestamp", 1764324000), with(g, "timestamp", ev{}), with(g, "timestamp", "2026-11-28T10:00:00"),
		with(g, "timestamp", "2026-11-28T11:00:00.123456789+01:00"), with(g, "timestamp", "1999-01-01T00:00:00Z"),
		with(g, "projectId", del), with(g, "projectId", "my-project"), with(g, "projectId", "GetStarted-"+testProject),
		with(g, "projectId", "getstarted-"+strings.ToUpper(testProject)),
		with(g, "machineId", del), with(g, "machineId", strings.ToUpper(testMachine)),
		with(g, "sessionId", "s1"), with(g, "sessionId", del),
		with(g, "environment", del), with(g, "environment", "prod"), with(g, "environment", "test"),
		with(g, "product", del), with(g, "product", nil), with(g, "product", ev{}), with(g, "product", "strapi"),
		with(g, "product", []any{}), with(g, "product.name", 5), with(g, "product.name", "ghost"),
		with(g, "product.version", "5.3.1 (built by john@example.com)"),
		with(g, "context.cpus", "eight"), with(g, "context.cpus", 8.5), with(g, "context.cpus", 1e30),
		with(g, "context.cpus", 5000), with(g, "context.cpus", -1), with(g, "context.memoryMB", 1<<24+1),
		with(g, "context.memoryMB", 1.5), with(g, "context.ci", "yes"), with(g, "context", []any{}),
		with(g, "context", "linux"), with(g, "context", nil), with(g, "context.os", strings.Repeat("a", 65)),
		with(g, "context.osVersion", "/home/john"), with(g, "context.ciName", "john@example.com"),
		with(g, "context.runtime", "nodé"), with(g, "context.sdk", "/home/john"), with(g, "context.sdk", "a/b/c"),
		with(g, "context.os", "darwin"), with(g, "context.gpu", "rtx"),
		with(g, "properties", props), with(g, "build", props),
		with(g, "properties.durationMs", "1234"), with(g, "properties.durationMs", -5),
		with(g, "properties.durationMs", 1.5), with(g, "properties.durationMs", json.RawMessage("1e400")),
		with(g, "properties.whatever", json.RawMessage("-1e400")), with(g, "properties", []any{1}),
		with(g, "properties", "x"), with(g, "properties", nil), with(g, "properties", ev{}),
		with(g, "properties", ev{"x": nil}), with(g, "properties.secretStuff", 1),
		with(g, "build.database", "oracle"), with(g, "build.plugins", []any{"ok", 5}),
		with(g, "build.plugins", []any{"i18n", "192.168.1.20"}), with(g, "build", ev{"plugins": []any{"seo"}, "database": "sqlite", "junk": 1}),
		with(g, "build", nil), with(g, "build", "x"), with(g, "build", ev{}), with(g, "build", ev{"a": json.RawMessage("1e999")}),
		with(g, "build.unknownKey", "x"), with(g, "futureField", ev{"a": []any{1, 2, ev{"b": nil}}}),
		with(with(g, "build.database", "oracle"), "properties.durationMs", "x"),
		with(with(g, "event", "didFailWithError"), "properties", ev{"code": "DB_CONNECTION_REFUSED"}),
		with(with(g, "event", "didUseFeature"), "properties", ev{"feature": "content-history"}),
		with(with(g, "event", "ping"), "properties", nil),
		with(g, "properties.durationMs", json.RawMessage("9007199254740993")),
		with(g, "properties.durationMs", json.RawMessage("-0")),
		with(g, "properties.durationMs", json.RawMessage("1E3")),
		with(g, "properties.durationMs", json.RawMessage("123456789012345678901234567890")),
		with(g, "properties.durationMs", json.RawMessage("0.1e-400")),
		with(g, "properties.durationMs", strings.Repeat("y", 600)),
		with(g, "properties.padding", strings.Repeat("x", 33000)),
	}
	var out [][]byte
	for _, e := range evs {
		switch x := e.(type) {
		case string:
			out = append(out, []byte(x))
		default:
			out = append(out, mustJSON(tb, x))
		}
	}
	// Corners of the syntax the marshalled events above do not reach.
	good := string(mustJSON(tb, g))
	for _, s := range []string{
		// Escapes, surrogates, folded and repeated keys, whitespace.
		`{"\u0069d":"` + eventID(1) + `","ID":"` + eventID(2) + `","Id":null}`,
		`{"id":"0193723E-6F1A-7CC2-9C5E-000000000001","ﬁeld":1,"K":2,"ſessionId":"x","\u212Aey":3}`,
		`{"sdk":1,"context":{"ſdk":"a\/b","OS":"linu\u0078","os":null,"CPUS":4,"cpus":null,"Ci":true,"wsl":false,"docker":null}}`,
		`{"product":{"NAME":"strapi","version":"1\u002e0","Version":null,"nAmE":"str\u0061pi"}}`,
		`{"properties":{"a":1},"properties":{"b":[2,"\ud83d\ude00",{"c":null}]},"Properties":{"a":"\ud800"}}`,
		`{"properties":{"a":1},"properties":null,"properties":{"b":"\udc00\ud800x\ud83d\u0041"}}`,
		`{"properties":{"a":1,"a":true,"":"","\u0000":"\b\f\n\r\t\"\\\/"}}`,
		`{"properties":{"x":1e400},"id":5}`,
		`{"id":5,"properties":{"x":1e400}}`,
		`{"id":[1,{"a":"b"}],"event":{},"timestamp":true,"projectId":false,"machineId":-0.0e+00}`,
		`{"timestamp":"2026-11-28T10:00:00Z","timestamp":null}`,
		`{"timestamp":"2026-11-28T10:00:00Z","timestamp":"bad"}`,
		`{"timestamp":"2026-11-28T10:00:00\u005a"}`,
		`{"build":{"plugins":[],"typescript":false,"nested":[[[]],{}],"n":[0,-0,1.5,-2e-3,1E+2]}}`,
		`{"build":[1],"context":true,"product":12}`,
		"\t{ \"id\" : \"x\" ,\n\"event\"\r:\"e\" }  ",
		`{"context":{"cpus":9223372036854775807,"memoryMB":-9223372036854775808}}`,
		`{"context":{"cpus":9223372036854775808}}`,
		`{"context":{"cpus":-9223372036854775809,"memoryMB":"x"}}`,
		`{"context":{"cpus":1e2}}`,
		`{"context":{"cpus":{},"ci":[]}}`,
		`{"context":{"ci":1,"docker":"x"}}`,
		`{"context":{"os":true}}`,
		// Syntax errors.
		`{"id":"x",}`, `{"id" "x"}`, `{"id":"x"]`, `{"a":[1,]}`, `{"a":01}`, `{"a":1.}`, `{"a":.5}`,
		`{"a":-}`, `{"a":1e}`, `{"a":"\x"}`, `{"a":"\u12"}`, "{\"a\":\"\t\"}", `{"a":nul}`, `{"a":truee}`,
		`{"a":[}]`, `{"a":{"b":1}}}`, `{"a"}`, `{1:2}`, `{"a":1}x`, `{"a":"b`, `{`,
		`{"properties":{"a":[1 2]}}`, `{"properties":{"a":nulll}}`, `{"product":{"name":"x",}}`,
		`{"context":{"os":"a"b}}`, `{"build":{"a":[tru]}}`,
		`{"a":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`,
		good[:len(good)-1], good + "}",
		strings.Replace(good, `"linux"`, `"lin\u00e9"`, 1),
	} {
		out = append(out, []byte(s))
	}
	// The benchmark's events.
	body, _ := benchBatch(tb)
	env, e := scanBatch(body, nil, 1000)
	if e != nil {
		tb.Fatal(e)
	}
	for _, sp := range env.events[:8] {
		out = append(out, body[sp.start:sp.end])
	}
	return out
}

func FuzzDecodeEquivalence(f *testing.F) {
	seeds := decodeSeeds(f)
	for i, s := range seeds {
		f.Add(seeds[(i+1)%len(seeds)], s, uint8(i))
		f.Add(s, s, uint8(i*4))
	}
	// Values for the slots.
	for i, v := range []string{`null`, `{}`, `[]`, `"x"`, `"\ud83d\ude00\u00e9\/"`, `-0`, `1e400`, `-1.5e-3`, `123456789012345678`,
		`true`, `{"durationMs":1,"durationMs":null}`, `{"NAME":"strapi","nAme":"x"}`, `{"Cpus":4096,"ci":true}`,
		`{"plugins":["a",["b"]],"database":"sqlite"}`, `"2026-11-28T10:00:00Z"`, `"` + strings.ToUpper(testSession) + `"`,
		`"ping"`, `8.0`, `[1,2,3]`, `"didUseFeature","properties":{"feature":"x"}`, `"a\u0000b"`} {
		f.Add([]byte(`{}`), []byte(v), uint8(i*4))
	}
	p := newPipeline(f, nil)
	small := newPipeline(f, func(c *Config) {
		c.Limits = Limits{MaxEventBytes: 700, MaxProperties: 2}
	})
	// Slots of a valid event that the fuzzed bytes also fill, so that mutations of a value
	// reach the checks after decoding.
	good := string(mustJSON(f, goodEvent(1)))
	type slot struct{ before, after string }
	var slots []slot
	for _, s := range []string{`"properties":{"durationMs":1234}`, `"context":` + string(mustJSON(f, goodEvent(1)["context"])),
		`"product":{"name":"strapi","version":"5.3.1"}`, `"build":{"plugins":["i18n","graphql"],"typescript":true}`,
		`"timestamp":"` + goodEvent(1)["timestamp"].(string) + `"`, `"id":"` + eventID(1) + `"`, `"sessionId":"` + testSession + `"`,
		`"event":"didStartServer"`, `"cpus":8`, `"name":"strapi"`, `["i18n","graphql"]`, `"durationMs"`} {
		i := strings.Index(good, s)
		if i < 0 {
			f.Fatalf("%s not in %s", s, good)
		}
		before := good[:i]
		if k, _, ok := strings.Cut(s, ":"); ok {
			before += k + ":"
		}
		slots = append(slots, slot{before, good[i+len(s):]})
	}
	f.Fuzz(func(t *testing.T, prev, data []byte, flags uint8) {
		if len(data) == 0 || len(prev) == 0 || !utf8.Valid(data) || !utf8.Valid(prev) {
			return // the decoder's input is a non-empty span of a body checked for UTF-8
		}
		pl := p
		if flags&1 != 0 {
			pl = small
		}
		rc := reqCtx{received: testNow}
		if flags&2 != 0 {
			rc.sentAt, rc.hasSentAt = testNow.Add(-time.Hour), true
		}
		rc.oldest, rc.latest = rc.received.Add(-pl.retention), rc.received.Add(pl.maxFuture)
		compareEvents(t, pl, &rc, prev, data)
		sl := slots[int(flags>>2)%len(slots)]
		compareEvents(t, pl, &rc, []byte(good), []byte(sl.before+string(data)+sl.after))
	})
}

// compareEvents decodes raw both ways, and puts prev, raw, raw and prev through event and
// eventRef, each with its own scratch (the second raw hits the memos).
func compareEvents(t *testing.T, pl *Pipeline, rc *reqCtx, prev, raw []byte) {
	t.Helper()
	checkDecode(t, raw)
	a, b := new(scratch), new(scratch)
	a.resetSeen(0)
	b.resetSeen(0)
	for i, raw := range [][]byte{prev, raw, raw, prev} {
		got := runEvent(pl.event, a, rc, raw)
		want := runEvent(pl.eventRef, b, rc, raw)
		if !reflect.DeepEqual(got, want) || !sameBits(got.Out.Properties, want.Out.Properties) || !sameBits(got.Out.Build, want.Out.Build) {
			t.Fatalf("event %d of %q:\n got %#v\nwant %#v", i, raw, got, want)
		}
	}
}

type eventOutcome struct {
	Reason, Msg                string
	Bad                        bool
	Out                        store.Event
	DroppedBuild, DroppedProps int
}

func runEvent(fn func(*scratch, *reqCtx, []byte, *store.Event) (string, string, bool), sc *scratch, rc *reqCtx, raw []byte) eventOutcome {
	var o eventOutcome
	sc.out = store.Event{}
	o.Reason, o.Msg, o.Bad = fn(sc, rc, raw, &sc.out)
	if o.Msg == "" && !o.Bad {
		o.Out = sc.out
	}
	o.DroppedBuild, o.DroppedProps = sc.droppedBuild, sc.droppedProps
	return o
}

// checkDecode compares the decoder with json.Unmarshal on raw: as an event (into inEvent),
// and, when raw is valid JSON, as a product, a context and a build.
func checkDecode(t *testing.T, raw []byte) {
	t.Helper()
	if raw[0] == '{' {
		var want inEvent
		wantMsg, wantBad := refDecode(raw, &want, "")
		var got inEvent
		var d jdec
		gotMsg, ok := d.event(new(scratch), raw, &got)
		if !ok != wantBad || gotMsg != wantMsg {
			t.Fatalf("event %q: got %q, valid %v; want %q, valid %v", raw, gotMsg, ok, wantMsg, !wantBad)
		}
		if ok && (!reflect.DeepEqual(got, want) || !sameBits(got.Properties, want.Properties)) {
			t.Fatalf("event %q:\n got %#v\nwant %#v", raw, got, want)
		}
	}
	v := trimJSONSpace(raw)
	if len(v) == 0 || string(v) == "null" || !json.Valid(v) {
		return
	}
	var d jdec
	var wantP wire.Product
	wantMsg, _ := refDecode(v, &wantP, "product")
	gotP, gotMsg := d.decodeProduct(v)
	if gotMsg != wantMsg || gotMsg == "" && gotP != wantP {
		t.Fatalf("product %q: got %+v %q, want %+v %q", v, gotP, gotMsg, wantP, wantMsg)
	}
	var wantC wire.Context
	wantMsg, _ = refDecode(v, &wantC, "context")
	gotC, gotMsg := d.decodeContext(v)
	if gotMsg != wantMsg || gotMsg == "" && gotC != wantC {
		t.Fatalf("context %q: got %+v %q, want %+v %q", v, gotC, gotMsg, wantC, wantMsg)
	}
	var wantB map[string]any
	wantMsg, _ = refDecode(v, &wantB, "build")
	gotB, gotMsg := d.decodeBuild(v)
	if gotMsg != wantMsg || gotMsg == "" && (!reflect.DeepEqual(gotB, wantB) || !sameBits(gotB, wantB)) {
		t.Fatalf("build %q: got %#v %q, want %#v %q", v, gotB, gotMsg, wantB, wantMsg)
	}
}

// refDecode is json.Unmarshal as the reference used it: the message of a type error, or
// bad for a syntax error.
func refDecode(raw []byte, v any, prefix string) (msg string, bad bool) {
	err := json.Unmarshal(raw, v)
	if err == nil {
		return "", false
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return typeErrorMessageRef(prefix, te), false
	}
	return "", true
}

func trimJSONSpace(b []byte) []byte {
	for len(b) > 0 && strings.IndexByte(" \t\n\r", b[0]) >= 0 {
		b = b[1:]
	}
	for len(b) > 0 && strings.IndexByte(" \t\n\r", b[len(b)-1]) >= 0 {
		b = b[:len(b)-1]
	}
	return b
}

// sameBits tells apart what reflect.DeepEqual does not: -0 and 0 (fmt prints maps sorted).
func sameBits(a, b map[string]any) bool {
	return fmt.Sprintf("%#v", a) == fmt.Sprintf("%#v", b)
}
