package clickhouse

import (
	"encoding/binary"
	"sync"
	"testing"
)

func seenID(i uint64) [16]byte {
	var u [16]byte
	binary.BigEndian.PutUint64(u[:8], i)
	binary.BigEndian.PutUint64(u[8:], i*0x9e3779b97f4a7c15)
	return u
}

// TestSeenGenerations: the filter keeps what it was given through one
// change of generation and forgets the oldest generation at the next; lookups
// running during the changes never miss an ID added before them.
func TestSeenGenerations(t *testing.T) {
	if c := newSeen(seenCapacity).cur.Load().Capacity(); c < seenCapacity {
		t.Fatalf("a generation's filter is made for %d IDs; want at least %d", c, seenCapacity)
	}
	const capacity = 200_000
	s := newSeen(capacity)
	first := s.cur.Load()
	for i := range uint64(1000) {
		s.add(seenID(i))
	}
	// A reader asks for the first 1,000 IDs throughout.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var missed int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			for i := range uint64(1000) {
				if !s.has(seenID(i)) {
					missed++
				}
			}
		}
	}()
	for i := uint64(1000); i < capacity+10; i++ {
		s.add(seenID(i))
	}
	close(stop)
	wg.Wait()
	if missed != 0 {
		t.Fatalf("%d lookups missed IDs added before them, while the generation changed", missed)
	}
	if s.cur.Load() == first || s.prev.Load() != first {
		t.Fatal("the generation did not change once the first was full")
	}
	for i := range uint64(capacity + 10) {
		if !s.has(seenID(i)) {
			t.Fatalf("ID %d added, not found after one change of generation", i)
		}
	}
	// A second full generation: the first is dropped.
	for i := uint64(capacity + 10); i < 2*capacity+20; i++ {
		s.add(seenID(i))
	}
	if s.prev.Load() == first {
		t.Fatal("the first generation is still kept after two changes")
	}
	kept := 0
	for i := range uint64(capacity) {
		if s.has(seenID(i)) {
			kept++
		}
	}
	if kept > 100 {
		t.Fatalf("%d of the %d oldest IDs still found after two changes; want them forgotten (a few false positives at most)", kept, capacity)
	}
	for i := uint64(2 * capacity); i < 2*capacity+20; i++ {
		if !s.has(seenID(i)) {
			t.Fatalf("ID %d of the current generation not found", i)
		}
	}
}
