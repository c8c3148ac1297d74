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
// An ID is seen when it is pending (in the log, not yet stored) or stored.
// Pending IDs are held here from claim until the writer's Insert has
// returned; stored ones are the store's to tell (Existing), which answers
// new IDs from its filter of stored IDs without reading its table (see
// internal/store/idfilter). An ID is always one or the other: the store adds
// it to its filter when its Insert commits, before dedup lets it go.
type dedup struct {
	store store.Store

	mu      sync.Mutex            // protects pending and peak
	pending map[[16]byte]struct{} // claimed, not yet stored
	peak    int                   // the most entries pending has held since it was made
}

func newDedup(s store.Store) *dedup {
	return &dedup{store: s, pending: make(map[[16]byte]struct{})}
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
	var sbuf [128]string
	ask := sbuf[:0]
	d.mu.Lock()
	for i := range events {
		k, _ := idKey(events[i].ID)
		keys[i] = k
		if _, ok := d.pending[k]; !ok {
			ask = append(ask, events[i].ID)
		}
	}
	d.mu.Unlock()
	var stored map[string]bool
	if len(ask) > 0 {
		if stored, err = d.store.Existing(ctx, ask); err != nil {
			if ctx.Err() != nil {
				return nil, 0, err
			}
			// A store on a server (ClickHouse) may be away: the events go to
			// the log as new, and the store's idempotent Insert drops the
			// repeats when it is back. Only the 202's count of duplicates is
			// then short.
			stored = nil
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

// done removes events from pending: stored (the store's filter has them), or
// (after a failed log write) never logged.
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
