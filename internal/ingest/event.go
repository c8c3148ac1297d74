package ingest

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/abacushq/abacus/internal/plan"
	"github.com/abacushq/abacus/internal/store"
	"github.com/abacushq/abacus/telemetry/wire"
)

// inEvent is wire.Event as decoded here (by jdec.event, as json.Unmarshal would): the same
// JSON fields, but the timestamp is read by jsonTime, which records a bad value instead of
// failing the whole decode, and product, context and build are kept as raw JSON, decoded
// afterwards through a memo: the events of one batch mostly repeat them byte for byte. A
// test keeps inEvent in step with wire.Event.
type inEvent struct {
	ID          string         `json:"id"`
	Event       string         `json:"event"`
	Timestamp   jsonTime       `json:"timestamp"`
	ProjectID   string         `json:"projectId"`
	MachineID   string         `json:"machineId"`
	SessionID   string         `json:"sessionId"`
	Environment string         `json:"environment"`
	Product     rawValue       `json:"product"`
	Context     rawValue       `json:"context"`
	Build       rawValue       `json:"build"`
	Properties  map[string]any `json:"properties"`
}

// rawValue keeps the bytes of a JSON value (nil for null or absent). They are only valid
// while the request's body is.
type rawValue struct{ b []byte }

func (r *rawValue) UnmarshalJSON(b []byte) error {
	*r = rawOf(b)
	return nil
}

// rawOf keeps the bytes of a JSON value, nil for null.
func rawOf(b []byte) rawValue {
	if string(b) == "null" {
		return rawValue{}
	}
	return rawValue{b}
}

// memoSize is how many raw values a memo remembers: events of one batch come
// from a few distinct products, contexts and builds, interleaved.
const memoSize = 8

// memo remembers the outcomes for the last memoSize distinct raw values seen.
type memo[T any] struct {
	ents [memoSize]memoEntry[T]
	n    int // entries in use
	next int // the entry put replaces once all are in use
	cur  int // the entry get found or put filled last
}

type memoEntry[T any] struct {
	key []byte
	val T
}

func (m *memo[T]) get(raw []byte) (T, bool) {
	for i := range m.n {
		if string(m.ents[i].key) == string(raw) {
			m.cur = i
			return m.ents[i].val, true
		}
	}
	var zero T
	return zero, false
}

func (m *memo[T]) put(raw []byte, v T) {
	i := m.n
	if i < memoSize {
		m.n++
	} else {
		i = m.next
		m.next = (m.next + 1) % memoSize
	}
	m.ents[i].key = append(m.ents[i].key[:0], raw...)
	m.ents[i].val = v
	m.cur = i
}

// last returns the value of the entry the last get found or put filled.
func (m *memo[T]) last() *T { return &m.ents[m.cur].val }

// match returns the length of the raw value of a memo entry that is an object (so it
// ends where the same bytes in another event end) and that b starts with, else 0. It was
// valid JSON when it was put.
func (m *memo[T]) match(b []byte) int {
	for i := range m.n {
		k := m.ents[i].key
		if len(k) > 0 && k[0] == '{' && len(b) >= len(k) && string(b[:len(k)]) == string(k) {
			return len(k)
		}
	}
	return 0
}

func (m *memo[T]) reset() {
	var zero T
	for i := range m.ents {
		m.ents[i].val = zero
		if cap(m.ents[i].key) > 4096 {
			m.ents[i].key = nil
		}
	}
	m.n, m.next, m.cur = 0, 0, 0
}

// Outcomes kept in the memos: a decoded value, or the rejection it causes.
type (
	productOutcome struct {
		v           wire.Product
		reason, msg string
	}
	contextOutcome struct {
		v           wire.Context
		reason, msg string
	}
	buildOutcome struct {
		m           map[string]any // checked and typed; shared by the events that repeat its bytes
		dropped     int
		reason, msg string
	}
)

// jsonTime reads an RFC 3339 time (strictly, as time.Time does), remembering whether it
// was absent (or null), valid or invalid.
type jsonTime struct {
	t     time.Time
	state uint8
}

