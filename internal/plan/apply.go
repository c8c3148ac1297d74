package plan

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/abacushq/abacus/telemetry/redact"
	"github.com/abacushq/abacus/telemetry/wire"
)

// FieldError says why an event does not fit the plan. Field is the path of the value at
// fault ("event", "product.name", "build.plugins[2]", "properties.durationMs"), Msg what was
// expected. Messages never quote a rejected string value, which could be personal data.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Apply checks one event against the plan and cleans it in place.
//
// The product name must be the plan's and the event must be declared. Build keys and
// properties the plan does not declare are removed from the event and returned in dropped,
// sorted, as "build.<key>" and "properties.<key>" (the keys come from the client and can be
// any text: count them, do not store them). Keys whose value is null are removed too
// (an absent value), without being reported. Every remaining value must have its declared
// type and satisfy its constraints, and every string in it must pass redact.Check; otherwise
// err is a *FieldError for the first offending key in sorted order (build before properties)
// and the event must be rejected. Apply does not change the values it keeps.
//
// Values are expected as encoding/json decodes them into any — float64, string, bool, []any,
// map[string]any, nil — or json.Number; Go integers, float32 and []string are accepted too.
// Apply does not check the envelope (IDs, environment, timestamps).
//
// Apply is safe for concurrent use, on different events.
func (p *Plan) Apply(e *wire.Event) (dropped []string, err error) {
	if e.Product.Name != p.Product {
		return nil, &FieldError{"product.name", fmt.Sprintf("expected %q, got %s", p.Product, quoteName(e.Product.Name))}
	}
	ev := p.events[e.Event]
	if ev == nil {
		return nil, &FieldError{"event", fmt.Sprintf("%s is not in the tracking plan", quoteName(e.Event))}
	}
	dropped = clean(e.Build, p.build, "build.", dropped)
	dropped = clean(e.Properties, ev.props, "properties.", dropped)
	sort.Strings(dropped)
	if err := check(e.Build, p.build, "build."); err != nil {
		return dropped, err
	}
	if err := check(e.Properties, ev.props, "properties."); err != nil {
		return dropped, err
	}
	return dropped, nil
}

// quoteName quotes a name from an event for an error message, if it is short and made of
// name characters; anything else is described, not echoed.
func quoteName(s string) string {
	if s == "" {
		return "an empty name"
	}
	if len(s) > 64 {
		return "a name longer than 64 characters"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_.:-", c) >= 0) {
			return "a name with characters outside A-Z, a-z, 0-9, '_', '.', ':' and '-'"
		}
	}
	return strconv.Quote(s)
}

// clean removes undeclared and null keys of m, appending the undeclared ones to dropped.
func clean(m map[string]any, declared map[string]*Field, prefix string, dropped []string) []string {
	for k, v := range m {
		switch {
		case declared[k] == nil:
			delete(m, k)
			dropped = append(dropped, prefix+k)
		case v == nil:
			delete(m, k)
		}
	}
	return dropped
}

func check(m map[string]any, declared map[string]*Field, prefix string) error {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := declared[k].Check(m[k]); err != nil {
			err.Field = prefix + k + err.Field
			return err
		}
	}
	return nil
}

// Check checks one value against the field. A non-nil error's Field is "" for the value
// itself or "[i]" for item i of a list; Apply prefixes it with the key's path.
func (f *Field) Check(v any) *FieldError {
	if f.Type == TypeList {
		items, ok := asList(v)
		if !ok {
			return &FieldError{"", fmt.Sprintf("expected a list of at most %d items, got %s", f.Max, describe(v))}
		}
		if len(items) > f.Max {
			return &FieldError{"", fmt.Sprintf("expected a list of at most %d items, got %d items", f.Max, len(items))}
		}
		for i, it := range items {
			if err := f.Items.Check(it); err != nil {
				err.Field = "[" + strconv.Itoa(i) + "]" + err.Field
				return err
			}
		}
		return nil
	}
	if msg := f.checkScalar(v); msg != "" {
		return &FieldError{"", msg}
	}
	if s, ok := v.(string); ok {
		if reason := redact.Check(s); reason != "" {
			return &FieldError{"", "value looks like personal data (" + reason + ")"}
		}
	}
	return nil
}

