package main

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// plainNumber is a decimal number with nothing else in it: a spreadsheet
// reads it as that number and evaluates nothing, so a signed one keeps its
// leading '-' or '+' (the plugins report's change column, "-2", "+3") and
// stays a number you can sum. Anything more ("-2+3", "-1e3", "+A1") is not
// plain and gets the quote.
var plainNumber = regexp.MustCompile(`^[-+]?[0-9]+(\.[0-9]+)?$`)

// csvCell neutralises a cell a spreadsheet would take for a formula, the way
// OWASP recommends: a cell starting with =, +, -, @, a tab or a carriage
// return gets a leading single quote, which the spreadsheet shows as text
// and does not evaluate. A plain number (-12, -0.5, +3) is left as it is.
func csvCell(s string) string {
	if s == "" || plainNumber.MatchString(s) {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// termCell makes a value safe to print on a terminal: control characters
// (ESC, BEL, CR, LF, NUL, tab, DEL, C1) and bidirectional formatting
// characters are shown as Go escapes (\x1b, \u202e), so a stored value can
// neither move the cursor, change colours, ring the bell nor reorder the text
// around it. A backslash is doubled, so that an escape shown is never
// ambiguous.
func termCell(s string) string {
	if !strings.ContainsFunc(s, needsEscape) && !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == unicode.ReplacementChar:
			b.WriteRune(r)
		case needsEscape(r) && r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case needsEscape(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func needsEscape(r rune) bool {
	return unicode.IsControl(r) || r == 0x061C || r == 0x200E || r == 0x200F ||
		(r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}
