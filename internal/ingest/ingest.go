package ingest

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/abacushq/abacus/internal/plan"
	"github.com/abacushq/abacus/internal/store"
	"github.com/abacushq/abacus/telemetry/wire"
)

// Default limits and windows, used where Limits or Config leave a zero.
const (
	DefaultMaxEvents     = wire.MaxEventsPerBatch     // 1000
	DefaultMaxEventBytes = wire.MaxEventBytes         // 32 KiB
	DefaultMaxProperties = wire.MaxPropertiesPerEvent // 64
	DefaultRetention     = 400 * 24 * time.Hour
	DefaultMaxFuture     = 24 * time.Hour
	DefaultMinBodyRate   = 4096
	DefaultBodyGrace     = 2 * time.Second

	// MaxDepth is how deeply a body may nest objects and arrays (the batch object and
	// its events array count). Deeper bodies are answered 400 before any JSON is decoded.
	MaxDepth = 64
)

// Reasons a per-event rejection is counted under in Batch.RejectReasons. The set is
// closed: metrics can use them as label values.
const (
	ReasonSchema       = "schema"        // not an object, a JSON type mismatch, a missing or malformed envelope field
	ReasonTooLarge     = "too-large"     // the event's JSON is over MaxEventBytes, or too many properties or build keys
	ReasonTooOld       = "too-old"       // corrected time before receivedAt - Retention
	ReasonFuture       = "future"        // corrected time after receivedAt + MaxFuture
	ReasonPlan         = "plan"          // plan.Apply: wrong product, undeclared event, value of the wrong type or out of bounds
	ReasonPersonalData = "personal-data" // plan.Apply: a string value looks like personal data
)

// RejectReasons lists every label of Batch.RejectReasons.
var RejectReasons = []string{ReasonSchema, ReasonTooLarge, ReasonTooOld, ReasonFuture, ReasonPlan, ReasonPersonalData}

// Keys of Batch.Dropped.
const (
	DroppedBuild      = "build"
	DroppedProperties = "properties"
)

// Limits bound one request. A zero field takes its default.
type Limits struct {
	MaxBody       int64 // bytes on the wire; 0 = wire.MaxBodyBytes (1 MiB)
	MaxDecoded    int64 // after gunzip; 0 = wire.MaxDecodedBytes (8 MiB)
	MaxEvents     int   // per batch; 0 = 1000
	MaxEventBytes int   // one event's JSON; 0 = 32 KiB
	MaxProperties int   // properties (and, separately, build keys) per event; 0 = 64

	// MinBodyRate and BodyGrace pace the body (see Pipeline.Read): after
	// BodyGrace, at least MinBodyRate bytes a second on average. 0 = 4096
	// bytes a second and 2 seconds; a negative MinBodyRate sets no pace.
	MinBodyRate int64
	BodyGrace   time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.MaxBody <= 0 {
		l.MaxBody = wire.MaxBodyBytes
	}
	if l.MaxDecoded <= 0 {
		l.MaxDecoded = wire.MaxDecodedBytes
	}
	if l.MaxEvents <= 0 {
		l.MaxEvents = DefaultMaxEvents
	}
	if l.MaxEventBytes <= 0 {
		l.MaxEventBytes = DefaultMaxEventBytes
	}
	if l.MaxProperties <= 0 {
		l.MaxProperties = DefaultMaxProperties
	}
	if l.MinBodyRate == 0 {
		l.MinBodyRate = DefaultMinBodyRate
	}
	if l.BodyGrace <= 0 {
		l.BodyGrace = DefaultBodyGrace
	}
	return l
}

// Config configures a Pipeline. Plan and Keyer are required.
type Config struct {
	Plan   *plan.Plan
	Keyer  *Keyer
	Limits Limits
	// Retention: events whose corrected time is before receivedAt-Retention are rejected.
	// 0 = 400 days.
	Retention time.Duration
	// MaxFuture: events whose corrected time is after receivedAt+MaxFuture are rejected.
	// 0 = 24h.
	MaxFuture time.Duration
}

