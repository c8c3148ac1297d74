package jsonscan

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// strEndAgrees checks StrEnd against encoding/json on b, which starts with '"':
// StrEnd takes exactly the whole of b as one string when encoding/json reads b
// as one string, and says it holds escapes exactly when it has a backslash.
func strEndAgrees(t *testing.T, b []byte) {
	t.Helper()
	var s string
	valid := json.Unmarshal(b, &s) == nil && b[len(b)-1] == '"'
	end, esc := StrEnd(b, 0)
	if (end == len(b)) != valid {
		t.Fatalf("StrEnd(%q) = %d, encoding/json valid %v", b, end, valid)
	}
	if end > len(b) || end == 0 || end < -1 {
		t.Fatalf("StrEnd(%q) = %d, out of range", b, end)
	}
	if valid {
		hasBackslash := false
		for _, c := range b {
			hasBackslash = hasBackslash || c == '\\'
		}
		if esc != hasBackslash {
			t.Fatalf("StrEnd(%q): escapes %v, want %v", b, esc, hasBackslash)
		}
	}
}

func TestStrEnd(t *testing.T) {
	for _, s := range []string{
		`""`, `"a"`, `"0123456789abcdef0123456789"`, `"a\"b"`, `"\\"`, `"\/\b\f\n\r\t"`,
		`"\u00e9\u20AC"`, `"\u00g9"`, `"\u12"`, `"\x"`, `"a`, `"a\"`, "\"a\x01b\"", "\"tab\there\"",
		`"long string without any escapes at all, past eight bytes"`, `"ünïcödé"`,
	} {
		strEndAgrees(t, []byte(s))
	}
	if end, _ := StrEnd([]byte(`"ab"cd`), 0); end != 4 {
		t.Errorf(`StrEnd("ab"cd) = %d, want 4 (the index after the closing quote)`, end)
	}
}

func TestHex4(t *testing.T) {
	for in, want := range map[string]rune{"0000": 0, "00e9": 0xe9, "20AC": 0x20ac, "ffff": 0xffff, "12g4": -1, "-123": -1} {
		if got := Hex4([]byte(in)); got != want {
			t.Errorf("Hex4(%q) = %d, want %d", in, got, want)
		}
	}
}

func FuzzStrEnd(f *testing.F) {
	for _, s := range []string{`""`, `"a\"b"`, `"\u00e9"`, "\"a\x01\"", `"0123456789\n"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 || b[0] != '"' || !utf8.Valid(b) {
			return // StrEnd's callers check UTF-8 and the opening quote first
		}
		strEndAgrees(t, b)
	})
}
