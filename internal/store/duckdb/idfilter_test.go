package duckdb

import (
	"context"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/store"
	"github.com/abacushq/abacus/internal/store/storetest"
)

// A full filter of stored IDs is replaced by a larger one filled in the
// background while Inserts go on: the new filter has every ID stored before,
// during and after the scan, and Inserts stay idempotent throughout.
func TestIDFilterGrows(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	g := storetest.NewGenerator(3, storetest.Population{})
	var all []store.Event
	insert := func(n int) {
		b := g.Batch(n)
		if got, err := s.Insert(ctx, b); err != nil || got != n {
			t.Fatalf("Insert = %d, %v; want %d", got, err, n)
		}
		all = append(all, b...)
	}
	for range 4 {
		insert(2000)
	}
	old := s.ids.Load()
	s.wmu.Lock()
	s.growIDs()
	s.wmu.Unlock()
	for range 4 { // while the scan runs, or after
		insert(500)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		s.wmu.Lock()
		done := s.nextIDs == nil
		s.wmu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the larger filter was not done in 30 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	insert(500)
	f := s.ids.Load()
	if f == old {
		t.Fatal("the filter was not replaced")
	}
	if f.Capacity() < 2*old.Len() {
		t.Errorf("new filter's capacity %d, want at least %d", f.Capacity(), 2*old.Len())
	}
	for _, e := range all {
		id, _ := parseUUID(e.ID)
		if !f.Has(id) {
			t.Fatalf("stored ID %s is not in the new filter", e.ID)
		}
	}
	if n, err := s.Insert(ctx, all[:3000]); err != nil || n != 0 {
		t.Fatalf("Insert of stored events = %d, %v; want 0", n, err)
	}
	if st, err := s.Stats(ctx); err != nil || st.Events != int64(len(all)) {
		t.Fatalf("Stats = %+v, %v; want %d events", st, err, len(all))
	}
}
