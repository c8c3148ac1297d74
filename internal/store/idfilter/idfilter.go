// Package idfilter is the filter of stored event IDs that every store keeps
// beside its table: a Bloom filter that answers "surely not stored" for
// almost every new ID, so that neither the collector's check of a request's
// IDs (Store.Existing) nor an Insert of new events reads the table for them.
//
// A store makes one at open or at its first use (New, sized for the IDs it
// holds, then Add for each), adds each ID after the transaction that stores
// it commits, asks Has before reading its table, and makes a larger one from
// its table when Full says so. IDs are never removed: a deleted ID stays
// "maybe", which costs a lookup, never a wrong answer.
//
// It is a split-block filter (each ID sets 8 bits in one 64-byte block: one
// cache miss per lookup) of at least 4 bytes an ID it was made for: false
// positives stay under about 1e-5 until it holds its capacity. Adds and
// lookups may run at the same time (every word is read and written
// atomically); a lookup that races an add may miss that ID, so a store adds
// an ID only after it is committed and its callers hold the IDs of an Insert
// under way as pending themselves (the collector does).
package idfilter

import (
	"hash/maphash"
	"sync/atomic"
)

// Filter is a Bloom filter over 16-byte IDs. Safe for concurrent use.
type Filter struct {
	blocks   []block
	seed     maphash.Seed
	n        atomic.Int64 // IDs added
	capacity int64        // IDs it holds at the rate above
}

type block [8]atomic.Uint64

const (
	minBlocks  = 1 << 18   // × 64 bytes = 16 MiB: 4M IDs
	maxBytes   = 256 << 20 // 64M IDs; past that the rate rises slowly
	bytesPerID = 4
)

// Parquet's split-block salts: word i of a block gets bit (key*salt[i])>>26.
var salt = [8]uint32{0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d, 0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31}

// New returns a filter sized for about ids IDs (at least 4M, at most 64M): a
// power of two of 64-byte blocks.
func New(ids int64) *Filter {
	blocks := int64(minBlocks)
	for blocks*64 < ids*bytesPerID && blocks*64 < maxBytes {
		blocks *= 2
	}
	return &Filter{blocks: make([]block, blocks), seed: maphash.MakeSeed(), capacity: blocks * 64 / bytesPerID}
}

// Full reports whether the filter holds more IDs than it was made for, and
// a larger one could be made.
func (f *Filter) Full() bool {
	return f.n.Load() > f.capacity && int64(len(f.blocks))*64 < maxBytes
}

// Len reports how many IDs were added.
func (f *Filter) Len() int64 { return f.n.Load() }

// Capacity reports how many IDs the filter was made for.
func (f *Filter) Capacity() int64 { return f.capacity }

// Bytes reports the filter's size.
func (f *Filter) Bytes() int64 { return int64(len(f.blocks)) * 64 }

func (f *Filter) locate(id [16]byte) (*block, uint32) {
	h := maphash.Comparable(f.seed, id)
	return &f.blocks[(h>>32)&uint64(len(f.blocks)-1)], uint32(h)
}

// Add adds id.
func (f *Filter) Add(id [16]byte) {
	b, key := f.locate(id)
	for i, s := range salt {
		b[i].Or(1 << ((key * s) >> 26))
	}
	f.n.Add(1)
}

// Has reports whether id may have been added; false is certain.
func (f *Filter) Has(id [16]byte) bool {
	b, key := f.locate(id)
	for i, s := range salt {
		if b[i].Load()&(1<<((key*s)>>26)) == 0 {
			return false
		}
	}
	return true
}
