package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/plan"
	"github.com/abacushq/abacus/telemetry/wire"
)

// lockedBuffer collects log output from the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// acknowledgedLog makes a data directory whose write-ahead log holds 20
// acknowledged requests of 50 events each (1,000 events; the store was down, so
// none is stored) and returns it with the event IDs of each request.
func acknowledgedLog(t *testing.T) (dir string, ids [][]string) {
	t.Helper()
	dir = t.TempDir()
	st := &memStore{faultyStore{down: true, stored: map[string]bool{}}}
	s, err := Open(Config{DataDir: dir, Plan: plan.Default(), Store: st, Token: testAdminToken,
		RateIP: -1, RateProject: -1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	for r := range 20 {
		var batch []string
		events := make([]wire.Event, 50)
		for i := range events {
			id := fmt.Sprintf("00000000-0000-4000-8000-%06d%06d", r, i)
			batch = append(batch, id)
			events[i] = wire.Event{ID: id, Event: "ping", Timestamp: time.Now().UTC(),
				ProjectID: projectA, MachineID: strings.Repeat("ab", 32), Environment: "development",
				Product: wire.Product{Name: "strapi", Version: "5.3.1"}}
		}
		body, _ := json.Marshal(wire.Batch{Events: events})
		if resp := postJSON(t, hs.URL, body); resp.StatusCode != 202 {
			t.Fatalf("request %d: %d", r, resp.StatusCode)
		}
		ids = append(ids, batch)
	}
	hs.Close()
	s.Close()
	return dir, ids
}

// copyTree copies the files of src into a new directory.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		if d.Name() == "LOCK" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// onlySegment returns the path and bytes of the log's one segment with data,
// and where each of its records starts (plus the end).
func onlySegment(t *testing.T, dir string) (string, []byte, []int) {
	t.Helper()
	segs, _ := filepath.Glob(filepath.Join(dir, "wal", "*.wal"))
	var path string
	var data []byte
	for _, p := range segs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 0 {
			if path != "" {
				t.Fatalf("more than one segment with data: %v", segs)
			}
			path, data = p, b
		}
	}
	var starts []int
	for off := 0; off < len(data); {
		starts = append(starts, off)
		off += 12 + int(binary.LittleEndian.Uint32(data[off+4:off+8]))
	}
	return path, data, append(starts, len(data))
}

// A damaged record in the middle of the log costs its own events only: replay
// resynchronises on the next record, stores every other acknowledged event,
// keeps the damaged segment in wal/damaged/, counts the damaged record in a
// metric and says so in an ERROR line with the numbers. Each of the 20 records
// in turn gets a flipped payload byte, a bad magic, or loses bytes from its
// middle.
func TestReplaySkipsOnlyDamagedRecords(t *testing.T) {
	src, ids := acknowledgedLog(t)
	_, data, starts := onlySegment(t, src)
	if len(starts) != 21 {
		t.Fatalf("the log holds %d records, want 20", len(starts)-1)
	}
	mutations := map[string]func(b []byte, start, end int) []byte{
		"flipped byte": func(b []byte, start, end int) []byte { b[(start+end)/2] ^= 0x10; return b },
		"bad magic":    func(b []byte, start, end int) []byte { b[start] = 'X'; return b },
		"cut short":    func(b []byte, start, end int) []byte { return append(b[:start+20], b[start+40:]...) },
	}
	for name, mutate := range mutations {
		for bad := range 20 {
			t.Run(fmt.Sprintf("%s/record %d", name, bad), func(t *testing.T) {
				dir := copyTree(t, src)
				path, _, _ := onlySegment(t, dir)
				if err := os.WriteFile(path, mutate(bytes.Clone(data), starts[bad], starts[bad+1]), 0o600); err != nil {
					t.Fatal(err)
				}
				st := &memStore{faultyStore{stored: map[string]bool{}}}
				var logs lockedBuffer
				s, err := Open(Config{DataDir: dir, Plan: plan.Default(), Store: st, Token: testAdminToken,
					Logger: slog.New(slog.NewTextHandler(&logs, nil))})
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Start(context.Background()); err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				for r, batch := range ids {
					for _, id := range batch {
						if got := st.stored[id]; got != (r != bad) {
							t.Fatalf("event %s of request %d: stored %v, want %v", id, r, got, r != bad)
						}
					}
				}
				if st.count() != 950 {
					t.Fatalf("stored %d events, want 950", st.count())
				}
				var metrics strings.Builder
				s.metrics.reg.Write(&metrics)
				kept, _ := filepath.Glob(filepath.Join(dir, "wal", "damaged", "*.wal"))
				if bad == 19 {
					// The last record: a torn tail, the append that was never acknowledged.
					if len(kept) != 0 || !strings.Contains(metrics.String(), "abacus_wal_damaged_records_total 0") {
						t.Fatalf("a damaged last record counts as a torn tail: kept %v, metrics:\n%s", kept, metrics.String())
					}
					return
				}
				if len(kept) != 1 {
					t.Fatalf("damaged segment not kept in wal/damaged/: %v", kept)
				}
				if !strings.Contains(metrics.String(), "abacus_wal_damaged_records_total 1\n") {
					t.Fatalf("metrics do not count one damaged record:\n%s", metrics.String())
				}
				out := logs.String()
				if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "damaged_records=1") || !strings.Contains(out, "replayed_events=950") {
					t.Fatalf("no ERROR line with the numbers:\n%s", out)
				}
			})
		}
	}
}
