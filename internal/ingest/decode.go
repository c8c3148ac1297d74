package ingest

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/abacushq/abacus/internal/jsonscan"
	"github.com/abacushq/abacus/telemetry/wire"
)

// The event decoder.
//
// One event's JSON is decoded by hand, in one pass that also validates it: the envelope
// scanner (scan.go) only matched its brackets. The decoder reproduces what json.Unmarshal
// into inEvent (then wire.Product, wire.Context and map[string]any for the parts) did, to
// the byte, and FuzzDecodeEquivalence holds it to that against the encoding/json-based
// reference kept in ref_test.go:
//
//   - The input is valid JSON or the event is "bad" (the whole request is then malformed,
//     and encoding/json names the error). Nesting deeper than 10000 levels is bad, as it is
//     for encoding/json (scan.go allows far less anyway).
//   - Object keys are unescaped, then matched to a field exactly or, failing that, without
//     regard to case as encoding/json folds them ("ID", "ProjectID", "\u0069d"). Unknown keys
//     are skipped (and validated). A repeated key decodes again: the last value wins, a
//     repeated "properties" object adds to the map of the first, and null resets it.
//   - null leaves a string, number or boolean field as it was, and makes a map nil.
//   - A value of the wrong JSON type is a type error; the first one in the document (the
//     rest is still validated) is the event's rejection, with encoding/json's path and
//     the same wording as before ("context.cpus: expected an integer, got a string").
//     Integers must be JSON integers within int64 ("a number that is not an integer in
//     range" otherwise). Numbers decoded into any are float64 (strconv.ParseFloat), and one
//     beyond float64 is a type error of the map it is in ("properties: expected a finite
//     number, got a number out of range").
//   - Strings are unescaped as encoding/json does: \uXXXX pairs make one rune, an unpaired
//     surrogate becomes U+FFFD. The input is known to be valid UTF-8 (checkUTF8).
//   - Arrays decode to []any (empty, not nil, for []), objects to map[string]any.
//
// Strings that the events of a batch repeat (names, IDs, keys, short values) are interned
// per request, so that decoding them allocates once.

// maxJSONDepth is encoding/json's nesting limit.
const maxJSONDepth = 10000

// jdec is the decoder's per-request state, kept in the scratch.
type jdec struct {
	stack    []any  // items of the arrays being decoded
	kbuf     []byte // an unescaped key
	vbuf     []byte // an unescaped string value
	strs     interner
	rangeErr bool   // a number beyond float64 was decoded into any
	ids      []byte // the request's event IDs, back to back (see id)
}

// id returns s as a string that shares one allocation with the other IDs of
// the request: the bytes are only ever appended to, never reused, so the
// strings stay valid for as long as they are referenced.
func (d *jdec) id(s []byte) string {
	if len(s) == 0 {
		return ""
	}
	if len(d.ids)+len(s) > cap(d.ids) {
		d.ids = make([]byte, 0, max(4096, len(s)))
	}
	start := len(d.ids)
	d.ids = append(d.ids, s...)
	return unsafe.String(&d.ids[start], len(s))
}

func (d *jdec) reset() {
	clear(d.stack[:cap(d.stack)])
	d.stack = d.stack[:0]
	if cap(d.stack) > 1024 {
		d.stack = nil
	}
	if cap(d.kbuf) > 4096 {
		d.kbuf = nil
	}
	if cap(d.vbuf) > 4096 {
		d.vbuf = nil
	}
	d.strs = interner{}
	d.rangeErr = false
	d.ids = nil // never reused: the strings of the last request point into it
}

// interner remembers recent strings, so that repeated text shares one allocation. It is
// a hash table of 2-way sets; a miss evicts the older string of the set.
type interner struct {
	tab [internSets][2]string
}

const (
	internBits = 6
	internSets = 1 << internBits
	// maxInterned is the longest string interned (a prefixed project ID fits).
	maxInterned = 96
)

func (t *interner) str(b []byte) string {
	n := len(b)
	if n == 0 {
		return ""
	}
	if n > maxInterned {
		return string(b)
	}
	var x uint64
	if n >= 8 {
		x = binary.LittleEndian.Uint64(b) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(b[n-8:]), 31)
	} else {
		for _, c := range b {
			x = x<<8 | uint64(c)
		}
	}
	x ^= uint64(n) << 56
	set := &t.tab[(x*0x9e3779b97f4a7c15)>>(64-internBits)]
	if set[0] == string(b) {
		return set[0]
	}
	if set[1] == string(b) {
		set[0], set[1] = set[1], set[0]
		return set[0]
	}
	s := string(b)
	set[1], set[0] = set[0], s
	return s
}

