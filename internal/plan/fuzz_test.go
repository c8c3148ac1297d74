package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/abacushq/abacus/telemetry/wire"
)

func FuzzParse(f *testing.F) {
	f.Add(DefaultYAML())
	f.Add([]byte(typesPlan))
	f.Add([]byte(minimal))
	f.Add([]byte("product: a\nevents: {x: {kind: error, properties: {code: {type: enum, values: [A]}}}}\nsetup: {start: x, done: x, within: 1d}\n"))
	f.Add([]byte("product: a\nevents:\n  e:\n    properties:\n      d: &d {type: list, items: {type: string, pattern: '^a|b$'}}\n      e: *d\n"))
	f.Add([]byte("product: a\nbuild: {f: {type: float, min: -1e300, max: 1e300}}\nevents: {'a:b.c': {description: \"`x\\n|<y>\"}}\n"))
	f.Add([]byte("a: &a [*a]"))
	f.Add([]byte("- &a [a, a]\n- &b [*a, *a]\n- [*b, *b]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data)
		if err != nil {
			if p != nil {
				t.Fatal("Parse returned both a plan and an error")
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError: %v", err, err)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "fuzz.yaml") {
					t.Fatalf("error line without the file name: %q", line)
				}
			}
			return
		}
		b, err := p.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON: %v", err)
		}
		if !json.Valid(b) {
			t.Fatalf("MarshalJSON gave invalid JSON: %s", b)
		}
		if len(p.Markdown()) == 0 || len(p.HTML()) == 0 {
			t.Fatal("empty documentation")
		}
		if p.K < 2 || p.Product == "" || len(p.Events) == 0 {
			t.Fatalf("invalid plan accepted: %+v", p)
		}
		for _, e := range p.Events {
			if p.Event(e.Name) != e {
				t.Fatalf("event %q not indexed", e.Name)
			}
			for _, fl := range e.Properties {
				checkField(t, fl)
				if e.Property(fl.Name) != fl {
					t.Fatalf("property %q not indexed", fl.Name)
				}
			}
		}
		for _, fl := range p.Build {
			checkField(t, fl)
		}
		// An event with no build keys and no properties always passes.
		ev := &wire.Event{Event: p.Events[0].Name, Product: wire.Product{Name: p.Product}}
		if _, err := p.Apply(ev); err != nil {
			t.Fatalf("Apply of a bare event: %v", err)
		}
	})
}

func checkField(t *testing.T, f *Field) {
	t.Helper()
	switch f.Type {
	case TypeString:
		if f.Pattern == "" && f.Max == 0 || f.Pattern != "" && f.re == nil || f.Max > MaxStringLen {
			t.Fatalf("string field %q unconstrained: %+v", f.Name, f)
		}
	case TypeEnum:
		if len(f.Values) == 0 {
			t.Fatalf("enum %q without values", f.Name)
		}
	case TypeList:
		if f.Items == nil || f.Items.Type == TypeList || f.Max < 1 {
			t.Fatalf("list %q: %+v", f.Name, f)
		}
		checkField(t, f.Items)
	case TypeInt:
		if f.Min != nil && f.MaxInt != nil && *f.Min > *f.MaxInt {
			t.Fatalf("int %q: min > max", f.Name)
		}
	case TypeFloat, TypeBool, TypeSemver:
	default:
		t.Fatalf("field %q has type %q", f.Name, f.Type)
	}
}

func FuzzApply(f *testing.F) {
	seeds := []string{
		`{"event":"didStartServer","product":{"name":"strapi","version":"5.3.1"},"build":{"plugins":["i18n","graphql"],"typescript":true},"properties":{"durationMs":1234}}`,
		`{"event":"willCreateProject","product":{"name":"strapi"},"build":{"database":"sqlite","packageManager":"pnpm","x":1},"properties":{"quickstart":true,"template":"blog","extra":[1,2]}}`,
		`{"event":"didUseFeature","product":{"name":"strapi"},"properties":{"feature":"jo@example.com"}}`,
		`{"event":"didFailWithError","product":{"name":"strapi"},"properties":{"code":"DB_DOWN","message":"boom"}}`,
		`{"event":"didInstallPlugin","product":{"name":"strapi"},"properties":{"plugin":"@strapi/plugin-seo"},"build":{"plugins":null}}`,
		`{"event":"didStartServer","product":{"name":"strapi"},"properties":{"durationMs":1e400}}`,
		`{"event":"didStartServer","product":{"name":"strapi"},"properties":{"durationMs":-0.0}}`,
		`{"event":"didStartServer","product":{"name":"strapi"},"properties":{"durationMs":9007199254740993}}`,
		`{"event":"ping","product":{"name":"strapi"},"build":{"plugins":[]},"properties":{}}`,
		`{"event":"ping","product":{"name":"other"}}`,
		`{}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	p := Default()
	f.Fuzz(func(t *testing.T, data []byte, useNumber bool) {
		var e wire.Event
		dec := json.NewDecoder(bytes.NewReader(data))
		if useNumber {
			dec.UseNumber()
		}
		if err := dec.Decode(&e); err != nil {
			return
		}
		dropped, err := p.Apply(&e)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T is not a *FieldError: %v", err, err)
			}
			return
		}
		ev := p.Event(e.Event)
		if ev == nil {
			t.Fatalf("undeclared event %q accepted", e.Event)
		}
		for _, d := range dropped {
			if !strings.HasPrefix(d, "build.") && !strings.HasPrefix(d, "properties.") {
				t.Fatalf("dropped %q", d)
			}
		}
		for k, v := range e.Build {
			if p.BuildKey(k) == nil || v == nil {
				t.Fatalf("build key %q = %v kept", k, v)
			}
		}
		for k, v := range e.Properties {
			if ev.Property(k) == nil || v == nil {
				t.Fatalf("property %q = %v kept", k, v)
			}
		}
		dropped, err = p.Apply(&e)
		if err != nil || len(dropped) != 0 {
			t.Fatalf("second Apply: dropped %v, err %v", dropped, err)
		}
	})
}
