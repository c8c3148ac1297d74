package duckdb

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/store"
	"github.com/abacushq/abacus/internal/store/storetest"
)

func randomHex(n int) string {
	b := make([]byte, n)
	crand.Read(b)
	return hex.EncodeToString(b)
}

func randomUUID() string {
	h := randomHex(16)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:]
}

// uuidOnDisk is how DuckDB stores a UUID: a 128-bit integer whose top bit is
// flipped (so that signed order is the UUID's byte order), little endian: the
// low 64 bits first. Checked against a real file in TestUUIDOnDisk.
func uuidOnDisk(id string) []byte {
	u, err := hex.DecodeString(strings.ReplaceAll(id, "-", ""))
	if err != nil || len(u) != 16 {
		panic("not a UUID: " + id)
	}
	out := make([]byte, 16)
	for i := range 8 {
		out[i] = u[15-i]  // low half, little endian
		out[8+i] = u[7-i] // high half, little endian
	}
	out[15] ^= 0x80
	return out
}

// projectEvents makes n events of one project and one machine, with random
// (version 4) IDs, which DuckDB cannot compress away.
func projectEvents(n int) []store.Event {
	project, machine := randomHex(16), randomHex(16)
	out := make([]store.Event, n)
	for i := range out {
		e := sample(i)
		e.ID, e.ProjectID, e.MachineID = randomUUID(), project, machine
		out[i] = e
	}
	return out
}

// dirBytes returns the contents of every file under dir.
func dirBytes(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, err := os.ReadFile(path); err == nil {
				out[path] = b
			}
		}
		return nil
	})
	return out
}

// traces lists where the events' IDs (as text and as stored UUIDs) and their
// project and machine IDs appear in files.
func traces(files map[string][]byte, events []store.Event) []string {
	var found []string
	for path, b := range files {
		for _, e := range events {
			for what, needle := range map[string][]byte{
				"event ID " + e.ID:          []byte(e.ID),
				"event ID (UUID) " + e.ID:   uuidOnDisk(e.ID),
				"project ID " + e.ProjectID: []byte(e.ProjectID),
				"machine ID " + e.MachineID: []byte(e.MachineID),
			} {
				if bytes.Contains(b, needle) {
					found = append(found, filepath.Base(path)+": "+what)
				}
			}
		}
	}
	return found
}

