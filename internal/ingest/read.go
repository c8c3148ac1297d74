package ingest

import (
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// Budget bounds the bytes of request bodies held in memory at once, across
// requests: the bytes read from the wire and the bytes after gunzip. Requests
// take their share as their bodies arrive and are decompressed, in steps of 64
// KiB, and give it back when done; a request that cannot take the next step
// fails with 503. A request whose bodies grow past SmallBody bytes is large:
// only a few large requests may be under way at once (the others get 503),
// and together they may only fill three quarters of the budget, so that large
// bodies can take neither the memory nor the processors from the small ones
// every SDK sends. A nil *Budget is no limit. Safe for concurrent use.
type Budget struct {
	max, large int64
	used       atomic.Int64
	bigSlots   chan struct{} // one per large request under way
}

// SmallBody is how many bytes of one request's bodies count as small (see Budget).
const SmallBody = 256 << 10

const budgetStep = 64 << 10

// NewBudget returns a budget of size bytes of which at most bigAtOnce large
// requests may hold a share at once (at least 1), or nil (no limit) for size <= 0.
func NewBudget(size int64, bigAtOnce int) *Budget {
	if size <= 0 {
		return nil
	}
	return &Budget{max: size, large: size - size/4, bigSlots: make(chan struct{}, max(1, bigAtOnce))}
}

// InUse returns the bytes held by requests now.
func (b *Budget) InUse() int64 {
	if b == nil {
		return 0
	}
	return b.used.Load()
}

// Max returns the size of the budget (0 for no limit).
func (b *Budget) Max() int64 {
	if b == nil {
		return 0
	}
	return b.max
}

func (b *Budget) take(n int64, large bool) bool {
	limit := b.max
	if large {
		limit = b.large
	}
	for {
		u := b.used.Load()
		if u+n > limit {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

// account is one request's share of a Budget.
type account struct {
	b    *Budget
	held int64
	big  bool // holds one of b.bigSlots
}

// cover makes the account hold at least n bytes, taking whole steps from the
// budget; false when the budget cannot give them.
func (a *account) cover(n int64) bool {
	if a.b == nil || n <= a.held {
		return true
	}
	want := (n - a.held + budgetStep - 1) / budgetStep * budgetStep
	large := a.held+want > SmallBody
	if large && !a.claimBig() {
		return false
	}
	if !a.b.take(want, large) {
		return false
	}
	a.held += want
	return true
}

// claimBig takes one of the budget's turns for large requests, if the account
// holds none yet; false when all are taken.
func (a *account) claimBig() bool {
	if a.b == nil || a.big {
		return true
	}
	select {
	case a.b.bigSlots <- struct{}{}:
		a.big = true
		return true
	default:
		return false
	}
}

func (a *account) release() {
	if a.b != nil && a.held > 0 {
		a.b.used.Add(-a.held)
	}
	if a.big {
		<-a.b.bigSlots
		a.big = false
	}
	a.held = 0
}

// errBudget and errSlow are what readLimited returns when the budget is
// spent and when the body arrives too slowly.
var (
	errBudget = errors.New("ingest: body memory budget spent")
	errSlow   = errors.New("ingest: body too slow")
)

// Body is a request whose headers are checked and whose body is read, not yet
// decompressed or checked. Process it, then Close it.
type Body struct {
	p    *Pipeline
	sc   *scratch
	gz   bool
	raw  []byte
	acct account
}

// Read checks the headers of r and reads its body (at most Limits.MaxBody
// bytes), holding its bytes against budget (nil: no budget). It does not close
// r.Body.
//
// When w is given and its connection supports read deadlines, the body must
// keep up a pace: after Limits.BodyGrace, at least Limits.MinBodyRate bytes a
// second on average since Read began; a slower sender is cut off with 408, so
// that a client trickling its body holds a connection and a few bytes for
// seconds, never more. The deadline is cleared when Read returns the body;
// when Read refuses it, the deadline is left in the past, so that no more of
// the body is read and the connection closes after the answer.
//
// Errors are those of Process about headers and size, plus 408 for a slow body
// and 503 when the budget is spent.
func (p *Pipeline) Read(w http.ResponseWriter, r *http.Request, budget *Budget) (*Body, *Error) {
	if e := checkContentType(r.Header); e != nil {
		return nil, e
	}
	gz, e := contentEncoding(r.Header)
	if e != nil {
		return nil, e
	}
	b := &Body{p: p, sc: getScratch(), gz: gz, acct: account{b: budget}}
	var src io.Reader = r.Body
	if w != nil && r.Body != nil && r.Body != http.NoBody && p.lim.MinBodyRate > 0 {
		rc := http.NewResponseController(w)
		pr := &pacedReader{r: r.Body, rc: rc, start: time.Now(), grace: p.lim.BodyGrace, rate: p.lim.MinBodyRate}
		if rc.SetReadDeadline(pr.deadline()) == nil {
			src = pr
			defer func() {
				if b.raw == nil {
					// Refused: read no more of this body (net/http would
					// otherwise try to drain it before answering), and
					// close the connection after the answer.
					rc.SetReadDeadline(time.Now())
				} else {
					rc.SetReadDeadline(time.Time{})
				}
			}()
		}
	}
	raw, e := p.readWire(r, src, b.sc, &b.acct, gz)
	if e != nil {
		b.Close()
		return nil, e
	}
	b.raw = raw
	return b, nil
}

// Process decompresses and checks the body, as Pipeline.Process does.
func (b *Body) Process(single bool, receivedAt time.Time) (*Batch, *Error) {
	body := b.raw
	if b.gz {
		var e *Error
		if body, e = b.p.gunzip(b.sc, b.raw, &b.acct); e != nil {
			return nil, e
		}
	}
	return b.p.process(b.sc, body, single, receivedAt)
}

// Decoded returns the body after gunzip, within the same limits and budget
// as Process, for a caller that maps another protocol's body to a native
// batch. The bytes are valid until Close or ProcessNative.
func (b *Body) Decoded() ([]byte, *Error) {
	if !b.gz {
		return b.raw, nil
	}
	return b.p.gunzip(b.sc, b.raw, &b.acct)
}

// ProcessNative checks native, a POST /v1/batch body built from this
// request's body, exactly as Process checks a native request.
func (b *Body) ProcessNative(native []byte, receivedAt time.Time) (*Batch, *Error) {
	return b.p.process(b.sc, native, false, receivedAt)
}

// Close gives back the body's memory and its share of the budget.
func (b *Body) Close() {
	if b.sc == nil {
		return
	}
	b.acct.release()
	putScratch(b.sc)
	b.sc, b.raw = nil, nil
}

// pacedReader sets the connection's read deadline before each read so that
// the body must arrive at rate bytes a second after grace.
type pacedReader struct {
	r     io.Reader
	rc    *http.ResponseController
	start time.Time
	grace time.Duration
	rate  int64
	n     int64
}

func (p *pacedReader) deadline() time.Time {
	return p.start.Add(p.grace + time.Duration(float64(p.n)/float64(p.rate)*float64(time.Second)))
}

func (p *pacedReader) Read(b []byte) (int, error) {
	p.rc.SetReadDeadline(p.deadline())
	n, err := p.r.Read(b)
	p.n += int64(n)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		return n, errSlow
	}
	return n, err
}

func (p *Pipeline) slowBody() *Error {
	return &Error{http.StatusRequestTimeout, "body: arrived slower than " + strconv.FormatInt(p.lim.MinBodyRate, 10) +
		" bytes a second; expected the whole body within " + formatDuration(p.lim.BodyGrace) + " plus its size at that rate"}
}

var errBusy = &Error{http.StatusServiceUnavailable, "the collector is busy: request bodies in memory are at their budget"}

// Decode decompresses the body and decodes each event of a POST /v1/batch
// body into wire values (its product, context and build memoized as Process
// does), and checks nothing else: no tracking plan, no re-keying, no time
// window. It returns the number of events decoded. It is the floor of the
// request path, for benchmarks that compare the whole of Process against it.
func (b *Body) Decode() (int, *Error) {
	body := b.raw
	if b.gz {
		var e *Error
		if body, e = b.p.gunzip(b.sc, b.raw, &b.acct); e != nil {
			return 0, e
		}
	}
	if e := checkUTF8(body); e != nil {
		return 0, e
	}
	sc := b.sc
	env, e := scanBatch(body, sc.spans[:0], b.p.lim.MaxEvents)
	if e != nil {
		if e == errTooMany {
			return 0, b.p.msgTooMany
		}
		return 0, e
	}
	sc.spans = env.events[:0]
	n := 0
	for _, sp := range env.events {
		raw := body[sp.start:sp.end]
		if raw[0] != '{' {
			continue
		}
		in := &sc.in
		*in = inEvent{}
		if _, ok := sc.dec.event(sc, raw, in); !ok {
			return 0, malformed(body)
		}
		if in.Product.b != nil {
			b.p.product(sc, in.Product.b)
		}
		b.p.context(sc, in.Context.b)
		b.p.build(sc, in.Build.b)
		n++
	}
	return n, nil
}
