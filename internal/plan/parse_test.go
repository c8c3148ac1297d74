package plan

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// minimal is a valid plan that the error cases below extend.
const minimal = "product: demo\nevents:\n  ping: {}\n"

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown type", `product: demo
events:
  didStartServer:
    properties:
      durationMs: {type: integer, min: 0}
`, `plan.yaml:5: events.didStartServer.properties.durationMs: unknown type "integer", expected one of string, enum, int, float, bool, list, semver`},
		{"empty", "", `plan.yaml:1: the plan is empty`},
		{"comments only", "# nothing\n", `plan.yaml:1: the plan is empty`},
		{"syntax", "product: demo\nevents: [\n", `plan.yaml:2: did not find expected node content`},
		{"two documents", minimal + "---\nproduct: other\n", `plan.yaml:4: a plan is a single YAML document; found a second one`},
		{"not a mapping", "- a\n- b\n", `plan.yaml:1: expected a mapping, got a list`},
		{"unknown top-level key", minimal + "version: 2\n", `plan.yaml:4: unknown key "version", expected one of product, description, k, setup, build, events, ingestKeys`},
		{"ingestKeys not a list", minimal + "ingestKeys: phc_1\n", `plan.yaml:4: ingestKeys: expected a list of 1 to 100 keys`},
		{"ingestKeys empty key", minimal + "ingestKeys: ['']\n", `plan.yaml:4: ingestKeys[0]: expected a key of 1 to 200 characters`},
		{"ingestKeys not strings", minimal + "ingestKeys: [12]\n", `plan.yaml:4: ingestKeys[0]: expected a string, got the integer 12`},
		{"missing product", "events:\n  ping: {}\n", `plan.yaml:1: product: required: the product name every event must carry`},
		{"empty product", "product: ''\n" + minimal[len("product: demo\n"):], `plan.yaml:1: product: "" is not a valid product name: use 1 to 64 characters from a-z, 0-9, '.', '_' and '-', starting with a letter or digit`},
		{"bad product", "product: My Product\nevents:\n  ping: {}\n", `plan.yaml:1: product: "My Product" is not a valid product name: use 1 to 64 characters from a-z, 0-9, '.', '_' and '-', starting with a letter or digit`},
		{"product not a string", "product: 12\nevents:\n  ping: {}\n", `plan.yaml:1: product: expected a string, got the integer 12`},
		{"k too small", minimal + "k: 1\n", `plan.yaml:4: k: must be from 2 to 1000000, got 1`},
		{"k not an integer", minimal + "k: five\n", `plan.yaml:4: k: expected an integer, got a string`},
		{"k float", minimal + "k: 2.5\n", `plan.yaml:4: k: expected an integer, got the number 2.5`},
		{"missing events", "product: demo\n", `plan.yaml:1: events: required: declare at least one event`},
		{"no events", "product: demo\nevents: {}\n", `plan.yaml:2: events: declare at least one event`},
		{"events a list", "product: demo\nevents: [a, b]\n", `plan.yaml:2: events: expected a mapping, got a list`},
		{"bad event name", "product: demo\nevents:\n  9lives: {}\n", `plan.yaml:3: events: "9lives" is not a valid event name: use 1 to 64 characters from A-Z, a-z, 0-9, '_', '.', ':' and '-', starting with a letter`},
		{"long event name", "product: demo\nevents:\n  " + strings.Repeat("a", 65) + ": {}\n", `plan.yaml:3: events: "` + strings.Repeat("a", 40) + `…" is not a valid event name: use 1 to 64 characters from A-Z, a-z, 0-9, '_', '.', ':' and '-', starting with a letter`},
		{"duplicate event", minimal + "  ping: {}\n", `plan.yaml:4: events: duplicate key "ping" (first at line 3)`},
		{"unknown event key", "product: demo\nevents:\n  ping:\n    props: {}\n", `plan.yaml:4: events.ping: unknown key "props", expected one of description, kind, properties`},
		{"event a string", "product: demo\nevents:\n  ping: yes please\n", `plan.yaml:3: events.ping: expected a mapping, got a string`},
		{"bad kind", "product: demo\nevents:\n  ping: {kind: metric}\n", `plan.yaml:3: events.ping.kind: unknown kind "metric", expected feature or error`},
		{"error without code", "product: demo\nevents:\n  oops: {kind: error}\n", `plan.yaml:3: events.oops: an event of kind error needs a "code" property of type string or enum`},
		{"error code int", "product: demo\nevents:\n  oops:\n    kind: error\n    properties: {code: {type: int}}\n", `plan.yaml:3: events.oops.properties.code: the code of an error event must be of type string or enum, got int`},
		{"feature bool", "product: demo\nevents:\n  used:\n    kind: feature\n    properties: {feature: {type: bool}}\n", `plan.yaml:3: events.used.properties.feature: the feature of a feature event must be of type string or enum, got bool`},
		{"description not a string", "product: demo\nevents:\n  ping: {description: [a]}\n", `plan.yaml:3: events.ping.description: expected a string, got a list`},
		{"bad property name", "product: demo\nevents:\n  ping:\n    properties:\n      duration-ms: {type: int}\n", `plan.yaml:5: events.ping.properties: "duration-ms" is not a valid key name: use 1 to 64 characters from A-Z, a-z, 0-9 and '_', starting with a letter`},
		{"duplicate property", "product: demo\nevents:\n  ping:\n    properties:\n      a: {type: bool}\n      a: {type: bool}\n", `plan.yaml:6: events.ping.properties: duplicate key "a" (first at line 5)`},
		{"missing type", "product: demo\nevents:\n  ping:\n    properties:\n      a: {max: 3}\n", `plan.yaml:5: events.ping.properties.a: missing "type", expected one of string, enum, int, float, bool, list, semver`},
		{"missing type, unknown key", "product: demo\nevents:\n  ping:\n    properties:\n      a:\n        tipe: int\n", "plan.yaml:5: events.ping.properties.a: missing \"type\", expected one of string, enum, int, float, bool, list, semver\nplan.yaml:6: events.ping.properties.a: unknown key \"tipe\", expected one of type, description, pattern, max, min, values, items"},
		{"property a scalar", "product: demo\nevents:\n  ping:\n    properties:\n      a: int\n", `plan.yaml:5: events.ping.properties.a: expected a mapping, got a string`},
		{"key not for type", "product: demo\nevents:\n  ping:\n    properties:\n      a: {type: bool, max: 3}\n", `plan.yaml:5: events.ping.properties.a: unknown key "max", expected one of type, description`},
		{"misspelt key", "product: demo\nevents:\n  ping:\n    properties:\n      a:\n        type: string\n        patern: '^a$'\n", "plan.yaml:5: events.ping.properties.a: a string needs a \"pattern\" or a \"max\" length, so that free text cannot be collected\nplan.yaml:7: events.ping.properties.a: unknown key \"patern\", expected one of type, description, pattern, max"},
		{"string without constraint", "product: demo\nevents:\n  ping:\n    properties:\n      a: {type: string}\n", `plan.yaml:5: events.ping.properties.a: a string needs a "pattern" or a "max" length, so that free text cannot be collected`},
		{"string max too large", "product: demo\nevents:\n  ping:\n    properties:\n      a:\n        type: string\n        max: 257\n", `plan.yaml:7: events.ping.properties.a: max must be from 1 to 256 characters, got 257`},
		{"string max zero", "product: demo\nevents:\n  ping:\n    properties:\n      a: {type: string, max: 0}\n", `plan.yaml:5: events.ping.properties.a: max must be from 1 to 256 characters, got 0`},
		{"bad pattern", "product: demo\nevents:\n  ping:\n    properties:\n      a:\n        type: string\n        pattern: '^(a$'\n", "plan.yaml:7: events.ping.properties.a: invalid pattern: missing closing ): `^(a$`"},
		{"empty pattern", "product: demo\nevents:\n  ping:\n    properties:\n      a: {type: string, pattern: ''}\n", `plan.yaml:5: events.ping.properties.a: pattern must not be empty`},
		{"pattern not RE2", "product: demo\nevents:\n  ping:\n    properties:\n      a: {type: string, pattern: '^(?=a)'}\n", "plan.yaml:5: events.ping.properties.a: invalid pattern: invalid or unsupported Perl syntax: `(?=`"},
		{"enum without values", "product: demo\nevents:\n  ping:\n    properties:\n      a: {type: enum}\n", `plan.yaml:5: events.ping.properties.a: an enum needs a non-empty "values" list`},
		{"enum empty values", "product: demo\nevents:\n  ping:\n    properties:\n      a: {type: enum, values: []}\n", `plan.yaml:5: events.ping.properties.a: an enum needs a non-empty "values" list, got a list`},
		{"enum values scalar", "product: demo\nevents:\n  ping:\n    properties:\n      a: {type: enum, values: a}\n", `plan.yaml:5: events.ping.properties.a: an enum needs a non-empty "values" list, got a string`},
		{"enum int value", "product: demo\nevents:\n  ping:\n    properties:\n      a:\n        type: enum\n        values:\n          - a\n          - 2\n", `plan.yaml:9: events.ping.properties.a.values[1]: expected a string, got the integer 2`},
		{"enum duplicate", "product: demo\nevents:\n  ping:\n    properties:\n      a: {type: enum, values: [a, b, a]}\n", `plan.yaml:5: events.ping.properties.a: duplicate enum value "a"`},
		{"int min > max", "product: demo\nevents:\n  ping:\n    properties:\n      a:\n        type: int\n        min: 10\n        max: 5\n", `plan.yaml:8: events.ping.properties.a: min (10) is greater than max (5)`},
		{"int bound float", "product: demo\nevents:\n  ping:\n    properties:\n      a: {type: int, min: 0.5}\n", `plan.yaml:5: events.ping.properties.a.min: expected an integer, got the number 0.5`},
		{"int bound beyond 2^53", "product: demo\nevents:\n  ping:\n    properties:\n      a: {type: int, max: 9007199254740992}\n", `plan.yaml:5: events.ping.properties.a: max must be within ±9007199254740991 (2^53-1), got 9007199254740992`},
		{"float min > max", "product: demo\nevents:\n  ping:\n    properties:\n      a: {type: float, min: 1.5, max: 0.5}\n", `plan.yaml:5: events.ping.properties.a: min (1.5) is greater than max (0.5)`},
		{"float nan", "product: demo\nevents:\n  ping:\n    properties:\n      a: {type: float, max: .nan}\n", `plan.yaml:5: events.ping.properties.a.max: expected a finite number, got the number .nan`},
		{"list without items", "product: demo\nevents:\n  ping:\n    properties:\n      a: {type: list}\n", `plan.yaml:5: events.ping.properties.a: a list needs "items", the type of its items`},
		{"list of lists", "product: demo\nevents:\n  ping:\n    properties:\n      a: {type: list, items: {type: list, items: {type: bool}}}\n", `plan.yaml:5: events.ping.properties.a.items: list items cannot be lists`},
		{"list item invalid", "product: demo\nbuild:\n  tags:\n    type: list\n    items: {type: string}\nevents:\n  ping: {}\n", `plan.yaml:5: build.tags.items: a string needs a "pattern" or a "max" length, so that free text cannot be collected`},
		{"list max zero", "product: demo\nbuild:\n  tags: {type: list, max: 0, items: {type: bool}}\nevents:\n  ping: {}\n", `plan.yaml:3: build.tags: max must be from 1 to 1000 items, got 0`},
		{"type not a string", "product: demo\nbuild:\n  a: {type: [int]}\nevents:\n  ping: {}\n", `plan.yaml:3: build.a.type: expected a string, got a list`},
		{"bad build key", "product: demo\nbuild:\n  _a: {type: bool}\nevents:\n  ping: {}\n", `plan.yaml:3: build: "_a" is not a valid key name: use 1 to 64 characters from A-Z, a-z, 0-9 and '_', starting with a letter`},
		{"setup unknown event", minimal + "setup: {start: ping, done: pong}\n", `plan.yaml:4: setup.done: "pong" is not a declared event`},
		{"setup missing done", minimal + "setup: {start: ping}\n", `plan.yaml:4: setup: missing "done": the name of a declared event`},
		{"setup same event", minimal + "setup: {start: ping, done: ping}\n", `plan.yaml:4: setup.done: must differ from setup.start`},
		{"setup empty", minimal + "setup: {}\n", `plan.yaml:4: setup: needs start and done`},
		{"setup unknown key", "product: demo\nevents: {a: {}, b: {}}\nsetup:\n  start: a\n  done: b\n  timeout: 1h\n", `plan.yaml:6: setup: unknown key "timeout", expected one of start, done, within`},
		{"setup bad within", "product: demo\nevents: {a: {}, b: {}}\nsetup: {start: a, done: b, within: 1week}\n", `plan.yaml:3: setup.within: expected a positive duration such as 168h or 7d, got "1week"`},
		{"setup zero within", "product: demo\nevents: {a: {}, b: {}}\nsetup: {start: a, done: b, within: 0s}\n", `plan.yaml:3: setup.within: expected a positive duration such as 168h or 7d, got "0s"`},
		{"setup negative within", "product: demo\nevents: {a: {}, b: {}}\nsetup: {start: a, done: b, within: -1h}\n", `plan.yaml:3: setup.within: expected a positive duration such as 168h or 7d, got "-1h"`},
		{"setup within number", "product: demo\nevents: {a: {}, b: {}}\nsetup: {start: a, done: b, within: 3600}\n", `plan.yaml:3: setup.within: expected a positive duration such as 168h or 7d, got "3600"`},
		{"key not a scalar", "product: demo\nevents:\n  ping: {}\n? [a]\n: b\n", `plan.yaml:4: keys must be plain names, got a list`},
		{"several problems", "product: demo\nk: 1\nevents:\n  ping: {kind: metric}\n", "plan.yaml:2: k: must be from 2 to 1000000, got 1\nplan.yaml:4: events.ping.kind: unknown kind \"metric\", expected feature or error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse("plan.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse succeeded, want error %q", tt.want)
			}
			if p != nil {
				t.Errorf("Parse returned a plan with its error")
			}
			if err.Error() != tt.want {
				t.Errorf("Parse error\n got: %s\nwant: %s", err, tt.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != "plan.yaml" {
				t.Errorf("error %T does not unwrap to a *ParseError for plan.yaml", err)
			}
		})
	}
}

func TestParseErrorLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString("product: demo\nevents:\n  ping:\n    properties:\n")
	for i := range 50 {
		b.WriteString("      p" + strings.Repeat("x", i) + ": {type: nope}\n")
	}
	_, err := Parse("plan.yaml", []byte(b.String()))
	if err == nil {
		t.Fatal("Parse succeeded")
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != maxErrors {
		t.Errorf("got %d error lines, want %d", n, maxErrors)
	}
}

func TestParseAliasBomb(t *testing.T) {
	// 5000 events, each an alias of one event with 64 properties: a small file that
	// expands to more than a million fields, four times maxWork.
	var b strings.Builder
	b.WriteString("product: demo\nevents:\n  e0: &e {properties: {")
	for i := range 64 {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("p" + strconv.Itoa(i) + ": {type: list, items: {type: bool}}")
	}
	b.WriteString("}}\n")
	for i := 1; i < 5000; i++ {
		b.WriteString("  e" + strconv.Itoa(i) + ": *e\n")
	}
	start := time.Now()
	_, err := Parse("plan.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "too large once its aliases are expanded") {
		t.Errorf("Parse: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Parse took %v", d)
	}
}

func TestParseTooLarge(t *testing.T) {
	data := []byte(minimal + "# " + strings.Repeat("x", MaxFileSize) + "\n")
	if _, err := Parse("plan.yaml", data); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Parse of a huge file: got %v", err)
	}
}

func TestParseValid(t *testing.T) {
	const src = `# A plan using every feature.
product: my-cli.x
description: Test plan.
setup:
  start: b
  done: a
  within: 1d12h
build:
  zeta: {type: bool}
  alpha: {type: enum, values: [one, two], description: First.}
events:
  b:
    description: Comes first.
    properties:
      z: &dur {type: int, min: 0, max: 10}
      y: *dur
      x: {type: float, min: -1.5}
      w: {type: list, items: {type: semver}}
      v: {type: string, max: 12}
      u: {type: string, pattern: '^[a-z]+$', max: 8}
  a:
  "ns:event.name-1": {kind: feature}
  oops: {kind: error, properties: {code: {type: enum, values: [E1, E2]}}}
`
	p, err := Parse("plan.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if p.Product != "my-cli.x" || p.Description != "Test plan." || p.K != DefaultK {
		t.Errorf("product %q description %q k %d", p.Product, p.Description, p.K)
	}
	if p.EnvPrefix() != "MY_CLI_X" {
		t.Errorf("EnvPrefix = %q", p.EnvPrefix())
	}
	if want := (Setup{Start: "b", Done: "a", Within: 36 * time.Hour}); p.Setup != want {
		t.Errorf("Setup = %+v, want %+v", p.Setup, want)
	}
	if got := names(p.Build); got != "zeta alpha" {
		t.Errorf("build order %q", got)
	}
	var evs []string
	for _, e := range p.Events {
		evs = append(evs, e.Name)
	}
	if got := strings.Join(evs, " "); got != "b a ns:event.name-1 oops" {
		t.Errorf("event order %q", got)
	}
	b := p.Event("b")
	if got := names(b.Properties); got != "z y x w v u" {
		t.Errorf("property order %q", got)
	}
	if y := b.Property("y"); y.Type != TypeInt || *y.Min != 0 || *y.MaxInt != 10 {
		t.Errorf("alias not resolved: %+v", y)
	}
	if w := b.Property("w"); w.Max != DefaultListMax || w.Items.Type != TypeSemver {
		t.Errorf("list defaults: %+v", w)
	}
	if x := b.Property("x"); *x.MinNum != -1.5 || x.MaxNum != nil {
		t.Errorf("float bounds: %+v", x)
	}
	if p.Event("a") == nil || len(p.Event("a").Properties) != 0 {
		t.Errorf("null event not parsed as empty")
	}
	if p.Event("nope") != nil || p.BuildKey("alpha") == nil || p.BuildKey("nope") != nil {
		t.Errorf("lookups wrong")
	}
	if fe := p.EventsOfKind(KindFeature); len(fe) != 1 || fe[0].FeatureProperty() != "" {
		t.Errorf("feature events: %v", fe)
	}
	if ee := p.EventsOfKind(KindError); len(ee) != 1 || ee[0].Name != "oops" {
		t.Errorf("error events: %v", ee)
	}
}

func TestParseDefaults(t *testing.T) {
	p, err := Parse("plan.yaml", []byte("product: demo\nk: 3\nevents: {a: {}, b: {}}\nsetup: {start: a, done: b}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.K != 3 || p.Setup.Within != DefaultWithin {
		t.Errorf("k %d within %v", p.K, p.Setup.Within)
	}
	p, err = Parse("plan.yaml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if p.Setup.Declared() || p.Build != nil {
		t.Errorf("setup %+v build %v", p.Setup, p.Build)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"168h": 168 * time.Hour, "7d": 168 * time.Hour, "1d12h": 36 * time.Hour, "90m": 90 * time.Minute, "1d30s": 24*time.Hour + 30*time.Second,
	} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "0d", "-1d", "1.5d", "7days", "1d-1h", "0", "99999999d", "1d1d"} {
		if got, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q) = %v, want an error", in, got)
		}
	}
}

func TestLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plan.yaml")
	if err := os.WriteFile(path, []byte("product: demo\nevents:\n  ping: {kind: nope}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if want := path + ":3: events.ping.kind: unknown kind \"nope\", expected feature or error"; err == nil || err.Error() != want {
		t.Errorf("Load error %v, want %s", err, want)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file: %v", err)
	}
}

func TestDefault(t *testing.T) {
	p := Default()
	if p.Product != "strapi" || p.K != 5 {
		t.Errorf("product %q k %d", p.Product, p.K)
	}
	if want := (Setup{Start: "willCreateProject", Done: "didStartServer", Within: 168 * time.Hour}); p.Setup != want {
		t.Errorf("setup %+v", p.Setup)
	}
	if got := names(p.Build); got != "plugins typescript database packageManager" {
		t.Errorf("build %q", got)
	}
	want := []string{"willCreateProject", "didCreateProject", "didInstallDependencies", "didStartServer",
		"didBuildAdmin", "didUseFeature", "didInstallPlugin", "didFailWithError", "ping"}
	if len(p.Events) != len(want) {
		t.Fatalf("%d events, want %d", len(p.Events), len(want))
	}
	for i, e := range p.Events {
		if e.Name != want[i] {
			t.Errorf("event %d = %q, want %q", i, e.Name, want[i])
		}
		if e.Description == "" {
			t.Errorf("event %q has no description", e.Name)
		}
	}
	if p.Event("didUseFeature").Kind != KindFeature || p.Event("didUseFeature").FeatureProperty() != "feature" {
		t.Errorf("didUseFeature is not a feature event")
	}
	if p.Event("didFailWithError").Kind != KindError {
		t.Errorf("didFailWithError is not an error event")
	}
	if p.BuildKey("plugins").Items.Pattern != p.Event("didInstallPlugin").Property("plugin").Pattern {
		t.Errorf("plugin patterns differ")
	}
	if Default() == p {
		t.Errorf("Default returned a shared plan")
	}
	y := DefaultYAML()
	y[0] = 'X'
	if DefaultYAML()[0] == 'X' {
		t.Errorf("DefaultYAML returned a shared slice")
	}
}

func names(fs []*Field) string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Name)
	}
	return strings.Join(out, " ")
}