// Fields of an event, as numbered by eventField.
const (
	fUnknown = iota
	fID
	fEvent
	fTimestamp
	fProjectID
	fMachineID
	fSessionID
	fEnvironment
	fProduct
	fContext
	fBuild
	fProperties
)

// eventFields are the JSON names of inEvent's fields, by number.
var eventFields = [...]string{
	fID:          "id",
	fEvent:       "event",
	fTimestamp:   "timestamp",
	fProjectID:   "projectId",
	fMachineID:   "machineId",
	fSessionID:   "sessionId",
	fEnvironment: "environment",
	fProduct:     "product",
	fContext:     "context",
	fBuild:       "build",
	fProperties:  "properties",
}

var eventFolded = foldedNames(eventFields[:])

// eventField numbers the (unescaped) key of an event object.
func eventField(key []byte) int {
	switch string(key) {
	case "id":
		return fID
	case "event":
		return fEvent
	case "timestamp":
		return fTimestamp
	case "projectId":
		return fProjectID
	case "machineId":
		return fMachineID
	case "sessionId":
		return fSessionID
	case "environment":
		return fEnvironment
	case "product":
		return fProduct
	case "context":
		return fContext
	case "build":
		return fBuild
	case "properties":
		return fProperties
	}
	return foldedField(key, eventFolded)
}

// foldedNames folds field names as encoding/json does; index 0 is unused.
func foldedNames(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		if n != "" {
			out[i] = string(appendFoldedName(nil, []byte(n)))
		}
	}
	return out
}

// foldedField returns the index of the field whose folded name is key's, or 0.
func foldedField(key []byte, folded []string) int {
	var arr [32]byte
	k := appendFoldedName(arr[:0], key)
	for i, f := range folded {
		if i > 0 && f == string(k) {
			return i
		}
	}
	return 0
}

// appendFoldedName is encoding/json's: it folds a name so that two names fold alike
// exactly when bytes.EqualFold says they are equal.
func appendFoldedName(out, in []byte) []byte {
	for i := 0; i < len(in); {
		// Handle single-byte ASCII.
		if c := in[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		// Handle multi-byte Unicode.
		r, n := utf8.DecodeRune(in[i:])
		out = utf8.AppendRune(out, foldRune(r))
		i += n
	}
	return out
}

// foldRune returns the smallest rune for all runes in the same fold set.
func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

// event decodes the object raw (raw[0] == '{') into in, which must be zero. It returns the
// message of the first type error, if any, and ok == false when raw is not valid JSON.
// Strings of in do not point into raw; in.Product, in.Context and in.Build do.
func (d *jdec) event(sc *scratch, raw []byte, in *inEvent) (typeMsg string, ok bool) {
	b := raw
	const depth = 1
	i := skipWS(b, 1)
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			if i >= len(b) || b[i] != '"' {
				return "", false
			}
			ke, esc := jsonscan.StrEnd(b, i)
			if ke < 0 {
				return "", false
			}
			f := eventField(d.key(b[i+1:ke-1], esc))
			i = skipWS(b, ke)
			if i >= len(b) || b[i] != ':' {
				return "", false
			}
			i = skipWS(b, i+1)
			if i >= len(b) {
				return "", false
			}
			start := i
			switch f {
			case fID, fEvent, fProjectID, fMachineID, fSessionID, fEnvironment:
				if b[i] != '"' {
					if i = skipJSON(b, i, depth); i < 0 {
						return "", false
					}
					if b[start] != 'n' && typeMsg == "" {
						typeMsg = eventFields[f] + ": expected a string, got " + describeJSON(b[start])
					}
					break
				}
				e, esc := jsonscan.StrEnd(b, i)
				if e < 0 {
					return "", false
				}
				s := b[i+1 : e-1]
				if esc {
					d.vbuf = appendUnquoted(d.vbuf[:0], s)
					s = d.vbuf
				}
				switch f {
				case fID:
					in.ID = d.id(s) // unique to each event: not worth interning
				case fEvent:
					in.Event = d.strs.str(s)
				case fProjectID:
					in.ProjectID = d.strs.str(s)
				case fMachineID:
					in.MachineID = d.strs.str(s)
				case fSessionID:
					in.SessionID = d.strs.str(s)
				case fEnvironment:
					in.Environment = d.strs.str(s)
				}
				i = e
			case fTimestamp:
				if i = skipJSON(b, i, depth); i < 0 {
					return "", false
				}
				in.Timestamp.set(b[start:i])
			case fProduct, fContext, fBuild:
				// The events of a batch mostly repeat these byte for byte: a value equal to
				// the memo's (valid JSON, and an object, so it ends where the memo's does)
				// needs no validation.
				var n int
				switch f {
				case fProduct:
					n = sc.prodMemo.match(b[i:])
				case fContext:
					n = sc.ctxMemo.match(b[i:])
				default:
					n = sc.buildMemo.match(b[i:])
				}
				if n > 0 {
					i += n
				} else if i = skipJSON(b, i, depth); i < 0 {
					return "", false
				}
				rv := rawOf(b[start:i])
				switch f {
				case fProduct:
					in.Product = rv
				case fContext:
					in.Context = rv
				default:
					in.Build = rv
				}
			case fProperties:
				switch b[i] {
				case '{':
					d.rangeErr = false
					in.Properties, i = d.object(b, i, depth, in.Properties)
					if i < 0 {
						return "", false
					}
					if d.rangeErr && typeMsg == "" {
						typeMsg = msgPropsRange
					}
				case 'n':
					if i = skipJSON(b, i, depth); i < 0 {
						return "", false
					}
					in.Properties = nil
				default:
					if i = skipJSON(b, i, depth); i < 0 {
						return "", false
					}
					if typeMsg == "" {
						typeMsg = "properties: expected an object, got " + describeJSON(b[start])
					}
				}
			default:
				if i = skipJSON(b, i, depth); i < 0 {
					return "", false
				}
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return "", false
			}
			if b[i] == '}' {
				i++
				break
			}
			if b[i] != ',' {
				return "", false
			}
			i = skipWS(b, i+1)
		}
	}
	if skipWS(b, i) != len(b) {
		return "", false
	}
	return typeMsg, true
}

