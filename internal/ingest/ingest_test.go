package ingest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/plan"
	"github.com/abacushq/abacus/internal/store"
	"github.com/abacushq/abacus/telemetry/wire"
)

func TestProcessGoodBatch(t *testing.T) {
	p := newPipeline(t, nil)
	e := goodEvent(1)
	e = with(e, "build.unknownKey", "x")
	e = with(e, "properties.secretStuff", 1)
	e = with(e, "properties.other", 2)
	e = with(e, "id", strings.ToUpper(eventID(1)))
	body := batchBody(t, testNow.Format(time.RFC3339Nano), e)
	for _, gzipped := range []bool{false, true} {
		r := req(body)
		if gzipped {
			r = gzReq(t, body)
		}
		b, err := p.Process(r, false, testNow.Add(123456789)) // sub-millisecond receivedAt
		if err != nil {
			t.Fatalf("gzip=%v: %v", gzipped, err)
		}
		if len(b.Events) != 1 || len(b.Rejected) != 0 || b.DuplicatesInBatch != 0 {
			t.Fatalf("gzip=%v: got %+v", gzipped, b)
		}
		got := b.Events[0]
		recv := testNow.Add(123 * time.Millisecond)
		want := store.Event{
			ID:             eventID(1),
			Name:           "didStartServer",
			Time:           recv.Add(-5 * time.Second),
			ReceivedAt:     recv,
			ProjectID:      testKeyer.Project(testProject),
			MachineID:      testKeyer.Machine(testMachine),
			SessionID:      testKeyer.Session(testSession),
			Environment:    "development",
			Product:        "strapi",
			ProductVersion: "5.3.1",
			OS:             "linux",
			OSVersion:      "6.1.0",
			Arch:           "amd64",
			CPUs:           8,
			MemoryMB:       16384,
			Runtime:        "node",
			RuntimeVersion: "20.11.1",
			SDK:            "abacus-go/0.1.0",
			Build:          map[string]any{"plugins": []any{"i18n", "graphql"}, "typescript": true},
			Properties:     map[string]any{"durationMs": int64(1234)},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("gzip=%v:\n got %#v\nwant %#v", gzipped, got, want)
		}
		if got.Time.Location() != time.UTC || got.ReceivedAt.Location() != time.UTC {
			t.Errorf("times not in UTC: %v %v", got.Time, got.ReceivedAt)
		}
		if !reflect.DeepEqual(b.Index, []int{0}) {
			t.Errorf("Index = %v", b.Index)
		}
		if !reflect.DeepEqual(b.Dropped, map[string]int{"build": 1, "properties": 2}) {
			t.Errorf("Dropped = %v", b.Dropped)
		}
		if b.RejectReasons != nil {
			t.Errorf("RejectReasons = %v", b.RejectReasons)
		}
	}
}

func TestContentTypes(t *testing.T) {
	p := newPipeline(t, nil)
	body := batchBody(t, "", goodEvent(1))
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8", "application/json; foo=bar"} {
		if _, err := p.Process(req(body, "Content-Type", ct), false, testNow); err != nil {
			t.Errorf("Content-Type %q: %v", ct, err)
		}
	}
	for _, ce := range []string{"identity", "gzip", "GZIP", "x-gzip", "identity, gzip"} {
		b := body
		if strings.Contains(strings.ToLower(ce), "gzip") {
			b = gz(t, body)
		}
		if _, err := p.Process(req(b, "Content-Encoding", ce), false, testNow); err != nil {
			t.Errorf("Content-Encoding %q: %v", ce, err)
		}
	}
}

// badCase is one whole-request failure.
type badCase struct {
	name   string
	r      func(t *testing.T) *http.Request
	single bool
	status int
	msg    string // a substring of the message
}

func plain(body string, hdr ...string) func(t *testing.T) *http.Request {
	return func(t *testing.T) *http.Request { return req([]byte(body), hdr...) }
}

func gzipped(body string) func(t *testing.T) *http.Request {
	return func(t *testing.T) *http.Request { return gzReq(t, []byte(body)) }
}

