package duckdb

import (
	"hash/maphash"
	"sync/atomic"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// idFilter is a Bloom filter over the stored event IDs. Insert asks it
// whether any ID of a batch may be stored: when none may (the common case:
// new events), the batch is copied without the anti-join on the ID, which
// reads the id column of every row group the batch's ID range overlaps.
// Existing asks it first too, so that a lookup of new IDs reads nothing.
//
// It is a split-block filter (each ID sets 8 bits in one 64-byte block: one
// cache miss per lookup) of at least 4 bytes an ID it was made for: false
// positives stay under about 1e-5 (a batch of 5,000 new events takes the
// anti-join about one time in twenty) until it holds its capacity, and the
// store then makes one twice as large (up to maxFilterBytes). IDs are never
// removed (deleted IDs stay "maybe").
//
// Adds happen under the store's write lock, after the IDs are committed;
// lookups may run at the same time (every word is read and written
// atomically), so a lookup that races an add may miss an ID committed
// microseconds before — which the callers tolerate (see Existing).
type idFilter struct {
	blocks   []filterBlock
	seed     maphash.Seed
	n        atomic.Int64 // IDs added
	capacity int64        // IDs it holds at the rate above
}

type filterBlock [8]atomic.Uint64

const (
	minFilterBlocks  = 1 << 18   // × 64 bytes = 16 MiB: 4M IDs
	maxFilterBytes   = 256 << 20 // 64M IDs; past that the rate rises slowly
	filterBytesPerID = 4
)

// Parquet's split-block salts: word i of a block gets bit (key*salt[i])>>26.
var filterSalt = [8]uint32{0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d, 0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31}

// newIDFilter returns a filter sized for about ids IDs (and at least 4M): a
// power of two of blocks.
func newIDFilter(ids int64) *idFilter {
	blocks := int64(minFilterBlocks)
	for blocks*64 < ids*filterBytesPerID && blocks*64 < maxFilterBytes {
		blocks *= 2
	}
	return &idFilter{blocks: make([]filterBlock, blocks), seed: maphash.MakeSeed(), capacity: blocks * 64 / filterBytesPerID}
}

// full reports whether the filter holds more IDs than it was made for, and
// a larger one could be made.
func (f *idFilter) full() bool {
	return f.n.Load() > f.capacity && int64(len(f.blocks))*64 < maxFilterBytes
}

func (f *idFilter) locate(id duckdb.UUID) (*filterBlock, uint32) {
	h := maphash.Comparable(f.seed, id)
	return &f.blocks[(h>>32)&uint64(len(f.blocks)-1)], uint32(h)
}

func (f *idFilter) add(id duckdb.UUID) {
	b, key := f.locate(id)
	for i, salt := range filterSalt {
		b[i].Or(1 << ((key * salt) >> 26))
	}
	f.n.Add(1)
}

// has reports whether id may be stored; false is certain.
func (f *idFilter) has(id duckdb.UUID) bool {
	b, key := f.locate(id)
	for i, salt := range filterSalt {
		if b[i].Load()&(1<<((key*salt)>>26)) == 0 {
			return false
		}
	}
	return true
}