// Messages of numbers beyond float64 in the maps.
const (
	msgPropsRange = "properties: expected a finite number, got a number out of range"
	msgBuildRange = "build: expected a finite number, got a number out of range"
)

// key returns the text of a key (q is between the quotes), in d.kbuf when it has escapes.
func (d *jdec) key(q []byte, esc bool) []byte {
	if !esc {
		return q
	}
	d.kbuf = appendUnquoted(d.kbuf[:0], q)
	return d.kbuf
}

// value decodes the JSON value at b[i] (not whitespace) into any, returning it and the
// index after it, or -1 when the input is not valid JSON. depth is the number of arrays
// and objects around b[i].
func (d *jdec) value(b []byte, i, depth int) (any, int) {
	switch c := b[i]; c {
	case '"':
		e, esc := jsonscan.StrEnd(b, i)
		if e < 0 {
			return nil, -1
		}
		s := b[i+1 : e-1]
		if esc {
			d.vbuf = appendUnquoted(d.vbuf[:0], s)
			s = d.vbuf
		}
		return d.strs.str(s), e
	case '{':
		m, e := d.object(b, i, depth, nil)
		if e < 0 {
			return nil, -1
		}
		return m, e
	case '[':
		return d.array(b, i, depth)
	case 't':
		if len(b)-i >= 4 && string(b[i:i+4]) == "true" {
			return true, i + 4
		}
		return nil, -1
	case 'f':
		if len(b)-i >= 5 && string(b[i:i+5]) == "false" {
			return false, i + 5
		}
		return nil, -1
	case 'n':
		if len(b)-i >= 4 && string(b[i:i+4]) == "null" {
			return nil, i + 4
		}
		return nil, -1
	}
	e, isInt := numEnd(b, i)
	if e < 0 {
		return nil, -1
	}
	f, ok := parseFloat(b[i:e], isInt)
	if !ok {
		d.rangeErr = true
		return nil, e
	}
	return f, e
}

