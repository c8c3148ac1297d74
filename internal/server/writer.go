package server

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/abacushq/abacus/internal/store"
	"github.com/abacushq/abacus/internal/wal"
	"github.com/abacushq/abacus/internal/wal/walrec"
)

// writer moves acknowledged events from memory into the store in large batches,
// off the request path, and releases the write-ahead log behind them. The log,
// not the writer's memory, is what makes events durable: if the process dies,
// replay brings back whatever the writer had not stored.
type writer struct {
	store   store.Store
	log     *wal.Log
	dedup   *dedup
	logger  *slog.Logger
	metrics *serverMetrics

	maxBatch int           // events per Insert
	maxWait  time.Duration // how long an event may wait for a batch to fill

	mu      sync.Mutex // protects queue, queued, queuedB, oldest, flushes, tickets, stored
	queue   []logged
	queued  int
	queuedB int       // bytes of the queued records
	oldest  time.Time // when the oldest queued event was queued
	flushes []chan struct{}
	tickets map[uint64]wal.Pos // appends under way: log end when each began
	nextID  uint64
	stored  wal.Pos // end of the last record whose events are stored

	batch []store.Event // run's decoding space, reused from batch to batch

	// failing is set while the last attempt to store a batch failed: ingest
	// stops acknowledging until the store takes events again, so that the
	// log does not take the disk space the store needs to recover.
	failing atomic.Bool

	kick chan struct{} // capacity 1: "there is work"
	stop chan struct{}
	done chan struct{}
}

// logged is one log record's events, still encoded, and the log position
// just past the record. Queued events stay in this form, plain bytes that the
// garbage collector never scans, until the batch that stores them.
type logged struct {
	rec []byte
	n   int // events in rec
	end wal.Pos
}

func newWriter(s store.Store, l *wal.Log, d *dedup, logger *slog.Logger, m *serverMetrics) *writer {
	return &writer{
		store: s, log: l, dedup: d, logger: logger, metrics: m,
		maxBatch: 5000, maxWait: 250 * time.Millisecond,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		tickets: map[uint64]wal.Pos{},
	}
}

// enter is called before a log append: until the append's events are added (or
// the append failed and leave is called), the log is not released past the
// point where the append began.
func (w *writer) enter() uint64 {
	end := w.log.End()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.nextID++
	w.tickets[w.nextID] = end
	return w.nextID
}

func (w *writer) leave(ticket uint64) {
	w.mu.Lock()
	delete(w.tickets, ticket)
	w.mu.Unlock()
}

// releasableLocked is how far the log may be released: up to the last stored
// record, but never into a segment holding a record that is queued or still
// being appended (records never span segments, so a segment's start is safe).
func (w *writer) releasableLocked() wal.Pos {
	p := w.stored
	for _, g := range w.queue {
		if s := (wal.Pos{Segment: g.end.Segment}); s.Less(p) {
			p = s
		}
	}
	for _, t := range w.tickets {
		if s := (wal.Pos{Segment: t.Segment}); s.Less(p) {
			p = s
		}
	}
	return p
}

// add queues the n events of rec, a record written by walrec.Append that is
// in the log up to end, and ends the append's ticket. The writer owns rec
// from then on (it goes back to the record pool once stored). It never
// blocks.
func (w *writer) add(ticket uint64, rec []byte, n int, end wal.Pos) {
	w.mu.Lock()
	delete(w.tickets, ticket)
	if w.queued == 0 {
		w.oldest = time.Now()
	}
	w.queue = append(w.queue, logged{rec, n, end})
	w.queued += n
	w.queuedB += len(rec)
	full := w.queued >= w.maxBatch
	w.mu.Unlock()
	if full {
		w.poke()
	}
}

func (w *writer) poke() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// lag reports the events not yet stored and how long the oldest has waited.
func (w *writer) lag() (int, time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.queued == 0 {
		return 0, 0
	}
	return w.queued, time.Since(w.oldest)
}

// lagBytes reports the bytes of the records not yet stored.
func (w *writer) lagBytes() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.queuedB
}

// flush waits until everything queued before the call is stored.
func (w *writer) flush(ctx context.Context) error {
	ch := make(chan struct{})
	w.mu.Lock()
	w.flushes = append(w.flushes, ch)
	w.mu.Unlock()
	w.poke()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-w.done:
		return store.ErrClosed
	}
}

