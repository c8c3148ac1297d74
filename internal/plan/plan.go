package plan

import (
	_ "embed"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"
)

// Field types a plan can declare.
const (
	TypeString = "string"
	TypeEnum   = "enum"
	TypeInt    = "int"
	TypeFloat  = "float"
	TypeBool   = "bool"
	TypeList   = "list"
	TypeSemver = "semver"
)

// Types lists the field types in the order the documentation and error messages use.
var Types = []string{TypeString, TypeEnum, TypeInt, TypeFloat, TypeBool, TypeList, TypeSemver}

// Event kinds.
const (
	KindFeature = "feature" // the event's use counts as use of a feature
	KindError   = "error"   // the event reports an error, grouped by its "code" property
)

// Defaults applied when a plan leaves them out.
const (
	DefaultK       = 5
	DefaultListMax = 100
	DefaultWithin  = 7 * 24 * time.Hour
)

// MaxSafeInt is the largest magnitude an int field can hold: 2^53-1, the largest integer every
// JSON decoder (JavaScript's included) reads exactly. Plans cannot declare bounds beyond it and
// Apply rejects values beyond it.
const MaxSafeInt = 1<<53 - 1

// Plan is a parsed, validated tracking plan: the allow-list the collector applies to every
// event and the source of the public "What data is collected?" page.
//
// A Plan is immutable once returned by Parse, Load or Default and safe for concurrent use.
type Plan struct {
	Product     string   // the product every event must name in product.name
	Description string   // optional; shown at the top of the documentation
	K           int      // k-anonymity threshold: no published bucket covers fewer projects
	Setup       Setup    // the zero Setup when the plan declares none
	Build       []*Field // allow-listed build keys, in declaration order
	Events      []*Event // declared events, in declaration order
	// IngestKeys are the PostHog API keys and Segment write keys the
	// compatible routes accept; none: those routes are public.
	IngestKeys []string

	events map[string]*Event
	build  map[string]*Field
}

// Setup names the two events between which setup time is measured for a project, and how far
// apart they may be for the pair to count.
type Setup struct {
	Start, Done string
	Within      time.Duration
}

// Declared reports whether the plan declares a setup measure.
func (s Setup) Declared() bool { return s.Start != "" }

// Event is one declared event.
type Event struct {
	Name        string
	Kind        string // "", KindFeature or KindError
	Description string
	Properties  []*Field // in declaration order

	props map[string]*Field
}

// Field is a declared build key, event property or list item type.
type Field struct {
	Name        string // "" for list items
	Type        string // one of Types
	Description string

	Pattern string   // string: an RE2 expression values must match (should be anchored)
	Max     int      // string: maximum length in characters (0 = only the global 256); list: maximum items
	Min     *int64   // int: inclusive lower bound, nil if none
	MaxInt  *int64   // int: inclusive upper bound, nil if none
	MinNum  *float64 // float: inclusive lower bound, nil if none
	MaxNum  *float64 // float: inclusive upper bound, nil if none
	Values  []string // enum: the allowed values, in declaration order
	Items   *Field   // list: the type of every item (never a list)

	re     *regexp.Regexp
	values map[string]bool
}

// Event returns the declared event called name, or nil.
func (p *Plan) Event(name string) *Event { return p.events[name] }

// BuildKey returns the declared build key called name, or nil.
func (p *Plan) BuildKey(name string) *Field { return p.build[name] }

// Property returns the event's declared property called name, or nil.
func (e *Event) Property(name string) *Field { return e.props[name] }

// EventsOfKind returns the declared events of the given kind, in declaration order.
func (p *Plan) EventsOfKind(kind string) []*Event {
	var out []*Event
	for _, e := range p.Events {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// FeatureProperty returns the property that names the feature of a kind: feature event: its
// "feature" property when declared, otherwise "" (the feature is then the event name).
func (e *Event) FeatureProperty() string {
	if e.Kind == KindFeature && e.props["feature"] != nil {
		return "feature"
	}
	return ""
}

// EnvPrefix returns the prefix of the product's environment variables: the product name
// upper-cased with every character other than a letter or digit replaced by "_"
// ("my-cli" gives "MY_CLI", so MY_CLI_TELEMETRY_DISABLED).
func (p *Plan) EnvPrefix() string { return EnvPrefix(p.Product) }

// EnvPrefix returns the environment variable prefix of a product name; see Plan.EnvPrefix.
func EnvPrefix(product string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(product) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

//go:embed default.yaml
var defaultYAML []byte

// DefaultYAML returns a copy of the source of the built-in plan, a starting point for
// writing one's own.
func DefaultYAML() []byte { return append([]byte(nil), defaultYAML...) }

// Default returns the built-in plan, modelled on a headless CMS ("strapi"). It is used when
// the collector runs without a plan file. Each call parses it afresh, so callers own the result.
func Default() *Plan {
	p, err := Parse("default.yaml", defaultYAML)
	if err != nil {
		panic("plan: the built-in default plan is invalid: " + err.Error())
	}
	return p
}

// MaxFileSize is the largest plan Parse accepts.
const MaxFileSize = 1 << 20

// Load reads and parses the plan file at path. Errors name the file as path.
func Load(path string) (*Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read tracking plan: %w", err)
	}
	return Parse(path, data)
}