func TestBadRequests(t *testing.T) {
	p := newPipeline(t, nil)
	good := string(batchBody(t, "", goodEvent(1)))
	goodEv := string(mustJSON(t, goodEvent(1)))
	compressed := gz(t, []byte(good))

	deep := func(n int) string {
		return `{"events":[` + strings.Replace(goodEv, `"durationMs":1234`, `"durationMs":`+strings.Repeat("[", n)+strings.Repeat("]", n), 1) + `]}`
	}
	many := func(n int) string {
		evs := make([]any, n)
		for i := range evs {
			evs[i] = goodEvent(i)
		}
		return string(batchBody(t, "", evs...))
	}
	bomb := func(t *testing.T) *http.Request {
		var b bytes.Buffer
		w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		w.Write(make([]byte, 10<<20))
		w.Close()
		if b.Len() > 1<<20 {
			t.Fatalf("bomb is %d bytes", b.Len())
		}
		return req(b.Bytes(), "Content-Encoding", "gzip")
	}

	cases := []badCase{
		// Headers.
		{"text/plain", plain(good, "Content-Type", "text/plain"), false, 415, `Content-Type: expected application/json, got "text/plain"`},
		{"no content type", plain(good, "Content-Type", ""), false, 415, "Content-Type: expected application/json, got none"},
		{"form", plain(good, "Content-Type", "application/x-www-form-urlencoded"), false, 415, "Content-Type"},
		{"json-ish", plain(good, "Content-Type", "application/jsonx"), false, 415, "Content-Type"},
		{"latin1", plain(good, "Content-Type", "application/json; charset=latin1"), false, 415, `Content-Type: expected charset utf-8, got "latin1"`},
		{"garbage content type", plain(good, "Content-Type", strings.Repeat("x", 300)), false, 415, "a value of 300 bytes"},
		{"brotli", plain(good, "Content-Encoding", "br"), false, 400, `Content-Encoding: expected gzip or identity, got "br"`},
		{"deflate", plain(good, "Content-Encoding", "deflate"), false, 400, "Content-Encoding"},
		{"gzip twice", plain(good, "Content-Encoding", "gzip, gzip"), false, 400, "Content-Encoding: expected gzip at most once"},

		// Sizes.
		{"body over 1 MiB", plain(`{"events":[` + strings.Repeat(" ", 1<<20) + `]}`), false, 413, "body: larger than 1048576 bytes on the wire"},
		{"content-length over 1 MiB", func(t *testing.T) *http.Request {
			r := req([]byte(good))
			r.ContentLength = 2 << 20
			return r
		}, false, 413, "on the wire"},
		{"gzip bomb", bomb, false, 413, "body: larger than 8388608 bytes after gunzip"},
		{"1001 events", plain(many(1001)), false, 413, "events: more than 1000 events"},

		// gzip.
		{"gzip header, plain body", plain(good, "Content-Encoding", "gzip"), false, 400, "body: invalid gzip data: gzip: invalid header"},
		{"truncated gzip", func(t *testing.T) *http.Request {
			return req(compressed[:len(compressed)/2], "Content-Encoding", "gzip")
		}, false, 400, "body: invalid gzip data: unexpected EOF"},
		{"truncated gzip trailer", func(t *testing.T) *http.Request {
			return req(compressed[:len(compressed)-3], "Content-Encoding", "gzip")
		}, false, 400, "body: invalid gzip data"},
		{"corrupt gzip", func(t *testing.T) *http.Request {
			c := bytes.Clone(compressed)
			for i := 20; i < 40; i++ {
				c[i] ^= 0xff
			}
			return req(c, "Content-Encoding", "gzip")
		}, false, 400, "body: invalid gzip data"},
		{"gzip checksum", func(t *testing.T) *http.Request {
			c := bytes.Clone(compressed)
			c[len(c)-6] ^= 1
			return req(c, "Content-Encoding", "gzip")
		}, false, 400, "body: invalid gzip data: gzip: invalid checksum"},
		{"gzip trailing garbage", func(t *testing.T) *http.Request {
			return req(append(bytes.Clone(compressed), "garbage"...), "Content-Encoding", "gzip")
		}, false, 400, "body: invalid gzip data"},
		{"empty gzip", plain("", "Content-Encoding", "gzip"), false, 400, "body: invalid gzip data: empty"},
		{"gzip of nothing", gzipped(""), false, 400, "body: empty after gunzip"},

		// Bytes.
		{"empty body", plain(""), false, 400, "body: empty"},
		{"invalid UTF-8", plain(`{"events":[{"id":"` + "\xff" + `"}]}`), false, 400, "body: invalid UTF-8 at byte 18"},
		{"invalid UTF-8 gzip", gzipped(`{"x":"ab` + "\xc3\x28" + `","events":[]}`), false, 400, "body: invalid UTF-8 at byte 8"},
		{"overlong UTF-8", plain(`{"x":"` + "\xc0\xaf" + `","events":[]}`), false, 400, "invalid UTF-8 at byte 6"},
		{"surrogate UTF-8", plain(`{"x":"` + "\xed\xa0\x80" + `","events":[]}`), false, 400, "invalid UTF-8 at byte 6"},
		{"nested 65 deep", plain(deep(61)), false, 400, "body: nested deeper than 64 levels at byte"},
		{"nested 10000 deep", plain(deep(10000)), false, 400, "nested deeper than 64 levels"},
		{"nested deep unknown field", plain(`{"x":` + strings.Repeat("[", 64) + strings.Repeat("]", 64) + `,"events":[]}`), false, 400, "nested deeper than 64"},
		{"nested deep track", plain(`{"a":` + strings.Repeat("[", 64) + strings.Repeat("]", 64) + `}`), true, 400, "nested deeper than 64"},

		// JSON syntax.
		{"malformed", plain(`{"events": [x]}`), false, 400, "body: invalid JSON at byte 12: invalid character 'x' looking for beginning of value"},
		{"truncated JSON", plain(good[:len(good)-5]), false, 400, "unexpected end of JSON input"},
		{"trailing garbage", plain(good + " x"), false, 400, "body: invalid JSON at byte " + fmt.Sprint(len(good)+1) + ": invalid character 'x' after top-level value"},
		{"two objects", plain(good + good), false, 400, "after top-level value"},
		{"NaN", plain(strings.Replace(good, "1234", "NaN", 1)), false, 400, "invalid character 'N'"},
		{"Infinity", plain(strings.Replace(good, "1234", "-Infinity", 1)), false, 400, "invalid character 'I'"},
		{"leading zero", plain(strings.Replace(good, "1234", "01234", 1)), false, 400, "invalid JSON"},
		{"single quotes", plain(`{'events':[]}`), false, 400, "invalid JSON at byte 1"},
		{"missing comma", plain(`{"events":[` + goodEv + goodEv + `]}`), false, 400, "after array element"},
		{"bad escape in event", plain(strings.Replace(good, `"linux"`, `"lin\x"`, 1)), false, 400, "invalid character 'x' in string escape code"},
		{"control char in string", plain(strings.Replace(good, `"linux"`, "\"lin\tux\"", 1)), false, 400, "invalid character '\\t' in string literal"},
		{"bad unknown field", plain(`{"x":[1,,2],"events":[` + goodEv + `]}`), false, 400, "invalid JSON at byte 8"},
		{"bad key escape", plain(`{"ev\qents":[]}`), false, 400, "invalid JSON"},
		{"unterminated string", plain(`{"events":["abc`), false, 400, "unexpected end of JSON input"},
		{"syntax error after shape error", plain(`{"events":"x", "y": tru}`), false, 400, "invalid character '}' in literal true"},
		{"syntax error in big event", plain(`{"events":[{"a":"` + strings.Repeat("x", 40000) + `",]}`), false, 400, "invalid JSON"},
		{"syntax error in non-object event", plain(`{"events":[tru]}`), false, 400, "invalid JSON"},

		// Shape.
		{"array body", plain(`[]`), false, 400, "body: expected a JSON object, got an array"},
		{"string body", plain(`"events"`), false, 400, "body: expected a JSON object, got a string"},
		{"null body", plain(`null`), false, 400, "got null"},
		{"missing events", plain(`{}`), false, 400, "events: missing, expected an array of events"},
		{"missing events, other keys", plain(`{"Events":[]}`), false, 400, "events: missing"},
		{"events string", plain(`{"events":"abc"}`), false, 400, "events: expected an array, got a string"},
		{"events object", plain(`{"events":{}}`), false, 400, "events: expected an array, got an object"},
		{"events null", plain(`{"events":null}`), false, 400, "events: expected an array, got null"},
		{"events number", plain(`{"events":12}`), false, 400, "events: expected an array, got a number"},
		{"empty batch", plain(`{"events":[]}`), false, 400, "events: expected at least 1 event, got an empty array"},
		{"events twice", plain(`{"events":[` + goodEv + `],"events":[]}`), false, 400, "events: expected once, got a duplicate key"},
		{"bad sentAt", plain(`{"sentAt":"yesterday","events":[` + goodEv + `]}`), false, 400, "sentAt: expected an RFC 3339 time"},
		{"sentAt number", plain(`{"sentAt":12,"events":[` + goodEv + `]}`), false, 400, "sentAt: expected an RFC 3339 time"},
		{"sentAt no zone", plain(`{"sentAt":"2026-11-28T10:00:05","events":[` + goodEv + `]}`), false, 400, "sentAt"},
		{"sentAt twice", plain(`{"sentAt":"2026-11-28T10:00:05Z","sentAt":null,"events":[` + goodEv + `]}`), false, 400, "sentAt: expected once"},

		// /v1/track.
		{"track array", plain(`[` + goodEv + `]`), true, 400, "body: expected a JSON object, got an array"},
		{"track two objects", plain(goodEv + goodEv), true, 400, "after top-level value"},
		{"track malformed", plain(`{"id":}`), true, 400, "body: invalid JSON at byte 6"},
		{"track empty", plain(``), true, 400, "body: empty"},
		{"track wrong type", plain(goodEv, "Content-Type", "text/json"), true, 415, "Content-Type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := p.Process(c.r(t), c.single, testNow)
			if err == nil {
				t.Fatalf("accepted: %+v", b)
			}
			if b != nil {
				t.Errorf("both a batch and an error")
			}
			if err.Status != c.status || !strings.Contains(err.Msg, c.msg) {
				t.Errorf("got %d %q\nwant %d containing %q", err.Status, err.Msg, c.status, c.msg)
			}
			if err.Error() != err.Msg {
				t.Errorf("Error() = %q", err.Error())
			}
			if c.status == 400 && strings.Contains(err.Msg, "invalid JSON") {
				// The scanner's verdict agrees with encoding/json's.
				if r := c.r(t); r.Header.Get("Content-Encoding") == "" {
					body, _ := io.ReadAll(r.Body)
					if json.Valid(body) {
						t.Errorf("reported invalid JSON for a valid body")
					}
				}
			}
		})
	}
}

