package telemetry

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/abacushq/abacus/telemetry/wire"
)

const (
	// batchSize is the most events one request carries; 200 events stay well under
	// the collector's 8 MiB decoded limit even at the 32 KiB per-event maximum.
	batchSize = 200
	// maxPendingBytes bounds the encoded events held in memory (waiting, in
	// flight, and loaded from the spool) while the collector is slow or
	// unreachable; past it the oldest are dropped, earlier runs' first. With the
	// queue of records between Track and the loop, it keeps what the SDK holds
	// to a few MiB whatever the host tracks.
	maxPendingBytes = 4 << 20
	// maxBatchBytes bounds the encoded events of one request.
	maxBatchBytes = 1 << 20
)

// loop is the client's one goroutine: it turns records into events, batches them,
// keeps at most one request in flight, retries, and spools at Close. Everything in
// it is owned by that goroutine.
type loop struct {
	c        *Client
	san      sanitizer
	template wire.Event // the fields every event of this run shares
	debug    io.Writer  // set in debug mode: events are printed, not sent
	sender   *sender

	pending    []queued    // this run's events, built, not in flight, oldest first
	old        []queued    // earlier runs' events from the spool, oldest first
	heldBytes  int         // encoded bytes in pending, old and the flight
	flight     *flight     // the request in flight, if any
	results    chan result // flight → loop; capacity 1, so a flight never blocks
	retryAt    time.Time   // no new request before this
	retryC     <-chan time.Time
	attempts   int // consecutive failed attempts
	batchLimit int // shrinks after a 413
	flushDue   bool
	deadline   time.Time // Close's deadline, once Close runs

	spool   *spool
	loadedC chan loadedSpool // the spool reader's answer, until it is taken
}

// queued is an event encoded once, when it is built: sending, resending and
// spooling it never encode it again.
type queued struct {
	id  string
	raw json.RawMessage
	old bool // read from the spool: an earlier run's event
}

type flight struct {
	events []queued
	cancel context.CancelFunc
}

func (c *Client) run() {
	l := &loop{c: c, results: make(chan result, 1), batchLimit: batchSize}
	defer close(c.done)
	defer func() {
		if r := recover(); r != nil {
			c.recovered.Add(1)
			err := fmt.Errorf("telemetry: internal error, unsent events spooled: %v", r)
			c.closeErr.Store(&err)
			l.spoolUnsent()
		}
	}()
	l.init()
	l.main()
}

// init does the I/O that New must not do on the caller's goroutine: machine
// facts, the machine ID, the spool of earlier runs.
func (l *loop) init() {
	c := l.c
	home, _ := os.UserHomeDir()
	l.san = newSanitizer(home)
	build, dropped := l.san.props(c.cfg.Build)
	c.invalid.Add(uint64(dropped))
	env := c.cfg.Environment
	if env == "" {
		env = detectEnvironment(c.cfg.Product)
	}
	mid, err := machineID(c.cfg.Product, c.cfg.StateDir, rawMachineID())
	if err != nil {
		c.setLastError(err)
	}
	l.template = wire.Event{
		ProjectID:   c.projectID,
		MachineID:   mid,
		SessionID:   newEventID(time.Now()),
		Environment: env,
		Product:     wire.Product{Name: c.cfg.Product, Version: c.cfg.Version},
		Context:     detectContext(),
		Build:       build,
	}
	if c.debug {
		l.debug = c.cfg.Debug
		return
	}
	l.sender = newSender(c.cfg)
	l.spool = openSpool(c.spoolDir, c.cfg.Dir)
	// The spool of earlier runs is read on a goroutine of its own: on a slow or
	// cold disk the run's own events must not wait for it.
	loaded := make(chan loadedSpool, 1)
	l.loadedC = loaded
	go func(s *spool) {
		defer func() { recover() }()
		res, err := s.load()
		loaded <- loadedSpool{s, res, err}
	}(&spool{root: l.spool.root, dir: l.spool.dir})
	if hasDiscards(c.cfg.StateDir) {
		go discardLeftovers(c.cfg.StateDir)
	}
}

// loadedSpool is what the spool reader hands the loop.
type loadedSpool struct {
	spool *spool
	res   loadResult
	err   error
}

