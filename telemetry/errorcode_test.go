package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"regexp"
	"syscall"
	"testing"
)

type codedError struct{ code string }

func (e codedError) Error() string { return "failed at /home/jane/secret.txt" }
func (e codedError) Code() string  { return e.code }

type myError struct{ msg string }

func (e *myError) Error() string { return e.msg }

func TestErrorCode(t *testing.T) {
	_, statErr := os.Stat("/definitely/not/here")
	_, dnsErr := net.LookupHost("abacus.invalid")
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{codedError{"E_PLUGIN_NOT_FOUND"}, "E_PLUGIN_NOT_FOUND"},
		{fmt.Errorf("wrap: %w", codedError{"plugin.not-found"}), "PLUGIN_NOT_FOUND"},
		{statErr, "ENOENT"},
		{fmt.Errorf("listen: %w", syscall.EADDRINUSE), "EADDRINUSE"},
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, "ECONNREFUSED"},
		{context.DeadlineExceeded, "DEADLINE_EXCEEDED"},
		{fmt.Errorf("x: %w", context.Canceled), "CANCELED"},
		{io.ErrUnexpectedEOF, "UNEXPECTED_EOF"},
		{fs.ErrPermission, "EACCES"},
	} {
		if got := ErrorCode(tc.err); got != tc.want {
			t.Errorf("ErrorCode(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
	if dnsErr != nil {
		if got := ErrorCode(dnsErr); got != "DNS_ERROR" && got != "TIMEOUT" {
			t.Errorf("ErrorCode(DNS error) = %q", got)
		}
	}
}

func TestErrorCodeFingerprintHasNoText(t *testing.T) {
	a := ErrorCode(&myError{"cannot open /home/jane/project/a.txt for jane@example.com"})
	b := ErrorCode(&myError{"something else entirely"})
	c := ErrorCode(fmt.Errorf("ctx: %w", &myError{"x"}))
	valid := regexp.MustCompile(`^E_[0-9A-F]{8}$`)
	if !valid.MatchString(a) || a != b {
		t.Errorf("fingerprints %q %q: want one code per error type, no text", a, b)
	}
	if c == a || !valid.MatchString(c) {
		t.Errorf("a wrapped error must fingerprint differently: %q vs %q", c, a)
	}
	if j := ErrorCode(errors.Join(&myError{"a"}, io.ErrClosedPipe)); !valid.MatchString(j) || j == a {
		t.Errorf("joined error code %q", j)
	}
}

func TestNormalizeCode(t *testing.T) {
	for in, want := range map[string]string{
		"E_OK": "E_OK", "not-found": "NOT_FOUND", "  x  ": "X", "__": "", "é": "",
		"a very long code that goes on and on and on and on and on and on and on": "A_VERY_LONG_CODE_THAT_GOES_ON_AND_ON_AND_ON_AND_ON_AND_ON_AND_ON",
	} {
		if got := normalizeCode(in); got != want {
			t.Errorf("normalizeCode(%q) = %q, want %q", in, got, want)
		}
	}
}
