package wal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

var errInjected = errors.New("injected fault")

// faults is a FaultHook: it fails the next fail[op] calls of op, and can hold the next
// sync until released (to pile up waiters behind it).
type faults struct {
	mu      sync.Mutex
	fail    map[string]int
	calls   map[string]int
	block   chan struct{}
	entered chan struct{}
}

func newFaults() *faults {
	return &faults{fail: map[string]int{}, calls: map[string]int{}, entered: make(chan struct{}, 1)}
}

func (f *faults) hook(op string) error {
	f.mu.Lock()
	f.calls[op]++
	var blk chan struct{}
	if op == OpSync {
		blk, f.block = f.block, nil
	}
	n := f.fail[op]
	if n > 0 {
		f.fail[op]--
	}
	f.mu.Unlock()
	if blk != nil {
		f.entered <- struct{}{}
		<-blk
	}
	if n > 0 {
		return errInjected
	}
	return nil
}

func (f *faults) set(op string, n int) {
	f.mu.Lock()
	f.fail[op] = n
	f.mu.Unlock()
}

func (f *faults) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

func TestFaults(t *testing.T) {
	cases := []struct {
		name   string
		inject map[string]int
		sealed bool // the faulty segment is sealed and a new one started
	}{
		{"write", map[string]int{OpWrite: 1}, false},
		{"sync", map[string]int{OpSync: 1}, false},
		{"write, undo fails", map[string]int{OpWrite: 1, OpTruncate: 1}, true},
		{"sync, undo fails", map[string]int{OpSync: 1, OpTruncate: 1}, true},
		{"write, undo fails, no new segment", map[string]int{OpWrite: 1, OpTruncate: 1, OpCreate: 2}, true},
		// Truncate and the invalidation write both fail: the failed group's complete records
		// may replay (like unacknowledged appends after a crash), nothing else changes.
		{"sync, undo and invalidation fail", map[string]int{OpSync: 1, OpTruncate: 2}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			f := newFaults()
			opt := Options{FaultHook: f.hook}
			l := open(t, dir, opt)
			ctx := context.Background()
			var acked []string
			appendOK := func(s string) {
				t.Helper()
				if _, err := l.Append(ctx, []byte(s)); err != nil {
					t.Fatalf("Append(%s): %v", s, err)
				}
				acked = append(acked, s)
			}
			appendOK("a0")
			appendOK("a1")

			// Hold the writer in the fsync of "blocker" while 10 Appends queue up behind it.
			f.mu.Lock()
			f.block = make(chan struct{})
			release := f.block
			f.mu.Unlock()
			blockerErr := make(chan error, 1)
			go func() {
				_, err := l.Append(ctx, []byte("blocker"))
				blockerErr <- err
			}()
			<-f.entered
			const waiters = 10
			errs := make(chan error, waiters)
			for i := range waiters {
				go func() {
					_, err := l.Append(ctx, fmt.Appendf(nil, "w%d-%s", i, make([]byte, 100)))
					errs <- err
				}()
			}
			for len(l.reqs) < waiters {
				time.Sleep(time.Millisecond)
			}
			before := l.Stats()
			seg0 := l.active.seq // the writer is parked in the hook, holding l.mu
			writes0 := f.count(OpWrite)
			for op, n := range c.inject {
				f.set(op, n)
			}
			close(release)
			if err := <-blockerErr; err != nil {
				t.Fatalf("blocker: %v", err)
			}
			acked = append(acked, "blocker")
			for range waiters {
				err := <-errs
				if !errors.Is(err, ErrIO) || !errors.Is(err, errInjected) {
					t.Fatalf("waiter got %v, want ErrIO wrapping the injected fault", err)
				}
			}
			if got := f.count(OpWrite) - writes0; got != 1 {
				t.Fatalf("%d writes for the faulted group, want 1 (all waiters in one group)", got)
			}
			st := l.Stats()
			if st.IOErrors != waiters || st.Appends != before.Appends+1 {
				t.Fatalf("stats after fault: %+v", st)
			}
			if !c.sealed {
				fi, err := os.Stat(l.segPath(seg0))
				if err != nil {
					t.Fatal(err)
				}
				l.mu.Lock()
				durable := l.active.size
				l.mu.Unlock()
				if fi.Size() != durable || l.Size() != fi.Size() {
					t.Fatalf("segment is %d bytes after undo, durable end %d, Size %d", fi.Size(), durable, l.Size())
				}
			}

			// The log recovers: later appends succeed.
			if c.inject[OpCreate] > 0 {
				if _, err := l.Append(ctx, []byte("x")); !errors.Is(err, ErrIO) {
					t.Fatalf("append with no segment creatable: %v", err)
				}
			}
			for i := range 5 {
				appendOK(fmt.Sprintf("b%d", i))
			}
			if c.sealed && l.activeSeq() == seg0 {
				t.Fatal("segment not sealed after failed undo")
			}
			if !c.sealed && l.activeSeq() != seg0 {
				t.Fatal("segment changed though the undo worked")
			}

			// Replay returns exactly the acknowledged records, in order.
			_, got, rst := reopen(t, l, dir, Options{})
			if c.inject[OpTruncate] > 1 {
				// Drop the failed group's records (they come right after "blocker").
				kept := got[:0]
				for _, r := range got {
					if r.rec[0] != 'w' {
						kept = append(kept, r)
					}
				}
				if n := len(got) - len(kept); n != waiters {
					t.Fatalf("%d records of the failed group replayed; a sync fault leaves all %d", n, waiters)
				}
				got = kept
			}
			if len(got) != len(acked) {
				t.Fatalf("replayed %d records, acknowledged %d", len(got), len(acked))
			}
			for i := range got {
				if string(got[i].rec) != acked[i] {
					t.Fatalf("record %d = %q, want %q", i, got[i].rec, acked[i])
				}
			}
			if c.sealed != (rst.SkippedBytes > 0) && c.inject[OpTruncate] < 2 {
				t.Fatalf("replay stats %+v", rst)
			}
			if c.sealed && c.inject[OpTruncate] < 2 && (len(rst.Tails) != 1 || rst.Tails[0].Segment != seg0) {
				t.Fatalf("torn tail should be at the end of segment %d: %+v", seg0, rst.Tails)
			}
		})
	}
}