// installSpool takes the events read from the spool.
func (l *loop) installSpool(ls loadedSpool) {
	c := l.c
	l.loadedC = nil
	l.spool = ls.spool
	if ls.err != nil {
		c.setLastError(ls.err)
	}
	if ls.res.oversized+ls.res.bad > 0 {
		c.setLastError(fmt.Errorf("deleted %d spool files over %d bytes and %d without a readable event", ls.res.oversized, spoolMaxBytes, ls.res.bad))
	}
	l.old = append(l.old, ls.res.events...)
	for _, ev := range ls.res.events {
		l.heldBytes += len(ev.raw)
	}
	l.capMemory()
	l.updatePending()
}

func (l *loop) main() {
	c := l.c
	tick := time.NewTicker(c.cfg.FlushInterval)
	defer tick.Stop()
	for {
		l.maybeSend()
		select {
		case r := <-c.queue:
			l.add(r)
		case <-tick.C:
			l.flushDue = true
		case res := <-l.results:
			l.finish(res)
		case <-l.retryC:
			l.retryC = nil
		case ls := <-l.loadedC:
			l.installSpool(ls)
		case deadline := <-c.closeReq:
			l.shutdown(deadline)
			return
		}
	}
}

// add builds the event of one record. A value that makes the build panic costs
// that event only.
func (l *loop) add(r record) {
	defer func() {
		if p := recover(); p != nil {
			l.c.recovered.Add(1)
			l.c.drop(dropPanic, 1)
		}
	}()
	if !validEventName(r.name) {
		l.c.drop(dropInvalidName, 1)
		return
	}
	ev := l.template
	ev.ID = newEventID(r.at)
	ev.Event = r.name
	ev.Timestamp = r.at.UTC().Truncate(time.Millisecond)
	if len(r.props) > 0 {
		m := make(map[string]any, len(r.props))
		for _, p := range r.props {
			m[p.key] = p.value
		}
		var dropped int
		ev.Properties, dropped = l.san.props(m)
		l.c.invalid.Add(uint64(dropped))
	}
	raw, err := marshalEvent(&ev)
	if err != nil || len(raw) > wire.MaxEventBytes {
		l.c.drop(dropTooLarge, 1)
		l.c.setLastError(fmt.Errorf("event %q dropped: encoded to %d bytes, limit %d", r.name, len(raw), wire.MaxEventBytes))
		return
	}
	if l.debug != nil {
		if _, err := l.debug.Write(append(raw, '\n')); err != nil {
			l.c.setLastError(err)
		}
		return
	}
	l.pending = append(l.pending, queued{id: ev.ID, raw: raw})
	l.heldBytes += len(raw)
	l.capMemory()
	l.updatePending()
}

// capMemory drops the oldest waiting events, earlier runs' first, until what
// the loop holds fits maxPendingBytes.
func (l *loop) capMemory() {
	var old, own int
	for l.heldBytes > maxPendingBytes && old < len(l.old) {
		l.heldBytes -= len(l.old[old].raw)
		old++
	}
	for l.heldBytes > maxPendingBytes && own < len(l.pending) {
		l.heldBytes -= len(l.pending[own].raw)
		own++
	}
	if old > 0 {
		l.spool.acked(l.old[:old])
		l.old = slices.Delete(l.old, 0, old)
		l.c.oldLost.Add(uint64(old))
	}
	if own > 0 {
		l.pending = slices.Delete(l.pending, 0, own)
		l.c.drop(dropMemory, own)
	}
}

// updatePending publishes how many of this run's events are built and not yet
// resolved.
func (l *loop) updatePending() {
	n := len(l.pending)
	if l.flight != nil {
		for _, ev := range l.flight.events {
			if !ev.old {
				n++
			}
		}
	}
	l.c.pending.Store(int64(n))
}

// waiting is the number of events not in flight.
func (l *loop) waiting() int { return len(l.pending) + len(l.old) }