// Pipeline turns ingest requests into checked, anonymized store events. It is safe for
// concurrent use and holds no per-request state between calls.
type Pipeline struct {
	plan      *plan.Plan
	keyer     *Keyer
	lim       Limits
	retention time.Duration
	maxFuture time.Duration

	// Messages that depend on the configuration, built once.
	msgTooOld      string
	msgFuture      string
	msgTooLarge    string
	msgProps       string
	msgBuild       string
	msgNoProduct   string
	msgBodyTooBig  *Error
	msgPlainTooBig *Error
	msgTooMany     *Error
}

// New returns a Pipeline. It panics if cfg.Plan or cfg.Keyer is nil (a programming error).
func New(cfg Config) *Pipeline {
	if cfg.Plan == nil {
		panic("ingest: Config.Plan is nil")
	}
	if cfg.Keyer == nil {
		panic("ingest: Config.Keyer is nil")
	}
	p := &Pipeline{plan: cfg.Plan, keyer: cfg.Keyer, lim: cfg.Limits.withDefaults(), retention: cfg.Retention, maxFuture: cfg.MaxFuture}
	if p.retention <= 0 {
		p.retention = DefaultRetention
	}
	if p.maxFuture <= 0 {
		p.maxFuture = DefaultMaxFuture
	}
	p.msgTooOld = "timestamp: older than the " + formatDuration(p.retention) + " retention"
	p.msgFuture = "timestamp: more than " + formatDuration(p.maxFuture) + " in the future after clock correction"
	p.msgTooLarge = "event: larger than " + strconv.Itoa(p.lim.MaxEventBytes) + " bytes"
	p.msgProps = "properties: more than " + strconv.Itoa(p.lim.MaxProperties) + " keys"
	p.msgBuild = "build: more than " + strconv.Itoa(p.lim.MaxProperties) + " keys"
	p.msgNoProduct = "product.name: missing, expected " + strconv.Quote(p.plan.Product)
	p.msgBodyTooBig = &Error{http.StatusRequestEntityTooLarge, "body: larger than " + strconv.FormatInt(p.lim.MaxBody, 10) + " bytes on the wire"}
	p.msgPlainTooBig = &Error{http.StatusRequestEntityTooLarge, "body: larger than " + strconv.FormatInt(p.lim.MaxDecoded, 10) + " bytes after gunzip"}
	p.msgTooMany = &Error{http.StatusRequestEntityTooLarge, "events: more than " + strconv.Itoa(p.lim.MaxEvents) + " events in one batch"}
	return p
}

// Limits returns the limits in force, defaults filled in.
func (p *Pipeline) Limits() Limits { return p.lim }

// Batch is the outcome of one request.
type Batch struct {
	// Events are the valid events, in request order, anonymized and ready to store.
	// They are read-only: events with the same build share one Build map.
	Events []store.Event
	// Index[i] is the position of Events[i] in the request's events array (0 for /v1/track).
	Index []int
	// Rejected lists the invalid events, in request order. Error names the field at fault
	// (relative to the event: "context.cpus", "properties.durationMs") and what was expected.
	Rejected []wire.Rejection
	// DuplicatesInBatch counts valid events whose id repeats that of an earlier valid event
	// of the same request; only the first is in Events.
	DuplicatesInBatch int
	// Dropped counts the undeclared keys removed from accepted events, by DroppedBuild and
	// DroppedProperties (never by key: keys are client text). nil when none.
	Dropped map[string]int
	// RejectReasons counts Rejected by reason label (see RejectReasons). nil when none.
	RejectReasons map[string]int
}

// Received returns how many events the request carried:
// len(Events) + len(Rejected) + DuplicatesInBatch.
func (b *Batch) Received() int { return len(b.Events) + len(b.Rejected) + b.DuplicatesInBatch }