const (
	timeAbsent uint8 = iota
	timeOK
	timeBad
)

func (j *jsonTime) UnmarshalJSON(b []byte) error {
	j.set(b)
	return nil
}

// set reads the JSON value b (valid JSON).
func (j *jsonTime) set(b []byte) {
	if string(b) == "null" {
		j.state = timeAbsent
		return
	}
	if err := j.t.UnmarshalJSON(b); err != nil {
		j.state = timeBad
		return
	}
	j.state = timeOK
}

// Messages of the envelope checks.
const (
	msgNotObject      = "event: expected an object, got "
	msgIDMissing      = "id: missing, expected a UUID"
	msgID             = "id: expected a UUID"
	msgEventMissing   = "event: missing, expected an event name"
	msgTimeMissing    = "timestamp: missing, expected an RFC 3339 time"
	msgTime           = "timestamp: expected an RFC 3339 time"
	msgProjectMissing = "projectId: missing, expected a UUID, optionally after a prefix of [a-z0-9-]{1,32}"
	msgProject        = "projectId: expected a UUID, optionally after a prefix of [a-z0-9-]{1,32}"
	msgMachineMissing = "machineId: missing, expected 64 lowercase hex characters"
	msgMachine        = "machineId: expected 64 lowercase hex characters"
	msgSession        = "sessionId: expected a UUID"
	msgEnvMissing     = "environment: missing, expected one of development, staging, production, test, other"
	msgEnv            = "environment: expected one of development, staging, production, test, other"
	msgCPUs           = "context.cpus: expected an integer from 0 to 4096"
	msgMemory         = "context.memoryMB: expected an integer from 0 to 16777216"
)

// Bounds of the context numbers.
const (
	MaxCPUs     = 4096
	MaxMemoryMB = 1 << 24
	// MaxContextLen is the longest context string (and product.version) accepted.
	MaxContextLen = 64
)

// event checks and converts one event. On success it fills out and returns msg == "".
// A rejection returns its reason and message; bad reports invalid JSON, which fails
// the whole request.
func (p *Pipeline) event(sc *scratch, rc *reqCtx, raw []byte, out *store.Event) (reason, msg string, bad bool) {
	sc.droppedBuild, sc.droppedProps = 0, 0
	if raw[0] != '{' {
		if !json.Valid(raw) {
			return "", "", true
		}
		return ReasonSchema, msgNotObject + describeJSON(raw[0]), false
	}
	if len(raw) > p.lim.MaxEventBytes {
		if !json.Valid(raw) {
			return "", "", true
		}
		return ReasonTooLarge, p.msgTooLarge, false
	}
	in := &sc.in
	*in = inEvent{}
	typeMsg, ok := sc.dec.event(sc, raw, in)
	if !ok {
		// A syntax error (the scanner only matched brackets): the body is malformed.
		return "", "", true
	}
	if typeMsg != "" {
		return ReasonSchema, typeMsg, false
	}

	return p.finish(sc, rc, in, out, p.product, p.context, p.build)
}

