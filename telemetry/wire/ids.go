package wire

import (
	"encoding/hex"
	"strings"
)

// IsUUID reports whether s is a UUID in its canonical 8-4-4-4-12 hex form
// (either case).
func IsUUID(s string) bool {
	_, ok := ParseUUID(s)
	return ok
}

// FormatUUID returns the canonical lowercase 8-4-4-4-12 form of u.
func FormatUUID(u [16]byte) string {
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return string(s[:])
}

// ParseUUID returns the 16 bytes of a UUID in the form IsUUID accepts, and
// whether s is one. It does not allocate.
func ParseUUID(s string) (u [16]byte, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	j := 0
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i++
			continue
		}
		hi, ok1 := unhex(s[i])
		lo, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			return u, false
		}
		u[j] = hi<<4 | lo
		j++
		i += 2
	}
	return u, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// IsProjectID reports whether s is a valid project ID: a UUID, optionally after a
// prefix of 1 to 32 characters from [a-z0-9-] and a dash (for example
// "getstarted-7b581c0d-89b7-479e-b379-a76ab90b8754").
func IsProjectID(s string) bool {
	if IsUUID(s) {
		return true
	}
	if len(s) < 36+2 || s[len(s)-37] != '-' {
		return false
	}
	prefix := s[:len(s)-37]
	if len(prefix) > 32 {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := prefix[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return IsUUID(s[len(s)-36:])
}

// ProjectUUID returns the UUID part of a valid project ID, lower-cased, dropping any
// prefix. It returns "" when s is not a valid project ID.
func ProjectUUID(s string) string {
	if !IsProjectID(s) {
		return ""
	}
	return strings.ToLower(s[len(s)-36:])
}

// IsMachineID reports whether s is 64 lowercase hex characters, the shape of an
// HMAC-SHA256 machine ID.
func IsMachineID(s string) bool { return IsLowerHex(s, 64) }

// IsLowerHex reports whether s is n lowercase hex characters.
func IsLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// IsEnvironment reports whether s is one of Environments.
func IsEnvironment(s string) bool {
	switch s {
	case Development, Staging, Production, Test, Other:
		return true
	}
	return false
}
