package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/plan"
)

// --retention reads and shows days; a value that is not a length of time is
// refused naming the flag.
func TestServeRetentionInDays(t *testing.T) {
	code, _, help := runArgs("serve", "--help")
	if code != 0 || !strings.Contains(help, "-retention days") || !strings.Contains(help, "(default 400d)") {
		t.Errorf("serve --help (exit %d) does not show the retention in days:\n%s", code, help)
	}
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{{"400d", "400d", true}, {"30d", "30d", true}, {"9600h", "400d", true}, {"36h", "36h0m0s", true},
		{"0d", "", false}, {"-3d", "", false}, {"+3d", "", false}, {"d", "", false}, {"3 days", "", false}, {"0s", "", false}} {
		var d days
		err := d.Set(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("Set(%q): error %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && d.String() != tc.want {
			t.Errorf("Set(%q) shows as %q, want %q", tc.in, d.String(), tc.want)
		}
	}
	code, _, errOut := runArgs("serve", "--retention", "a year")
	if code == 0 || !strings.Contains(errOut, "-retention") || !strings.Contains(errOut, "400d") {
		t.Errorf("serve --retention 'a year': exit %d, stderr:\n%s", code, errOut)
	}
}

// A command without flags prints no empty "Flags:" heading.
func TestPlanHelpHasNoEmptyFlags(t *testing.T) {
	code, _, help := runArgs("plan", "--help")
	if code != 0 || !strings.Contains(help, "Usage: abacus plan") {
		t.Fatalf("plan --help: exit %d:\n%s", code, help)
	}
	if strings.Contains(help, "Flags:") {
		t.Errorf("plan --help shows a Flags: heading with no flags under it:\n%s", help)
	}
	if _, _, help := runArgs("report", "--help"); !strings.Contains(help, "Flags:") || !strings.Contains(help, "-format") {
		t.Errorf("report --help lost its flags:\n%s", help)
	}
}

// plan show default prints YAML that reads back as the built-in plan and
// passes plan check.
func TestPlanShowDefault(t *testing.T) {
	code, out, errOut := runArgs("plan", "show", "default")
	if code != 0 {
		t.Fatalf("plan show default: exit %d: %s", code, errOut)
	}
	p, err := plan.Parse("shown.yaml", []byte(out))
	if err != nil {
		t.Fatalf("the shown plan does not parse: %v\n%s", err, out)
	}
	want := plan.Default()
	if !reflect.DeepEqual(p, want) {
		t.Errorf("the shown plan differs from the built-in one")
	}
	file := filepath.Join(t.TempDir(), "plan.yaml")
	if err := os.WriteFile(file, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runArgs("plan", "check", file); code != 0 || !strings.Contains(out, "ok: product") {
		t.Errorf("plan check of the shown plan: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := runArgs("plan", "show", file); code != 0 || out == "" {
		t.Errorf("plan show FILE: exit %d, %d bytes", code, len(out))
	}
	if code, _, errOut := runArgs("plan", "show", "testdata/bad-plan.yaml"); code != 1 || !strings.Contains(errOut, "bad-plan.yaml:6") {
		t.Errorf("plan show of a bad plan: exit %d: %s", code, errOut)
	}
}

// A serve whose port is taken stops before it creates anything: no token
// printed, no token file, and the error names the address.
func TestServePortTakenCreatesNoToken(t *testing.T) {
	t.Setenv("ABACUS_TOKEN", "")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	data := filepath.Join(t.TempDir(), "data")
	code, out, errOut := runArgs("serve", "--addr", busy.Addr().String(), "--data", data)
	if code == 0 || !strings.Contains(errOut, busy.Addr().String()) {
		t.Errorf("serve on a taken port: exit %d, stderr:\n%s", code, errOut)
	}
	if strings.Contains(out, "token") {
		t.Errorf("serve on a taken port printed a token:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(data, "token")); !os.IsNotExist(err) {
		t.Errorf("serve on a taken port left a token file (stat: %v)", err)
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServe starts serve on a free port and waits until it serves. It
// returns the address (host:port) and stop, which ends it with SIGINT and
// returns what it printed.
func startServe(t *testing.T, data string) (addr string, stop func() string) {
	t.Helper()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() { done <- run([]string{"serve", "--addr", "127.0.0.1:0", "--data", data}, &out, &errOut) }()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "Dashboard:") {
		select {
		case code := <-done:
			t.Fatalf("serve stopped with %d:\n%s%s", code, out.String(), errOut.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start in 30s:\n%s%s", out.String(), errOut.String())
		}
	}
	_, rest, _ := strings.Cut(out.String(), "serving on http://")
	addr, _, _ = strings.Cut(rest, " ")
	return addr, func() string {
		t.Helper()
		syscall.Kill(os.Getpid(), syscall.SIGINT)
		select {
		case code := <-done:
			if code != 0 {
				t.Fatalf("serve exited %d:\n%s", code, errOut.String())
			}
		case <-time.After(30 * time.Second):
			t.Fatal("serve did not stop in 30s after SIGINT")
		}
		return out.String()
	}
}

// serveOnce starts serve, stops it and returns what it printed.
func serveOnce(t *testing.T, data string) string {
	t.Helper()
	_, stop := startServe(t, data)
	return stop()
}

// Every start says where the admin token is: the first prints it and its
// file, later ones the file.
func TestServeSaysWhereTheTokenIs(t *testing.T) {
	t.Setenv("ABACUS_TOKEN", "")
	data := filepath.Join(t.TempDir(), "data")
	file := filepath.Join(data, "token")
	first := serveOnce(t, data)
	token, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(first, strings.TrimSpace(string(token))) || !strings.Contains(first, file) {
		t.Errorf("the first start does not show the token and %s:\n%s", file, first)
	}
	second := serveOnce(t, data)
	if strings.Contains(second, strings.TrimSpace(string(token))) || !strings.Contains(second, "Admin token: kept in "+file) {
		t.Errorf("a later start should say where the token is kept, without it:\n%s", second)
	}
}

// simulate at an address where nothing listens fails at once, naming the
// address and the error, and claims to have planted nothing.
func TestSimulateClosedPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	began := time.Now()
	code, out, errOut := runArgs("simulate", "--server", "http://"+addr, "--projects", "5", "--days", "2")
	if took := time.Since(began); took > reachTimeout+2*time.Second {
		t.Errorf("simulate at a closed port took %v", took)
	}
	if code != 1 || !strings.Contains(errOut, "http://"+addr) || !strings.Contains(errOut, "connection refused") {
		t.Errorf("simulate at a closed port: exit %d, stderr:\n%s", code, errOut)
	}
	if strings.Contains(out, "planted") {
		t.Errorf("simulate at a closed port claims planted effects:\n%s", out)
	}
}

// --server without a scheme means http; the population reaches a real
// collector.
func TestSimulateServerWithoutScheme(t *testing.T) {
	addr, stop := startServe(t, filepath.Join(t.TempDir(), "data"))
	code, out, errOut := runArgs("simulate", "--server", addr, "--projects", "5", "--days", "2")
	stop()
	if code != 0 || !strings.Contains(out, "planted:") || !strings.Contains(out, " 0 rejected") {
		t.Errorf("simulate --server %s: exit %d\n%s%s", addr, code, out, errOut)
	}
}

func TestServerURL(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8080":          "http://127.0.0.1:8080",
		"localhost:8080/":         "http://localhost:8080",
		"https://abacus.example/": "https://abacus.example",
		"http://[::1]:8080":       "http://[::1]:8080",
		"http://h/prefix/":        "http://h/prefix",
	} {
		if got, err := serverURL(in); err != nil || got != want {
			t.Errorf("serverURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "ftp://h", "http://", "http://h?x=1", "http://u:p@h", "://h"} {
		if got, err := serverURL(bad); err == nil || !strings.Contains(err.Error(), "--server: expected the collector's base URL") {
			t.Errorf("serverURL(%q) = %q, %v; want an error naming --server", bad, got, err)
		}
	}
}

// Arguments left over and flags that contradict each other are usage errors.
func TestClientCommandsRefuseStrayArguments(t *testing.T) {
	t.Setenv("ABACUS_TOKEN", "")
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"simulate", "extra"}, `unexpected argument "extra"`},
		{[]string{"simulate", "--server", "ftp://h"}, "--server: expected"},
		{[]string{"report", "overview", "extra"}, `unexpected argument "extra" after the report NAME "overview"`},
		{[]string{"report", "--last", "7d", "overview", "plugins"}, `unexpected argument "plugins"`},
		{[]string{"report", "overview", "--data", "d", "--server", "http://h"}, "--data and --server"},
		{[]string{"report", "overview", "--plan", "p.yaml"}, "--plan: expected only with --data"},
		{[]string{"erase", "--project", "x", "more"}, `unexpected argument "more"`},
	} {
		code, _, errOut := runArgs(tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.err) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errOut, tc.err)
		}
	}
}