// finish checks a decoded event and converts it. The decoders of its product,
// context and build objects are parameters so that the reference decoding of
// the equivalence tests runs the same checks.
func (p *Pipeline) finish(sc *scratch, rc *reqCtx, in *inEvent, out *store.Event,
	product func(*scratch, []byte) productOutcome,
	context func(*scratch, []byte) contextOutcome,
	decodeBuild func(*scratch, []byte) buildOutcome,
) (reason, msg string, bad bool) {
	// The envelope.
	switch {
	case in.ID == "":
		return ReasonSchema, msgIDMissing, false
	case !wire.IsUUID(in.ID):
		return ReasonSchema, msgID, false
	case in.Event == "":
		return ReasonSchema, msgEventMissing, false
	case in.Timestamp.state == timeAbsent:
		return ReasonSchema, msgTimeMissing, false
	case in.Timestamp.state == timeBad:
		return ReasonSchema, msgTime, false
	case in.ProjectID == "":
		return ReasonSchema, msgProjectMissing, false
	case !wire.IsProjectID(in.ProjectID):
		return ReasonSchema, msgProject, false
	case in.MachineID == "":
		return ReasonSchema, msgMachineMissing, false
	case !wire.IsMachineID(in.MachineID):
		return ReasonSchema, msgMachine, false
	case in.SessionID != "" && !wire.IsUUID(in.SessionID):
		return ReasonSchema, msgSession, false
	case in.Environment == "":
		return ReasonSchema, msgEnvMissing, false
	case !wire.IsEnvironment(in.Environment):
		return ReasonSchema, msgEnv, false
	}
	prod := product(sc, in.Product.b)
	if prod.msg != "" {
		return prod.reason, prod.msg, false
	}
	ctx := context(sc, in.Context.b)
	if ctx.msg != "" {
		return ctx.reason, ctx.msg, false
	}
	if len(in.Properties) > p.lim.MaxProperties {
		return ReasonTooLarge, p.msgProps, false
	}
	// Build: decoded, counted and checked against the plan together (memoized), but its plan
	// verdict is only used after the product and event name, as Apply orders them.
	build := decodeBuild(sc, in.Build.b)
	if build.reason == ReasonSchema || build.reason == ReasonTooLarge {
		return build.reason, build.msg, false
	}

	// Time: correct the client's clock skew, then the window.
	t := in.Timestamp.t
	if rc.hasSentAt {
		t = rc.received.Add(t.Sub(rc.sentAt))
	}
	t = t.UTC().Truncate(time.Millisecond)
	if t.Before(rc.oldest) {
		return ReasonTooOld, p.msgTooOld, false
	}
	if t.After(rc.latest) {
		return ReasonFuture, p.msgFuture, false
	}

	// The tracking plan, in Apply's order: product, event, build, properties.
	we := wire.Event{
		ID:          in.ID,
		Event:       in.Event,
		Timestamp:   in.Timestamp.t,
		ProjectID:   in.ProjectID,
		MachineID:   in.MachineID,
		SessionID:   in.SessionID,
		Environment: in.Environment,
		Product:     prod.v,
		Context:     ctx.v,
		Properties:  in.Properties,
	}
	ev := p.plan.Event(in.Event)
	if prod.v.Name != p.plan.Product || ev == nil {
		_, err := p.plan.Apply(&we) // for its message
		reason, msg := planRejection(err)
		return reason, msg, false
	}
	if build.msg != "" {
		return build.reason, build.msg, false
	}
	dropped, err := p.plan.Apply(&we)
	if err != nil {
		reason, msg := planRejection(err)
		return reason, msg, false
	}
	sc.droppedBuild = build.dropped
	sc.droppedProps = len(dropped)

	*out = store.Event{
		ID:             strings.ToLower(in.ID),
		Name:           ev.Name, // the plan's string: shared, not the decoded copy
		Time:           t,
		ReceivedAt:     rc.received,
		ProjectID:      sc.project(p.keyer, in.ProjectID),
		MachineID:      sc.machine(p.keyer, in.MachineID),
		SessionID:      sc.session(p.keyer, in.SessionID),
		Environment:    internEnv(in.Environment),
		Product:        p.plan.Product,
		ProductVersion: prod.v.Version,
		OS:             ctx.v.OS,
		OSVersion:      ctx.v.OSVersion,
		Arch:           ctx.v.Arch,
		CPUs:           ctx.v.CPUs,
		MemoryMB:       ctx.v.MemoryMB,
		Runtime:        ctx.v.Runtime,
		RuntimeVersion: ctx.v.RuntimeVersion,
		CI:             ctx.v.CI,
		CIName:         ctx.v.CIName,
		Docker:         ctx.v.Docker,
		WSL:            ctx.v.WSL,
		SDK:            ctx.v.SDK,
		Build:          sc.takeBuild(),
		Properties:     p.typed(we.Properties, ev),
	}
	return "", "", false
}