// maybeSend starts a request when none is in flight, no retry wait is running,
// and either a batch is full or the flush interval has passed.
func (l *loop) maybeSend() {
	if l.flight != nil || l.waiting() == 0 || l.retryC != nil {
		return
	}
	// A full batch of this run's events goes at once; earlier runs' events wait
	// for the flush interval (or Close), so that they never delay the run's own.
	if len(l.pending) < l.batchLimit && !l.flushDue {
		return
	}
	l.startFlight()
	if l.waiting() == 0 {
		l.flushDue = false
	}
}

// startFlight sends the next batch: this run's events first, then earlier
// runs', so that a short budget delivers what the host just tracked.
func (l *loop) startFlight() {
	events := make([]queued, 0, min(l.waiting(), l.batchLimit))
	size := 0
	take := func(from []queued) []queued {
		n := 0
		for n < len(from) && len(events) < l.batchLimit && (len(events) == 0 || size+len(from[n].raw) <= maxBatchBytes) {
			size += len(from[n].raw)
			events = append(events, from[n])
			n++
		}
		return slices.Delete(from, 0, n)
	}
	l.pending = take(l.pending)
	l.old = take(l.old)
	ctx, cancel := context.WithCancel(context.Background())
	l.flight = &flight{events: events, cancel: cancel}
	go func() {
		l.results <- l.sender.post(ctx, events)
	}()
}

// finish applies the outcome of the request in flight.
func (l *loop) finish(res result) {
	c := l.c
	f := l.flight
	l.flight = nil
	f.cancel()
	defer l.updatePending()
	// gone settles events that leave memory for good.
	gone := func(events []queued) {
		for _, ev := range events {
			l.heldBytes -= len(ev.raw)
		}
		l.spool.acked(events)
	}
	lost := func(events []queued, why dropReason) {
		for _, ev := range events {
			if ev.old {
				c.oldLost.Add(1)
			} else {
				c.drop(why, 1)
			}
		}
		gone(events)
	}
	switch res.verdict {
	case delivered:
		l.attempts = 0
		l.batchLimit = batchSize
		rejected := make(map[int]bool, len(res.resp.Rejected))
		for _, r := range res.resp.Rejected {
			rejected[r.Index] = true
		}
		for i, ev := range f.events {
			switch {
			case ev.old && rejected[i]:
				c.oldLost.Add(1)
			case ev.old:
				c.resent.Add(1)
			case rejected[i]:
				c.rejected.Add(1)
			default:
				c.sent.Add(1)
			}
		}
		if len(res.resp.Rejected) > 0 {
			c.setLastError(fmt.Errorf("collector rejected %d events, first: %s", len(res.resp.Rejected), res.resp.Rejected[0].Error))
		}
		if err := l.record(f.events); err != nil {
			c.setLastError(err)
		}
		gone(f.events)
	case tooLarge:
		if len(f.events) > 1 {
			l.batchLimit = max(1, len(f.events)/2)
			l.requeue(f.events)
			return
		}
		c.setLastError(res.err)
		lost(f.events, dropTooLarge)
	case retry:
		l.attempts++
		c.setLastError(res.err)
		l.requeue(f.events)
		l.capMemory()
		wait := res.retryAfter
		if wait <= 0 {
			wait = backoff(l.attempts)
		}
		l.retryAt = time.Now().Add(wait)
		l.retryC = time.After(wait)
	default: // refused: the collector will never take this batch
		c.setLastError(res.err)
		lost(f.events, dropRefused)
	}
}

// requeue puts the events of a failed request back in front of their queues.
func (l *loop) requeue(events []queued) {
	var own, old []queued
	for _, ev := range events {
		if ev.old {
			old = append(old, ev)
		} else {
			own = append(own, ev)
		}
	}
	l.pending = append(own, l.pending...)
	l.old = append(old, l.old...)
}

