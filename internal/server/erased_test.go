package server

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/plan"
)

const (
	erasedA = "340636ebd4108111e258dd92c10a2e0d"
	erasedB = "8688fe6689afecbb23d6084c1086ddfd"
	erasedC = "0123456789abcdef0123456789abcdef"
)

var erasureKey = bytes.Repeat([]byte{7}, 32)

func threeErasures(t *testing.T) (dir string, at time.Time) {
	t.Helper()
	dir = t.TempDir()
	e, err := loadErasures(dir, erasureKey, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	at = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, id := range []string{erasedA, erasedB, erasedC} {
		if err := e.add(id, at); err != nil {
			t.Fatal(err)
		}
	}
	return dir, at
}

// Every line of the erasures file is checked: one changed character in any
// complete line stops the load with an error naming the file and the line,
// rather than silently bringing an erased project's events back.
func TestErasuresDamagedLineStops(t *testing.T) {
	dir, _ := threeErasures(t)
	path := filepath.Join(dir, "erased")
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(good), "\n")[:3]
	for i := range lines {
		for _, at := range []int{0, 20, 40, len(lines[i]) - 2} { // hash, time, checksum
			bad := []byte(strings.Join(lines, ""))
			off := len(strings.Join(lines[:i], "")) + at
			bad[off] ^= 0x01
			if err := os.WriteFile(path, bad, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := loadErasures(dir, erasureKey, slog.New(slog.DiscardHandler))
			if err == nil {
				t.Fatalf("line %d with byte %d changed: loaded without error", i+1, at)
			}
			if want := []string{path, "line " + string(rune('1'+i))}; !strings.Contains(err.Error(), want[0]) || !strings.Contains(err.Error(), want[1]+":") {
				t.Fatalf("line %d damaged: error %q does not name %q and %q", i+1, err, want[0], want[1])
			}
		}
	}
}

// Open refuses to start on a damaged erasures file.
func TestOpenRefusesDamagedErasures(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Config{DataDir: dir, Plan: plan.Default(), Store: &memStore{faultyStore{stored: map[string]bool{}}},
		Token: testAdminToken, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{erasedA, erasedB} {
		if err := s.erased.add(id, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	path := filepath.Join(dir, "erased")
	b, _ := os.ReadFile(path)
	b[3] ^= 0x02 // a character of the first of two lines
	os.WriteFile(path, b, 0o600)
	_, err = Open(Config{DataDir: dir, Plan: plan.Default(), Store: &memStore{faultyStore{stored: map[string]bool{}}},
		Token: testAdminToken, Logger: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "line 1:") {
		t.Fatalf("Open with a damaged erasures file: %v; want an error naming %s and line 1", err, path)
	}
}

// A last line without its newline is a torn append: the erasure was never
// answered. It is cut off with a warning; the erasures before it hold, and
// the next erasure starts a line of its own.
func TestErasuresTornLastLine(t *testing.T) {
	dir, at := threeErasures(t)
	path := filepath.Join(dir, "erased")
	good, _ := os.ReadFile(path)
	secondEnd := bytes.IndexByte(good[bytes.IndexByte(good, '\n')+1:], '\n') + bytes.IndexByte(good, '\n') + 2
	for cut := secondEnd + 1; cut < len(good); cut++ {
		if err := os.WriteFile(path, good[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		var logs lockedBuffer
		e, err := loadErasures(dir, erasureKey, slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatalf("torn at %d of %d: %v", cut, len(good), err)
		}
		if !e.erased(erasedA, at) || !e.erased(erasedB, at) || e.erased(erasedC, at) {
			t.Fatalf("torn at %d: erased A %v B %v C %v, want A and B only", cut, e.erased(erasedA, at), e.erased(erasedB, at), e.erased(erasedC, at))
		}
		if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "torn") {
			t.Fatalf("torn at %d: no warning: %s", cut, logs.String())
		}
		if b, _ := os.ReadFile(path); len(b) != secondEnd {
			t.Fatalf("torn at %d: file is %d bytes after load, want %d (the torn line cut off)", cut, len(b), secondEnd)
		}
		if err := e.add(erasedC, at); err != nil {
			t.Fatal(err)
		}
		e2, err := loadErasures(dir, erasureKey, slog.New(slog.DiscardHandler))
		if err != nil || !e2.erased(erasedC, at) {
			t.Fatalf("torn at %d: after a new erasure: %v", cut, err)
		}
	}
}

// The file never holds the project IDs it erased, and files of the older
// form (ID and time, no checksum) are read and rewritten.
func TestErasuresHoldNoIDs(t *testing.T) {
	dir, at := threeErasures(t)
	b, _ := os.ReadFile(filepath.Join(dir, "erased"))
	for _, id := range []string{erasedA, erasedB, erasedC} {
		if bytes.Contains(b, []byte(id)) {
			t.Fatalf("the erasures file holds the project ID %s:\n%s", id, b)
		}
	}
	old := erasedA + " " + at.Format(time.RFC3339Nano) + "\n" + erasedB + " " + at.Format(time.RFC3339Nano) + "\n"
	dir2 := t.TempDir()
	os.WriteFile(filepath.Join(dir2, "erased"), []byte(old), 0o600)
	e, err := loadErasures(dir2, erasureKey, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if !e.erased(erasedA, at) || !e.erased(erasedB, at.Add(-time.Hour)) || e.erased(erasedB, at.Add(time.Second)) || e.erased(erasedC, at) {
		t.Fatal("erasures of the older form not read right")
	}
	b, _ = os.ReadFile(filepath.Join(dir2, "erased"))
	if bytes.Contains(b, []byte(erasedA)) || bytes.Count(b, []byte("\n")) != 2 {
		t.Fatalf("older file not rewritten without IDs:\n%s", b)
	}
}
