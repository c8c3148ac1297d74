package duckdb

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/abacushq/abacus/telemetry/wire"
)

// parseUUID parses the 36-character UUID form (hex digits of either case).
func parseUUID(s string) (duckdb.UUID, bool) {
	u, ok := wire.ParseUUID(s)
	return duckdb.UUID(u), ok
}

// formatUUID returns the lowercase 36-character form of the 16 bytes in b.
func formatUUID(b []byte) string { return wire.FormatUUID([16]byte(b)) }

// uuidLiteral returns u as a SQL literal.
func uuidLiteral(u duckdb.UUID) string {
	return "'" + formatUUID(u[:]) + "'::UUID"
}

// ceilMS rounds t up to a whole millisecond. Stored times are whole
// milliseconds, so for a stored time x: x >= t ⇔ x >= ceilMS(t) and
// x < t ⇔ x < ceilMS(t).
func ceilMS(t time.Time) time.Time {
	f := t.Truncate(time.Millisecond)
	if f.Equal(t) {
		return f.UTC()
	}
	return f.Add(time.Millisecond).UTC()
}

// errUnsupported wraps the errors of values that have no JSON form here.
var errUnsupported = errors.New("unsupported value")

// appendJSON appends v as JSON: object keys sorted, so that equal maps give
// equal text (and compress into one dictionary entry), floats always with a
// '.' or an exponent so that they come back as float64 and ints as int64.
func appendJSON(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendJSONString(b, v), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int8:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int16:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int32:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case uint:
		return strconv.AppendUint(b, uint64(v), 10), nil
	case uint8:
		return strconv.AppendUint(b, uint64(v), 10), nil
	case uint16:
		return strconv.AppendUint(b, uint64(v), 10), nil
	case uint32:
		return strconv.AppendUint(b, uint64(v), 10), nil
	case uint64:
		return strconv.AppendUint(b, v, 10), nil
	case float32:
		return appendFloat(b, float64(v), 32)
	case float64:
		return appendFloat(b, v, 64)
	case []any:
		b = append(b, '[')
		for i, x := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, x); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	case []string:
		b = append(b, '[')
		for i, x := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, x)
		}
		return append(b, ']'), nil
	case map[string]any:
		return appendObject(b, v, "")
	}
	return b, fmt.Errorf("%w of type %T", errUnsupported, v)
}

// appendObject appends m as a JSON object with sorted keys, leaving out the
// key skip (when not "").
func appendObject(b []byte, m map[string]any, skip string) ([]byte, error) {
	var arr [16]string
	keys := arr[:0]
	for k := range m {
		if k != skip || skip == "" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		var err error
		if b, err = appendJSON(b, m[k]); err != nil {
			return b, fmt.Errorf("%q: %w", k, err)
		}
	}
	return append(b, '}'), nil
}

func appendFloat(b []byte, f float64, bits int) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, fmt.Errorf("%w: %v has no JSON form", errUnsupported, f)
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, 'g', -1, bits)
	if !bytes.ContainsAny(b[start:], ".eE") {
		b = append(b, ".0"...)
	}
	return b, nil
}

const hexDigits = "0123456789abcdef"

func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// decodeObject decodes a JSON object written by appendJSON: integers become
// int64, other numbers float64.
func decodeObject(s string) (map[string]any, error) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	for k, v := range m {
		m[k] = fromJSON(v)
	}
	return m, nil
}

func fromJSON(v any) any {
	switch v := v.(type) {
	case json.Number:
		s := string(v)
		if !strings.ContainsAny(s, ".eE") {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return n
			}
		}
		f, _ := strconv.ParseFloat(s, 64)
		return f
	case []any:
		for i, x := range v {
			v[i] = fromJSON(x)
		}
		return v
	case map[string]any:
		for k, x := range v {
			v[k] = fromJSON(x)
		}
		return v
	}
	return v
}

// splitBuild separates build.plugins, when it is a list of strings, from the
// other build keys: the first goes to the plugins LIST column, the rest to
// the build JSON column (nil when there are none). plugins is nil when there
// is no such list.
func splitBuild(build map[string]any) (plugins []string, rest []byte, err error) {
	skip := ""
	switch p := build["plugins"].(type) {
	case []string:
		plugins, skip = p, "plugins"
		if plugins == nil {
			plugins = []string{}
		}
	case []any:
		plugins, skip = make([]string, 0, len(p)), "plugins"
		for _, x := range p {
			s, ok := x.(string)
			if !ok {
				plugins, skip = nil, ""
				break
			}
			plugins = append(plugins, s)
		}
	}
	if n := len(build); n == 0 || (n == 1 && skip != "") {
		return plugins, nil, nil
	}
	rest, err = appendObject(nil, build, skip)
	return plugins, rest, err
}
