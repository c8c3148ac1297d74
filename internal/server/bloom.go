package server

import (
	"encoding/binary"
	"hash/maphash"
)

// bloom is a fixed-size Bloom filter over 16-byte keys: "surely new" or
// "maybe seen". The collector keeps the (re-keyed) projects it has seen in
// one (see projectsSeen); stored event IDs are the store's filter's
// (internal/store/idfilter). Not safe for concurrent use.
type bloom struct {
	bits []uint64
	mask uint64
	k    int
	seed maphash.Seed
}

// newBloom makes a filter of 2^logBits bits with k probes.
func newBloom(logBits uint, k int) *bloom {
	n := uint64(1) << logBits
	return &bloom{bits: make([]uint64, n/64), mask: n - 1, k: k, seed: maphash.MakeSeed()}
}

func (b *bloom) hashes(id [16]byte) (uint64, uint64) {
	h1 := maphash.Bytes(b.seed, id[:])
	h2 := binary.LittleEndian.Uint64(id[8:]) ^ h1>>17 | 1
	return h1, h2
}

func (b *bloom) add(id [16]byte) {
	h1, h2 := b.hashes(id)
	for i := 0; i < b.k; i++ {
		bit := (h1 + uint64(i)*h2) & b.mask
		b.bits[bit/64] |= 1 << (bit % 64)
	}
}

func (b *bloom) has(id [16]byte) bool {
	h1, h2 := b.hashes(id)
	for i := 0; i < b.k; i++ {
		bit := (h1 + uint64(i)*h2) & b.mask
		if b.bits[bit/64]&(1<<(bit%64)) == 0 {
			return false
		}
	}
	return true
}
