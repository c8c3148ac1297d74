package plan

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/abacushq/abacus/telemetry/wire"
)

// The "What data is collected?" page is built once as a page value, then rendered as
// Markdown (markdown.go) or HTML (html.go), so both say the same thing.

// seg is a run of text; Code runs are shown as code.
type seg struct {
	Text string
	Code bool
}

// text splits s at backticks into segments: `x` is code. An unpaired backtick stays text.
func text(s string) []seg {
	parts := strings.Split(s, "`")
	if len(parts)%2 == 0 {
		parts[len(parts)-2] += "`" + parts[len(parts)-1]
		parts = parts[:len(parts)-1]
	}
	var out []seg
	for i, p := range parts {
		if p != "" {
			out = append(out, seg{Text: p, Code: i%2 == 1})
		}
	}
	return out
}

func code(s string) seg  { return seg{Text: s, Code: true} }
func plain(s string) seg { return seg{Text: s} }

type docItem struct {
	Name string
	Text []seg
}

type docField struct {
	Name        string
	Type        string
	Allowed     []seg
	Description []seg
}

type docEvent struct {
	Name        string
	Description []seg
	Properties  []docField
}

type page struct {
	Title     string
	Product   string
	Intro     [][]seg
	Envelope  []docItem
	BuildNote []seg
	Build     []docField
	Events    []docEvent
	Setup     []seg
	Never     [][]seg
	Protocols []docProtocol
	Redaction [][]seg
	Anonymity [][]seg
	OptOut    [][]seg
	Footer    []seg
	PlanPath  string // where the collector serves the plan as JSON
}

func (p *Plan) page() *page {
	env := p.EnvPrefix()
	pg := &page{Title: "What data is collected?", Product: p.Product}
	if p.Description != "" {
		pg.Intro = append(pg.Intro, text(p.Description))
	}
	pg.Intro = append(pg.Intro, text(fmt.Sprintf(
		"This page lists all the anonymous usage data that `%s` collects. It is generated from the "+
			"tracking plan that the collector enforces: events, build keys and properties not listed here "+
			"are dropped on arrival and never stored, and a value that does not fit its declared type makes "+
			"the collector reject the whole event. So this page always matches what is stored.", p.Product)))

	pg.Protocols = protocolsDoc()
	pg.Envelope = []docItem{
		{"Event name and time", text("Which of the events listed below happened, and when.")},
		{"Event ID", text("A random ID for the event, used only so that an event sent twice is stored once.")},
		{"Project ID", text(fmt.Sprintf("A random UUID stored in your project's `package.json` "+
			"(as `\"%s\": {\"uuid\": \"…\"}`) when the project is created. The collector re-keys it with a "+
			"secret on arrival, so stored data cannot be linked back to your `package.json`.", p.Product))},
		{"Machine ID", text("A hash (HMAC-SHA256) of your operating system's machine ID; the machine ID " +
			"itself never leaves your computer. The collector re-keys it with a secret on arrival.")},
		{"Session ID", text("A random ID for one run of the product, to tell runs apart.")},
		{"Environment", text(envList())},
		{"Operating system", text("Its name and version, for example `linux` and `6.1.0`.")},
		{"CPU and memory", text("The CPU architecture (for example `amd64`), the number of CPUs and the total memory in MB.")},
		{"Runtime", text("The name and version of the runtime, for example `node` and `20.11.1`.")},
		{"CI", text("Whether the product runs in continuous integration, and the name of the CI service.")},
		{"Docker and WSL", text("Whether the product runs in a Docker container, and whether it runs in WSL (Windows Subsystem for Linux).")},
		{"Product", text(fmt.Sprintf("The product name, `%s`, and its version.", p.Product))},
		{"SDK", text("The name and version of the telemetry library, for example `abacus-go/0.1.0`.")},
	}

	if len(p.Build) == 0 {
		pg.BuildNote = text("No build configuration is collected.")
	} else {
		pg.BuildNote = text("Events also carry these facts about the project's configuration, and no others:")
	}
	for _, f := range p.Build {
		pg.Build = append(pg.Build, docFieldOf(f))
	}
	for _, e := range p.Events {
		d := docEvent{Name: e.Name, Description: text(e.Description)}
		switch e.Kind {
		case KindFeature:
			note := " Counts as use of a feature, named by the event."
			if e.FeatureProperty() != "" {
				note = " Counts as use of the feature named by its `feature` property."
			}
			d.Description = append(d.Description, text(note)...)
		case KindError:
			d.Description = append(d.Description, text(" An error, identified only by its `code`: the error message is never sent.")...)
		}
		for _, f := range e.Properties {
			d.Properties = append(d.Properties, docFieldOf(f))
		}
		pg.Events = append(pg.Events, d)
	}
	if p.Setup.Declared() {
		pg.Setup = text(fmt.Sprintf("The time it takes to set up a project is measured from its `%s` event "+
			"to its `%s` event, when they happen within %s of each other. No extra data is sent for this.",
			p.Setup.Start, p.Setup.Done, humanDuration(p.Setup.Within)))
	}

	for _, s := range []string{
		"Database configuration: hosts, database names, user names, passwords or connection strings.",
		"Passwords, API keys, tokens or any other secret.",
		"Environment variables.",
		"File paths or directory names.",
		"E-mail addresses, user names or host names.",
		"IP addresses: the collector never stores them. It may use a keyed hash of an address in memory, briefly, to limit abusive request rates.",
		"Free-text error messages: errors are reported by a fixed code only.",
		"User agents.",
		"The content of your project.",
	} {
		pg.Never = append(pg.Never, text(s))
	}
	pg.Redaction = [][]seg{
		text("Before anything leaves your computer, the SDK checks every text value and replaces any that " +
			"looks like personal or secret data (an e-mail address, an IP address, a URL with a password, " +
			"a path in a home directory, or a secret such as an access token) with `[redacted]`."),
		text("The collector checks every text value again and rejects the whole event when one still looks " +
			"personal. Text values must also match the pattern or length declared above, so free text cannot be collected."),
	}
	pg.Anonymity = [][]seg{
		text(fmt.Sprintf("No report shows a group of fewer than %d projects: any smaller group is left out "+
			"(k-anonymity with k = %d).", p.K, p.K)),
		text("Project and machine IDs are re-keyed with a secret that only the collector holds, and all the " +
			"data of a project can be erased on request."),
	}
	pg.OptOut = [][]seg{
		text(fmt.Sprintf("Delete the `uuid` from the `\"%s\"` entry of your project's `package.json`. "+
			"Nothing is collected for a project without it, and it is not created again.", p.Product)),
		text("Set `DO_NOT_TRACK=1` in your environment."),
		text(fmt.Sprintf("Set `%s_TELEMETRY_DISABLED=1` in your environment.", env)),
		text("Run the product's command to disable telemetry: it opts you out on this computer, for every project."),
		text(fmt.Sprintf("To see what would be sent, set `%s_TELEMETRY_DEBUG=1`: each event is then printed "+
			"instead of being sent.", env)),
	}
	pg.Footer = text(fmt.Sprintf("Generated from the tracking plan of `%s`.", p.Product))
	pg.PlanPath = wire.PlanPath
	return pg
}