// The on-disk form of a UUID that uuidOnDisk assumes is DuckDB's.
func TestUUIDOnDisk(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.duckdb")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	events := projectEvents(30)
	if _, err := s.Insert(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	s.Close()
	b, _ := os.ReadFile(path)
	for _, e := range events {
		if !bytes.Contains(b, uuidOnDisk(e.ID)) {
			t.Fatalf("event ID %s is not in the file in the form uuidOnDisk gives", e.ID)
		}
	}
}

// A deleted project's bytes stay in the file after DELETE and CHECKPOINT;
// Compact rewrites the file without them, and keeps everything else.
func TestCompactLeavesNoTrace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "events.duckdb")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	ctx := context.Background()
	erased, kept := projectEvents(30), projectEvents(30)
	if _, err := s.Insert(ctx, append(append([]store.Event{}, erased...), kept...)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DeleteProject(ctx, erased[0].ProjectID); err != nil || n != 30 {
		t.Fatalf("DeleteProject: %d, %v", n, err)
	}
	if err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	before := traces(dirBytes(t, dir), erased)
	t.Logf("after DELETE and CHECKPOINT, %d traces of the deleted project remain", len(before))

	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if found := traces(dirBytes(t, dir), erased); len(found) > 0 {
		t.Fatalf("after Compact the deleted project is still on disk: %v", found)
	}
	if found := traces(dirBytes(t, dir), kept[:1]); len(found) < 3 {
		t.Fatalf("the kept project's IDs are not found on disk (%v): the search cannot see them", found)
	}
	// Everything else is there, and the store works on: reads through DB(),
	// new inserts with new sources (the sequence went along), reopening.
	if got := exportAll(t, s); len(got) != 30 || got[0].ProjectID != kept[0].ProjectID {
		t.Fatalf("after Compact: %d events exported, want the 30 kept", len(got))
	}
	var n int
	if err := s.DB().QueryRow(`SELECT count(*) FROM events`).Scan(&n); err != nil || n != 30 {
		t.Fatalf("DB() after Compact: %d, %v", n, err)
	}
	more := projectEvents(5)
	if ins, err := s.Insert(ctx, more); err != nil || ins != 5 {
		t.Fatalf("Insert after Compact: %d, %v", ins, err)
	}
	if ins, err := s.Insert(ctx, kept[:3]); err != nil || ins != 0 {
		t.Fatalf("Insert of stored events after Compact: %d, %v (want 0: still known)", ins, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	byProject := map[string]int{}
	for _, e := range exportAll(t, s) {
		byProject[e.ProjectID+" "+e.MachineID]++
	}
	if byProject[kept[0].ProjectID+" "+kept[0].MachineID] != 30 || byProject[more[0].ProjectID+" "+more[0].MachineID] != 5 || len(byProject) != 2 {
		t.Fatalf("after reopening: events by project and machine %v", byProject)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, "*"+compactSuffix+"*"))
	old, _ := filepath.Glob(filepath.Join(dir, "*"+oldSuffix+"*"))
	if len(leftovers)+len(old) > 0 {
		t.Fatalf("files left behind: %v %v", leftovers, old)
	}
}

// Compact runs while inserts and reads go on: they wait for it, none fails.
func TestCompactUnderLoad(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	if _, err := s.Insert(ctx, projectEvents(1000)); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var inserted, reads atomic.Int64
	errs := make(chan error, 100)
	wg.Add(3)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			n, err := s.Insert(ctx, projectEvents(50))
			if err != nil {
				errs <- err
				return
			}
			inserted.Add(int64(n))
		}
	}()
	go func() {
		defer wg.Done()
		for !stop.Load() {
			var n int
			if err := s.DB().QueryRow(`SELECT count(*) FROM events`).Scan(&n); err != nil {
				errs <- err
				return
			}
			reads.Add(1)
		}
	}()
	go func() {
		defer wg.Done()
		for !stop.Load() {
			if _, err := s.Stats(ctx); err != nil {
				errs <- err
				return
			}
		}
	}()
	for range 3 {
		time.Sleep(50 * time.Millisecond)
		if err := s.Compact(ctx); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("during Compact: %v", err)
	}
	st, err := s.Stats(ctx)
	if err != nil || st.Events != 1000+inserted.Load() {
		t.Fatalf("after Compact under load: %d events, want %d (%v)", st.Events, 1000+inserted.Load(), err)
	}
	t.Logf("%d events inserted and %d reads during 3 compactions", inserted.Load(), reads.Load())
}

// Open finishes or undoes a swap a crash interrupted.
func TestCompactRecovery(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(path string)
		want  int // events after Open
	}{
		{"copy never swapped", func(path string) { os.WriteFile(path+compactSuffix, []byte("partial"), 0o600) }, 3},
		{"swapped, old file still there", func(path string) { copyFile(t, path, path+oldSuffix) }, 3},
		{"old file moved, copy not yet in place", func(path string) { os.Rename(path, path+oldSuffix) }, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "events.duckdb")
			s, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			s.Insert(context.Background(), projectEvents(3))
			s.Close()
			c.setup(path)
			s, err = Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if st, err := s.Stats(context.Background()); err != nil || st.Events != int64(c.want) {
				t.Fatalf("%d events, %v; want %d", st.Events, err, c.want)
			}
			for _, p := range []string{path + compactSuffix, path + oldSuffix} {
				if _, err := os.Stat(p); err == nil {
					t.Errorf("%s left behind", p)
				}
			}
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkCompact rewrites a store of 200,000 events (storetest's
// population): how long inserts wait during a compaction.
func BenchmarkCompact(b *testing.B) {
	path := filepath.Join(b.TempDir(), "events.duckdb")
	s, err := Open(path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	g := storetest.NewGenerator(1, storetest.Population{})
	for range 40 {
		if _, err := s.Insert(context.Background(), g.Batch(5000)); err != nil {
			b.Fatal(err)
		}
	}
	s.Checkpoint(context.Background())
	for b.Loop() {
		if err := s.Compact(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	fi, _ := os.Stat(path)
	b.ReportMetric(float64(fi.Size())/(1<<20), "file-MiB")
}
