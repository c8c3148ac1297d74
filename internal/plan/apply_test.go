package plan

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/abacushq/abacus/telemetry/redact"
	"github.com/abacushq/abacus/telemetry/wire"
)

// typesPlan declares one property of every type.
const typesPlan = `product: demo
build:
  tags: {type: list, max: 3, items: {type: enum, values: [x, y]}}
  ts: {type: bool}
events:
  e:
    properties:
      s: {type: string, max: 64}
      p: {type: string, pattern: '^[a-z]+$'}
      pm: {type: string, pattern: '^[a-z]+$', max: 4}
      en: {type: enum, values: [a, b]}
      i: {type: int, min: 0, max: 10}
      any: {type: int}
      f: {type: float, min: 0, max: 1}
      fany: {type: float}
      b: {type: bool}
      l: {type: list, max: 2, items: {type: int, min: 0, max: 5}}
      ls: {type: list, items: {type: string, max: 40}}
      v: {type: semver}
  other: {}
`

func mustParse(t testing.TB, src string) *Plan {
	t.Helper()
	p, err := Parse("plan.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestApplyValues(t *testing.T) {
	p := mustParse(t, typesPlan)
	email := "jo@example.com"
	if redact.Check(email) == "" {
		t.Fatalf("redact.Check(%q) is empty; the redaction cases need a flagged value", email)
	}
	flagged := "properties.%s: value looks like personal data (" + redact.Check(email) + ")"
	tests := []struct {
		name string
		key  string
		val  any
		want string // "" for no error; %s is replaced by key
	}{
		{"string good", "s", "hello world", ""},
		{"string empty", "s", "", ""},
		{"string wrong type", "s", 5.0, "properties.s: expected a string of at most 64 characters, got 5"},
		{"string too long", "s", strings.Repeat("é", 65), "properties.s: expected a string of at most 64 characters, got 65 characters"},
		{"string runes not bytes", "s", strings.Repeat("é", 64), ""},
		{"string redacted", "s", email, flagged},
		{"string ESC", "s", "a\x1b[31mred", "properties.s: expected a string without control characters, got U+001B at character 2"},
		{"string BEL", "s", "ding\a", "properties.s: expected a string without control characters, got U+0007 at character 5"},
		{"string CR", "s", "over\rwrite", "properties.s: expected a string without control characters, got U+000D at character 5"},
		{"string LF", "s", "two\nlines", "properties.s: expected a string without control characters, got U+000A at character 4"},
		{"string NUL", "s", "\x00", "properties.s: expected a string without control characters, got U+0000 at character 1"},
		{"string TAB", "s", "a\tb", "properties.s: expected a string without control characters, got U+0009 at character 2"},
		{"string DEL", "s", "é\x7f", "properties.s: expected a string without control characters, got U+007F at character 2"},
		{"string C1", "s", "\u009b31m", "properties.s: expected a string without control characters, got U+009B at character 1"},
		{"string bidi override", "s", "abc\u202edef", "properties.s: expected a string without control characters, got U+202E at character 4"},
		{"list item ESC", "ls", []any{"ok", "\x1b"}, "properties.ls[1]: expected a string without control characters, got U+001B at character 1"},
		{"string ip redacted", "s", "host 10.1.2.3", "properties.s: value looks like personal data (" + redact.Check("host 10.1.2.3") + ")"},
		{"pattern good", "p", "abc", ""},
		{"pattern miss", "p", "ABC", "properties.p: expected a string matching ^[a-z]+$, got one that does not match"},
		{"pattern over 256", "p", strings.Repeat("a", 257), "properties.p: expected a string of at most 256 characters, got 257 characters"},
		{"pattern and max", "pm", "abcde", "properties.pm: expected a string of at most 4 characters, got 5 characters"},
		{"pattern wrong type", "p", true, "properties.p: expected a string matching ^[a-z]+$, got true"},
		{"enum good", "en", "b", ""},
		{"enum miss", "en", "c", "properties.en: expected one of a, b, got another value"},
		{"enum wrong type", "en", []any{"a"}, "properties.en: expected one of a, b, got a list"},
		{"int good", "i", 10.0, ""},
		{"int zero", "i", 0.0, ""},
		{"int json.Number", "i", json.Number("7"), ""},
		{"int json.Number exponent", "i", json.Number("1e1"), ""},
		{"int go int", "i", 3, ""},
		{"int go uint8", "i", uint8(3), ""},
		{"int below", "i", -5.0, "properties.i: expected an integer from 0 to 10, got -5"},
		{"int above", "i", json.Number("11"), "properties.i: expected an integer from 0 to 10, got 11"},
		{"int fraction", "i", 1.5, "properties.i: expected an integer from 0 to 10, got 1.5"},
		{"int json.Number fraction", "i", json.Number("1.5"), "properties.i: expected an integer from 0 to 10, got 1.5"},
		{"int string", "i", "3", "properties.i: expected an integer from 0 to 10, got a string"},
		{"int bool", "i", false, "properties.i: expected an integer from 0 to 10, got false"},
		{"int NaN", "i", math.NaN(), "properties.i: expected an integer from 0 to 10, got NaN"},
		{"int json.Number NaN", "i", json.Number("NaN"), "properties.i: expected an integer from 0 to 10, got an invalid number"},
		{"int json.Number hex", "i", json.Number("0x5"), "properties.i: expected an integer from 0 to 10, got an invalid number"},
		{"int huge uint", "any", uint64(math.MaxUint64), "properties.any: expected an integer from -9007199254740991 to 9007199254740991, got 18446744073709551615"},
		{"int unbounded good", "any", -1e15, ""},
		{"int beyond 2^53", "any", json.Number("9007199254740992"), "properties.any: expected an integer from -9007199254740991 to 9007199254740991, got 9007199254740992"},
		{"int float beyond 2^53", "any", 1e20, "properties.any: expected an integer from -9007199254740991 to 9007199254740991, got 1e+20"},
		{"int overflowing json.Number", "any", json.Number("1e400"), "properties.any: expected an integer from -9007199254740991 to 9007199254740991, got 1e400"},
		{"float good", "f", 0.25, ""},
		{"float int", "f", 1.0, ""},
		{"float json.Number", "f", json.Number("0.5"), ""},
		{"float above", "f", 1.5, "properties.f: expected a number from 0 to 1, got 1.5"},
		{"float below", "f", json.Number("-0.1"), "properties.f: expected a number from 0 to 1, got -0.1"},
		{"float NaN", "fany", math.NaN(), "properties.fany: expected a finite number, got NaN"},
		{"float Inf", "fany", math.Inf(1), "properties.fany: expected a finite number, got +Inf"},
		{"float json.Number Inf", "fany", json.Number("Infinity"), "properties.fany: expected a finite number, got an invalid number"},
		{"float string", "f", "0.5", "properties.f: expected a number from 0 to 1, got a string"},
		{"bool good", "b", true, ""},
		{"bool string", "b", "true", "properties.b: expected true or false, got a string"},
		{"bool number", "b", 1.0, "properties.b: expected true or false, got 1"},
		{"bool object", "b", map[string]any{"a": 1.0}, "properties.b: expected true or false, got an object"},
		{"list good", "l", []any{0.0, 5.0}, ""},
		{"list empty", "l", []any{}, ""},
		{"list too long", "l", []any{1.0, 2.0, 3.0}, "properties.l: expected a list of at most 2 items, got 3 items"},
		{"list item wrong type", "l", []any{1.0, "2"}, "properties.l[1]: expected an integer from 0 to 5, got a string"},
		{"list item out of range", "l", []any{6.0}, "properties.l[0]: expected an integer from 0 to 5, got 6"},
		{"list item null", "l", []any{nil}, "properties.l[0]: expected an integer from 0 to 5, got null"},
		{"list item list", "l", []any{[]any{1.0}}, "properties.l[0]: expected an integer from 0 to 5, got a list"},
		{"list not a list", "l", 1.0, "properties.l: expected a list of at most 2 items, got 1"},
		{"list of strings good", "ls", []string{"a", "b"}, ""},
		{"list item redacted", "ls", []any{"fine", email}, "properties.ls[1]: value looks like personal data (" + redact.Check(email) + ")"},
		{"semver good", "v", "5.3.1", ""},
		{"semver prerelease", "v", "1.0.0-rc.1+build.5", ""},
		{"semver v prefix", "v", "v1.2.3", "properties.v: expected a semantic version such as 1.2.3, got a string that is not one"},
		{"semver two parts", "v", "1.2", "properties.v: expected a semantic version such as 1.2.3, got a string that is not one"},
		{"semver leading zero", "v", "01.2.3", "properties.v: expected a semantic version such as 1.2.3, got a string that is not one"},
		{"semver number", "v", 1.2, "properties.v: expected a semantic version such as 1.2.3, got 1.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if strings.Contains(want, "%s") {
				want = strings.ReplaceAll(want, "%s", tt.key)
			}
			e := event("demo", "e", nil, map[string]any{tt.key: tt.val})
			dropped, err := p.Apply(e)
			if len(dropped) != 0 {
				t.Errorf("dropped %v", dropped)
			}
			got := ""
			if err != nil {
				got = err.Error()
				var fe *FieldError
				if !errors.As(err, &fe) {
					t.Errorf("error %T is not a *FieldError", err)
				}
			}
			if got != want {
				t.Errorf("Apply(%s: %#v)\n got: %s\nwant: %s", tt.key, tt.val, got, want)
			}
			if want == "" && !reflect.DeepEqual(e.Properties[tt.key], tt.val) {
				t.Errorf("value changed to %#v", e.Properties[tt.key])
			}
		})
	}
}

