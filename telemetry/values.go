package telemetry

import (
	"math"
	"reflect"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/abacushq/abacus/telemetry/redact"
	"github.com/abacushq/abacus/telemetry/wire"
)

// maxListItems bounds one list value; the tracking plan usually bounds it lower.
const maxListItems = 256

// sanitizer turns host values into values safe to send: strings, numbers, bools
// and lists of those; strings cut to wire.MaxStringLen characters, and strings
// that look personal or secret replaced by redact.Placeholder.
type sanitizer struct {
	rules redact.Rules
}

// newSanitizer returns the sanitizer of a client whose user's home directory is
// home: every absolute path is redacted, not only home directories.
func newSanitizer(home string) sanitizer {
	return sanitizer{rules: redact.Rules{Home: home, AbsolutePaths: true}}
}

// props cleans a property or build map. It returns nil for an empty result and
// counts the keys it dropped (unsupported types, bad names, past the 64-key cap).
func (s sanitizer) props(in map[string]any) (out map[string]any, dropped int) {
	if len(in) == 0 {
		return nil, 0
	}
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out = make(map[string]any, min(len(in), wire.MaxPropertiesPerEvent))
	for _, k := range keys {
		if len(out) == wire.MaxPropertiesPerEvent || !validKey(k) {
			dropped++
			continue
		}
		v, ok := s.value(in[k], true)
		if !ok {
			dropped++
			continue
		}
		out[k] = v
	}
	if len(out) == 0 {
		out = nil
	}
	return out, dropped
}

// value cleans one value; lists are allowed only at the top level.
func (s sanitizer) value(v any, listOK bool) (any, bool) {
	switch x := v.(type) {
	case string:
		return s.str(x), true
	case bool:
		return x, true
	case int:
		return x, true
	case int64:
		return x, true
	case int32:
		return x, true
	case uint:
		return x, true
	case uint64:
		return x, true
	case uint32:
		return x, true
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case float32:
		return x, !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0)
	case []string:
		if !listOK {
			return nil, false
		}
		out := make([]any, 0, min(len(x), maxListItems))
		for _, e := range x[:min(len(x), maxListItems)] {
			out = append(out, s.str(e))
		}
		return out, true
	case nil:
		return nil, false
	}
	// Named types (type Plugin string), other numeric kinds and other slices.
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String:
		return s.str(rv.String()), true
	case reflect.Bool:
		return rv.Bool(), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return rv.Uint(), true
	case reflect.Float32, reflect.Float64:
		f := rv.Float()
		return f, !math.IsNaN(f) && !math.IsInf(f, 0)
	case reflect.Slice, reflect.Array:
		if !listOK || rv.Type().Elem().Kind() == reflect.Uint8 {
			return nil, false
		}
		n := min(rv.Len(), maxListItems)
		out := make([]any, 0, n)
		for i := 0; i < n; i++ {
			e, ok := s.value(rv.Index(i).Interface(), false)
			if !ok {
				return nil, false
			}
			out = append(out, e)
		}
		return out, true
	}
	return nil, false
}

// str makes a string valid UTF-8, cuts it to wire.MaxStringLen characters and
// redacts it when it looks personal.
func (s sanitizer) str(v string) string {
	if !utf8.ValidString(v) {
		v = strings.ToValidUTF8(v, "\uFFFD")
	}
	if utf8.RuneCountInString(v) > wire.MaxStringLen {
		n := 0
		for i := range v {
			if n == wire.MaxStringLen {
				v = v[:i]
				break
			}
			n++
		}
	}
	if s.rules.Check(v) != "" {
		return redact.Placeholder
	}
	return v
}

// validKey reports whether k can name a property: 1 to 64 characters, a letter
// first, then letters, digits and underscores.
func validKey(k string) bool {
	if len(k) == 0 || len(k) > 64 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '_') {
			continue
		}
		return false
	}
	return true
}

// validEventName reports whether name can name an event: 1 to 64 characters, a
// letter first, then letters, digits and _ . : -.
func validEventName(name string) bool {
	if len(name) == 0 || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' ||
			i > 0 && (c >= '0' && c <= '9' || c == '_' || c == '.' || c == ':' || c == '-') {
			continue
		}
		return false
	}
	return true
}
