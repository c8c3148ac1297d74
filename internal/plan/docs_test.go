package plan

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (run go test -update to accept it); got:\n%s", path, got)
	}
}

func TestMarkdownGolden(t *testing.T) {
	golden(t, "default.md", Default().Markdown())
}

func TestJSONGolden(t *testing.T) {
	b, err := json.MarshalIndent(Default(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "default.json", append(b, '\n'))
}

func TestJSONShape(t *testing.T) {
	p := mustParse(t, typesPlan+"setup: {start: e, done: other, within: 90m}\n")
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Product string
		K       int
		Setup   struct {
			Start, Done, Within string
			WithinSeconds       int64
		}
		Build  []map[string]any
		Events []struct {
			Name       string
			Properties []map[string]any
		}
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Product != "demo" || got.K != 5 || got.Setup.Within != "1h30m" || got.Setup.WithinSeconds != 5400 {
		t.Errorf("header: %+v", got)
	}
	if len(got.Build) != 2 || got.Build[0]["name"] != "tags" || got.Build[0]["max"] != 3.0 {
		t.Errorf("build: %v", got.Build)
	}
	if len(got.Events) != 2 || got.Events[1].Properties == nil || len(got.Events[1].Properties) != 0 {
		t.Errorf("events: %+v", got.Events)
	}
	props := map[string]map[string]any{}
	for _, f := range got.Events[0].Properties {
		props[f["name"].(string)] = f
	}
	if f := props["i"]; f["min"] != 0.0 || f["max"] != 10.0 || f["type"] != "int" {
		t.Errorf("int: %v", f)
	}
	if f := props["f"]; f["min"] != 0.0 || f["max"] != 1.0 {
		t.Errorf("float: %v", f)
	}
	if f := props["any"]; f["min"] != nil || f["max"] != nil {
		t.Errorf("unbounded int: %v", f)
	}
	if f := props["l"]; f["max"] != 2.0 || f["items"].(map[string]any)["type"] != "int" {
		t.Errorf("list: %v", f)
	}
	if f := props["en"]; len(f["values"].([]any)) != 2 {
		t.Errorf("enum: %v", f)
	}
	if f := props["p"]; f["pattern"] != "^[a-z]+$" || f["max"] != nil {
		t.Errorf("string: %v", f)
	}
}

func TestMarkdownContent(t *testing.T) {
	p := mustParse(t, `product: my-tool
k: 7
build:
  mode: {type: enum, values: [a, b], description: "Pipes | and <b>tags</b>
    and a line break"}
events:
  ran: {description: 'Uses a code span: `+"`x|y`"+`.'}
`)
	md := string(p.Markdown())
	for _, want := range []string{
		"| `mode` | enum | `a`, `b` | Pipes \\| and &lt;b>tags&lt;/b> and a line break |",
		"| `ran` | Uses a code span: `x\\|y`. | none |",
		"fewer than 7 projects",
		"`MY_TOOL_TELEMETRY_DISABLED=1`",
		"`MY_TOOL_TELEMETRY_DEBUG=1`",
		"`DO_NOT_TRACK=1`",
		"`\"my-tool\": {\"uuid\": \"…\"}`",
		"## What is never collected",
		"E-mail addresses",
		"IP addresses",
		"User agents",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
	if strings.Contains(md, "Setup") || strings.Contains(md, "set up a project") {
		t.Errorf("Markdown mentions setup time without a setup")
	}
}

func TestMarkdownEscaping(t *testing.T) {
	for in, want := range map[string]string{
		"a|b":      `a\|b`,
		"<script>": "&lt;script>",
		"# title":  `\# title`,
		"x\ny":     "x y",
		"*a* _b_":  `\*a\* \_b\_`,
	} {
		if got := mdText(in, true); got != want {
			t.Errorf("mdText(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"abc":  "`abc`",
		"a`b":  "``a`b``",
		"`a":   "`` `a ``",
		"a|b":  "`a\\|b`",
		"a``b": "```a``b```",
	} {
		if got := mdCode(in, true); got != want {
			t.Errorf("mdCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHTML(t *testing.T) {
	p := mustParse(t, `product: strapi
description: Plan <b>bold</b> & more.
build:
  mode:
    type: enum
    values: [a, "<i>"]
    description: "<script>alert(1)</script>"
events:
  didStartServer:
    description: The server started.
    properties:
      durationMs: {type: int, min: 0, max: 86400000, description: Start time.}
  ping: {}
`)
	page := string(p.HTML())
	for _, want := range []string{
		"<!doctype html>",
		`<html lang="en">`,
		`<meta charset="utf-8">`,
		"<title>What data is collected? · strapi</title>",
		"<style>",
		"<main>",
		"<h1>What data is collected?</h1>",
		"Plan &lt;b&gt;bold&lt;/b&gt; &amp; more.",
		`<th scope="col">Key</th>`,
		`<tr><th scope="row"><code>mode</code></th><td>enum</td><td><code>a</code>, <code>&lt;i&gt;</code></td><td>&lt;script&gt;alert(1)&lt;/script&gt;</td></tr>`,
		`<tr><th scope="row"><code>didStartServer</code></th><td>The server started.</td><td><ul><li><code>durationMs</code> (int, 0 to 86400000): Start time.</li></ul></td></tr>`,
		`<tr><th scope="row"><code>ping</code></th><td></td><td>none</td></tr>`,
		`<tr><th scope="row">Project ID</th>`,
		"<code>STRAPI_TELEMETRY_DISABLED=1</code>",
		"fewer than 5 projects",
		"</html>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if strings.Contains(page, "<script") {
		t.Errorf("HTML contains an unescaped <script")
	}
	// The one link allowed is the empty inline icon, which loads nothing.
	own := strings.Replace(page, `<link rel="icon" href="data:,">`, "", 1)
	for _, banned := range []string{"http://", "https://", "<link", "<img", " src="} {
		if strings.Contains(own, banned) {
			t.Errorf("HTML refers to an external asset: %q", banned)
		}
	}
	// Every opened element of the structure is closed.
	for _, tag := range []string{"html", "head", "body", "main", "table", "thead", "tbody", "section", "ul", "nav", "footer", "style"} {
		if o, c := strings.Count(page, "<"+tag+">")+strings.Count(page, "<"+tag+" "), strings.Count(page, "</"+tag+">"); o != c {
			t.Errorf("<%s>: %d opened, %d closed", tag, o, c)
		}
	}
}

// TestDocsSameContent checks that the Markdown and HTML pages list the same items.
func TestDocsSameContent(t *testing.T) {
	p := Default()
	md, page := string(p.Markdown()), string(p.HTML())
	for _, s := range []string{"didFailWithError", "packageManager", "86400000", "Machine ID", "User agents",
		"WSL", "k-anonymity", "STRAPI_TELEMETRY_DEBUG=1", "willCreateProject", "within 7 days"} {
		if !strings.Contains(md, s) || !strings.Contains(page, s) {
			t.Errorf("%q: in Markdown %v, in HTML %v", s, strings.Contains(md, s), strings.Contains(page, s))
		}
	}
}
