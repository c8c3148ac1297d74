package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/store"
	"github.com/abacushq/abacus/internal/wal"
	"github.com/abacushq/abacus/internal/wal/walrec"
)

// faultyStore keeps events in memory and refuses what the test says: every
// insert while down, and any insert holding a refused ID. It stands in for
// faults DuckDB shows only with contrived input; the real stores run the
// storetest suite.
type faultyStore struct {
	store.Store
	mu      sync.Mutex
	down    bool
	downAt  map[int]bool // insert calls (from 1) refused as if the store were down
	refuse  map[string]bool
	stored  map[string]bool
	inserts int
}

func (s *faultyStore) Insert(ctx context.Context, events []store.Event) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inserts++
	if s.down || s.downAt[s.inserts] {
		return 0, errors.New("store is down")
	}
	for _, e := range events {
		if s.refuse[e.ID] {
			return 0, fmt.Errorf("cannot store %s", e.ID)
		}
	}
	n := 0
	for _, e := range events {
		if !s.stored[e.ID] {
			s.stored[e.ID] = true
			n++
		}
	}
	return n, nil
}

func (s *faultyStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.stored)
}

func newTestWriter(t *testing.T, st store.Store) (*writer, *wal.Log) {
	l, err := wal.Open(t.TempDir(), wal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	w := newWriter(st, l, newDedup(st), logger, newServerMetrics())
	w.maxWait = 10 * time.Millisecond
	return w, l
}

func testEvents(n int) []store.Event {
	out := make([]store.Event, n)
	for i := range out {
		out[i] = store.Event{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Name: "ping"}
	}
	return out
}

// append logs events and queues them, as a request does.
func appendEvents(t *testing.T, w *writer, l *wal.Log, events []store.Event) {
	rec, err := walrec.Append(nil, events)
	if err != nil {
		t.Fatal(err)
	}
	ticket := w.enter()
	end, err := l.Append(context.Background(), rec)
	if err != nil {
		t.Fatal(err)
	}
	w.add(ticket, rec, len(events), end)
}

func TestWriterDropsOnlyTheEventTheStoreRefuses(t *testing.T) {
	events := testEvents(10)
	st := &faultyStore{refuse: map[string]bool{events[6].ID: true}, stored: map[string]bool{}}
	w, l := newTestWriter(t, st)
	go w.run()
	appendEvents(t, w, l, events)
	if err := w.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.close()
	if st.count() != 9 || st.stored[events[6].ID] {
		t.Errorf("stored %d events (refused one stored: %v), want the 9 others", st.count(), st.stored[events[6].ID])
	}
	if n := w.metrics.unstorable.Value(); n != 1 {
		t.Errorf("unstorable = %d, want 1", n)
	}
}

// TestWriterKeepsAnEventOfAnOutageEndingMidNarrowing: the store is down for the
// batch and for the first of its halves, and back for the second; the first
// half's event is one the store takes, not one to drop.
func TestWriterKeepsAnEventOfAnOutageEndingMidNarrowing(t *testing.T) {
	events := testEvents(2)
	st := &faultyStore{downAt: map[int]bool{1: true, 2: true}, stored: map[string]bool{}}
	w, l := newTestWriter(t, st)
	go w.run()
	appendEvents(t, w, l, events)
	if err := w.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.close()
	if st.count() != 2 || w.metrics.unstorable.Value() != 0 {
		t.Errorf("stored %d of 2, dropped %d as unstorable; want both stored", st.count(), w.metrics.unstorable.Value())
	}
}

func TestWriterKeepsEverythingWhileTheStoreIsDown(t *testing.T) {
	st := &faultyStore{down: true, stored: map[string]bool{}}
	w, l := newTestWriter(t, st)
	go w.run()
	events := testEvents(8)
	appendEvents(t, w, l, events)
	deadline := time.Now().Add(5 * time.Second)
	for {
		st.mu.Lock()
		tries := st.inserts
		st.mu.Unlock()
		if tries >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the writer did not try to store")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n, _ := w.lag(); n != 8 || w.metrics.unstorable.Value() != 0 {
		t.Fatalf("while the store is down: lag %d, dropped %d; want all 8 kept", n, w.metrics.unstorable.Value())
	}
	if l.Size() == 0 {
		t.Fatal("the log was released while nothing was stored")
	}
	st.mu.Lock()
	st.down = false
	st.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.flush(ctx); err != nil {
		t.Fatal(err)
	}
	w.close()
	if st.count() != 8 {
		t.Errorf("stored %d after the store came back, want 8", st.count())
	}
}