func TestRollFault(t *testing.T) {
	dir := t.TempDir()
	f := newFaults()
	l := open(t, dir, Options{SegmentBytes: 1024, FaultHook: f.hook})
	ctx := context.Background()
	rec := make([]byte, 500)
	var acked int
	for range 2 {
		if _, err := l.Append(ctx, rec); err != nil {
			t.Fatal(err)
		}
		acked++
	}
	f.set(OpCreate, 1)
	if _, err := l.Append(ctx, rec); !errors.Is(err, ErrIO) {
		t.Fatalf("append needing a roll with create failing: %v", err)
	}
	for range 3 {
		if _, err := l.Append(ctx, rec); err != nil {
			t.Fatal(err)
		}
		acked++
	}
	_, got, st := reopen(t, l, dir, Options{})
	if len(got) != acked || st.SkippedBytes != 0 {
		t.Fatalf("replayed %d (skipped %d), want %d", len(got), st.SkippedBytes, acked)
	}
}

func TestReleaseRollFault(t *testing.T) {
	dir := t.TempDir()
	f := newFaults()
	l := open(t, dir, Options{SegmentBytes: 1024, FaultHook: f.hook})
	p, err := l.Append(context.Background(), make([]byte, 500))
	if err != nil {
		t.Fatal(err)
	}
	f.set(OpCreate, 1)
	if err := l.Release(p); !errors.Is(err, ErrIO) {
		t.Fatalf("Release with roll failing: %v", err)
	}
	if err := l.Release(p); err != nil {
		t.Fatal(err)
	}
	if l.Size() != 0 {
		t.Fatalf("size %d", l.Size())
	}
}
