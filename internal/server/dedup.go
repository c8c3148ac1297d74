package server

import (
	"context"
	"sync"

	"github.com/abacushq/abacus/internal/store"
	"github.com/abacushq/abacus/telemetry/wire"
)

// dedup decides, at ingest, which events of a batch the collector has seen
// before, so that the 202 can count duplicates and the write-ahead log holds
// each event once. The store's idempotent Insert remains the guarantee; dedup
// makes the answer exact and keeps repeats out of the log.
//
// An ID is seen when it is pending (in the log, not yet stored) or stored. The
// Bloom filter answers "surely not stored" for almost every new ID; only its
// "maybe" answers — real repeats and about 1% false positives — cost a store
// lookup.
type dedup struct {
	store store.Store

	mu      sync.Mutex            // protects pending, peak and filter
	pending map[[16]byte]struct{} // claimed, not yet stored
	peak    int                   // the most entries pending has held since it was made
	filter  *bloom                // every ID stored or claimed since start
}

func newDedup(s store.Store) *dedup {
	// 2^26 bits (8 MiB), 7 probes: about 1% false positives at 7 M IDs, 5% at
	// 12 M; a false positive costs one store lookup, not a wrong answer.
	return &dedup{store: s, pending: make(map[[16]byte]struct{}), filter: newBloom(26, 7)}
}

// warm adds an already stored ID to the filter.
func (d *dedup) warm(id string) {
	if k, ok := idKey(id); ok {
		d.mu.Lock()
		d.filter.add(k)
		d.mu.Unlock()
	}
}

// claim marks the events whose IDs are new as pending and returns them, with
// the number of repeats.
//
// When every event is new, fresh is events itself.
func (d *dedup) claim(ctx context.Context, events []store.Event) (fresh []store.Event, dups int, err error) {
	var buf [128][16]byte
	keys := buf[:0]
	if len(events) > len(buf) {
		keys = make([][16]byte, 0, len(events))
	}
	keys = keys[:len(events)]
	var maybe []string
	d.mu.Lock()
	for i := range events {
		k, _ := idKey(events[i].ID)
		keys[i] = k
		if _, ok := d.pending[k]; !ok && d.filter.has(k) {
			maybe = append(maybe, events[i].ID)
		}
	}
	d.mu.Unlock()
	var stored map[string]bool
	if len(maybe) > 0 {
		if stored, err = d.store.Existing(ctx, maybe); err != nil {
			return nil, 0, err
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var skip []bool // events that repeat, when there are any
	for i := range events {
		if _, ok := d.pending[keys[i]]; ok || stored[events[i].ID] {
			if skip == nil {
				skip = make([]bool, len(events))
			}
			skip[i] = true
			dups++
			continue
		}
		d.pending[keys[i]] = struct{}{}
		d.filter.add(keys[i])
	}
	d.peak = max(d.peak, len(d.pending))
	if dups == 0 {
		return events, 0, nil
	}
	fresh = make([]store.Event, 0, len(events)-dups)
	for i := range events {
		if !skip[i] {
			fresh = append(fresh, events[i])
		}
	}
	return fresh, dups, nil
}

// done removes events from pending: stored, or (after a failed log write)
// never logged. The filter keeps them; a false "maybe" only costs a lookup.
func (d *dedup) done(events []store.Event) {
	d.mu.Lock()
	for i := range events {
		if k, ok := idKey(events[i].ID); ok {
			delete(d.pending, k)
		}
	}
	// A Go map keeps its buckets when emptied: after a burst (a slow store, a
	// replay) copy the few entries left into a map of their size.
	if d.peak > 4096 && len(d.pending) < d.peak/8 {
		m := make(map[[16]byte]struct{}, len(d.pending))
		for k := range d.pending {
			m[k] = struct{}{}
		}
		d.pending, d.peak = m, len(m)
	}
	d.mu.Unlock()
}

// idKey parses a UUID (the canonical form; ingest accepts no other) into 16
// bytes.
func idKey(id string) ([16]byte, bool) { return wire.ParseUUID(id) }
