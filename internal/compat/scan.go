package compat

import (
	"strconv"

	"github.com/abacushq/abacus/internal/jsonscan"
)

// The scanner.
//
// The mappings read a foreign body in one pass (fast.go) with these few
// functions, in the style of package ingest's event decoder: every byte is
// validated as it is read, values that are only copied are validated and
// copied as they are (compacted when they hold whitespace), and nothing is
// decoded into maps. They are strict: anything they do not handle exactly as
// encoding/json does makes them return -1, and the mapping then declines the
// body to the encoding/json path, which gives the same result or the error.

// maxDepth is how deeply a value the scanner reads may nest; deeper bodies
// are left to the encoding/json path (the native batch allows 64 levels in
// all, and a mapped value sits at most 4 levels down).
const maxDepth = 32

// maxPlainNumber is the longest number checked by grammar only: a shorter
// number without an exponent is within float64's range.
const maxPlainNumber = 300

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// ws returns the index of the first byte at or after i that is not whitespace.
func ws(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// numEnd validates the JSON number at b[i] and returns the index after it, or
// -1 when it is not a number or is beyond float64 (which encoding/json
// refuses to decode into any).
func numEnd(b []byte, i int) int {
	j := i
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j >= len(b):
		return -1
	case b[j] == '0':
		j++
	case b[j] >= '1' && b[j] <= '9':
		for j++; j < len(b) && b[j] >= '0' && b[j] <= '9'; j++ {
		}
	default:
		return -1
	}
	if j < len(b) && b[j] == '.' {
		j++
		d := j
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j == d {
			return -1
		}
	}
	exp := false
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		exp = true
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		d := j
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j == d {
			return -1
		}
	}
	if exp || j-i > maxPlainNumber {
		if _, err := strconv.ParseFloat(string(b[i:j]), 64); err != nil {
			return -1
		}
	}
	return j
}

// skip validates the JSON value at b[i] (not whitespace) and returns the
// index after it, or -1. depth is the nesting of the value; spaced is set
// when whitespace was found inside it.
func skip(b []byte, i, depth int, spaced *bool) int {
	if i >= len(b) {
		return -1
	}
	switch c := b[i]; c {
	case '"':
		e, _ := jsonscan.StrEnd(b, i)
		return e
	case '{', '[':
		if depth >= maxDepth {
			return -1
		}
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		i = wsIn(b, i+1, spaced)
		if i < len(b) && b[i] == closer {
			return i + 1
		}
		for {
			if c == '{' {
				if i >= len(b) || b[i] != '"' {
					return -1
				}
				if i, _ = jsonscan.StrEnd(b, i); i < 0 {
					return -1
				}
				i = wsIn(b, i, spaced)
				if i >= len(b) || b[i] != ':' {
					return -1
				}
				i = wsIn(b, i+1, spaced)
			}
			if i = skip(b, i, depth+1, spaced); i < 0 {
				return -1
			}
			i = wsIn(b, i, spaced)
			if i >= len(b) {
				return -1
			}
			if b[i] == closer {
				return i + 1
			}
			if b[i] != ',' {
				return -1
			}
			i = wsIn(b, i+1, spaced)
		}
	case 't':
		return literal(b, i, "true")
	case 'f':
		return literal(b, i, "false")
	case 'n':
		return literal(b, i, "null")
	}
	return numEnd(b, i)
}

func literal(b []byte, i int, lit string) int {
	if len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit {
		return i + len(lit)
	}
	return -1
}

// wsIn is ws that records whether it skipped anything.
func wsIn(b []byte, i int, spaced *bool) int {
	j := ws(b, i)
	if j != i {
		*spaced = true
	}
	return j
}

// appendValue appends the valid JSON value v to dst, without its whitespace
// when spaced.
func appendValue(dst, v []byte, spaced bool) []byte {
	if !spaced {
		return append(dst, v...)
	}
	for i := 0; i < len(v); {
		c := v[i]
		switch {
		case isSpace(c):
			i++
		case c == '"':
			e, _ := jsonscan.StrEnd(v, i)
			dst = append(dst, v[i:e]...)
			i = e
		default:
			dst = append(dst, c)
			i++
		}
	}
	return dst
}

// obj walks the members of the object at b[i] == '{' (not validated yet),
// calling member with each key (the text between its quotes, which holds no
// escape) and the bounds of its valid value; member returns false to stop.
// It returns the index after the object, or -1 when the object is not valid
// JSON, a key holds an escape, or member stopped. depth is the object's
// nesting.
func obj(b []byte, i, depth int, member func(key []byte, start, end int, spaced bool) bool) int {
	if depth >= maxDepth {
		return -1
	}
	i = ws(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	for {
		var key []byte
		if key, i = memberKey(b, i); i < 0 {
			return -1
		}
		spaced := false
		start := i
		if i = skip(b, i, depth+1, &spaced); i < 0 {
			return -1
		}
		if !member(key, start, i, spaced) {
			return -1
		}
		if i = memberEnd(b, i); i < 0 || b[i-1] == '}' {
			return i
		}
	}
}

// memberKey reads an object member's key and colon at b[i] and returns the
// key and the index of its value, or -1 when b[i] does not start a key, or
// the key holds an escape (left to the encoding/json path).
func memberKey(b []byte, i int) ([]byte, int) {
	if i >= len(b) || b[i] != '"' {
		return nil, -1
	}
	ke, esc := jsonscan.StrEnd(b, i)
	if ke < 0 || esc {
		return nil, -1
	}
	key := b[i+1 : ke-1]
	i = ws(b, ke)
	if i >= len(b) || b[i] != ':' {
		return nil, -1
	}
	return key, ws(b, i+1)
}

// memberEnd reads what follows a member's value at b[i]: the object's '}'
// (it returns the index after it) or a ',' (it returns the index of the next
// key); -1 for anything else.
func memberEnd(b []byte, i int) int {
	i = ws(b, i)
	switch {
	case i >= len(b):
		return -1
	case b[i] == '}':
		return i + 1
	case b[i] == ',':
		return ws(b, i+1)
	}
	return -1
}