func (b *Batch) reject(index int, reason, msg string) {
	b.Rejected = append(b.Rejected, wire.Rejection{Index: index, Error: msg})
	if b.RejectReasons == nil {
		b.RejectReasons = make(map[string]int, 2)
	}
	b.RejectReasons[reason]++
}

// Error is a failure of the whole request: answer Status with the JSON body
// {"error": Msg}. Msg names the header, field or body position at fault and what was
// expected; it never quotes client text that could be personal.
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

func badRequest(msg string) *Error { return &Error{http.StatusBadRequest, msg} }

// Process reads and checks one request to POST /v1/batch (single=false) or POST /v1/track
// (single=true, the body is one event). receivedAt is the server's clock; it anchors the
// clock-skew correction and the time window, and becomes store.Event.ReceivedAt.
//
// Whole-request failures return an *Error: 415 for a Content-Type other than
// application/json; 413 for a body over MaxBody on the wire or MaxDecoded after gunzip, or
// more than MaxEvents events; 400 for everything malformed (Content-Encoding other than
// gzip or identity, bad gzip, invalid UTF-8, invalid JSON, nesting deeper than MaxDepth, a
// body that is not an object, "events" missing, not an array or empty, a bad "sentAt").
// Problems of single events never fail the request: they are listed in Batch.Rejected and
// the valid events are kept.
//
// Process reads only the Content-Type and Content-Encoding headers, ContentLength and the
// body; it never looks at the client's address or user agent. It does not close r.Body.
func (p *Pipeline) Process(r *http.Request, single bool, receivedAt time.Time) (*Batch, *Error) {
	b, e := p.Read(nil, r, nil)
	if e != nil {
		return nil, e
	}
	defer b.Close()
	return b.Process(single, receivedAt)
}

// ProcessBody is Process for a body already read and, if it was gzip, decompressed: what
// remains is the UTF-8, JSON and per-event checking. It does not keep body.
func (p *Pipeline) ProcessBody(body []byte, single bool, receivedAt time.Time) (*Batch, *Error) {
	if int64(len(body)) > p.lim.MaxDecoded {
		return nil, p.msgPlainTooBig
	}
	sc := getScratch()
	defer putScratch(sc)
	return p.process(sc, body, single, receivedAt)
}

func (p *Pipeline) process(sc *scratch, body []byte, single bool, receivedAt time.Time) (*Batch, *Error) {
	if e := checkUTF8(body); e != nil {
		return nil, e
	}
	var (
		spans  []span
		sentAt time.Time
		hasAt  bool
	)
	if single {
		sp, e := scanSingle(body)
		if e != nil {
			return nil, e
		}
		spans = append(sc.spans[:0], sp)
	} else {
		env, e := scanBatch(body, sc.spans[:0], p.lim.MaxEvents)
		if e != nil {
			if e == errTooMany {
				return nil, p.msgTooMany
			}
			return nil, e
		}
		spans, sentAt, hasAt = env.events, env.sentAt, env.hasSentAt
	}
	sc.spans = spans[:0]

	rc := reqCtx{
		received:  receivedAt.UTC().Truncate(time.Millisecond),
		sentAt:    sentAt,
		hasSentAt: hasAt,
	}
	rc.oldest = rc.received.Add(-p.retention)
	rc.latest = rc.received.Add(p.maxFuture)

	b := &Batch{
		Events: make([]store.Event, 0, len(spans)),
		Index:  make([]int, 0, len(spans)),
	}
	sc.resetSeen(len(spans))
	for i, sp := range spans {
		raw := body[sp.start:sp.end]
		out := &sc.out
		*out = store.Event{}
		reason, msg, bad := p.event(sc, &rc, raw, out)
		if bad {
			return nil, malformed(body)
		}
		if msg != "" {
			b.reject(i, reason, msg)
			continue
		}
		if sc.seenBefore(out.ID) {
			b.DuplicatesInBatch++
			continue
		}
		b.Events = append(b.Events, *out)
		b.Index = append(b.Index, i)
		if n := sc.droppedBuild; n > 0 {
			b.drop(DroppedBuild, n)
		}
		if n := sc.droppedProps; n > 0 {
			b.drop(DroppedProperties, n)
		}
	}
	return b, nil
}

