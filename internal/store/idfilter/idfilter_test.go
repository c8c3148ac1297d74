package idfilter

import (
	"encoding/binary"
	"sync"
	"testing"
)

func id(i uint64) [16]byte {
	var u [16]byte
	binary.BigEndian.PutUint64(u[:8], i)
	binary.BigEndian.PutUint64(u[8:], i*0x9e3779b97f4a7c15)
	return u
}

func TestFilter(t *testing.T) {
	f := New(0)
	const n = 1_000_000
	for i := range uint64(n) {
		f.Add(id(i))
	}
	for i := range uint64(n) {
		if !f.Has(id(i)) {
			t.Fatalf("ID %d added, not found", i)
		}
	}
	fp := 0
	for i := uint64(n); i < 2*n; i++ {
		if f.Has(id(i)) {
			fp++
		}
	}
	// Under 1e-6 at 1M IDs (16 MiB), about 2e-6 at 3M: a batch of 5,000
	// new events takes a store's lookup about one time in a hundred.
	if rate := float64(fp) / n; rate > 1e-5 {
		t.Errorf("false positives at %d IDs: %.2g, want < 1e-5", n, rate)
	}
	t.Logf("false positives at %d IDs: %d", n, fp)
	if f.Full() || f.Len() != n {
		t.Errorf("a filter for 4M IDs: full %v, %d IDs at %d added", f.Full(), f.Len(), n)
	}
	f.n.Store(f.capacity + 1) // as if it held one more than it was made for
	if !f.Full() {
		t.Errorf("a filter for %d IDs is not full at %d", f.capacity, f.Len())
	}
	if g := New(10_000_000); g.Bytes() < 40<<20 || g.Capacity() < 10_000_000 {
		t.Errorf("a filter for 10M IDs: %d bytes, capacity %d", g.Bytes(), g.Capacity())
	}
	if g := New(1 << 40); g.Bytes() != maxBytes || g.Full() {
		t.Errorf("a filter for 2^40 IDs: %d bytes (want the cap, %d), full %v", g.Bytes(), maxBytes, g.Full())
	}
}

// Adds and lookups run at the same time (under the race detector in CI): an
// ID added before a lookup starts is always found.
func TestFilterConcurrent(t *testing.T) {
	f := New(0)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := uint64(w); i < 40_000; i += 4 {
				f.Add(id(i))
				if !f.Has(id(i)) {
					t.Errorf("ID %d added, not found", i)
					return
				}
				f.Has(id(i + 1_000_000))
			}
		}()
	}
	wg.Wait()
	if f.Len() != 40_000 {
		t.Errorf("Len = %d, want 40000", f.Len())
	}
}