// object decodes the object at b[i] == '{' into m, made when nil, and returns m and the
// index after the object (-1: not valid JSON). Repeated keys: the last value wins.
func (d *jdec) object(b []byte, i, depth int, m map[string]any) (map[string]any, int) {
	if depth++; depth > maxJSONDepth {
		return m, -1
	}
	if m == nil {
		m = make(map[string]any)
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return m, i + 1
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return m, -1
		}
		ks := i
		ke, esc := jsonscan.StrEnd(b, i)
		if ke < 0 {
			return m, -1
		}
		i = skipWS(b, ke)
		if i >= len(b) || b[i] != ':' {
			return m, -1
		}
		i = skipWS(b, i+1)
		if i >= len(b) {
			return m, -1
		}
		var v any
		if v, i = d.value(b, i, depth); i < 0 {
			return m, -1
		}
		// The key is unescaped after the value, which may use d.kbuf too.
		m[d.strs.str(d.key(b[ks+1:ke-1], esc))] = v
		i = skipWS(b, i)
		if i >= len(b) {
			return m, -1
		}
		if b[i] == '}' {
			return m, i + 1
		}
		if b[i] != ',' {
			return m, -1
		}
		i = skipWS(b, i+1)
	}
}

// array decodes the array at b[i] == '[' into a []any (empty, not nil, for []).
func (d *jdec) array(b []byte, i, depth int) (any, int) {
	if depth++; depth > maxJSONDepth {
		return nil, -1
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		return []any{}, i + 1
	}
	base := len(d.stack)
	fail := func() (any, int) {
		clear(d.stack[base:])
		d.stack = d.stack[:base]
		return nil, -1
	}
	for {
		if i >= len(b) {
			return fail()
		}
		var v any
		if v, i = d.value(b, i, depth); i < 0 {
			return fail()
		}
		d.stack = append(d.stack, v)
		i = skipWS(b, i)
		if i >= len(b) {
			return fail()
		}
		if b[i] == ']' {
			items := make([]any, len(d.stack)-base)
			copy(items, d.stack[base:])
			clear(d.stack[base:])
			d.stack = d.stack[:base]
			return items, i + 1
		}
		if b[i] != ',' {
			return fail()
		}
		i = skipWS(b, i+1)
	}
}

// skipJSON validates the JSON value at b[i] (not whitespace) without decoding it and
// returns the index after it, or -1. depth is the number of arrays and objects around it.
func skipJSON(b []byte, i, depth int) int {
	switch c := b[i]; c {
	case '"':
		e, _ := jsonscan.StrEnd(b, i)
		return e
	case '{', '[':
		if depth++; depth > maxJSONDepth {
			return -1
		}
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == closer {
			return i + 1
		}
		for {
			if i >= len(b) {
				return -1
			}
			if c == '{' {
				if b[i] != '"' {
					return -1
				}
				if i, _ = jsonscan.StrEnd(b, i); i < 0 {
					return -1
				}
				i = skipWS(b, i)
				if i >= len(b) || b[i] != ':' {
					return -1
				}
				i = skipWS(b, i+1)
				if i >= len(b) {
					return -1
				}
			}
			if i = skipJSON(b, i, depth); i < 0 {
				return -1
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return -1
			}
			if b[i] == closer {
				return i + 1
			}
			if b[i] != ',' {
				return -1
			}
			i = skipWS(b, i+1)
		}
	case 't':
		if len(b)-i >= 4 && string(b[i:i+4]) == "true" {
			return i + 4
		}
		return -1
	case 'f':
		if len(b)-i >= 5 && string(b[i:i+5]) == "false" {
			return i + 5
		}
		return -1
	case 'n':
		if len(b)-i >= 4 && string(b[i:i+4]) == "null" {
			return i + 4
		}
		return -1
	}
	e, _ := numEnd(b, i)
	return e
}

// appendUnquoted appends the text of a valid JSON string's content s (between the quotes)
// to dst, as encoding/json unescapes it.
func appendUnquoted(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			j := i + 1
			for j < len(s) && s[j] != '\\' {
				j++
			}
			dst = append(dst, s[i:j]...)
			i = j
			continue
		}
		if i+1 >= len(s) {
			return dst // cannot happen in a valid string
		}
		c := s[i+1]
		switch c {
		case 'b':
			c = '\b'
		case 'f':
			c = '\f'
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 't':
			c = '\t'
		case 'u':
			r := rune(-1)
			if len(s)-i >= 6 {
				r = jsonscan.Hex4(s[i+2 : i+6])
			}
			if r < 0 {
				return dst // cannot happen in a valid string
			}
			i += 6
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if len(s)-i >= 6 && s[i] == '\\' && s[i+1] == 'u' {
					r2 = jsonscan.Hex4(s[i+2 : i+6])
				}
				if dec := utf16.DecodeRune(r, r2); dec != unicode.ReplacementChar {
					i += 6
					dst = utf8.AppendRune(dst, dec)
					continue
				}
				r = unicode.ReplacementChar
			}
			dst = utf8.AppendRune(dst, r)
			continue
		}
		// '"', '\\', '/' stand for themselves.
		dst = append(dst, c)
		i += 2
	}
	return dst
}