func TestDepthLimitIsExact(t *testing.T) {
	// 64 levels pass the depth check (the plan then rejects the list); 65 do not.
	p := newPipeline(t, nil)
	e := string(mustJSON(t, goodEvent(1)))
	body := `{"events":[` + strings.Replace(e, `"durationMs":1234`, `"durationMs":`+strings.Repeat("[", 60)+strings.Repeat("]", 60), 1) + `]}`
	b, err := p.Process(req([]byte(body)), false, testNow)
	if err != nil || len(b.Rejected) != 1 {
		t.Fatalf("%v %+v", err, b)
	}
	single := `{"a":` + strings.Repeat("[", 63) + strings.Repeat("]", 63) + `}`
	if _, err := p.Process(req([]byte(single)), true, testNow); err != nil {
		t.Fatal(err)
	}
}

func TestMessagesDoNotQuoteBody(t *testing.T) {
	// Whatever the body holds, a whole-request error quotes none of it beyond one
	// character of JSON syntax.
	p := newPipeline(t, nil)
	secret := "john.doe@example.com"
	for _, body := range []string{
		`{"events":"` + secret + `"}`,
		`{"events":[{"id":"` + secret + `"}], x}`,
		`{"sentAt":"` + secret + `","events":[{}]}`,
		`{"` + secret + `":1}`,
	} {
		_, err := p.Process(req([]byte(body)), false, testNow)
		if err == nil || strings.Contains(err.Msg, "john") {
			t.Errorf("%s: %v", body, err)
		}
	}
}

// rejCase is one per-event rejection.
type rejCase struct {
	name   string
	e      any // ev, or raw JSON string
	reason string
	msg    string // the exact message
}

