package telemetry

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/abacushq/abacus/telemetry/wire"
)

// Client collects the events of one run of the product. Its methods are safe for
// concurrent use, and safe on a nil *Client (they do nothing), so a host can
// ignore New's error without guarding every call.
type Client struct {
	cfg       Config
	enabled   bool
	debug     bool
	reason    string
	projectID string
	spoolDir  string

	queue    chan record           // Track → loop; never closed
	closing  atomic.Bool           // set by the first Close; Track is a no-op after it
	closeReq chan time.Time        // Close → loop: the deadline
	done     chan struct{}         // closed when the loop has ended
	closeErr atomic.Pointer[error] // the loop's verdict on Close

	tracked   atomic.Uint64
	drops     [numDropReasons]atomic.Uint64
	invalid   atomic.Uint64
	sent      atomic.Uint64
	rejected  atomic.Uint64
	spooled   atomic.Uint64
	pending   atomic.Int64 // this run's events built and not yet resolved
	resent    atomic.Uint64
	oldLost   atomic.Uint64
	recovered atomic.Uint64
	lastErr   atomic.Pointer[string]
}

// Why an event of this run was dropped; Status.DroppedBy is keyed by these names,
// the keys of the Node.js SDK's status().droppedBy (testdata/conformance/dropped-by.json).
type dropReason int

const (
	dropQueueFull dropReason = iota
	dropInvalidName
	dropTooLarge
	dropMemory
	dropRefused
	dropSpool
	dropClosed
	dropPanic
	numDropReasons
)

var dropReasonNames = [numDropReasons]string{
	dropQueueFull:   "queueFull",
	dropInvalidName: "invalidName",
	dropTooLarge:    "tooLarge",
	dropMemory:      "memory",
	dropRefused:     "refused",
	dropSpool:       "spool",
	dropClosed:      "closed",
	dropPanic:       "error",
}

func (c *Client) drop(why dropReason, n int) {
	if n > 0 {
		c.drops[why].Add(uint64(n))
	}
}

// record is what Track hands to the loop: the caller's values, unencoded.
type record struct {
	name  string
	at    time.Time
	props []prop
}

type prop struct {
	key   string
	value any
}

// Status is a snapshot of what a client decided and did.
type Status struct {
	// Enabled says whether the client collects events at all.
	Enabled bool
	// Reason starts with the name of the consent rule that decided Enabled:
	// "enabled", "DO_NOT_TRACK is set", "<PRODUCT>_TELEMETRY_DISABLED is set",
	// "opt-out file …", "no package.json …", "no uuid: …" or
	// "invalid package.json: …".
	Reason string
	// Debug says whether events are printed instead of sent.
	Debug bool
	// Tracked counts the Track calls of this run on an enabled client before
	// Close. Every one of them ends up in exactly one of Sent, Rejected, Spooled,
	// Dropped or Pending: Tracked = Sent + Rejected + Spooled + Dropped + Pending,
	// and after Close, Pending is 0.
	Tracked uint64
	// Dropped counts this run's events lost in this process; DroppedBy splits it
	// by reason, listing the reasons that dropped any: "queueFull" (the newest
	// event is dropped), "invalidName", "tooLarge", "memory" (the oldest are
	// dropped while the collector is unreachable), "refused" (4xx), "spool" (over
	// the spool cap, or the spool could not be written), "error" (the SDK
	// recovered from its own failure), "closed" (tracked while Close returned).
	// The keys are the Node.js SDK's.
	Dropped   uint64
	DroppedBy map[string]uint64
	// DroppedValues counts property or build keys dropped: for their name or
	// type, or past the 64 properties an event may carry.
	DroppedValues uint64
	// Sent counts this run's events the collector acknowledged (accepted or
	// duplicate).
	Sent uint64
	// Rejected counts this run's events the collector rejected; they are never
	// resent.
	Rejected uint64
	// Pending is the number of this run's events not yet acknowledged.
	Pending int64
	// Spooled counts this run's events written to the spool for a later run.
	Spooled uint64
	// Resent counts events of earlier runs, read from the spool, that the
	// collector acknowledged in this run; SpoolDropped counts those this run
	// discarded (refused, over the caps, or deleted to keep the spool small).
	Resent       uint64
	SpoolDropped uint64
	// StateDir is the directory of the spool, the fallback machine ID and the
	// record of sent events (RecentFile); OptOutFile is the user-level opt-out
	// file that Disable writes.
	StateDir   string
	OptOutFile string
	RecentFile string
	// Recovered counts panics caught inside the SDK.
	Recovered uint64
	// LastError is the last delivery problem, if any.
	LastError string
}

// New makes a client. It decides consent at once (reading the environment, the
// opt-out file and package.json) and, when enabled, starts one goroutine that
// builds, batches and sends events; that goroutine ends in Close. A disabled
// client sends nothing and writes nothing; at most it deletes, on a goroutine of
// its own, the spool of earlier runs, which New sets aside at once.
//
// New returns an error only for an invalid Config; Status tells why a valid
// client is disabled.
func New(cfg Config) (c *Client, err error) {
	defer recoverInto(&err)
	cfg, err = cfg.resolve()
	if err != nil {
		return nil, err
	}
	c = &Client{cfg: cfg}
	projectID, reason, userOptOut := consent(cfg)
	c.reason = reason
	c.spoolDir = filepath.Join(cfg.StateDir, "spool")
	if reason != ReasonEnabled {
		// Opting out also discards what an earlier run could not send: events of a
		// user who said no must not leave the machine later.
		c.discardSpool(userOptOut)
		return c, nil
	}
	c.debug = truthy(os.Getenv(envPrefix(cfg.Product) + "_TELEMETRY_DEBUG"))
	if cfg.Endpoint == "" && !c.debug {
		return nil, errNoEndpoint
	}
	c.enabled = true
	c.projectID = projectID
	c.queue = make(chan record, cfg.QueueSize)
	c.closeReq = make(chan time.Time, 1)
	c.done = make(chan struct{})
	go c.run()
	return c, nil
}