// numEnd validates the JSON number at b[i] and returns the index after it (-1: not a
// number) and whether it is an integer (no fraction, no exponent).
func numEnd(b []byte, i int) (int, bool) {
	j := i
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j >= len(b):
		return -1, false
	case b[j] == '0':
		j++
	case b[j] >= '1' && b[j] <= '9':
		j++
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
	default:
		return -1, false
	}
	isInt := true
	if j < len(b) && b[j] == '.' {
		isInt = false
		j++
		if j >= len(b) || b[j] < '0' || b[j] > '9' {
			return -1, false
		}
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		isInt = false
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if j >= len(b) || b[j] < '0' || b[j] > '9' {
			return -1, false
		}
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
	}
	return j, isInt
}

// parseFloat reads a valid JSON number as encoding/json does into any: ok is false when it
// is beyond float64.
func parseFloat(s []byte, isInt bool) (float64, bool) {
	if isInt && len(s) <= 16 {
		// Up to 15 digits: exactly representable, as ParseFloat would return it.
		neg := s[0] == '-'
		digits := s
		if neg {
			digits = s[1:]
		}
		if len(digits) <= 15 {
			var n int64
			for _, c := range digits {
				n = n*10 + int64(c-'0')
			}
			f := float64(n)
			if neg {
				f = -f
			}
			return f, true
		}
	}
	f, err := strconv.ParseFloat(string(s), 64)
	return f, err == nil
}

// parseInt reads a valid JSON number as encoding/json does into an int64 (strconv.ParseInt):
// ok is false for a fraction, an exponent or a value beyond int64.
func parseInt(s []byte) (int64, bool) {
	neg := s[0] == '-'
	digits := s
	if neg {
		digits = s[1:]
	}
	if len(digits) == 0 || len(digits) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if neg {
		if n > 1<<63 {
			return 0, false
		}
		return -int64(n), true
	}
	if n > 1<<63-1 {
		return 0, false
	}
	return int64(n), true
}

// A struct of the event (wire.Product, wire.Context) is decoded from its raw JSON, already
// validated, by fields: each has a JSON name and a type.
type fieldType uint8

const (
	typeString fieldType = iota
	typeBool
	typeInt   // int
	typeInt64 // int64
)

var expectedType = [...]string{typeString: "a string", typeBool: "true or false", typeInt: "an integer", typeInt64: "an integer"}

// structValue is one decoded field value.
type structValue struct {
	s string
	b bool
	n int64
}

// decodeStruct decodes the object raw into fields: set is called with the field's index
// and value, in document order. It returns the message of the first type error, which
// ends the decoding. raw is valid JSON, not null; names[0] is unused, folded are the
// names folded.
func (d *jdec) decodeStruct(raw []byte, prefix string, names, folded []string, types []fieldType, set func(int, structValue)) string {
	b := raw
	if b[0] != '{' {
		return prefix + ": expected an object, got " + describeJSON(b[0])
	}
	invalid := prefix + ": expected valid JSON" // cannot happen: raw was validated
	i := skipWS(b, 1)
	if i < len(b) && b[i] == '}' {
		return ""
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return invalid
		}
		ke, esc := jsonscan.StrEnd(b, i)
		if ke < 0 {
			return invalid
		}
		key := d.key(b[i+1:ke-1], esc)
		f := 0
		for j := 1; j < len(names); j++ {
			if names[j] == string(key) {
				f = j
				break
			}
		}
		if f == 0 {
			f = foldedField(key, folded)
		}
		i = skipWS(b, ke)
		if i >= len(b) || b[i] != ':' {
			return invalid
		}
		i = skipWS(b, i+1)
		if i >= len(b) {
			return invalid
		}
		start := i
		if i = skipJSON(b, i, 1); i < 0 {
			return invalid
		}
		if f > 0 && b[start] != 'n' {
			v := b[start:i]
			var sv structValue
			ok := false
			switch types[f] {
			case typeString:
				if v[0] == '"' {
					q := v[1 : len(v)-1]
					if _, esc := jsonscan.StrEnd(v, 0); esc {
						d.vbuf = appendUnquoted(d.vbuf[:0], q)
						q = d.vbuf
					}
					sv.s, ok = string(q), true
				}
			case typeBool:
				if v[0] == 't' || v[0] == 'f' {
					sv.b, ok = v[0] == 't', true
				}
			case typeInt, typeInt64:
				if v[0] == '-' || v[0] >= '0' && v[0] <= '9' {
					sv.n, ok = parseInt(v)
					if ok && types[f] == typeInt && int64(int(sv.n)) != sv.n {
						ok = false // beyond a 32-bit int
					}
					if !ok {
						return prefix + "." + names[f] + ": expected an integer, got a number that is not an integer in range"
					}
				}
			}
			if !ok {
				return prefix + "." + names[f] + ": expected " + expectedType[types[f]] + ", got " + describeJSON(v[0])
			}
			set(f, sv)
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return invalid
		}
		if b[i] == '}' {
			return ""
		}
		if b[i] != ',' {
			return invalid
		}
		i = skipWS(b, i+1)
	}
}

