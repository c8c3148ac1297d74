package plan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/abacushq/abacus/telemetry/wire"
	"go.yaml.in/yaml/v3"
)

// ParseError is one problem in a plan file, at a line. Error returns
// "file:line: path: message", for example
//
//	plan.yaml:12: events.didStartServer.properties.durationMs: unknown type "integer", expected one of string, enum, int, float, bool, list, semver
//
// Path is the dotted path of the plan element at fault; it is empty for problems of the file
// itself (YAML syntax), and Line is 0 when the YAML parser gives none.
type ParseError struct {
	File string
	Line int
	Path string
	Msg  string
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// maxErrors bounds the problems Parse reports for one file.
const maxErrors = 20

var (
	productRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	eventRE    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.:-]{0,63}$`)
	fieldKeyRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)
	yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
)

// Parse parses and validates a tracking plan. filename is used only in error messages.
//
// Every problem found is reported (up to 20), each as a *ParseError carrying the line; with
// more than one, the error is an errors.Join of them, one per line of its text.
func Parse(filename string, data []byte) (*Plan, error) {
	if len(data) > MaxFileSize {
		return nil, &ParseError{File: filename, Msg: fmt.Sprintf("the plan is larger than %d bytes", MaxFileSize)}
	}
	root, err := decodeYAML(filename, data)
	if err != nil {
		return nil, err
	}
	ps := &parser{file: filename}
	p := ps.plan(root)
	sort.SliceStable(ps.errs, func(i, j int) bool { return ps.errs[i].Line < ps.errs[j].Line })
	if len(ps.errs) == 1 {
		return nil, ps.errs[0]
	}
	if len(ps.errs) > 1 {
		errs := make([]error, len(ps.errs))
		for i, e := range ps.errs {
			errs[i] = e
		}
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// decodeYAML decodes the single document of data into its root node.
func decodeYAML(filename string, data []byte) (root *yaml.Node, err error) {
	defer func() {
		// The YAML parser should not panic; if it does, the plan is still only bad input.
		if r := recover(); r != nil {
			root, err = nil, &ParseError{File: filename, Msg: fmt.Sprintf("invalid YAML (%v)", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, &ParseError{File: filename, Line: 1, Msg: "the plan is empty"}
		}
		return nil, yamlError(filename, err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == io.EOF:
	case err != nil:
		return nil, yamlError(filename, err)
	default:
		return nil, &ParseError{File: filename, Line: next.Line, Msg: "a plan is a single YAML document; found a second one"}
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		return doc.Content[0], nil
	}
	return &doc, nil
}

func yamlError(filename string, err error) error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &ParseError{File: filename, Line: line, Msg: m[2]}
	}
	return &ParseError{File: filename, Msg: strings.TrimPrefix(msg, "yaml: ")}
}

type parser struct {
	file string
	errs []*ParseError // the first maxErrors problems
	n    int           // the number of problems found
	work int           // YAML nodes visited, aliases counted each time they are followed
}

// maxWork bounds the nodes a plan may expand to through aliases; without it a small file
// of nested aliases could make Parse visit billions of nodes. A large real plan (a
// thousand events of fifty properties) is about 100,000 nodes; past 262,144 Parse
// stops, in well under a second.
const maxWork = 1 << 18

// spend records the visit of n nodes and reports whether the budget still holds.
func (ps *parser) spend(at *yaml.Node, n int) bool {
	ps.work += n
	if ps.work > maxWork {
		if ps.work-n <= maxWork {
			ps.errorf(at, "", "the plan is too large once its aliases are expanded (more than %d elements)", maxWork)
		}
		return false
	}
	return true
}

func (ps *parser) errorf(n *yaml.Node, path, format string, args ...any) {
	ps.n++
	if len(ps.errs) >= maxErrors {
		return
	}
	line := 0
	if n != nil {
		line = n.Line
	}
	ps.errs = append(ps.errs, &ParseError{File: ps.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// deref follows aliases to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// entry is one key of a YAML mapping.
type entry struct {
	key   string
	keyN  *yaml.Node
	value *yaml.Node
}

// mapping returns the entries of n in order. A null node is an empty mapping. It reports
// non-mappings, non-scalar keys and duplicate keys.
func (ps *parser) mapping(n *yaml.Node, path string) ([]entry, bool) {
	n = deref(n)
	if n == nil || isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.MappingNode {
		ps.errorf(n, path, "expected a mapping, got %s", describeNode(n))
		return nil, false
	}
	if !ps.spend(n, len(n.Content)) {
		return nil, false
	}
	var out []entry
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k == nil || k.Kind != yaml.ScalarNode {
			ps.errorf(n.Content[i], path, "keys must be plain names, got %s", describeNode(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			ps.errorf(k, path, "duplicate key %q (first at line %d)", k.Value, first)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, entry{key: k.Value, keyN: k, value: v})
	}
	return out, true
}

// known reports the keys of es not in allowed and returns the others by name.
func (ps *parser) known(es []entry, path string, allowed ...string) map[string]entry {
	m := make(map[string]entry, len(es))
	for _, e := range es {
		ok := false
		for _, a := range allowed {
			if e.key == a {
				ok = true
				break
			}
		}
		if !ok {
			ps.errorf(e.keyN, path, "unknown key %q, expected one of %s", e.key, strings.Join(allowed, ", "))
			continue
		}
		m[e.key] = e
	}
	return m
}

func describeNode(n *yaml.Node) string {
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!str":
			return "a string"
		case "!!int":
			return "the integer " + clip(n.Value)
		case "!!float":
			return "the number " + clip(n.Value)
		case "!!bool":
			return "the boolean " + clip(n.Value)
		}
		return fmt.Sprintf("a %s value", clip(n.ShortTag()))
	}
	return "something else"
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (ps *parser) str(n *yaml.Node, path string) (string, bool) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		ps.errorf(n, path, "expected a string, got %s", describeNode(n))
		return "", false
	}
	return n.Value, true
}

func (ps *parser) integer(n *yaml.Node, path string) (int64, bool) {
	n = deref(n)
	var v int64
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		ps.errorf(n, path, "expected an integer, got %s", describeNode(n))
		return 0, false
	}
	return v, true
}

func (ps *parser) number(n *yaml.Node, path string) (float64, bool) {
	n = deref(n)
	var v float64
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") ||
		n.Decode(&v) != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		ps.errorf(n, path, "expected a finite number, got %s", describeNode(n))
		return 0, false
	}
	return v, true
}

func (ps *parser) plan(root *yaml.Node) *Plan {
	p := &Plan{K: DefaultK, events: map[string]*Event{}, build: map[string]*Field{}}
	es, ok := ps.mapping(root, "")
	if !ok {
		return p
	}
	m := ps.known(es, "", "product", "description", "k", "setup", "build", "events", "ingestKeys")
	if e, ok := m["ingestKeys"]; ok {
		p.IngestKeys = ps.ingestKeys(e.value)
	}

	if e, ok := m["product"]; ok {
		if s, ok := ps.str(e.value, "product"); ok {
			if !productRE.MatchString(s) {
				ps.errorf(e.value, "product", "%q is not a valid product name: use 1 to 64 characters from a-z, 0-9, '.', '_' and '-', starting with a letter or digit", clip(s))
			}
			p.Product = s
		}
	} else {
		ps.errorf(root, "product", "required: the product name every event must carry")
	}
	if e, ok := m["description"]; ok {
		p.Description, _ = ps.str(e.value, "description")
	}
	if e, ok := m["k"]; ok {
		if k, ok := ps.integer(e.value, "k"); ok {
			if k < 2 || k > MaxK {
				ps.errorf(deref(e.value), "k", "must be from 2 to %d, got %d", MaxK, k)
			} else {
				p.K = int(k)
			}
		}
	}
	if e, ok := m["build"]; ok {
		p.Build = ps.fields(e.value, "build", p.build)
	}
	if e, ok := m["events"]; ok {
		nerr := ps.n
		ps.events(p, e.value)
		if len(p.Events) == 0 && ps.n == nerr {
			ps.errorf(deref(e.value), "events", "declare at least one event")
		}
	} else {
		ps.errorf(root, "events", "required: declare at least one event")
	}
	if e, ok := m["setup"]; ok {
		p.Setup = ps.setup(p, e.value)
	}
	return p
}

func (ps *parser) setup(p *Plan, n *yaml.Node) Setup {
	var s Setup
	es, ok := ps.mapping(n, "setup")
	if !ok || len(es) == 0 {
		if ok {
			ps.errorf(deref(n), "setup", "needs start and done")
		}
		return s
	}
	m := ps.known(es, "setup", "start", "done", "within")
	for _, k := range []string{"start", "done"} {
		e, ok := m[k]
		if !ok {
			ps.errorf(deref(n), "setup", "missing %q: the name of a declared event", k)
			continue
		}
		name, ok := ps.str(e.value, "setup."+k)
		if !ok {
			continue
		}
		if p.events[name] == nil {
			ps.errorf(deref(e.value), "setup."+k, "%q is not a declared event", clip(name))
			continue
		}
		if k == "start" {
			s.Start = name
		} else {
			s.Done = name
		}
	}
	if s.Start != "" && s.Start == s.Done {
		ps.errorf(deref(m["done"].value), "setup.done", "must differ from setup.start")
	}
	s.Within = DefaultWithin
	if e, ok := m["within"]; ok {
		v := deref(e.value)
		d, err := parseDuration(v.Value)
		if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" || err != nil {
			ps.errorf(v, "setup.within", "expected a positive duration such as 168h or 7d, got %s", describeScalar(v))
		} else {
			s.Within = d
		}
	}
	if s.Start == "" || s.Done == "" {
		return Setup{}
	}
	return s
}

func describeScalar(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return strconv.Quote(clip(n.Value))
	}
	return describeNode(n)
}

// parseDuration parses a positive Go duration, also accepting a leading count of days
// ("7d", "1d12h").
func parseDuration(s string) (time.Duration, error) {
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.ParseUint(s[:i], 10, 32)
		if err != nil || n > 100000 {
			return 0, errors.New("bad day count")
		}
		days = time.Duration(n) * 24 * time.Hour
		s = s[i+1:]
		if s == "" {
			s = "0s"
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d < 0 || d > math.MaxInt64-days || d+days <= 0 {
		return 0, errors.New("not positive")
	}
	return d + days, nil
}

func (ps *parser) events(p *Plan, n *yaml.Node) {
	es, ok := ps.mapping(n, "events")
	if !ok {
		return
	}
	for _, e := range es {
		path := "events." + e.key
		if !eventRE.MatchString(e.key) {
			ps.errorf(e.keyN, "events", "%q is not a valid event name: use 1 to 64 characters from A-Z, a-z, 0-9, '_', '.', ':' and '-', starting with a letter", clip(e.key))
			continue
		}
		ev := &Event{Name: e.key, props: map[string]*Field{}}
		body, ok := ps.mapping(e.value, path)
		if !ok {
			continue
		}
		m := ps.known(body, path, "description", "kind", "properties")
		if d, ok := m["description"]; ok {
			ev.Description, _ = ps.str(d.value, path+".description")
		}
		if k, ok := m["kind"]; ok {
			if s, ok := ps.str(k.value, path+".kind"); ok {
				if s != KindFeature && s != KindError {
					ps.errorf(deref(k.value), path+".kind", "unknown kind %q, expected feature or error", clip(s))
				} else {
					ev.Kind = s
				}
			}
		}
		nerr := ps.n
		if pr, ok := m["properties"]; ok {
			ev.Properties = ps.fields(pr.value, path+".properties", ev.props)
			if len(ev.Properties) > wire.MaxPropertiesPerEvent {
				ps.errorf(deref(pr.value), path+".properties", "at most %d properties per event, got %d", wire.MaxPropertiesPerEvent, len(ev.Properties))
			}
		}
		if ps.n != nerr {
			// Kind checks would only repeat the problems already reported.
			p.Events = append(p.Events, ev)
			p.events[ev.Name] = ev
			continue
		}
		switch f := ev.props["code"]; {
		case ev.Kind == KindError && f == nil:
			ps.errorf(e.keyN, path, `an event of kind error needs a "code" property of type string or enum`)
		case ev.Kind == KindError && f.Type != TypeString && f.Type != TypeEnum:
			ps.errorf(e.keyN, path+".properties.code", "the code of an error event must be of type string or enum, got %s", f.Type)
		}
		if f := ev.props["feature"]; ev.Kind == KindFeature && f != nil && f.Type != TypeString && f.Type != TypeEnum {
			ps.errorf(e.keyN, path+".properties.feature", "the feature of a feature event must be of type string or enum, got %s", f.Type)
		}
		p.Events = append(p.Events, ev)
		p.events[ev.Name] = ev
	}
}

// fields parses a mapping of field definitions (build keys or event properties).
func (ps *parser) fields(n *yaml.Node, path string, index map[string]*Field) []*Field {
	es, ok := ps.mapping(n, path)
	if !ok {
		return nil
	}
	var out []*Field
	for _, e := range es {
		if !fieldKeyRE.MatchString(e.key) {
			ps.errorf(e.keyN, path, "%q is not a valid key name: use 1 to 64 characters from A-Z, a-z, 0-9 and '_', starting with a letter", clip(e.key))
			continue
		}
		f := ps.field(e.value, e.keyN, join(path, e.key), false)
		if f == nil {
			continue
		}
		f.Name = e.key
		out = append(out, f)
		index[f.Name] = f
	}
	return out
}

var allFieldKeys = []string{"type", "description", "pattern", "max", "min", "values", "items"}

// keysFor lists the keys a field of type t may have.
func keysFor(t string) []string {
	switch t {
	case TypeString:
		return []string{"type", "description", "pattern", "max"}
	case TypeEnum:
		return []string{"type", "description", "values"}
	case TypeInt, TypeFloat:
		return []string{"type", "description", "min", "max"}
	case TypeList:
		return []string{"type", "description", "items", "max"}
	}
	return []string{"type", "description"}
}

// field parses one field definition; it returns nil when it is invalid. Problems of the
// definition as a whole are reported at the line of its key, at.
func (ps *parser) field(v, at *yaml.Node, path string, item bool) *Field {
	es, ok := ps.mapping(v, path)
	if !ok {
		return nil
	}
	n := at
	f := &Field{}
	var typeN *yaml.Node
	for _, e := range es {
		if e.key == "type" {
			typeN = e.value
		}
	}
	if typeN == nil {
		ps.known(es, path, allFieldKeys...)
		ps.errorf(n, path, "missing \"type\", expected one of %s", strings.Join(Types, ", "))
		return nil
	}
	t, ok := ps.str(typeN, path+".type")
	if !ok {
		return nil
	}
	valid := false
	for _, x := range Types {
		valid = valid || x == t
	}
	if !valid {
		ps.errorf(deref(typeN), path, "unknown type %q, expected one of %s", clip(t), strings.Join(Types, ", "))
		return nil
	}
	if item && t == TypeList {
		ps.errorf(deref(typeN), path, "list items cannot be lists")
		return nil
	}
	f.Type = t
	nerr := ps.n
	m := ps.known(es, path, keysFor(t)...)
	if d, ok := m["description"]; ok {
		f.Description, _ = ps.str(d.value, path+".description")
	}
	switch t {
	case TypeString:
		p, hasPattern := m["pattern"]
		if hasPattern {
			if s, ok := ps.str(p.value, path+".pattern"); ok {
				re, err := regexp.Compile(s)
				if s == "" {
					ps.errorf(deref(p.value), path, "pattern must not be empty")
				} else if err != nil {
					ps.errorf(deref(p.value), path, "invalid pattern: %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
				} else {
					f.Pattern, f.re = s, re
				}
			}
		}
		mx, hasMax := m["max"]
		if hasMax {
			if v, ok := ps.integer(mx.value, path+".max"); ok {
				if v < 1 || v > MaxStringLen {
					ps.errorf(deref(mx.value), path, "max must be from 1 to %d characters, got %d", MaxStringLen, v)
				} else {
					f.Max = int(v)
				}
			}
		}
		if !hasPattern && !hasMax {
			ps.errorf(n, path, `a string needs a "pattern" or a "max" length, so that free text cannot be collected`)
		}
	case TypeEnum:
		v, ok := m["values"]
		if !ok {
			ps.errorf(n, path, `an enum needs a non-empty "values" list`)
			break
		}
		seq := deref(v.value)
		if seq.Kind != yaml.SequenceNode || len(seq.Content) == 0 {
			ps.errorf(seq, path, `an enum needs a non-empty "values" list, got %s`, describeNode(seq))
			break
		}
		if !ps.spend(seq, len(seq.Content)) {
			break
		}
		f.values = make(map[string]bool, len(seq.Content))
		for i, item := range seq.Content {
			s, ok := ps.str(item, fmt.Sprintf("%s.values[%d]", path, i))
			if !ok {
				continue
			}
			switch {
			case s == "" || len(s) > MaxStringLen:
				ps.errorf(deref(item), path, "enum values must be 1 to %d characters long", MaxStringLen)
			case f.values[s]:
				ps.errorf(deref(item), path, "duplicate enum value %q", clip(s))
			default:
				f.values[s] = true
				f.Values = append(f.Values, s)
			}
		}
	case TypeInt:
		for _, k := range []string{"min", "max"} {
			e, ok := m[k]
			if !ok {
				continue
			}
			v, ok := ps.integer(e.value, path+"."+k)
			if !ok {
				continue
			}
			if v < -MaxSafeInt || v > MaxSafeInt {
				ps.errorf(deref(e.value), path, "%s must be within ±%d (2^53-1), got %d", k, int64(MaxSafeInt), v)
				continue
			}
			if k == "min" {
				f.Min = &v
			} else {
				f.MaxInt = &v
			}
		}
		if f.Min != nil && f.MaxInt != nil && *f.Min > *f.MaxInt {
			ps.errorf(deref(m["max"].value), path, "min (%d) is greater than max (%d)", *f.Min, *f.MaxInt)
		}
	case TypeFloat:
		for _, k := range []string{"min", "max"} {
			e, ok := m[k]
			if !ok {
				continue
			}
			v, ok := ps.number(e.value, path+"."+k)
			if !ok {
				continue
			}
			if k == "min" {
				f.MinNum = &v
			} else {
				f.MaxNum = &v
			}
		}
		if f.MinNum != nil && f.MaxNum != nil && *f.MinNum > *f.MaxNum {
			ps.errorf(deref(m["max"].value), path, "min (%s) is greater than max (%s)", formatFloat(*f.MinNum), formatFloat(*f.MaxNum))
		}
	case TypeList:
		f.Max = DefaultListMax
		if mx, ok := m["max"]; ok {
			if v, ok := ps.integer(mx.value, path+".max"); ok {
				if v < 1 || v > MaxListLen {
					ps.errorf(deref(mx.value), path, "max must be from 1 to %d items, got %d", MaxListLen, v)
				} else {
					f.Max = int(v)
				}
			}
		}
		it, ok := m["items"]
		if !ok {
			ps.errorf(n, path, `a list needs "items", the type of its items`)
			break
		}
		f.Items = ps.field(it.value, it.keyN, path+".items", true)
	}
	if ps.n != nerr {
		return nil
	}
	return f
}

// Limits on declared constraints.
const (
	MaxStringLen = wire.MaxStringLen // characters in one string value
	MaxListLen   = 1000              // the largest max a list can declare
	MaxK         = 1000000           // the largest k a plan can declare
)

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// ingestKeys reads the list of keys the PostHog and Segment routes accept:
// 1 to 100 strings of 1 to 200 characters.
func (ps *parser) ingestKeys(n *yaml.Node) []string {
	seq := deref(n)
	if seq == nil || seq.Kind != yaml.SequenceNode || len(seq.Content) == 0 || len(seq.Content) > 100 {
		ps.errorf(n, "ingestKeys", "expected a list of 1 to 100 keys")
		return nil
	}
	var keys []string
	for i, k := range seq.Content {
		path := fmt.Sprintf("ingestKeys[%d]", i)
		if s, ok := ps.str(k, path); ok {
			if s == "" || len(s) > 200 {
				ps.errorf(k, path, "expected a key of 1 to 200 characters")
				continue
			}
			keys = append(keys, s)
		}
	}
	return keys
}