func envList() string {
	var b strings.Builder
	b.WriteString("One of ")
	for i, e := range wire.Environments {
		switch {
		case i == len(wire.Environments)-1:
			b.WriteString(" or ")
		case i > 0:
			b.WriteString(", ")
		}
		b.WriteString("`" + e + "`")
	}
	b.WriteString(".")
	return b.String()
}

func docFieldOf(f *Field) docField {
	return docField{Name: f.Name, Type: typeName(f), Allowed: f.allowed(), Description: text(f.Description)}
}

func typeName(f *Field) string {
	if f.Type == TypeList && f.Items != nil {
		return "list of " + f.Items.Type
	}
	return f.Type
}

// allowed describes the values f accepts.
func (f *Field) allowed() []seg {
	switch f.Type {
	case TypeString:
		var out []seg
		if f.Pattern != "" {
			out = append(out, plain("matches "), code(f.Pattern))
		}
		limit := f.Max
		if limit == 0 {
			limit = MaxStringLen
		}
		if f.Pattern != "" && f.Max > 0 {
			out = append(out, plain(", "))
		}
		if f.Pattern == "" || f.Max > 0 {
			out = append(out, plain(fmt.Sprintf("at most %d characters", limit)))
		}
		return out
	case TypeEnum:
		var out []seg
		for i, v := range f.Values {
			if i > 0 {
				out = append(out, plain(", "))
			}
			out = append(out, code(v))
		}
		return out
	case TypeInt:
		return []seg{plain(intRange(f.Min, f.MaxInt))}
	case TypeFloat:
		switch {
		case f.MinNum != nil && f.MaxNum != nil:
			return []seg{plain(fmt.Sprintf("%s to %s", formatFloat(*f.MinNum), formatFloat(*f.MaxNum)))}
		case f.MinNum != nil:
			return []seg{plain("at least " + formatFloat(*f.MinNum))}
		case f.MaxNum != nil:
			return []seg{plain("at most " + formatFloat(*f.MaxNum))}
		}
		return []seg{plain("any number")}
	case TypeBool:
		return []seg{code("true"), plain(" or "), code("false")}
	case TypeSemver:
		return []seg{plain("a version such as "), code("1.2.3")}
	case TypeList:
		out := []seg{plain(fmt.Sprintf("up to %d items", f.Max))}
		if f.Items != nil {
			if it := f.Items.allowed(); len(it) > 0 {
				out = append(out, plain(", each "))
				out = append(out, it...)
			}
		}
		return out
	}
	return nil
}

func intRange(lo, hi *int64) string {
	switch {
	case lo != nil && hi != nil:
		return fmt.Sprintf("%d to %d", *lo, *hi)
	case lo != nil:
		return fmt.Sprintf("at least %d", *lo)
	case hi != nil:
		return fmt.Sprintf("at most %d", *hi)
	}
	return "any integer"
}

// humanDuration writes d in days when it is a whole number of days, else as Go does.
func humanDuration(d time.Duration) string {
	day := 24 * time.Hour
	switch {
	case d == day:
		return "1 day"
	case d%day == 0:
		return strconv.FormatInt(int64(d/day), 10) + " days"
	}
	return formatDuration(d)
}

// formatDuration is d.String() without trailing zero units: "168h", "1h30m", "90s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