func TestRejections(t *testing.T) {
	p := newPipeline(t, nil)
	g := goodEvent(1)
	props := ev{}
	for i := 0; i < 65; i++ {
		props[fmt.Sprintf("k%d", i)] = i
	}
	cases := []rejCase{
		{"number", `12`, ReasonSchema, "event: expected an object, got a number"},
		{"string", `"x"`, ReasonSchema, "event: expected an object, got a string"},
		{"null", `null`, ReasonSchema, "event: expected an object, got null"},
		{"array", `[]`, ReasonSchema, "event: expected an object, got an array"},
		{"empty object", `{}`, ReasonSchema, msgIDMissing},
		{"missing id", with(g, "id", del), ReasonSchema, "id: missing, expected a UUID"},
		{"bad id", with(g, "id", "123"), ReasonSchema, "id: expected a UUID"},
		{"id number", with(g, "id", 123), ReasonSchema, "id: expected a string, got a number"},
		{"missing event", with(g, "event", del), ReasonSchema, "event: missing, expected an event name"},
		{"unknown event", with(g, "event", "didHackThePlanet"), ReasonPlan, `event: "didHackThePlanet" is not in the tracking plan`},
		{"personal event name", with(g, "event", "john@example.com"), ReasonPlan, "event: a name with characters outside A-Z, a-z, 0-9, '_', '.', ':' and '-' is not in the tracking plan"},
		{"missing timestamp", with(g, "timestamp", del), ReasonSchema, "timestamp: missing, expected an RFC 3339 time"},
		{"null timestamp", with(g, "timestamp", nil), ReasonSchema, "timestamp: missing, expected an RFC 3339 time"},
		{"bad timestamp", with(g, "timestamp", "yesterday"), ReasonSchema, "timestamp: expected an RFC 3339 time"},
		{"timestamp number", with(g, "timestamp", 1764324000), ReasonSchema, "timestamp: expected an RFC 3339 time"},
		{"timestamp object", with(g, "timestamp", ev{}), ReasonSchema, "timestamp: expected an RFC 3339 time"},
		{"timestamp without zone", with(g, "timestamp", "2026-11-28T10:00:00"), ReasonSchema, "timestamp: expected an RFC 3339 time"},
		{"missing projectId", with(g, "projectId", del), ReasonSchema, "projectId: missing, expected a UUID, optionally after a prefix of [a-z0-9-]{1,32}"},
		{"bad projectId", with(g, "projectId", "my-project"), ReasonSchema, "projectId: expected a UUID, optionally after a prefix of [a-z0-9-]{1,32}"},
		{"projectId upper prefix", with(g, "projectId", "GetStarted-"+testProject), ReasonSchema, msgProject},
		{"missing machineId", with(g, "machineId", del), ReasonSchema, "machineId: missing, expected 64 lowercase hex characters"},
		{"upper machineId", with(g, "machineId", strings.ToUpper(testMachine)), ReasonSchema, "machineId: expected 64 lowercase hex characters"},
		{"bad sessionId", with(g, "sessionId", "s1"), ReasonSchema, "sessionId: expected a UUID"},
		{"missing environment", with(g, "environment", del), ReasonSchema, msgEnvMissing},
		{"bad environment", with(g, "environment", "prod"), ReasonSchema, "environment: expected one of development, staging, production, test, other"},
		{"missing product", with(g, "product", del), ReasonSchema, `product.name: missing, expected "strapi"`},
		{"product string", with(g, "product", "strapi"), ReasonSchema, "product: expected an object, got a string"},
		{"wrong product", with(g, "product.name", "ghost"), ReasonPlan, `product.name: expected "strapi", got "ghost"`},
		{"bad product version", with(g, "product.version", "5.3.1 (built by john@example.com)"), ReasonSchema, "product.version: expected only A-Z, a-z, 0-9, '.', '_', '+', '-' and space"},
		{"cpus string", with(g, "context.cpus", "eight"), ReasonSchema, "context.cpus: expected an integer, got a string"},
		{"cpus fraction", with(g, "context.cpus", 8.5), ReasonSchema, "context.cpus: expected an integer, got a number that is not an integer in range"},
		{"cpus huge", with(g, "context.cpus", 1e30), ReasonSchema, "context.cpus: expected an integer, got a number that is not an integer in range"},
		{"cpus range", with(g, "context.cpus", 5000), ReasonSchema, "context.cpus: expected an integer from 0 to 4096"},
		{"cpus negative", with(g, "context.cpus", -1), ReasonSchema, msgCPUs},
		{"memory range", with(g, "context.memoryMB", 1<<24+1), ReasonSchema, "context.memoryMB: expected an integer from 0 to 16777216"},
		{"ci string", with(g, "context.ci", "yes"), ReasonSchema, "context.ci: expected true or false, got a string"},
		{"context array", with(g, "context", []any{}), ReasonSchema, "context: expected an object, got an array"},
		{"long os", with(g, "context.os", strings.Repeat("a", 65)), ReasonSchema, "context.os: expected at most 64 characters"},
		{"long osVersion", with(g, "context.osVersion", strings.Repeat("1", 300)), ReasonSchema, "context.osVersion: expected at most 64 characters"},
		{"path in osVersion", with(g, "context.osVersion", "/home/john"), ReasonSchema, "context.osVersion: expected only A-Z, a-z, 0-9, '.', '_', '+', '-' and space"},
		{"email in ciName", with(g, "context.ciName", "john@example.com"), ReasonSchema, "context.ciName: expected only A-Z, a-z, 0-9, '.', '_', '+', '-' and space"},
		{"unicode in runtime", with(g, "context.runtime", "nodé"), ReasonSchema, "context.runtime: expected only A-Z, a-z, 0-9, '.', '_', '+', '-' and space"},
		{"path in sdk", with(g, "context.sdk", "/home/john"), ReasonSchema, "context.sdk: expected a name and version made of A-Z, a-z, 0-9, '.', '_', '+', '-' and space, separated by one '/'"},
		{"two slashes in sdk", with(g, "context.sdk", "a/b/c"), ReasonSchema, "context.sdk: expected a name and version made of A-Z, a-z, 0-9, '.', '_', '+', '-' and space, separated by one '/'"},
		{"too many properties", with(g, "properties", props), ReasonTooLarge, "properties: more than 64 keys"},
		{"too many build keys", with(g, "build", props), ReasonTooLarge, "build: more than 64 keys"},
		{"too large", with(g, "properties.padding", strings.Repeat("x", 33000)), ReasonTooLarge, "event: larger than 32768 bytes"},
		{"property type", with(g, "properties.durationMs", "1234"), ReasonPlan, "properties.durationMs: expected an integer from 0 to 86400000, got a string"},
		{"property range", with(g, "properties.durationMs", -5), ReasonPlan, "properties.durationMs: expected an integer from 0 to 86400000, got -5"},
		{"property fraction", with(g, "properties.durationMs", 1.5), ReasonPlan, "properties.durationMs: expected an integer from 0 to 86400000, got 1.5"},
		{"property overflow", with(g, "properties.durationMs", json.RawMessage("1e400")), ReasonSchema, "properties: expected a finite number, got a number out of range"},
		{"undeclared property overflow", with(g, "properties.whatever", json.RawMessage("-1e400")), ReasonSchema, "properties: expected a finite number, got a number out of range"},
		{"properties array", with(g, "properties", []any{1}), ReasonSchema, "properties: expected an object, got an array"},
		{"build enum", with(g, "build.database", "oracle"), ReasonPlan, "build.database: expected one of sqlite, postgres, mysql, mariadb, got another value"},
		{"build list item", with(g, "build.plugins", []any{"ok", 5}), ReasonPlan, "build.plugins[1]: expected a string matching ^[@a-z0-9][a-z0-9._/-]{0,63}$, got 5"},
		{"personal data", with(g, "build.plugins", []any{"i18n", "192.168.1.20"}), ReasonPersonalData, "build.plugins[1]: value looks like personal data (ip-address)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := batchBody(t, "", goodEvent(100), c.e, goodEvent(101))
			b, err := p.Process(req(body), false, testNow)
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Events) != 2 || len(b.Rejected) != 1 {
				t.Fatalf("got %d events, rejected %v", len(b.Events), b.Rejected)
			}
			r := b.Rejected[0]
			if r.Index != 1 || r.Error != c.msg {
				t.Errorf("rejected %d %q\nwant 1 %q", r.Index, r.Error, c.msg)
			}
			if !reflect.DeepEqual(b.RejectReasons, map[string]int{c.reason: 1}) {
				t.Errorf("RejectReasons = %v, want %s", b.RejectReasons, c.reason)
			}
			if !reflect.DeepEqual(b.Index, []int{0, 2}) {
				t.Errorf("Index = %v", b.Index)
			}
			if strings.Contains(r.Error, "john") || strings.Contains(r.Error, "192.168") {
				t.Errorf("message quotes personal data: %q", r.Error)
			}
		})
	}
}

func TestRejectReasonsAreDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range RejectReasons {
		seen[r] = true
	}
	for _, r := range []string{ReasonSchema, ReasonTooLarge, ReasonTooOld, ReasonFuture, ReasonPlan, ReasonPersonalData} {
		if !seen[r] {
			t.Errorf("%s missing from RejectReasons", r)
		}
	}
}

