// Package jsonscan holds the JSON scanning primitives that the collector's
// decoders share: the native batch decoder (internal/ingest) and the one-pass
// readers of the PostHog, Segment and Strapi bodies (internal/compat). They
// validate in place, on bytes whose UTF-8 the caller has already checked.
package jsonscan

import "encoding/binary"

// Ones8 and Highs8 test eight bytes at once: x has a zero byte when (x-Ones8)&^x&Highs8 != 0 (an
// exact test of whether there is one, though not of which).
const (
	Ones8  = 0x0101010101010101
	Highs8 = 0x8080808080808080
)

// strPlain marks the bytes that stand for themselves in a JSON string: not '"', not '\\',
// not a control character. (UTF-8 was checked for the whole body.)
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// StrEnd validates the JSON string at b[i] == '"' and returns the index after its closing
// quote (-1: not valid) and whether it holds escapes.
func StrEnd(b []byte, i int) (int, bool) {
	esc := false
	j := i + 1
	for {
		// Eight bytes at a time while none is '"', '\\' or a control character.
		for len(b)-j >= 8 {
			x := binary.LittleEndian.Uint64(b[j:])
			q, bs := x^(Ones8*'"'), x^(Ones8*'\\')
			if ((q-Ones8)&^q|(bs-Ones8)&^bs|(x-Ones8*0x20)&^x)&Highs8 != 0 {
				break
			}
			j += 8
		}
		for j < len(b) && strPlain[b[j]] {
			j++
		}
		if j >= len(b) {
			return -1, esc
		}
		switch b[j] {
		case '"':
			return j + 1, esc
		case '\\':
			esc = true
			if j+1 >= len(b) {
				return -1, esc
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if len(b)-j < 6 || Hex4(b[j+2:j+6]) < 0 {
					return -1, esc
				}
				j += 6
			default:
				return -1, esc
			}
		default: // a control character
			return -1, esc
		}
	}
}

// Hex4 reads 4 hex digits, or returns -1.
func Hex4(s []byte) rune {
	var r rune
	for _, c := range s[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}
