package server

import (
	"bytes"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/store"
	"github.com/abacushq/abacus/telemetry/wire"
)

func TestClientAddrTakesTheProxysEntry(t *testing.T) {
	cases := []struct {
		name  string
		trust bool
		hops  int
		xff   []string
		want  string
	}{
		{"no proxy: the peer", false, 1, []string{"198.51.100.1"}, "192.0.2.9"},
		{"rightmost entry", true, 1, []string{"6.6.6.6, 198.51.100.1"}, "198.51.100.1"},
		{"entries over two headers", true, 1, []string{"6.6.6.6", "198.51.100.1"}, "198.51.100.1"},
		{"second from the right with two hops", true, 2, []string{"6.6.6.6, 198.51.100.1, 10.0.0.2"}, "198.51.100.1"},
		{"the client's own entries never count", true, 2, []string{"1.1.1.1, 2.2.2.2, 198.51.100.1, 10.0.0.2"}, "198.51.100.1"},
		{"IPv6 in brackets with a port", true, 1, []string{"6.6.6.6, [2001:db8::7]:4711"}, "2001:db8::7"},
		{"IPv6 bare", true, 1, []string{"2001:db8::7"}, "2001:db8::7"},
		{"IPv4 with a port", true, 1, []string{"198.51.100.1:555"}, "198.51.100.1"},
		{"not an address: the peer", true, 1, []string{"6.6.6.6, unknown"}, "192.0.2.9"},
		{"a name: the peer", true, 1, []string{"proxy.example"}, "192.0.2.9"},
		{"fewer entries than hops: the peer", true, 3, []string{"6.6.6.6, 198.51.100.1"}, "192.0.2.9"},
		{"no header: the peer", true, 1, nil, "192.0.2.9"},
		{"empty entry: the peer", true, 1, []string{"6.6.6.6, "}, "192.0.2.9"},
	}
	for _, c := range cases {
		r, _ := http.NewRequest(http.MethodPost, "/v1/batch", nil)
		r.RemoteAddr = "192.0.2.9:40000"
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := clientAddr(r, c.trust, c.hops); got != c.want {
			t.Errorf("%s: clientAddr = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestErrorLogMasksAddresses(t *testing.T) {
	var buf bytes.Buffer
	l := ErrorLog(slog.New(slog.NewTextHandler(&buf, nil)))
	for _, line := range []string{
		"http: TLS handshake error from 203.0.113.9:51234: client sent an HTTP request to an HTTPS server",
		"http: TLS handshake error from [2001:db8::1]:443: EOF",
		"http: TLS handshake error from [::1]:60000: EOF",
		"read tcp 127.0.0.1:8443->10.1.2.3:5555: i/o timeout",
		"http2: server: error reading preface from client fe80::1%eth0: bad",
	} {
		l.Print(line)
	}
	out := buf.String()
	for _, addr := range []string{"203.0.113.9", "51234", "2001:db8", "::1", "127.0.0.1", "10.1.2.3", "5555", "fe80"} {
		if strings.Contains(out, addr) {
			t.Errorf("the error log kept %q:\n%s", addr, out)
		}
	}
	if strings.Count(out, "[address]") < 6 || !strings.Contains(out, "TLS handshake error from [address]") {
		t.Errorf("the messages lost more than the addresses:\n%s", out)
	}
}

func TestLimitListenerCapsConnections(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := LimitListener(inner, 2)
	defer ln.Close()
	accepted := make(chan net.Conn, 3)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	for range 3 {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	first, second := <-accepted, <-accepted
	select {
	case <-accepted:
		t.Fatal("a third connection was accepted with a limit of 2")
	case <-time.After(200 * time.Millisecond):
	}
	first.Close()
	first.Close() // twice frees one slot, not two
	select {
	case c := <-accepted:
		c.Close()
	case <-time.After(2 * time.Second):
		t.Fatal("closing a connection did not let the waiting one in")
	}
	second.Close()
}

func TestLimiterReadyAndRefund(t *testing.T) {
	l := newLimiter(10, 20)
	now := time.Unix(1000, 0)
	if ok, _ := l.ready("a", now); !ok {
		t.Error("an unknown key is not ready")
	}
	if ok, _ := l.allow("a", 20, now); !ok {
		t.Fatal("the burst was refused")
	}
	ok, wait := l.ready("a", now)
	if ok || wait != 100*time.Millisecond {
		t.Errorf("empty bucket: ready = %v, %v; want false, 100ms", ok, wait)
	}
	if ok, _ := l.ready("a", now.Add(100*time.Millisecond)); !ok {
		t.Error("a refilled token is not ready")
	}
	l.refund("a", 5)
	if ok, _ := l.allow("a", 5, now); !ok {
		t.Error("refunded tokens cannot be spent")
	}
}

func TestProjectsSeen(t *testing.T) {
	p := newProjectsSeen()
	a, b := strings.Repeat("a", 32), strings.Repeat("b", 32)
	events := []store.Event{{ProjectID: a}, {ProjectID: a}, {ProjectID: b}, {ProjectID: a}}
	if got := p.fresh(events); len(got) != 2 || got[0] != a || got[1] != b {
		t.Fatalf("fresh = %v, want [a b] once each", got)
	}
	p.addAll([]string{a})
	if got := p.fresh(events); len(got) != 1 || got[0] != b {
		t.Fatalf("after a is seen, fresh = %v, want [b]", got)
	}
}

func TestTightenPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	os.MkdirAll(filepath.Join(dir, "wal"), 0o755)
	os.Chmod(dir, 0o755)
	for _, f := range []string{"events.duckdb", "token", "wal/00000000000000000001.wal"} {
		os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644)
	}
	outside := filepath.Join(t.TempDir(), "outside")
	os.WriteFile(outside, []byte("x"), 0o644)
	os.Symlink(outside, filepath.Join(dir, "link"))
	var buf bytes.Buffer
	tightenPermissions(dir, slog.New(slog.NewTextHandler(&buf, nil)))
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, _ := os.Lstat(path)
		switch {
		case d.IsDir() && info.Mode().Perm() != 0o700:
			t.Errorf("%s: mode %v, want 0700", path, info.Mode().Perm())
		case d.Type().IsRegular() && info.Mode().Perm() != 0o600:
			t.Errorf("%s: mode %v, want 0600", path, info.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(outside); err != nil || info.Mode().Perm() != 0o644 {
		t.Error("the target of a symbolic link was changed")
	}
}

// A store whose writes fail may fall behind by failingLagBytes, no more: then
// ingest answers 503 and the log stops growing into the space the store needs.
func TestFailingStoreStopsTheLogGrowing(t *testing.T) {
	st := &memStore{faultyStore{down: true, stored: map[string]bool{}}}
	s, hs := startTestServer(t, Config{Store: st, RateIP: -1, RateProject: -1})
	if r := postJSON(t, hs.URL, batchBody(projectA, 5)); r.StatusCode != http.StatusAccepted {
		t.Fatalf("with the store down and nothing waiting: %d, want 202", r.StatusCode)
	}
	waitUntil(t, "the writer to fail", s.writer.failing.Load)
	s.writer.mu.Lock()
	s.writer.queuedB += failingLagBytes
	s.writer.mu.Unlock()
	r := postJSON(t, hs.URL, batchBody(projectA, 1))
	if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Errorf("with the store failing and 8 MiB waiting: %d, want 503 with Retry-After", r.StatusCode)
	}
}

// Below the floor of free space, ingest answers 503 and says why.
func TestDiskFloorRefusesEvents(t *testing.T) {
	st := &memStore{faultyStore{stored: map[string]bool{}}}
	_, hs := startTestServer(t, Config{Store: st, RateIP: -1, RateProject: -1, MinFree: 1 << 60})
	r, err := http.Post(hs.URL+wire.BatchPath, "application/json", bytes.NewReader(batchBody(projectA, 1)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" || !strings.Contains(string(b), "--min-free") {
		t.Errorf("below the floor: %d %s, want 503 with Retry-After naming --min-free", r.StatusCode, b)
	}
	_, hs = startTestServer(t, Config{Store: st, RateIP: -1, RateProject: -1, MinFree: -1})
	if r := postJSON(t, hs.URL, batchBody(projectA, 1)); r.StatusCode != http.StatusAccepted {
		t.Errorf("with no floor: %d, want 202", r.StatusCode)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