func TestPartialAcceptance(t *testing.T) {
	p := newPipeline(t, nil)
	body := batchBody(t, testNow.Format(time.RFC3339),
		goodEvent(0),
		with(goodEvent(1), "event", "nope"),
		goodEvent(2),
		with(goodEvent(3), "context.cpus", "eight"),
		goodEvent(4),
	)
	b, err := p.Process(gzReq(t, body), false, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Events) != 3 || !reflect.DeepEqual(b.Index, []int{0, 2, 4}) {
		t.Fatalf("events %d, index %v", len(b.Events), b.Index)
	}
	for i, e := range b.Events {
		if e.ID != eventID(b.Index[i]) {
			t.Errorf("Events[%d].ID = %s", i, e.ID)
		}
	}
	want := []wire.Rejection{
		{Index: 1, Error: `event: "nope" is not in the tracking plan`},
		{Index: 3, Error: "context.cpus: expected an integer, got a string"},
	}
	if !reflect.DeepEqual(b.Rejected, want) {
		t.Errorf("Rejected = %v", b.Rejected)
	}
	if !reflect.DeepEqual(b.RejectReasons, map[string]int{"plan": 1, "schema": 1}) {
		t.Errorf("RejectReasons = %v", b.RejectReasons)
	}
	if b.Received() != 5 {
		t.Errorf("Received = %d", b.Received())
	}
}

func TestClockSkew(t *testing.T) {
	p := newPipeline(t, nil)
	happened := testNow.Add(-10 * time.Second) // by the server's clock
	for _, c := range []struct {
		name  string
		skew  time.Duration // client clock minus server clock
		sent  bool
		want  time.Time
		delay time.Duration // network delay between sentAt and receivedAt
	}{
		{"client 1h fast", time.Hour, true, happened, 0},
		{"client 3h slow", -3 * time.Hour, true, happened, 0},
		{"exact", 0, true, happened, 0},
		{"delay is attributed to the client clock", 0, true, happened.Add(2 * time.Second), 2 * time.Second},
		{"no sentAt", time.Hour, false, happened.Add(time.Hour), 0},
		{"client 2 years slow", -2 * 365 * 24 * time.Hour, true, happened, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := with(goodEvent(1), "timestamp", happened.Add(c.skew).Format(time.RFC3339Nano))
			sentAt := ""
			if c.sent {
				sentAt = testNow.Add(c.skew).Add(-c.delay).Format(time.RFC3339Nano)
			}
			b, err := p.Process(req(batchBody(t, sentAt, e)), false, testNow)
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Events) != 1 {
				t.Fatalf("rejected: %v", b.Rejected)
			}
			if got := b.Events[0].Time; !got.Equal(c.want) {
				t.Errorf("Time = %v, want %v", got, c.want)
			}
		})
	}
	// A time zone offset, and sub-millisecond precision.
	e := with(goodEvent(1), "timestamp", "2026-11-28T11:00:00.123456789+01:00")
	b, err := p.Process(req(batchBody(t, "", e)), false, testNow)
	if err != nil || len(b.Events) != 1 {
		t.Fatalf("%v %+v", err, b)
	}
	want := time.Date(2026, 11, 28, 10, 0, 0, 123e6, time.UTC)
	if got := b.Events[0].Time; got != want { // == checks location and monotonic reading too
		t.Errorf("Time = %#v, want %#v", got, want)
	}
}

func TestTimeWindow(t *testing.T) {
	day := 24 * time.Hour
	for _, c := range []struct {
		name      string
		cfg       func(*Config)
		ts        time.Time
		sentAt    time.Time
		reason    string
		msg       string
		rejection bool
	}{
		{"399 days old", nil, testNow.Add(-399 * day), time.Time{}, "", "", false},
		{"401 days old", nil, testNow.Add(-401 * day), time.Time{}, ReasonTooOld, "timestamp: older than the 400d retention", true},
		{"23h ahead", nil, testNow.Add(23 * time.Hour), time.Time{}, "", "", false},
		{"25h ahead", nil, testNow.Add(25 * time.Hour), time.Time{}, ReasonFuture, "timestamp: more than 24h in the future after clock correction", true},
		{"25h ahead, corrected", nil, testNow.Add(25 * time.Hour), testNow.Add(25 * time.Hour), "", "", false},
		{"in window, corrected out", nil, testNow, testNow.Add(-25 * time.Hour), ReasonFuture, "timestamp: more than 24h in the future after clock correction", true},
		{"year 1", nil, time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}, ReasonTooOld, "timestamp: older than the 400d retention", true},
		{"year 9999", nil, time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), time.Time{}, ReasonFuture, "", true},
		{"sentAt 9999, ts 0", nil, time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), ReasonTooOld, "", true},
		{"custom retention", func(c *Config) { c.Retention = 30 * day }, testNow.Add(-31 * day), time.Time{}, ReasonTooOld, "timestamp: older than the 30d retention", true},
		{"custom future", func(c *Config) { c.MaxFuture = 90 * time.Minute }, testNow.Add(2 * time.Hour), time.Time{}, ReasonFuture, "timestamp: more than 1h30m0s in the future after clock correction", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newPipeline(t, c.cfg)
			e := with(goodEvent(1), "timestamp", c.ts.Format(time.RFC3339Nano))
			sentAt := ""
			if !c.sentAt.IsZero() {
				sentAt = c.sentAt.Format(time.RFC3339Nano)
			}
			b, err := p.Process(req(batchBody(t, sentAt, e)), false, testNow)
			if err != nil {
				t.Fatal(err)
			}
			if !c.rejection {
				if len(b.Events) != 1 {
					t.Fatalf("rejected: %v", b.Rejected)
				}
				return
			}
			if len(b.Rejected) != 1 || b.RejectReasons[c.reason] != 1 {
				t.Fatalf("got %+v", b)
			}
			if c.msg != "" && b.Rejected[0].Error != c.msg {
				t.Errorf("message %q, want %q", b.Rejected[0].Error, c.msg)
			}
		})
	}
}