// checkScalar returns what was expected when v does not fit f, or "".
func (f *Field) checkScalar(v any) string {
	switch f.Type {
	case TypeString:
		s, ok := v.(string)
		if !ok {
			return "expected " + f.expect() + ", got " + describe(v)
		}
		limit := MaxStringLen
		if f.Max > 0 {
			limit = f.Max
		}
		if n := utf8.RuneCountInString(s); n > limit {
			return fmt.Sprintf("expected a string of at most %d characters, got %d characters", limit, n)
		}
		if f.re != nil && !f.re.MatchString(s) {
			return fmt.Sprintf("expected a string matching %s, got one that does not match", f.Pattern)
		}
		if f.re == nil {
			if i, r, bad := controlChar(s); bad {
				return fmt.Sprintf("expected a string without control characters, got %U at character %d", r, i+1)
			}
		}
	case TypeEnum:
		s, ok := v.(string)
		if !ok || !f.values[s] {
			got := describe(v)
			if ok {
				got = "another value"
			}
			return "expected " + f.expect() + ", got " + got
		}
	case TypeSemver:
		s, ok := v.(string)
		if !ok || !IsSemver(s) {
			got := describe(v)
			if ok {
				got = "a string that is not one"
			}
			return "expected " + f.expect() + ", got " + got
		}
	case TypeBool:
		if _, ok := v.(bool); !ok {
			return "expected " + f.expect() + ", got " + describe(v)
		}
	case TypeInt:
		n, ok := asNumber(v)
		if !ok || !n.isInt() || n.outside(f.Min, f.MaxInt) {
			return "expected " + f.expect() + ", got " + describe(v)
		}
	case TypeFloat:
		n, ok := asNumber(v)
		if !ok || !n.finite() || (f.MinNum != nil && n.f < *f.MinNum) || (f.MaxNum != nil && n.f > *f.MaxNum) {
			return "expected " + f.expect() + ", got " + describe(v)
		}
	default:
		return "has an unknown type " + strconv.Quote(f.Type)
	}
	return ""
}

// expect describes the values f accepts, for error messages.
func (f *Field) expect() string {
	switch f.Type {
	case TypeString:
		switch {
		case f.Pattern != "":
			return "a string matching " + f.Pattern
		case f.Max > 0:
			return fmt.Sprintf("a string of at most %d characters", f.Max)
		}
		return "a string"
	case TypeEnum:
		return "one of " + strings.Join(f.Values, ", ")
	case TypeSemver:
		return "a semantic version such as 1.2.3"
	case TypeBool:
		return "true or false"
	case TypeInt:
		lo, hi := int64(-MaxSafeInt), int64(MaxSafeInt)
		if f.Min != nil {
			lo = *f.Min
		}
		if f.MaxInt != nil {
			hi = *f.MaxInt
		}
		return fmt.Sprintf("an integer from %d to %d", lo, hi)
	case TypeFloat:
		switch {
		case f.MinNum != nil && f.MaxNum != nil:
			return fmt.Sprintf("a number from %s to %s", formatFloat(*f.MinNum), formatFloat(*f.MaxNum))
		case f.MinNum != nil:
			return "a number of at least " + formatFloat(*f.MinNum)
		case f.MaxNum != nil:
			return "a number of at most " + formatFloat(*f.MaxNum)
		}
		return "a finite number"
	case TypeList:
		return fmt.Sprintf("a list of at most %d items", f.Max)
	}
	return f.Type
}

// describe says what v is, for error messages: numbers and booleans are shown, strings are
// not (they could be personal data).
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		if _, ok := asNumber(x); !ok || len(x) > 40 {
			return "an invalid number"
		}
		return string(x)
	case map[string]any:
		return "an object"
	}
	if n, ok := asNumber(v); ok {
		if n.exact {
			return strconv.FormatInt(n.i, 10)
		}
		if n.big != "" {
			return n.big
		}
		return formatFloat(n.f)
	}
	if _, ok := asList(v); ok {
		return "a list"
	}
	return "a value of an unsupported type"
}

// number is a numeric value: f always, i when exact (an integer that fits in int64).
type number struct {
	f     float64
	i     int64
	exact bool
	big   string // the text of an unsigned integer beyond int64
}