func event(product, name string, build, props map[string]any) *wire.Event {
	return &wire.Event{Event: name, Product: wire.Product{Name: product, Version: "1.0.0"}, Build: build, Properties: props}
}

func TestApplyEvent(t *testing.T) {
	p := Default()
	tests := []struct {
		name        string
		ev          *wire.Event
		wantDropped []string
		wantErr     string
		wantBuild   map[string]any
		wantProps   map[string]any
	}{
		{
			name: "good",
			ev: event("strapi", "didStartServer",
				map[string]any{"plugins": []any{"i18n", "@strapi/graphql"}, "typescript": true, "database": "postgres"},
				map[string]any{"durationMs": 1234.0}),
			wantBuild: map[string]any{"plugins": []any{"i18n", "@strapi/graphql"}, "typescript": true, "database": "postgres"},
			wantProps: map[string]any{"durationMs": 1234.0},
		},
		{
			name:      "no build nor properties",
			ev:        event("strapi", "ping", nil, nil),
			wantBuild: nil, wantProps: nil,
		},
		{
			name: "unknown keys dropped",
			ev: event("strapi", "didStartServer",
				map[string]any{"typescript": false, "nodeEnv": "x", "dbHost": "db.internal"},
				map[string]any{"durationMs": 5.0, "path": "/home/jo/app", "error": "boom"}),
			wantDropped: []string{"build.dbHost", "build.nodeEnv", "properties.error", "properties.path"},
			wantBuild:   map[string]any{"typescript": false},
			wantProps:   map[string]any{"durationMs": 5.0},
		},
		{
			name:        "property of another event dropped",
			ev:          event("strapi", "ping", nil, map[string]any{"durationMs": 5.0}),
			wantDropped: []string{"properties.durationMs"},
			wantProps:   map[string]any{},
		},
		{
			name:      "null values removed silently",
			ev:        event("strapi", "willCreateProject", map[string]any{"database": nil}, map[string]any{"template": nil, "quickstart": true}),
			wantBuild: map[string]any{},
			wantProps: map[string]any{"quickstart": true},
		},
		{
			name:    "undeclared event",
			ev:      event("strapi", "didFly", nil, nil),
			wantErr: `event: "didFly" is not in the tracking plan`,
		},
		{
			name:    "undeclared event not echoed",
			ev:      event("strapi", "jo@example.com", nil, nil),
			wantErr: `event: a name with characters outside A-Z, a-z, 0-9, '_', '.', ':' and '-' is not in the tracking plan`,
		},
		{
			name:    "empty event",
			ev:      event("strapi", "", nil, nil),
			wantErr: `event: an empty name is not in the tracking plan`,
		},
		{
			name:    "wrong product",
			ev:      event("other", "ping", nil, nil),
			wantErr: `product.name: expected "strapi", got "other"`,
		},
		{
			name: "out of range rejects",
			ev: event("strapi", "didStartServer", map[string]any{"x": 1.0},
				map[string]any{"durationMs": -5.0}),
			wantDropped: []string{"build.x"},
			wantErr:     "properties.durationMs: expected an integer from 0 to 86400000, got -5",
		},
		{
			name:    "build checked before properties",
			ev:      event("strapi", "didStartServer", map[string]any{"database": "oracle"}, map[string]any{"durationMs": -5.0}),
			wantErr: "build.database: expected one of sqlite, postgres, mysql, mariadb, got another value",
		},
		{
			name:    "first bad key in sorted order",
			ev:      event("strapi", "willCreateProject", nil, map[string]any{"template": "Bad!", "quickstart": "yes"}),
			wantErr: "properties.quickstart: expected true or false, got a string",
		},
		{
			name:    "plugin list item",
			ev:      event("strapi", "ping", map[string]any{"plugins": []any{"ok", "Not OK"}}, nil),
			wantErr: "build.plugins[1]: expected a string matching ^[@a-z0-9][a-z0-9._/-]{0,63}$, got one that does not match",
		},
		{
			name:    "plugin list too long",
			ev:      event("strapi", "ping", map[string]any{"plugins": make([]any, 101)}, nil),
			wantErr: "build.plugins: expected a list of at most 100 items, got 101 items",
		},
		{
			name:      "feature good",
			ev:        event("strapi", "didUseFeature", nil, map[string]any{"feature": "x"}),
			wantProps: map[string]any{"feature": "x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dropped, err := p.Apply(tt.ev)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.wantErr {
				t.Errorf("error\n got: %s\nwant: %s", got, tt.wantErr)
			}
			if !reflect.DeepEqual(dropped, tt.wantDropped) {
				t.Errorf("dropped %q, want %q", dropped, tt.wantDropped)
			}
			if tt.wantErr != "" {
				return
			}
			if !reflect.DeepEqual(tt.ev.Build, tt.wantBuild) {
				t.Errorf("build %#v, want %#v", tt.ev.Build, tt.wantBuild)
			}
			if !reflect.DeepEqual(tt.ev.Properties, tt.wantProps) {
				t.Errorf("properties %#v, want %#v", tt.ev.Properties, tt.wantProps)
			}
		})
	}
}