func TestDuplicatesInBatch(t *testing.T) {
	p := newPipeline(t, nil)
	for _, n := range []int{5, 200} { // both dedup strategies
		evs := []any{}
		for i := 0; i < n; i++ {
			evs = append(evs, goodEvent(i))
		}
		upper := with(goodEvent(3), "id", strings.ToUpper(eventID(3)))
		// A repeat that is invalid is a rejection, not a duplicate; a valid repeat of an
		// invalid first occurrence is accepted.
		evs = append(evs, goodEvent(0), upper, with(goodEvent(4), "event", "nope"),
			with(goodEvent(n+1), "event", "nope"), goodEvent(n+1), goodEvent(n+1))
		b, err := p.Process(req(batchBody(t, "", evs...)), false, testNow)
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Events) != n+1 || b.DuplicatesInBatch != 3 || len(b.Rejected) != 2 {
			t.Errorf("n=%d: events %d, duplicates %d, rejected %v", n, len(b.Events), b.DuplicatesInBatch, b.Rejected)
		}
		if b.Received() != len(evs) {
			t.Errorf("n=%d: Received = %d, want %d", n, b.Received(), len(evs))
		}
		if last := b.Index[len(b.Index)-1]; last != n+4 {
			t.Errorf("n=%d: the valid repeat of an invalid event is at %d", n, last)
		}
	}
}

func TestTrack(t *testing.T) {
	p := newPipeline(t, nil)
	b, err := p.Process(req(mustJSON(t, goodEvent(7))), true, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Events) != 1 || b.Events[0].ID != eventID(7) || b.Index[0] != 0 {
		t.Fatalf("%+v", b)
	}
	// No sentAt in /v1/track: the timestamp is taken as is.
	if !b.Events[0].Time.Equal(testNow.Add(-5 * time.Second)) {
		t.Errorf("Time = %v", b.Events[0].Time)
	}
	b, err = p.Process(gzReq(t, mustJSON(t, with(goodEvent(7), "context.cpus", "x"))), true, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Events) != 0 || len(b.Rejected) != 1 || b.Rejected[0].Index != 0 {
		t.Fatalf("%+v", b)
	}
	// A batch envelope sent to /v1/track is one event with none of the required fields.
	b, err = p.Process(req(batchBody(t, "", goodEvent(1))), true, testNow)
	if err != nil || len(b.Rejected) != 1 || b.Rejected[0].Error != msgIDMissing {
		t.Fatalf("%v %+v", err, b)
	}
}

func TestUnknownFieldsIgnored(t *testing.T) {
	p := newPipeline(t, nil)
	e := with(goodEvent(1), "futureField", ev{"a": []any{1, 2, ev{"b": nil}}})
	e = with(e, "context.gpu", "rtx")
	body := []byte(`{"version": 2, "meta": {"x": [1, "y", null, true]}, "events": [` + string(mustJSON(t, e)) + `], "z": "\u00e9\n"}`)
	b, err := p.Process(req(body), false, testNow)
	if err != nil || len(b.Events) != 1 {
		t.Fatalf("%v %+v", err, b)
	}
	// Escaped envelope keys are still the envelope keys.
	body = []byte(`{"\u0065vents": [` + string(mustJSON(t, goodEvent(1))) + `], "sent\u0041t": null}`)
	if b, err := p.Process(req(body), false, testNow); err != nil || len(b.Events) != 1 {
		t.Fatalf("%v %+v", err, b)
	}
	// Whitespace everywhere.
	body = []byte(" \n\t{ \"events\" :\r\n [ " + string(mustJSON(t, goodEvent(1))) + " ,\n" + string(mustJSON(t, goodEvent(2))) + " ] , \"sentAt\" : null } \n")
	if b, err := p.Process(req(body), false, testNow); err != nil || len(b.Events) != 2 {
		t.Fatalf("%v %+v", err, b)
	}
}

const typesPlan = `
product: strapi
build:
  ports: {type: list, items: {type: int, min: 0, max: 65535}}
  ratio: {type: float}
  name: {type: string, max: 20}
events:
  e:
    properties:
      n: {type: int}
      f: {type: float}
      fs: {type: list, items: {type: float}}
      s: {type: string, max: 50}
`

func TestStoredTypes(t *testing.T) {
	pl, err := plan.Parse("types.yaml", []byte(typesPlan))
	if err != nil {
		t.Fatal(err)
	}
	p := newPipeline(t, func(c *Config) { c.Plan = pl })
	e := with(goodEvent(1), "event", "e")
	e = with(e, "build", ev{"ports": []any{80, 443}, "ratio": 2, "name": nil})
	e = with(e, "properties", ev{"n": json.RawMessage("9007199254740991"), "f": 1.5, "fs": []any{1, 2.5}, "s": "x"})
	b, perr := p.Process(req(batchBody(t, "", e)), false, testNow)
	if perr != nil || len(b.Events) != 1 {
		t.Fatalf("%v %+v", perr, b)
	}
	got := b.Events[0]
	wantBuild := map[string]any{"ports": []any{int64(80), int64(443)}, "ratio": float64(2)}
	wantProps := map[string]any{"n": int64(9007199254740991), "f": 1.5, "fs": []any{float64(1), 2.5}, "s": "x"}
	if !reflect.DeepEqual(got.Build, wantBuild) || !reflect.DeepEqual(got.Properties, wantProps) {
		t.Errorf("Build %#v\nProperties %#v", got.Build, got.Properties)
	}
	// An int beyond 2^53 is rejected by the plan, not rounded.
	e = with(e, "properties.n", json.RawMessage("9007199254740993"))
	b, _ = p.Process(req(batchBody(t, "", e)), false, testNow)
	if len(b.Rejected) != 1 || b.RejectReasons[ReasonPlan] != 1 {
		t.Errorf("%+v", b)
	}
	// Empty maps are stored as nil.
	e = with(goodEvent(1), "event", "e")
	e = with(e, "build", ev{"x": 1})
	e = with(e, "properties", ev{})
	e2 := with(with(with(goodEvent(2), "event", "e"), "build", ev{}), "properties", ev{"x": nil})
	b, _ = p.Process(req(batchBody(t, "", e, e2)), false, testNow)
	if len(b.Events) != 2 {
		t.Fatalf("%+v", b)
	}
	for _, e := range b.Events {
		if e.Build != nil || e.Properties != nil {
			t.Errorf("%+v", e)
		}
	}
}

