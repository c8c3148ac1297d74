package clickhouse

import (
	"sync"
	"sync/atomic"

	"github.com/abacushq/abacus/internal/store/idfilter"
)

// seenCapacity is how many IDs one generation of a store's filter of seen
// IDs holds (idfilter's smallest: 16 MiB). Two generations are kept: a
// store remembers the last 4 to 8 million IDs it stored, in 32 MiB.
const seenCapacity = 4 << 20

// seen is the filter of the IDs a Store has seen stored: those its Inserts
// stored and those its lookups found in the table. Existing asks the table
// only for the IDs it may hold; "not seen" answers the rest without a query
// (see "Idempotency across collectors" in the package doc for why that
// answer is enough). IDs are never removed: a deleted ID stays "maybe",
// which costs a lookup, never a wrong answer. When the current generation
// is full a new one starts and the one before it is dropped: the store then
// forgets the IDs it stored longest ago, which costs only the 202's count of
// duplicates for a client that repeats such an old batch to it.
//
// Safe for concurrent use.
type seen struct {
	mu   sync.Mutex // serializes the change of generation
	cur  atomic.Pointer[idfilter.Filter]
	prev atomic.Pointer[idfilter.Filter]
	size int64 // IDs per generation (at most the filter's capacity)
}

func newSeen(size int64) *seen {
	s := &seen{size: size}
	s.cur.Store(idfilter.New(size))
	return s
}

// add records id as stored.
func (s *seen) add(id [16]byte) {
	f := s.cur.Load()
	if f.Len() >= s.size {
		s.mu.Lock()
		if f = s.cur.Load(); f.Len() >= s.size {
			// prev first: a concurrent has, which reads cur then prev, finds
			// the IDs of the generation that ends in one or the other.
			s.prev.Store(f)
			f = idfilter.New(s.size)
			s.cur.Store(f)
		}
		s.mu.Unlock()
	}
	f.Add(id)
}

// has reports whether id may have been seen stored; false means this store
// has neither stored it nor found it stored (lately).
func (s *seen) has(id [16]byte) bool {
	if s.cur.Load().Has(id) {
		return true
	}
	p := s.prev.Load()
	return p != nil && p.Has(id)
}