// shutdown sends what it can until shortly before deadline, then spools the rest.
func (l *loop) shutdown(deadline time.Time) {
	c := l.c
	// Build what is queued, but not past half the budget: on a starved machine
	// a full queue of big events could take longer than the whole budget.
	// Records left in the queue are counted as dropped ("closed").
	buildBy := time.Now().Add(time.Until(deadline) / 2)
	for n := 0; ; n++ {
		if n%16 == 15 && time.Now().After(buildBy) {
			break
		}
		select {
		case r := <-c.queue:
			l.add(r)
			continue
		default:
		}
		break
	}
	if l.debug != nil {
		return
	}
	// Take the spool once it is read, waiting for it a little (a small spool
	// takes a millisecond); if a huge or cold one is still being read, its
	// files stay for the next run.
	if l.loadedC != nil {
		wait := time.NewTimer(min(time.Until(deadline)/4, 50*time.Millisecond))
		select {
		case ls := <-l.loadedC:
			l.installSpool(ls)
		case <-wait.C:
		}
		wait.Stop()
	}
	l.deadline = deadline
	defer l.sender.closeIdle()
	// Keep a third of the budget (at most 100ms) for writing the spool: on a busy
	// machine a write can take tens of milliseconds, and a request that needs
	// more than the rest is better retried by the next run.
	reserve := min(time.Until(deadline)/3, 100*time.Millisecond)
	sendBy := time.NewTimer(time.Until(deadline.Add(-reserve)))
	defer sendBy.Stop()
send:
	for {
		if l.flight == nil {
			if l.waiting() == 0 || time.Now().Before(l.retryAt) {
				break
			}
			l.startFlight()
			l.updatePending()
		}
		select {
		case res := <-l.results:
			l.finish(res)
		case <-sendBy.C:
			break send
		}
	}
	if l.flight != nil {
		// Cancelling makes the request return at once; take its answer if it
		// arrives in the few milliseconds that are left.
		l.flight.cancel()
		select {
		case res := <-l.results:
			l.finish(res)
		case <-time.After(min(reserve/2, 10*time.Millisecond)):
		}
	}
	l.spoolUnsent()
}

// spoolUnsent writes every unacknowledged event to the spool.
func (l *loop) spoolUnsent() {
	if l.spool == nil {
		return
	}
	unsent := append(slices.Clone(l.pending), l.old...)
	if l.flight != nil {
		unsent = append(slices.Clone(l.flight.events), unsent...)
		l.flight.cancel()
		l.flight = nil
	}
	l.pending, l.old, l.heldBytes = nil, nil, 0
	deadline := l.deadline
	if deadline.IsZero() || time.Until(deadline) < 20*time.Millisecond {
		deadline = time.Now().Add(20 * time.Millisecond)
	}
	res, err := l.spool.save(unsent, deadline)
	l.c.spooled.Add(uint64(res.ownWritten))
	l.c.drop(dropSpool, res.ownDropped)
	l.c.oldLost.Add(uint64(res.oldDropped + res.othersDropped))
	if err != nil {
		l.c.setLastError(err)
		err = fmt.Errorf("telemetry: %w; %d events of this run lost", err, res.ownDropped)
		l.c.closeErr.Store(&err)
	}
	l.updatePending()
}

// eventJSON is wire.Event as the SDK encodes it: the same fields in the same
// order, with the timestamp always carrying three digits of milliseconds
// ("2026-05-04T10:00:00.120Z"), as every SDK writes it.
type eventJSON struct {
	ID          string         `json:"id"`
	Event       string         `json:"event"`
	Timestamp   string         `json:"timestamp"`
	ProjectID   string         `json:"projectId"`
	MachineID   string         `json:"machineId"`
	SessionID   string         `json:"sessionId,omitempty"`
	Environment string         `json:"environment"`
	Product     wire.Product   `json:"product"`
	Context     wire.Context   `json:"context"`
	Build       map[string]any `json:"build,omitempty"`
	Properties  map[string]any `json:"properties,omitempty"`
}

// wireTimeLayout is RFC 3339 in UTC with milliseconds.
const wireTimeLayout = "2006-01-02T15:04:05.000Z07:00"

func marshalEvent(ev *wire.Event) ([]byte, error) {
	return json.Marshal(eventJSON{
		ID: ev.ID, Event: ev.Event, Timestamp: ev.Timestamp.UTC().Format(wireTimeLayout),
		ProjectID: ev.ProjectID, MachineID: ev.MachineID, SessionID: ev.SessionID,
		Environment: ev.Environment, Product: ev.Product, Context: ev.Context,
		Build: ev.Build, Properties: ev.Properties,
	})
}