func TestAnonymity(t *testing.T) {
	p := newPipeline(t, nil)
	const ua, ip = "Mozilla/5.0 (secret-agent)", "203.0.113.77"
	e := with(goodEvent(1), "projectId", "getstarted-"+strings.ToUpper(testProject))
	body := batchBody(t, "", e, goodEvent(2))
	r := gzReq(t, body)
	r.RemoteAddr = ip + ":5555"
	r.Header.Set("User-Agent", ua)
	r.Header.Set("X-Forwarded-For", ip)
	r.Header.Set("X-Real-Ip", ip)
	b, err := p.Process(r, false, testNow)
	if err != nil || len(b.Events) != 2 {
		t.Fatalf("%v %+v", err, b)
	}
	if b.Events[0].ProjectID != b.Events[1].ProjectID {
		t.Errorf("prefix and case changed the project key")
	}
	forbidden := []string{testProject, strings.ToUpper(testProject), "getstarted", testMachine, testSession, ip, "secret-agent"}
	for _, e := range b.Events {
		if len(e.ProjectID) != KeyLen || len(e.MachineID) != KeyLen || len(e.SessionID) != KeyLen {
			t.Errorf("keys %q %q %q", e.ProjectID, e.MachineID, e.SessionID)
		}
		walkStrings(reflect.ValueOf(e), func(s string) {
			for _, f := range forbidden {
				if strings.Contains(strings.ToLower(s), strings.ToLower(f)) {
					t.Errorf("stored event holds %q in %q", f, s)
				}
			}
		})
	}
}

// walkStrings calls fn with every string reachable from v.
func walkStrings(v reflect.Value, fn func(string)) {
	switch v.Kind() {
	case reflect.String:
		fn(v.String())
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				walkStrings(v.Field(i), fn)
			}
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			walkStrings(k, fn)
			walkStrings(v.MapIndex(k), fn)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			walkStrings(v.Index(i), fn)
		}
	case reflect.Interface, reflect.Pointer:
		if !v.IsNil() {
			walkStrings(v.Elem(), fn)
		}
	}
}

func TestStoreEventHasNoAddressField(t *testing.T) {
	typ := reflect.TypeFor[store.Event]()
	for i := 0; i < typ.NumField(); i++ {
		name := strings.ToLower(typ.Field(i).Name)
		for _, bad := range []string{"ip", "addr", "agent", "host", "forward"} {
			if strings.Contains(name, bad) {
				t.Errorf("store.Event has a field %s", typ.Field(i).Name)
			}
		}
	}
}

// TestInEventMatchesWire keeps inEvent, the decoding type, in step with wire.Event.
func TestInEventMatchesWire(t *testing.T) {
	tags := func(typ reflect.Type) map[string]reflect.Type {
		m := map[string]reflect.Type{}
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			m[name] = f.Type
		}
		return m
	}
	w, in := tags(reflect.TypeFor[wire.Event]()), tags(reflect.TypeFor[inEvent]())
	if len(w) != len(in) {
		t.Fatalf("wire.Event has %d fields, inEvent %d", len(w), len(in))
	}
	for name, typ := range w {
		got, ok := in[name]
		switch {
		case !ok:
			t.Errorf("inEvent lacks %q", name)
		case name == "timestamp":
			if got != reflect.TypeFor[jsonTime]() {
				t.Errorf("timestamp is %v", got)
			}
		case name == "product" || name == "context" || name == "build":
			if got != reflect.TypeFor[rawValue]() {
				t.Errorf("%s is %v", name, got)
			}
		case got != typ:
			t.Errorf("%s: inEvent has %v, wire.Event %v", name, got, typ)
		}
	}
}

func TestLimits(t *testing.T) {
	p := newPipeline(t, func(c *Config) {
		c.Limits = Limits{MaxBody: 2000, MaxDecoded: 3000, MaxEvents: 2, MaxEventBytes: 1200, MaxProperties: 1}
	})
	if got := p.Limits(); got.MaxEvents != 2 || got.MaxBody != 2000 {
		t.Errorf("Limits = %+v", got)
	}
	one := batchBody(t, "", goodEvent(1))
	if _, err := p.Process(req(batchBody(t, "", goodEvent(1), goodEvent(2), goodEvent(3))), false, testNow); err == nil || err.Status != 413 || err.Msg != "events: more than 2 events in one batch" {
		t.Errorf("3 events: %v", err)
	}
	if _, err := p.Process(req(bytes.Repeat([]byte(" "), 2001)), false, testNow); err == nil || err.Status != 413 {
		t.Errorf("2001 bytes: %v", err)
	}
	padded := append(bytes.Clone(one), bytes.Repeat([]byte(" "), 3001-len(one))...)
	if _, err := p.Process(gzReq(t, padded), false, testNow); err == nil || err.Status != 413 || !strings.Contains(err.Msg, "3000 bytes after gunzip") {
		t.Errorf("3001 bytes decoded: %v", err)
	}
	b, err := p.Process(req(batchBody(t, "", with(goodEvent(1), "properties.x", 1), with(goodEvent(2), "properties.padding", strings.Repeat("y", 600)))), false, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Rejected) != 2 || b.Rejected[0].Error != "properties: more than 1 keys" || b.Rejected[1].Error != "event: larger than 1200 bytes" {
		t.Errorf("%v", b.Rejected)
	}
	// ProcessBody enforces MaxDecoded too.
	if _, err := p.ProcessBody(padded, false, testNow); err == nil || err.Status != 413 {
		t.Errorf("ProcessBody: %v", err)
	}
	if b, err := p.ProcessBody(one, false, testNow); err != nil || b.Received() != 1 {
		t.Errorf("ProcessBody: %v %+v", err, b)
	}
}