// checkBuild checks a decoded build object: its size, then the plan (Apply
// with a declared event and no properties checks the build alone).
func (p *Pipeline) checkBuild(m map[string]any) buildOutcome {
	o := buildOutcome{m: m}
	switch {
	case len(o.m) > p.lim.MaxProperties:
		return buildOutcome{reason: ReasonTooLarge, msg: p.msgBuild}
	case len(o.m) == 0:
		o.m = nil
		return o
	}
	we := wire.Event{Product: wire.Product{Name: p.plan.Product}, Build: o.m}
	if len(p.plan.Events) > 0 {
		we.Event = p.plan.Events[0].Name
	}
	dropped, err := p.plan.Apply(&we)
	if err != nil {
		o.m = nil
		o.reason, o.msg = planRejection(err)
		return o
	}
	o.dropped = len(dropped)
	o.m = p.typed(o.m, nil)
	return o
}

func planRejection(err error) (reason, msg string) {
	var fe *plan.FieldError
	if errors.As(err, &fe) && strings.HasPrefix(fe.Msg, "value looks like personal data") {
		return ReasonPersonalData, fe.Error()
	}
	return ReasonPlan, err.Error()
}

// product decodes and checks the event's product object.
func (p *Pipeline) product(sc *scratch, raw []byte) productOutcome {
	if raw == nil {
		return productOutcome{reason: ReasonSchema, msg: p.msgNoProduct}
	}
	if o, ok := sc.prodMemo.get(raw); ok {
		return o
	}
	var o productOutcome
	if o.v, o.msg = sc.dec.decodeProduct(raw); o.msg != "" {
		o = productOutcome{reason: ReasonSchema, msg: o.msg}
	} else if o.v.Name == "" {
		o.reason, o.msg = ReasonSchema, p.msgNoProduct
	} else if m := checkShape("product.version", o.v.Version, false); m != "" {
		o.reason, o.msg = ReasonSchema, m
	}
	sc.prodMemo.put(raw, o)
	return o
}

// context decodes and checks the event's context object.
func (p *Pipeline) context(sc *scratch, raw []byte) contextOutcome {
	if raw == nil {
		return contextOutcome{}
	}
	if o, ok := sc.ctxMemo.get(raw); ok {
		return o
	}
	var o contextOutcome
	if o.v, o.msg = sc.dec.decodeContext(raw); o.msg != "" {
		o = contextOutcome{reason: ReasonSchema, msg: o.msg}
	} else if m := checkContext(&o.v); m != "" {
		o.reason, o.msg = ReasonSchema, m
	}
	sc.ctxMemo.put(raw, o)
	return o
}

// build decodes the event's build object, counts its keys and checks it against the plan.
// The outcome's m is only handed out by takeBuild.
func (p *Pipeline) build(sc *scratch, raw []byte) buildOutcome {
	sc.buildCur = nil
	if raw == nil {
		return buildOutcome{}
	}
	if o, ok := sc.buildMemo.get(raw); ok {
		sc.buildCur = sc.buildMemo.last()
		return o
	}
	var o buildOutcome
	if m, msg := sc.dec.decodeBuild(raw); msg != "" {
		o = buildOutcome{reason: ReasonSchema, msg: msg}
	} else {
		o = p.checkBuild(m)
	}
	sc.buildMemo.put(raw, o)
	sc.buildCur = sc.buildMemo.last()
	return o
}

// takeBuild returns the build map of the current event: the memo's own map, which the
// events of a batch with the same build bytes share (Batch.Events are read-only).
func (sc *scratch) takeBuild() map[string]any {
	cur := sc.buildCur
	if cur == nil {
		return nil
	}
	return cur.m
}