func (b *Batch) drop(key string, n int) {
	if b.Dropped == nil {
		b.Dropped = make(map[string]int, 2)
	}
	b.Dropped[key] += n
}

// reqCtx is what every event of one request shares.
type reqCtx struct {
	received       time.Time // UTC, milliseconds
	sentAt         time.Time
	hasSentAt      bool
	oldest, latest time.Time // the accepted window of corrected times
}

// formatDuration writes d the way messages use it: whole days from 3 days up ("400d"),
// whole hours ("24h"), else time.Duration's form.
func formatDuration(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0 && d >= 72*time.Hour:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	}
	return d.String()
}

// scratch is per-request working memory, pooled.
type scratch struct {
	wire   []byte // the body as read
	plain  []byte // the body after gunzip
	spans  []span
	in     inEvent
	out    store.Event
	dec    jdec                  // the event decoder's buffers and interned strings
	seen   map[[16]byte]struct{} // dedup for large batches
	ids    [][16]byte            // dedup for small batches
	useMap bool

	droppedBuild, droppedProps int

	// Decoding memos: consecutive events of a batch mostly repeat these byte for byte.
	prodMemo  memo[productOutcome]
	ctxMemo   memo[contextOutcome]
	buildMemo memo[buildOutcome]
	buildCur  *buildOutcome // the build of the event being processed

	// Re-keying memo: consecutive events of a batch mostly share these.
	projRaw, projKey string
	machRaw, machKey string
	sessRaw, sessKey string
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// Buffers above these capacities are not kept in the pool.
const (
	maxPooledWire  = 1 << 20
	maxPooledPlain = 2 << 20
	maxPooledSpans = 4096
)

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

func putScratch(sc *scratch) {
	if cap(sc.wire) > maxPooledWire {
		sc.wire = nil
	}
	if cap(sc.plain) > maxPooledPlain {
		sc.plain = nil
	}
	if cap(sc.spans) > maxPooledSpans {
		sc.spans = nil
	}
	sc.wire, sc.plain, sc.spans = sc.wire[:0], sc.plain[:0], sc.spans[:0]
	sc.in = inEvent{}
	sc.out = store.Event{}
	sc.projRaw, sc.projKey, sc.machRaw, sc.machKey, sc.sessRaw, sc.sessKey = "", "", "", "", "", ""
	sc.prodMemo.reset()
	sc.ctxMemo.reset()
	sc.buildMemo.reset()
	sc.buildCur = nil
	sc.dec.reset()
	scratchPool.Put(sc)
}

// linearDedup is the batch size up to which ids are compared pairwise instead of hashed.
const linearDedup = 32

func (sc *scratch) resetSeen(n int) {
	sc.ids = sc.ids[:0]
	sc.useMap = n > linearDedup
	if sc.useMap {
		if sc.seen == nil {
			sc.seen = make(map[[16]byte]struct{}, n)
		} else {
			clear(sc.seen)
		}
	}
}

// seenBefore records id (a checked UUID) and reports whether it was recorded before.
func (sc *scratch) seenBefore(id string) bool {
	k := uuidBytes(id)
	if !sc.useMap {
		for _, x := range sc.ids {
			if x == k {
				return true
			}
		}
		sc.ids = append(sc.ids, k)
		return false
	}
	if _, ok := sc.seen[k]; ok {
		return true
	}
	sc.seen[k] = struct{}{}
	return false
}

// uuidBytes packs a UUID (already checked) into 16 bytes.
func uuidBytes(id string) (k [16]byte) {
	j := 0
	for i := 0; i+1 < len(id) && j < 16; i++ {
		if id[i] == '-' {
			continue
		}
		k[j] = unhex(id[i])<<4 | unhex(id[i+1])
		j++
		i++
	}
	return k
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return 0
}
