package plan

import (
	"bytes"
	"strings"
)

// Markdown renders the public "What data is collected?" page as GitHub-flavoured Markdown,
// for `abacus plan doc`. It has the same content as HTML.
func (p *Plan) Markdown() []byte {
	pg := p.page()
	var b bytes.Buffer
	w := func(ss ...string) {
		for _, s := range ss {
			b.WriteString(s)
		}
	}
	w("# ", pg.Title, "\n\n")
	for _, para := range pg.Intro {
		w(mdSegs(para, false), "\n\n")
	}

	w("## On every event\n\n")
	w("Every event carries these fields, then the build configuration and the event's own properties described below.\n\n")
	w("| Field | What it is |\n|---|---|\n")
	for _, it := range pg.Envelope {
		w("| ", mdText(it.Name, true), " | ", mdSegs(it.Text, true), " |\n")
	}
	w("\n")

	w("## Build configuration\n\n", mdSegs(pg.BuildNote, false), "\n\n")
	if len(pg.Build) > 0 {
		w("| Key | Type | Allowed values | Description |\n|---|---|---|---|\n")
		for _, f := range pg.Build {
			w("| ", mdCode(f.Name, true), " | ", f.Type, " | ", mdSegs(f.Allowed, true), " | ", mdSegs(f.Description, true), " |\n")
		}
		w("\n")
	}

	w("## Events\n\n")
	w("Only these events are collected, each with only the properties listed. Every property is optional.\n\n")
	w("| Event | Description | Properties |\n|---|---|---|\n")
	for _, e := range pg.Events {
		w("| ", mdCode(e.Name, true), " | ", mdSegs(e.Description, true), " | ")
		if len(e.Properties) == 0 {
			w("none")
		}
		for i, f := range e.Properties {
			if i > 0 {
				w("<br>")
			}
			w(mdCode(f.Name, true), " (", f.Type)
			if a := mdSegs(f.Allowed, true); a != "" {
				w(", ", a)
			}
			w(")")
			if d := mdSegs(f.Description, true); d != "" {
				w(": ", d)
			}
		}
		w(" |\n")
	}
	w("\n")
	if len(pg.Setup) > 0 {
		w(mdSegs(pg.Setup, false), "\n\n")
	}

	w("## Events from other telemetry clients\n\n")
	w("The collector also accepts what PostHog and Segment libraries and Strapi's own sender already send. ",
		"Their events go through the same plan, re-keying and storage as the others; this is what it reads from each, ",
		"and what it drops on arrival.\n\n")
	for _, pr := range pg.Protocols {
		w("### ", pr.Name, "\n\n", mdSegs(pr.Routes, false), "\n\n| Stored | Read from |\n|---|---|\n")
		for _, it := range pr.Read {
			w("| ", it.Name, " | ", mdSegs(it.Text, true), " |\n")
		}
		w("\nDropped, never stored: ", mdSegs(pr.Dropped, false), "\n\n")
	}
	w("## What is never collected\n\n")
	for _, s := range pg.Never {
		w("- ", mdSegs(s, false), "\n")
	}
	w("\n## Personal data is redacted, then rejected\n\n")
	for _, para := range pg.Redaction {
		w(mdSegs(para, false), "\n\n")
	}
	w("## Anonymity of reports\n\n")
	for _, para := range pg.Anonymity {
		w(mdSegs(para, false), "\n\n")
	}
	w("## How to opt out\n\n")
	for _, s := range pg.OptOut {
		w("- ", mdSegs(s, false), "\n")
	}
	w("\n---\n\n", mdSegs(pg.Footer, false), " The same plan is available as JSON at ", mdCode(pg.PlanPath, false), ".\n")
	return b.Bytes()
}

func mdSegs(ss []seg, table bool) string {
	var b strings.Builder
	for _, s := range ss {
		if s.Code {
			b.WriteString(mdCode(s.Text, table))
		} else {
			b.WriteString(mdText(s.Text, table))
		}
	}
	return b.String()
}

// mdText escapes plain text: no HTML, no line breaks, no table cell breaks, no stray
// Markdown syntax at the start of a line.
func mdText(s string, table bool) string {
	s = oneLine(s)
	var b strings.Builder
	for i, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '&':
			b.WriteString("&amp;")
		case '\\', '`', '*', '_', '[', ']':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '|':
			if table {
				b.WriteString("\\|")
			} else {
				b.WriteRune(r)
			}
		case '#', '>', '-', '+', '=':
			if i == 0 {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdCode renders s as a code span, fenced by more backticks than s contains in a row.
func mdCode(s string, table bool) string {
	s = oneLine(s)
	if table {
		s = strings.ReplaceAll(s, "|", "\\|")
	}
	run, longest := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || s == "" {
		s = " " + s + " "
	}
	return fence + s + fence
}

// oneLine replaces line breaks and other control characters by spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == 0x2028 || r == 0x2029 || r == 0x85 {
			return ' '
		}
		return r
	}, s)
}