// run stores batches until close; on close it stores everything queued.
func (w *writer) run() {
	defer close(w.done)
	tick := time.NewTicker(w.maxWait / 2)
	defer tick.Stop()
	failures := 0
	for {
		stopping := false
		select {
		case <-w.kick:
		case <-tick.C:
		case <-w.stop:
			stopping = true
		}
		for {
			n, flushWanted := w.ready(stopping)
			if n == 0 && !flushWanted {
				break
			}
			if err := w.storeBatch(); err != nil {
				w.failing.Store(true)
				failures++
				w.logger.Error("cannot store events; they stay in the write-ahead log", "err", err, "attempt", failures)
				if stopping && failures > 3 {
					return // replay stores them at the next start
				}
				select {
				case <-time.After(min(time.Duration(failures)*time.Second, 5*time.Second)):
				case <-w.stop:
					stopping = true
				}
				continue
			}
			failures = 0
			w.failing.Store(false)
		}
		if stopping {
			return
		}
	}
}

// ready says whether a batch should be stored now.
func (w *writer) ready(stopping bool) (int, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.flushes) > 0 && w.queued == 0 {
		for _, ch := range w.flushes {
			close(ch)
		}
		w.flushes = nil
	}
	if w.queued == 0 {
		return 0, false
	}
	if stopping || len(w.flushes) > 0 || w.queued >= w.maxBatch || time.Since(w.oldest) >= w.maxWait {
		return w.queued, len(w.flushes) > 0
	}
	return 0, false
}

// storeBatch inserts up to maxBatch queued events and releases the log behind
// them. On error nothing is dequeued.
func (w *writer) storeBatch() error {
	w.mu.Lock()
	count, groups, bytes := 0, 0, 0
	for _, g := range w.queue {
		if count > 0 && count+g.n > w.maxBatch {
			break
		}
		count += g.n
		bytes += len(g.rec)
		groups++
	}
	taken := slices.Clone(w.queue[:groups])
	w.mu.Unlock()

	var end wal.Pos
	batch := w.batch[:0]
	for _, g := range taken {
		if end.Less(g.end) {
			end = g.end
		}
		var err error
		if batch, err = walrec.AppendDecoded(batch, g.rec); err != nil {
			// The record was encoded by this process: a bug, not bad input.
			w.metrics.unstorable.Add(uint64(g.n))
			w.logger.Error("cannot decode queued events; dropping them", "events", g.n, "err", err)
		}
	}
	w.batch = batch
	defer clear(batch) // drop the references until the next batch

	start := time.Now()
	inserted, err := w.insert(batch)
	if err != nil {
		return err
	}
	w.metrics.storeInsert.Observe(time.Since(start).Seconds())
	w.metrics.stored.Add(uint64(inserted))

	w.mu.Lock()
	n := copy(w.queue, w.queue[groups:])
	clear(w.queue[n:])
	w.queue = w.queue[:n]
	w.queued -= count
	w.queuedB -= bytes
	if w.queued > 0 {
		w.oldest = time.Now() // close enough: the next batch is due within maxWait
	}
	if w.stored.Less(end) {
		w.stored = end
	}
	release := w.releasableLocked()
	w.mu.Unlock()
	w.dedup.done(batch)
	for _, g := range taken {
		walrec.Put(g.rec)
	}
	if err := w.log.Release(release); err != nil {
		w.logger.Warn("cannot release write-ahead log segments", "err", err)
	}
	return nil
}

// insert stores events. When the store refuses the whole, it tries the halves,
// to tell a store that is down (every part fails: the error is returned and the
// events stay in the log) from one event it cannot take (its sibling went in:
// that event is dropped and logged, so that it cannot hold back the log
// forever). Ingest validates what the store needs, so a drop means a bug.
func (w *writer) insert(events []store.Event) (int, error) {
	n, err := w.store.Insert(context.Background(), events)
	if err == nil || len(events) == 1 {
		return n, err
	}
	// Narrow down: while one half goes in and the other does not, the store
	// works and the fault is in the other half. O(log n) inserts; when the
	// store is down, two.
	total := 0
	for len(events) > 1 {
		half := len(events) / 2
		left, right := events[:half], events[half:]
		n1, err1 := w.store.Insert(context.Background(), left)
		n2, err2 := w.store.Insert(context.Background(), right)
		total += n1 + n2
		switch {
		case err1 != nil && err2 != nil:
			return total, err // both fail: the store, or more than one bad event
		case err1 != nil:
			events, err = left, err1
		case err2 != nil:
			events, err = right, err2
		default:
			return total, nil // a passing fault
		}
	}
	// Its sibling just went in, so the store is up: one more try tells a store
	// that came back between the two inserts (an outage ending mid-narrowing)
	// from an event it refuses.
	n, err = w.store.Insert(context.Background(), events)
	if err == nil {
		return total + n, nil
	}
	w.dropUnstorable(events[0], err)
	return total, nil
}

func (w *writer) dropUnstorable(e store.Event, err error) {
	w.metrics.unstorable.Inc()
	w.logger.Error("the store refuses an event that the store accepts others like; dropping it", "id", e.ID, "event", e.Name, "err", err)
}

func (w *writer) close() {
	close(w.stop)
	<-w.done
}