// Track records one event with its properties. It never blocks and does no I/O
// or encoding: it copies the property map (keys and values, shallowly; at most
// 64 properties, which ones of a larger map is unspecified, the rest counted in
// DroppedValues) and hands it to the client's goroutine. When the queue is full
// the event is dropped and counted. Property values must be strings, numbers, bools or lists of those;
// anything else is dropped, and strings that look personal or secret are
// replaced by "[redacted]" before anything leaves the process.
func (c *Client) Track(event string, props map[string]any) {
	if c == nil || !c.enabled || c.closing.Load() {
		return
	}
	defer c.recover()
	c.tracked.Add(1)
	r := record{name: event, at: time.Now()}
	if n := len(props); n > wire.MaxPropertiesPerEvent {
		r.props = capProps(props)
		c.invalid.Add(uint64(n - wire.MaxPropertiesPerEvent))
	} else if n > 0 {
		r.props = make([]prop, 0, n)
		for k, v := range props {
			r.props = append(r.props, prop{k, v})
		}
	}
	select {
	case c.queue <- r:
	default:
		c.drops[dropQueueFull].Add(1)
	}
}

// capProps copies wire.MaxPropertiesPerEvent entries of a larger map: the cost
// of Track does not grow with the map.
func capProps(props map[string]any) []prop {
	out := make([]prop, 0, wire.MaxPropertiesPerEvent)
	for k, v := range props {
		if len(out) == wire.MaxPropertiesPerEvent {
			break
		}
		out = append(out, prop{k, v})
	}
	return out
}

// Close sends what is queued and stops the client. It returns within the
// CloseBudget of the Config (or by ctx's deadline, if earlier) whatever the
// network does; events not acknowledged by then are written to the spool and
// sent by the next enabled New. Close is idempotent; Track after Close does
// nothing.
func (c *Client) Close(ctx context.Context) (err error) {
	if c == nil || !c.enabled {
		return nil
	}
	defer c.recoverInto(&err)
	deadline := time.Now().Add(c.cfg.CloseBudget)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if c.closing.CompareAndSwap(false, true) {
		c.closeReq <- deadline
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-c.done:
		if p := c.closeErr.Load(); p != nil {
			return *p
		}
		return nil
	case <-t.C:
		return fmt.Errorf("telemetry: close budget of %v exceeded; %d events neither sent nor spooled yet", c.cfg.CloseBudget, c.unresolved())
	case <-ctx.Done():
		return fmt.Errorf("telemetry: close: %w; %d events neither sent nor spooled yet", ctx.Err(), c.unresolved())
	}
}

// unresolved counts this run's events not yet sent, spooled or dropped.
func (c *Client) unresolved() int64 {
	return c.pending.Load() + int64(len(c.queue))
}

// loopDone reports whether the client's goroutine has ended.
func (c *Client) loopDone() bool {
	if c.done == nil {
		return false
	}
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Status reports what the client decided and what it has done so far.
func (c *Client) Status() (s Status) {
	if c == nil {
		return Status{Reason: "no client"}
	}
	defer c.recover()
	s = Status{
		Enabled:       c.enabled,
		Reason:        c.reason,
		Debug:         c.debug,
		DroppedValues: c.invalid.Load(),
		Sent:          c.sent.Load(),
		Rejected:      c.rejected.Load(),
		Spooled:       c.spooled.Load(),
		Resent:        c.resent.Load(),
		SpoolDropped:  c.oldLost.Load(),
		Recovered:     c.recovered.Load() + packageRecovered.Load(),
		StateDir:      c.cfg.StateDir,
		RecentFile:    filepath.Join(c.cfg.StateDir, recentName),
	}
	s.OptOutFile, _ = optOutPath()
	// Records still in the queue once the goroutine has ended were tracked
	// while Close ran: nothing will send them.
	var late uint64
	if c.loopDone() {
		late = uint64(len(c.queue))
	} else {
		s.Pending = c.unresolved()
	}
	// Read tracked last: every other counter only grows from events it counted.
	s.Tracked = c.tracked.Load()
	for i := range c.drops {
		n := c.drops[i].Load()
		if dropReason(i) == dropClosed {
			n += late
		}
		if n > 0 {
			if s.DroppedBy == nil {
				s.DroppedBy = map[string]uint64{}
			}
			s.DroppedBy[dropReasonNames[i]] = n
			s.Dropped += n
		}
	}
	if p := c.lastErr.Load(); p != nil {
		s.LastError = *p
	}
	return s
}

func (c *Client) setLastError(err error) {
	s := err.Error()
	c.lastErr.Store(&s)
}

// packageRecovered counts panics caught in package-level functions.
var packageRecovered atomic.Uint64

// recover catches a panic on the way out of an exported method so that it never
// reaches the host, and counts it.
func (c *Client) recover() {
	if r := recover(); r != nil {
		c.recovered.Add(1)
	}
}

func (c *Client) recoverInto(err *error) {
	if r := recover(); r != nil {
		c.recovered.Add(1)
		*err = fmt.Errorf("telemetry: internal error: %v", r)
	}
}

func recoverInto(err *error) {
	if r := recover(); r != nil {
		packageRecovered.Add(1)
		*err = fmt.Errorf("telemetry: internal error: %v", r)
	}
}