// TestApplyRedaction checks that values the SDK would redact are rejected even when they fit
// the declared type.
func TestApplyRedaction(t *testing.T) {
	p := mustParse(t, typesPlan)
	for _, v := range []string{
		"jo@example.com",
		"see 192.168.1.20",
		"postgres://admin:hunter2@db.example.com/app",
		"/home/jo/projects/app",
		"token ghp_0123456789abcdefghijklmnopqrstuvwxyzAB",
	} {
		reason := redact.Check(v)
		if reason == "" {
			t.Errorf("redact.Check(%q) is empty", v)
			continue
		}
		_, err := p.Apply(event("demo", "e", nil, map[string]any{"s": v}))
		want := "properties.s: value looks like personal data (" + reason + ")"
		if err == nil || err.Error() != want {
			t.Errorf("Apply(s: %q) = %v, want %s", v, err, want)
		}
		if err != nil && strings.Contains(err.Error(), v) {
			t.Errorf("error quotes the value: %v", err)
		}
	}
	// A semantic version or an enum value is checked too, and passes.
	if _, err := p.Apply(event("demo", "e", nil, map[string]any{"v": "10.1.2", "en": "a"})); err != nil {
		t.Errorf("semver/enum: %v", err)
	}
}

// TestApplyNeverQuotesStrings checks that rejected string values never appear in errors.
func TestApplyNeverQuotesStrings(t *testing.T) {
	p := mustParse(t, typesPlan)
	secret := "Secret-Value-123"
	for _, key := range []string{"s", "p", "pm", "en", "i", "f", "b", "l", "ls", "v"} {
		for _, v := range []any{secret, []any{secret}, strings.Repeat(secret, 20)} {
			_, err := p.Apply(event("demo", "e", map[string]any{"tags": []any{secret}}, map[string]any{key: v}))
			if err != nil && strings.Contains(err.Error(), "Secret") {
				t.Errorf("Apply(%s: %v): error quotes the value: %v", key, v, err)
			}
		}
	}
}

