package telemetry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"reflect"
	"strings"
	"syscall"
)

// ErrorCode gives a stable code for err, with none of its message text, for the
// property of an error event. In order of preference:
//
//   - the code of the first error in the chain with a Code() string or
//     ErrorCode() string method, upper-cased, other characters turned to "_";
//   - a name for well-known conditions: ENOENT, EACCES, EEXIST, ECONNREFUSED,
//     ECONNRESET, ETIMEDOUT, EADDRINUSE, ENOSPC, EPIPE, DEADLINE_EXCEEDED,
//     CANCELED, EOF, UNEXPECTED_EOF, DNS_ERROR, TIMEOUT;
//   - else "E_" and 8 hex digits fingerprinting the chain's Go types, so the same
//     kind of failure gets the same code from run to run and machine to machine.
//
// It returns "" for a nil error. Codes match ^[A-Z0-9_]{1,64}$.
func ErrorCode(err error) (code string) {
	if err == nil {
		return ""
	}
	defer func() {
		if r := recover(); r != nil {
			packageRecovered.Add(1)
			code = "E_PANIC"
		}
	}()
	var coder interface{ Code() string }
	if errors.As(err, &coder) {
		if c := normalizeCode(coder.Code()); c != "" {
			return c
		}
	}
	var ecoder interface{ ErrorCode() string }
	if errors.As(err, &ecoder) {
		if c := normalizeCode(ecoder.ErrorCode()); c != "" {
			return c
		}
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		if name, ok := errnoNames[errno]; ok {
			return name
		}
	}
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "DEADLINE_EXCEEDED"
	case errors.Is(err, context.Canceled):
		return "CANCELED"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "UNEXPECTED_EOF"
	case errors.Is(err, io.EOF):
		return "EOF"
	case errors.Is(err, fs.ErrNotExist):
		return "ENOENT"
	case errors.Is(err, fs.ErrPermission):
		return "EACCES"
	case errors.Is(err, fs.ErrExist):
		return "EEXIST"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "TIMEOUT"
	case errors.As(err, &dnsErr):
		return "DNS_ERROR"
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return "TIMEOUT"
	}
	return fingerprint(err)
}

var errnoNames = map[syscall.Errno]string{
	syscall.ENOENT:       "ENOENT",
	syscall.EACCES:       "EACCES",
	syscall.EPERM:        "EPERM",
	syscall.EEXIST:       "EEXIST",
	syscall.ECONNREFUSED: "ECONNREFUSED",
	syscall.ECONNRESET:   "ECONNRESET",
	syscall.ETIMEDOUT:    "ETIMEDOUT",
	syscall.EADDRINUSE:   "EADDRINUSE",
	syscall.ENOSPC:       "ENOSPC",
	syscall.EPIPE:        "EPIPE",
	syscall.EMFILE:       "EMFILE",
	syscall.ENOTDIR:      "ENOTDIR",
	syscall.EISDIR:       "EISDIR",
}

// normalizeCode makes a code of at most 64 characters from [A-Z0-9_].
func normalizeCode(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	b := make([]byte, 0, min(len(s), 64))
	for i := 0; i < len(s) && len(b) < 64; i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b = append(b, c)
		} else if len(b) > 0 && b[len(b)-1] != '_' {
			b = append(b, '_')
		}
	}
	return strings.Trim(string(b), "_")
}

// fingerprint hashes the Go types along err's chain (joined errors included),
// never its text.
func fingerprint(err error) string {
	h := sha256.New()
	var walk func(error, int)
	walk = func(e error, depth int) {
		if e == nil || depth > 16 {
			return
		}
		t := reflect.TypeOf(e)
		h.Write([]byte(t.PkgPath() + "." + t.String() + ">"))
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x, depth+1)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap(), depth+1)
		}
	}
	walk(err, 0)
	return "E_" + strings.ToUpper(hex.EncodeToString(h.Sum(nil)[:4]))
}