func TestBodyReadErrors(t *testing.T) {
	p := newPipeline(t, nil)
	r := req(nil)
	r.Body = io.NopCloser(io.MultiReader(strings.NewReader(`{"events":[`), errReader{}))
	if _, err := p.Process(r, false, testNow); err == nil || err.Status != 400 || !strings.Contains(err.Msg, "body: could not be read") {
		t.Errorf("%v", err)
	}
	r = req(bytes.Repeat([]byte(" "), 100))
	r.Body = http.MaxBytesReader(nil, r.Body, 10)
	if _, err := p.Process(r, false, testNow); err == nil || err.Status != 413 {
		t.Errorf("%v", err)
	}
	r = req(nil)
	r.Body = nil
	if _, err := p.Process(r, false, testNow); err == nil || err.Status != 400 {
		t.Errorf("%v", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func TestConcurrent(t *testing.T) {
	p := newPipeline(t, nil)
	evs := make([]any, 50)
	for i := range evs {
		evs[i] = goodEvent(i)
	}
	body := batchBody(t, testNow.Format(time.RFC3339), evs...)
	compressed := gz(t, body)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				r := req(compressed, "Content-Encoding", "gzip")
				if i%2 == 0 {
					r = req(body)
				}
				b, err := p.Process(r, false, testNow)
				if err != nil || len(b.Events) != 50 {
					t.Errorf("%v", err)
					return
				}
				for j, e := range b.Events {
					if e.ID != eventID(j) {
						t.Errorf("event %d has id %s", j, e.ID)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

func TestNewPanics(t *testing.T) {
	for name, cfg := range map[string]Config{"no plan": {Keyer: testKeyer}, "no keyer": {Plan: testPlan}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			New(cfg)
		}()
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{400 * 24 * time.Hour: "400d", 24 * time.Hour: "24h", 48 * time.Hour: "48h", 30 * 24 * time.Hour: "30d", 36 * time.Hour: "36h", 90 * time.Second: "1m30s"} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestMemoizedParts(t *testing.T) {
	// Events alternate between builds, contexts and products; outcomes must not leak from
	// one event to the next, and stored maps must not be shared.
	p := newPipeline(t, nil)
	g := goodEvent(0)
	other := with(g, "build", ev{"plugins": []any{"seo"}, "database": "sqlite", "junk": 1})
	badBuild := with(g, "build", ev{"database": "oracle"})
	badCtx := with(g, "context.cpus", "eight")
	otherCtx := with(g, "context.os", "darwin")
	badProduct := with(g, "product.name", "ghost")
	var evs []any
	seq := []ev{g, g, other, other, badBuild, g, badBuild, badCtx, g, badCtx, otherCtx, g, badProduct, g, with(g, "build", nil), g}
	for i, e := range seq {
		evs = append(evs, with(e, "id", eventID(i)))
	}
	b, err := p.Process(req(batchBody(t, "", evs...)), false, testNow)
	if err != nil {
		t.Fatal(err)
	}
	wantRejected := []wire.Rejection{
		{Index: 4, Error: "build.database: expected one of sqlite, postgres, mysql, mariadb, got another value"},
		{Index: 6, Error: "build.database: expected one of sqlite, postgres, mysql, mariadb, got another value"},
		{Index: 7, Error: "context.cpus: expected an integer, got a string"},
		{Index: 9, Error: "context.cpus: expected an integer, got a string"},
		{Index: 12, Error: `product.name: expected "strapi", got "ghost"`},
	}
	if !reflect.DeepEqual(b.Rejected, wantRejected) {
		t.Errorf("Rejected = %v", b.Rejected)
	}
	if b.Dropped["build"] != 2 {
		t.Errorf("Dropped = %v", b.Dropped)
	}
	gb := map[string]any{"plugins": []any{"i18n", "graphql"}, "typescript": true}
	ob := map[string]any{"plugins": []any{"seo"}, "database": "sqlite"}
	for i, e := range b.Events {
		want := gb
		switch b.Index[i] {
		case 2, 3:
			want = ob
		case 14:
			want = nil
		}
		if !reflect.DeepEqual(e.Build, want) {
			t.Errorf("event %d: Build = %v", b.Index[i], e.Build)
		}
		if wantOS := map[bool]string{true: "darwin", false: "linux"}[b.Index[i] == 10]; e.OS != wantOS {
			t.Errorf("event %d: OS = %q", b.Index[i], e.OS)
		}
	}
	// Events with the same build share one map (decoded once); others do not.
	same := func(a, b map[string]any) bool {
		return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
	}
	byIndex := map[int]map[string]any{}
	for i, e := range b.Events {
		byIndex[b.Index[i]] = e.Build
	}
	if !same(byIndex[0], byIndex[1]) || !same(byIndex[2], byIndex[3]) {
		t.Error("events with the same build bytes in a row do not share the decoded map")
	}
	if same(byIndex[1], byIndex[2]) {
		t.Error("events with different builds share a map")
	}
}

func TestProductAndContextMessages(t *testing.T) {
	p := newPipeline(t, nil)
	g := goodEvent(1)
	for _, c := range []struct {
		e   ev
		msg string
	}{
		{with(g, "product", nil), `product.name: missing, expected "strapi"`},
		{with(g, "product", ev{}), `product.name: missing, expected "strapi"`},
		{with(g, "product.name", 5), "product.name: expected a string, got a number"},
		{with(g, "product", []any{}), "product: expected an object, got an array"},
		{with(g, "context", "linux"), "context: expected an object, got a string"},
		{with(g, "context.memoryMB", 1.5), "context.memoryMB: expected an integer, got a number that is not an integer in range"},
		{with(g, "build", "x"), "build: expected an object, got a string"},
		{with(g, "build", ev{"a": json.RawMessage("1e999")}), "build: expected a finite number, got a number out of range"},
		{with(g, "properties", "x"), "properties: expected an object, got a string"},
	} {
		b, err := p.Process(req(batchBody(t, "", c.e)), false, testNow)
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Rejected) != 1 || b.Rejected[0].Error != c.msg {
			t.Errorf("got %v, want %q", b.Rejected, c.msg)
		}
	}
	// null context and build are absent.
	b, err := p.Process(req(batchBody(t, "", with(with(g, "context", nil), "build", nil))), false, testNow)
	if err != nil || len(b.Events) != 1 || b.Events[0].OS != "" || b.Events[0].Build != nil {
		t.Fatalf("%v %+v", err, b)
	}
}

func TestPlanErrorOrder(t *testing.T) {
	// The plan's order holds with the build checked apart: product, event, build, properties.
	p := newPipeline(t, nil)
	bad := with(with(goodEvent(1), "build.database", "oracle"), "properties.durationMs", "x")
	for _, c := range []struct {
		e   ev
		msg string
	}{
		{with(bad, "product.name", "ghost"), `product.name: expected "strapi", got "ghost"`},
		{with(bad, "event", "nope"), `event: "nope" is not in the tracking plan`},
		{bad, "build.database: expected one of sqlite, postgres, mysql, mariadb, got another value"},
		{with(bad, "build.database", "mysql"), "properties.durationMs: expected an integer from 0 to 86400000, got a string"},
	} {
		var we wire.Event
		if err := json.Unmarshal(mustJSON(t, c.e), &we); err != nil {
			t.Fatal(err)
		}
		_, applyErr := testPlan.Apply(&we)
		b, err := p.Process(req(batchBody(t, "", c.e)), false, testNow)
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Rejected) != 1 || b.Rejected[0].Error != c.msg || applyErr == nil || applyErr.Error() != c.msg {
			t.Errorf("got %v, Apply says %v, want %q", b.Rejected, applyErr, c.msg)
		}
	}
}