func TestIsSemver(t *testing.T) {
	for _, s := range []string{"0.0.0", "1.2.3", "10.20.30", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-0.3.7",
		"1.0.0-x.7.z.92", "1.0.0+20130313144700", "1.0.0-beta+exp.sha.5114f85", "1.0.0-x-y-z.--"} {
		if !IsSemver(s) {
			t.Errorf("IsSemver(%q) = false", s)
		}
	}
	for _, s := range []string{"", "1", "1.2", "1.2.3.4", "v1.2.3", "01.1.1", "1.01.1", "1.1.01", "1.2.3-", "1.2.3+",
		"1.2.3-01", "1.2.3-a..b", "1.2.3+a..b", "1.2.3-a_b", " 1.2.3", "1.2.3 ", "a.b.c", "-1.2.3", "1.2.3-" + strings.Repeat("a", 300)} {
		if IsSemver(s) {
			t.Errorf("IsSemver(%q) = true", s)
		}
	}
}

func TestJSONNumberSyntax(t *testing.T) {
	for _, s := range []string{"0", "-0", "1", "-12", "1.5", "1e5", "1E+5", "1.5e-3", "0.0"} {
		if !jsonNumber(s) {
			t.Errorf("jsonNumber(%q) = false", s)
		}
	}
	for _, s := range []string{"", "-", "01", "1.", ".5", "1e", "+1", "NaN", "Inf", "0x1", "1_000", " 1", "1 "} {
		if jsonNumber(s) {
			t.Errorf("jsonNumber(%q) = true", s)
		}
	}
}

func TestFieldErrorUnwrap(t *testing.T) {
	_, err := Default().Apply(event("strapi", "nope", nil, nil))
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "event" {
		t.Fatalf("got %#v", err)
	}
}

func BenchmarkApply(b *testing.B) {
	p := Default()
	b.ReportAllocs()
	for b.Loop() {
		e := event("strapi", "didStartServer",
			map[string]any{"plugins": []any{"i18n", "graphql", "@strapi/plugin-seo"}, "typescript": true, "database": "postgres"},
			map[string]any{"durationMs": 1234.0})
		if _, err := p.Apply(e); err != nil {
			b.Fatal(err)
		}
	}
}
