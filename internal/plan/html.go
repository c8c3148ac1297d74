package plan

import (
	"bytes"
	"html/template"
	"strings"
)

// HTML renders the public "What data is collected?" page as a complete, standalone HTML
// document (inline CSS, no scripts, no external assets), for GET /privacy. It has the same
// content as Markdown.
func (p *Plan) HTML() []byte {
	var b bytes.Buffer
	if err := htmlPage.Execute(&b, p.page()); err != nil {
		// The template and its data are fixed by this package; a failure is a bug.
		panic("plan: rendering the HTML page: " + err.Error())
	}
	return b.Bytes()
}

var htmlPage = template.Must(template.New("page").Funcs(template.FuncMap{
	// relative makes a root path relative, so the link works when the collector is
	// served under a path prefix (GET /privacy and GET /v1/plan share the same root).
	"relative": func(p string) string { return strings.TrimPrefix(p, "/") },
}).Parse(htmlTemplate))

const htmlTemplate = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · {{.Product}}</title>
<link rel="icon" href="data:,">
<style>
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #ffffff; --muted: #57606a; --line: #d0d7de; --code: #f3f4f6; --link: #0950b6; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9da7b3; --line: #3d444d; --code: #1f2630; --link: #6cb6ff; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 60rem; margin: 0 auto; padding: 2rem 1rem 4rem; }
h1 { font-size: 2rem; line-height: 1.2; margin: 0 0 1rem; }
h2 { font-size: 1.35rem; margin: 2.5rem 0 .75rem; padding-bottom: .25rem; border-bottom: 1px solid var(--line); }
a { color: var(--link); }
a:focus-visible { outline: 3px solid var(--link); outline-offset: 2px; }
code { font: .9em/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--code); padding: .1em .3em; border-radius: 4px; overflow-wrap: anywhere; }
.table { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
caption { text-align: left; color: var(--muted); padding: .25rem 0; }
th, td { text-align: left; vertical-align: top; padding: .5rem .6rem; border-bottom: 1px solid var(--line); }
thead th { border-bottom-width: 2px; }
td ul { margin: 0; padding-left: 1.1rem; }
nav ul { columns: 2 14rem; }
footer { margin-top: 3rem; color: var(--muted); font-size: .9rem; }
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{range .Intro}}<p>{{template "segs" .}}</p>
{{end}}
<nav aria-label="On this page">
<ul>
<li><a href="#on-every-event">On every event</a></li>
<li><a href="#build-configuration">Build configuration</a></li>
<li><a href="#events">Events</a></li>
<li><a href="#never-collected">What is never collected</a></li>
<li><a href="#redaction">Personal data is redacted, then rejected</a></li>
<li><a href="#anonymity">Anonymity of reports</a></li>
<li><a href="#opt-out">How to opt out</a></li>
</ul>
</nav>

<section aria-labelledby="on-every-event">
<h2 id="on-every-event">On every event</h2>
<p>Every event carries these fields, then the build configuration and the event's own properties described below.</p>
<div class="table">
<table>
<caption>Fields sent with every event</caption>
<thead><tr><th scope="col">Field</th><th scope="col">What it is</th></tr></thead>
<tbody>
{{range .Envelope}}<tr><th scope="row">{{.Name}}</th><td>{{template "segs" .Text}}</td></tr>
{{end}}</tbody>
</table>
</div>
</section>

<section aria-labelledby="build-configuration">
<h2 id="build-configuration">Build configuration</h2>
<p>{{template "segs" .BuildNote}}</p>
{{if .Build}}<div class="table">
<table>
<caption>Build configuration keys</caption>
<thead><tr><th scope="col">Key</th><th scope="col">Type</th><th scope="col">Allowed values</th><th scope="col">Description</th></tr></thead>
<tbody>
{{range .Build}}<tr><th scope="row"><code>{{.Name}}</code></th><td>{{.Type}}</td><td>{{template "segs" .Allowed}}</td><td>{{template "segs" .Description}}</td></tr>
{{end}}</tbody>
</table>
</div>
{{end}}</section>

<section aria-labelledby="events">
<h2 id="events">Events</h2>
<p>Only these events are collected, each with only the properties listed. Every property is optional.</p>
<div class="table">
<table>
<caption>Events and their properties</caption>
<thead><tr><th scope="col">Event</th><th scope="col">Description</th><th scope="col">Properties</th></tr></thead>
<tbody>
{{range .Events}}<tr><th scope="row"><code>{{.Name}}</code></th><td>{{template "segs" .Description}}</td><td>{{if .Properties}}<ul>{{range .Properties}}<li><code>{{.Name}}</code> ({{.Type}}{{if .Allowed}}, {{template "segs" .Allowed}}{{end}}){{if .Description}}: {{template "segs" .Description}}{{end}}</li>{{end}}</ul>{{else}}none{{end}}</td></tr>
{{end}}</tbody>
</table>
</div>
{{if .Setup}}<p>{{template "segs" .Setup}}</p>
{{end}}</section>

<section aria-labelledby="other-clients">
<h2 id="other-clients">Events from other telemetry clients</h2>
<p>The collector also accepts what PostHog and Segment libraries and Strapi's own sender already send. Their events go through the same plan, re-keying and storage as the others; this is what it reads from each, and what it drops on arrival.</p>
{{range .Protocols}}<h3>{{.Name}}</h3>
<p>{{template "segs" .Routes}}</p>
<div class="table">
<table>
<thead><tr><th scope="col">Stored</th><th scope="col">Read from</th></tr></thead>
<tbody>
{{range .Read}}<tr><th scope="row">{{.Name}}</th><td>{{template "segs" .Text}}</td></tr>
{{end}}</tbody>
</table>
</div>
<p>Dropped, never stored: {{template "segs" .Dropped}}</p>
{{end}}</section>

<section aria-labelledby="never-collected">
<h2 id="never-collected">What is never collected</h2>
<ul>
{{range .Never}}<li>{{template "segs" .}}</li>
{{end}}</ul>
</section>

<section aria-labelledby="redaction">
<h2 id="redaction">Personal data is redacted, then rejected</h2>
{{range .Redaction}}<p>{{template "segs" .}}</p>
{{end}}</section>

<section aria-labelledby="anonymity">
<h2 id="anonymity">Anonymity of reports</h2>
{{range .Anonymity}}<p>{{template "segs" .}}</p>
{{end}}</section>

<section aria-labelledby="opt-out">
<h2 id="opt-out">How to opt out</h2>
<ul>
{{range .OptOut}}<li>{{template "segs" .}}</li>
{{end}}</ul>
</section>

<footer>
<p>{{template "segs" .Footer}} The same plan is available <a href="{{.PlanPath | relative}}">as JSON</a>.</p>
</footer>
</main>
</body>
</html>
{{define "segs"}}{{range .}}{{if .Code}}<code>{{.Text}}</code>{{else}}{{.Text}}{{end}}{{end}}{{end}}`