var (
	productNames  = []string{"", "name", "version"}
	productFolded = foldedNames(productNames)
	productTypes  = []fieldType{0, typeString, typeString}
)

// decodeProduct decodes the raw JSON (valid, not null) of an event's product.
func (d *jdec) decodeProduct(raw []byte) (p wire.Product, msg string) {
	msg = d.decodeStruct(raw, "product", productNames, productFolded, productTypes, func(f int, v structValue) {
		if f == 1 {
			p.Name = v.s
		} else {
			p.Version = v.s
		}
	})
	return p, msg
}

const (
	cOS = 1 + iota
	cOSVersion
	cArch
	cCPUs
	cMemoryMB
	cRuntime
	cRuntimeVersion
	cCI
	cCIName
	cDocker
	cWSL
	cSDK
)

var (
	contextNames = []string{"", cOS: "os", cOSVersion: "osVersion", cArch: "arch", cCPUs: "cpus", cMemoryMB: "memoryMB",
		cRuntime: "runtime", cRuntimeVersion: "runtimeVersion", cCI: "ci", cCIName: "ciName", cDocker: "docker", cWSL: "wsl", cSDK: "sdk"}
	contextFolded = foldedNames(contextNames)
	contextTypes  = []fieldType{0, cOS: typeString, cOSVersion: typeString, cArch: typeString, cCPUs: typeInt, cMemoryMB: typeInt64,
		cRuntime: typeString, cRuntimeVersion: typeString, cCI: typeBool, cCIName: typeString, cDocker: typeBool, cWSL: typeBool, cSDK: typeString}
)

// decodeContext decodes the raw JSON (valid, not null) of an event's context.
func (d *jdec) decodeContext(raw []byte) (c wire.Context, msg string) {
	msg = d.decodeStruct(raw, "context", contextNames, contextFolded, contextTypes, func(f int, v structValue) {
		switch f {
		case cOS:
			c.OS = v.s
		case cOSVersion:
			c.OSVersion = v.s
		case cArch:
			c.Arch = v.s
		case cCPUs:
			c.CPUs = int(v.n)
		case cMemoryMB:
			c.MemoryMB = v.n
		case cRuntime:
			c.Runtime = v.s
		case cRuntimeVersion:
			c.RuntimeVersion = v.s
		case cCI:
			c.CI = v.b
		case cCIName:
			c.CIName = v.s
		case cDocker:
			c.Docker = v.b
		case cWSL:
			c.WSL = v.b
		case cSDK:
			c.SDK = v.s
		}
	})
	return c, msg
}

// decodeBuild decodes the raw JSON (valid, not null) of an event's build.
func (d *jdec) decodeBuild(raw []byte) (m map[string]any, msg string) {
	if raw[0] != '{' {
		return nil, "build: expected an object, got " + describeJSON(raw[0])
	}
	d.rangeErr = false
	m, end := d.object(raw, 0, 0, nil)
	if end < 0 {
		return nil, "build: expected valid JSON" // cannot happen: raw was validated
	}
	if d.rangeErr {
		return nil, msgBuildRange
	}
	return m, ""
}