func (n number) finite() bool { return !math.IsNaN(n.f) && !math.IsInf(n.f, 0) }

// isInt reports whether n is an integer within ±MaxSafeInt.
func (n number) isInt() bool {
	if n.exact {
		return n.i >= -MaxSafeInt && n.i <= MaxSafeInt
	}
	return n.finite() && n.f == math.Trunc(n.f) && math.Abs(n.f) <= MaxSafeInt
}

// outside reports whether the integer n lies outside [lo, hi]; nil bounds are open.
func (n number) outside(lo, hi *int64) bool {
	i := n.i
	if !n.exact {
		i = int64(n.f) // isInt holds, so this is exact
	}
	return lo != nil && i < *lo || hi != nil && i > *hi
}

func asNumber(v any) (number, bool) {
	switch x := v.(type) {
	case float64:
		return fromFloat(x), true
	case float32:
		return fromFloat(float64(x)), true
	case json.Number:
		s := string(x)
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return number{f: float64(i), i: i, exact: true}, true
		}
		if !jsonNumber(s) {
			return number{}, false
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil && !math.IsInf(f, 0) {
			return number{}, false
		}
		return fromFloat(f), true
	case int:
		return number{f: float64(x), i: int64(x), exact: true}, true
	case int8:
		return number{f: float64(x), i: int64(x), exact: true}, true
	case int16:
		return number{f: float64(x), i: int64(x), exact: true}, true
	case int32:
		return number{f: float64(x), i: int64(x), exact: true}, true
	case int64:
		return number{f: float64(x), i: x, exact: true}, true
	case uint, uint8, uint16, uint32, uint64, uintptr:
		u := reflect.ValueOf(x).Uint()
		if u > math.MaxInt64 {
			return number{f: float64(u), big: strconv.FormatUint(u, 10)}, true
		}
		return number{f: float64(u), i: int64(u), exact: true}, true
	}
	return number{}, false
}

func fromFloat(f float64) number {
	n := number{f: f}
	if f == math.Trunc(f) && math.Abs(f) <= MaxSafeInt {
		n.i, n.exact = int64(f), true
	}
	return n
}

// jsonNumber reports whether s is a number in JSON syntax (json.Number can hold anything,
// and strconv.ParseFloat also reads "NaN", "Inf" and hex).
func jsonNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - j
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

func asList(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out, true
	}
	return nil, false
}

// IsSemver reports whether s is a semantic version 2.0.0 ("1.2.3", "1.0.0-rc.1+build.5"),
// without a leading "v", at most 256 characters.
func IsSemver(s string) bool {
	if len(s) > MaxStringLen {
		return false
	}
	core, build, hasBuild := strings.Cut(s, "+")
	core, pre, hasPre := strings.Cut(core, "-")
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if !numericID(p) {
			return false
		}
	}
	if hasPre && !identifiers(pre, true) {
		return false
	}
	if hasBuild && !identifiers(build, false) {
		return false
	}
	return true
}

// numericID: digits, no leading zero unless "0".
func numericID(s string) bool {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// identifiers checks dot-separated [0-9A-Za-z-]+ identifiers; in a pre-release, numeric ones
// have no leading zero.
func identifiers(s string, pre bool) bool {
	for _, id := range strings.Split(s, ".") {
		if id == "" {
			return false
		}
		numeric := true
		for i := 0; i < len(id); i++ {
			c := id[i]
			switch {
			case c >= '0' && c <= '9':
			case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-':
				numeric = false
			default:
				return false
			}
		}
		if pre && numeric && !numericID(id) {
			return false
		}
	}
	return true
}

// controlChar finds the first control character of s (C0, DEL, C1) or
// bidirectional formatting character (which can make a terminal or page show
// text other than what it holds): its index in characters, and the rune.
// Strings with a pattern are left to the pattern.
func controlChar(s string) (int, rune, bool) {
	i := 0
	for _, r := range s {
		if unicode.IsControl(r) || isBidiControl(r) {
			return i, r, true
		}
		i++
	}
	return 0, 0, false
}

func isBidiControl(r rune) bool {
	return r == 0x061C || r == 0x200E || r == 0x200F || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}