// typed converts the plan-checked values of m to their stored Go types: int fields (and
// list items) from float64 to int64; everything else stays as decoded. An empty map
// becomes nil. ev is nil for build keys.
func (p *Pipeline) typed(m map[string]any, ev *plan.Event) map[string]any {
	if len(m) == 0 {
		return nil
	}
	for k, v := range m {
		var f *plan.Field
		if ev == nil {
			f = p.plan.BuildKey(k)
		} else {
			f = ev.Property(k)
		}
		if f == nil {
			continue // cannot happen after Apply
		}
		switch f.Type {
		case plan.TypeInt:
			m[k] = toInt(v)
		case plan.TypeList:
			if f.Items != nil && f.Items.Type == plan.TypeInt {
				if items, ok := v.([]any); ok {
					for i, it := range items {
						items[i] = toInt(it)
					}
				}
			}
		}
	}
	return m
}

func toInt(v any) any {
	if f, ok := v.(float64); ok {
		return int64(f) // Apply checked it is an integer within ±2^53
	}
	return v
}

func internEnv(s string) string {
	switch s {
	case wire.Development:
		return wire.Development
	case wire.Staging:
		return wire.Staging
	case wire.Production:
		return wire.Production
	case wire.Test:
		return wire.Test
	}
	return wire.Other
}

// Re-keying, memoized per request: the events of a batch mostly come from one machine
// and project.

func (sc *scratch) project(k *Keyer, raw string) string {
	if raw != sc.projRaw || sc.projKey == "" {
		sc.projRaw, sc.projKey = raw, k.Project(raw)
	}
	return sc.projKey
}

func (sc *scratch) machine(k *Keyer, raw string) string {
	if raw != sc.machRaw || sc.machKey == "" {
		sc.machRaw, sc.machKey = raw, k.Machine(raw)
	}
	return sc.machKey
}

func (sc *scratch) session(k *Keyer, raw string) string {
	if raw == "" {
		return ""
	}
	if raw != sc.sessRaw || sc.sessKey == "" {
		sc.sessRaw, sc.sessKey = raw, k.Session(raw)
	}
	return sc.sessKey
}

// checkContext checks the free-form context strings (not covered by the plan) by shape,
// and the numbers by range.
func checkContext(c *wire.Context) string {
	if m := checkShape("context.os", c.OS, false); m != "" {
		return m
	}
	if m := checkShape("context.osVersion", c.OSVersion, false); m != "" {
		return m
	}
	if m := checkShape("context.arch", c.Arch, false); m != "" {
		return m
	}
	if m := checkShape("context.runtime", c.Runtime, false); m != "" {
		return m
	}
	if m := checkShape("context.runtimeVersion", c.RuntimeVersion, false); m != "" {
		return m
	}
	if m := checkShape("context.ciName", c.CIName, false); m != "" {
		return m
	}
	if m := checkShape("context.sdk", c.SDK, true); m != "" {
		return m
	}
	if c.CPUs < 0 || c.CPUs > MaxCPUs {
		return msgCPUs
	}
	if c.MemoryMB < 0 || c.MemoryMB > MaxMemoryMB {
		return msgMemory
	}
	return ""
}

// shapeChars marks the characters allowed in context strings: A-Z a-z 0-9 . _ + - and space.
var shapeChars = func() (t [256]bool) {
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "._+- " {
		t[c] = true
	}
	return t
}()

// checkShape checks a free-form string of the context: at most MaxContextLen characters of
// [A-Za-z0-9._+ -]. With slash, one '/' is allowed after the first character, as in
// "abacus-go/0.1.0" (context.sdk is name/version).
func checkShape(field, s string, slash bool) string {
	if len(s) > MaxContextLen {
		return field + ": expected at most " + strconv.Itoa(MaxContextLen) + " characters"
	}
	slashes := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if shapeChars[c] {
			continue
		}
		if slash && c == '/' && i > 0 && slashes == 0 {
			slashes++
			continue
		}
		if slash {
			return field + ": expected a name and version made of A-Z, a-z, 0-9, '.', '_', '+', '-' and space, separated by one '/'"
		}
		return field + ": expected only A-Z, a-z, 0-9, '.', '_', '+', '-' and space"
	}
	return ""
}
