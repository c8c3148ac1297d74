package compat

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/abacushq/abacus/internal/plan"
	"github.com/abacushq/abacus/telemetry/wire"
)

// Protocols, as they appear in the protocol label of abacus_compat_events_total.
const (
	Strapi  = "strapi"
	PostHog = "posthog"
	Segment = "segment"
)

// Protocols lists every protocol label.
var Protocols = []string{Strapi, PostHog, Segment}

// Outcomes of one foreign event, as they appear in the outcome label of
// abacus_compat_events_total.
const (
	Stored     = "stored"     // new, written to the log
	Duplicate  = "duplicate"  // its id was already accepted
	Undeclared = "undeclared" // a track call of an event the plan does not declare
	NotTrack   = "not_track"  // identify, page, screen, group, alias, $identify, …
	Invalid    = "invalid"    // no or a malformed project, machine or time, or refused by the plan
)

// Outcomes lists every outcome label.
var Outcomes = []string{Stored, Duplicate, Undeclared, NotTrack, Invalid}

// DefaultEnvironment is the environment of an event whose payload names none.
const DefaultEnvironment = wire.Other

// Result is one foreign request mapped to the native protocol.
type Result struct {
	// Native is a wire.Batch body holding the events to store (no sentAt: the
	// times are already corrected), or nil when there are none.
	Native []byte
	// Events is the number of events in Native.
	Events int
	// Counts counts the events left out of Native, by outcome (Undeclared,
	// NotTrack, Invalid). nil when none.
	Counts map[string]int
	// Keys are the API keys or write keys the request carries.
	Keys []string

	w *writer // holds Native until Release
}

// Release gives Native's buffer back for reuse; Native must not be used
// after it.
func (r *Result) Release() {
	if r.w != nil {
		putWriter(r.w)
		r.w, r.Native = nil, nil
	}
}

func (r *Result) count(outcome string) {
	if r.Counts == nil {
		r.Counts = make(map[string]int, 2)
	}
	r.Counts[outcome]++
}

// Mapper maps foreign requests to native batches under one tracking plan.
// It is safe for concurrent use.
type Mapper struct {
	plan        *plan.Plan
	key         []byte
	productJSON []byte // the plan's product name as a JSON string
}

// New returns a Mapper for p.
func New(p *plan.Plan) *Mapper {
	name, _ := json.Marshal(p.Product)
	return &Mapper{plan: p, key: []byte("abacus-compat/" + p.Product), productJSON: name}
}

// Options are what a mapping reads besides the body.
type Options struct {
	ReceivedAt time.Time
	// Single: Segment's /segment/v1/track, whose body is one call.
	Single bool
	// BasicUser is the HTTP Basic user name, Segment's write key.
	BasicUser string
	// Cover, when set, is asked to hold n bytes for the native batch before
	// it grows past them, in steps of 64 KiB; when it refuses, Map fails
	// with ErrBusy.
	Cover func(n int) bool
}

// ErrBusy is Map's error when Options.Cover refused the native batch's bytes.
var ErrBusy = &Error{Msg: "the collector is busy: request bodies in memory are at their budget"}

// Map maps one request body of protocol (Strapi, PostHog or Segment) to a
// native batch. Bodies are read in one pass, straight into the native batch
// (fast.go); the few the one-pass reader declines (malformed, values of
// unexpected types, keys given twice or in another case, …) are mapped
// through encoding/json instead, which also names what is wrong. Call
// Result.Release once Native is no longer used.
func (m *Mapper) Map(protocol string, body []byte, o Options) (Result, *Error) {
	w := m.getWriter(o.Cover)
	var ok bool
	switch protocol {
	case Strapi:
		ok = m.strapiFast(w, body, o.ReceivedAt)
	case PostHog:
		ok = m.postHogFast(w, body, o.ReceivedAt)
	default:
		ok = m.segmentFast(w, body, o.Single, o.BasicUser, o.ReceivedAt)
	}
	if ok {
		return w.done(), nil
	}
	busy := w.busy
	putWriter(w)
	if busy {
		return Result{}, ErrBusy
	}
	var (
		r   Result
		err *Error
	)
	switch protocol {
	case Strapi:
		r, err = m.strapiJSON(body, o.ReceivedAt)
	case PostHog:
		r, err = m.postHogJSON(body, o.ReceivedAt)
	default:
		r, err = m.segmentJSON(body, o.Single, o.BasicUser, o.ReceivedAt)
	}
	if err == nil && r.Native != nil && o.Cover != nil && !o.Cover(len(r.Native)) {
		return Result{}, ErrBusy
	}
	return r, err
}

// Strapi maps one request to POST /api/v2/track: one event, no id (the
// collector assigns one), the receive time.
func (m *Mapper) Strapi(body []byte, receivedAt time.Time) (Result, *Error) {
	return m.Map(Strapi, body, Options{ReceivedAt: receivedAt})
}

// PostHog maps one request to /posthog/batch/, /posthog/capture/,
// /posthog/e/ or /posthog/i/v0/e/: a batch {api_key, batch, sent_at}, one
// event {api_key, event, …}, or an array of events.
func (m *Mapper) PostHog(body []byte, receivedAt time.Time) (Result, *Error) {
	return m.Map(PostHog, body, Options{ReceivedAt: receivedAt})
}

// Segment maps one request to /segment/v1/batch (single=false) or
// /segment/v1/track (single=true, the body is one call). basicUser is the
// HTTP Basic user name, Segment's write key.
func (m *Mapper) Segment(body []byte, single bool, basicUser string, receivedAt time.Time) (Result, *Error) {
	return m.Map(Segment, body, Options{ReceivedAt: receivedAt, Single: single, BasicUser: basicUser})
}

// MachineID returns the native machine ID of a foreign client ID:
// HMAC-SHA256 keyed by the product name, lowercase hex. The same client ID
// always gives the same machine; the collector re-keys it with its secret
// like any machine ID, so the raw client ID is never kept.
func (m *Mapper) MachineID(clientID string) string {
	h := hmac.New(sha256.New, m.key)
	h.Write([]byte("machine\x00"))
	h.Write([]byte(clientID))
	return hex.EncodeToString(h.Sum(nil))
}

// EventID returns the native event ID of a foreign message ID: a UUID
// (version 8, RFC 9562) made of an HMAC-SHA256 of the protocol and the ID, so
// a retried message gets the same ID and is stored once.
func (m *Mapper) EventID(protocol, messageID string) string {
	h := hmac.New(sha256.New, m.key)
	h.Write([]byte("event\x00" + protocol + "\x00"))
	h.Write([]byte(messageID))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	return uuidV8(u)
}

// uuidV8 marks u as a version-8 (custom) UUID and formats it.
func uuidV8(u [16]byte) string {
	u[6] = u[6]&0x0f | 0x80
	u[8] = u[8]&0x3f | 0x80
	return wire.FormatUUID(u)
}

func randomID() string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	return uuidV8(u)
}

// Error is a body the mapper cannot read at all: answer 400 with Msg, which
// names the field at fault and what was expected, never client text.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

func badBody(format string, args ...any) *Error { return &Error{Msg: fmt.Sprintf(format, args...)} }

// decode decodes the JSON value b into v.
func decode(b []byte, v any) error { return json.Unmarshal(b, v) }

// jsonError names what was wrong with the body without quoting it.
func jsonError(err error) *Error {
	switch e := err.(type) {
	case *json.SyntaxError:
		return badBody("body: malformed JSON at byte %d", e.Offset)
	case *json.UnmarshalTypeError:
		return badBody("body: %s: expected %s, got a JSON %s", e.Field, e.Type.String(), e.Value)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return badBody("body: malformed JSON: it ends before its last value does")
	}
	return badBody("body: expected a JSON object: %v", err)
}

// flexTime is a time that may be missing or malformed; ok reports a usable value.
type flexTime struct {
	t  time.Time
	ok bool
}

func (f *flexTime) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) != nil || s == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err == nil {
		f.t, f.ok = t, true
	}
	return nil
}

// eventTime is the client's time corrected by the time it sent the request
// (receivedAt − (sentAt − timestamp)), the client's time without sentAt, and
// receivedAt without a timestamp.
func eventTime(ts, sentAt flexTime, receivedAt time.Time) time.Time {
	switch {
	case !ts.ok:
		return receivedAt
	case sentAt.ok:
		return receivedAt.Add(-sentAt.t.Sub(ts.t))
	default:
		return ts.t
	}
}

// environment maps a payload's environment to a native one: the native
// names as they are (any case), "dev" and "prod" to development and
// production, anything else to other, nothing to DefaultEnvironment.
func environment(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return DefaultEnvironment
	case wire.Development, "dev":
		return wire.Development
	case wire.Production, "prod":
		return wire.Production
	case wire.Staging:
		return wire.Staging
	case wire.Test:
		return wire.Test
	}
	return wire.Other
}

const maxContextLen = 64

// shape returns s when it is a context string the native protocol accepts
// (at most 64 characters of A-Z a-z 0-9 . _ + - and space), else "".
func shape(s string) string {
	if len(s) > maxContextLen {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if !shapeChar(s[i]) {
			return ""
		}
	}
	return s
}

func shapeChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == '+' || c == '-' || c == ' '
}

// sdk returns "name/version" for context.sdk: characters of the name outside
// the native set become '-' ("@segment/analytics-node" → "segment-analytics-node"),
// and a version that does not fit is left out.
func sdk(name, version string) string {
	var b strings.Builder
	for i := 0; i < len(name) && b.Len() < 40; i++ {
		c := name[i]
		switch {
		case shapeChar(c):
			b.WriteByte(c)
		case b.Len() > 0:
			b.WriteByte('-')
		}
	}
	n := strings.Trim(b.String(), "- ")
	if n == "" {
		return ""
	}
	if v := shape(version); v != "" && len(n)+1+len(v) <= maxContextLen {
		return n + "/" + v
	}
	return n
}

// str returns v when it is a string.
func str(v any) string {
	s, _ := v.(string)
	return s
}

// truthy reads a flag sent as a bool or a string ("true", a non-empty name).
func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		s := strings.ToLower(strings.TrimSpace(x))
		return s != "" && s != "false" && s != "0" && s != "no"
	}
	return false
}

// properties returns the foreign properties to hand to the plan: every key
// but those starting with '$' (PostHog's own: $set, $ip, $current_url, …),
// which no plan can declare. The plan then keeps only declared keys. Values
// stay raw JSON: the native path decodes them.
func properties[V any](in map[string]V) map[string]any {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]any, len(in))
	for k, v := range in {
		if strings.HasPrefix(k, "$") {
			continue
		}
		out[k] = v
	}
	return out
}

// batch collects the native events of one request.
type batch struct {
	m      *Mapper
	res    Result
	events []wire.Event
}

// add appends e unless its event is undeclared or its project is not a
// project ID.
func (b *batch) add(e wire.Event) {
	if b.m.plan.Event(e.Event) == nil {
		b.res.count(Undeclared)
		return
	}
	if !wire.IsProjectID(e.ProjectID) || e.MachineID == "" {
		b.res.count(Invalid)
		return
	}
	e.Product.Name = b.m.plan.Product
	e.Timestamp = e.Timestamp.UTC().Truncate(time.Millisecond)
	b.events = append(b.events, e)
}

func (b *batch) key(k string) {
	if k != "" && !slices.Contains(b.res.Keys, k) {
		b.res.Keys = append(b.res.Keys, k)
	}
}

func (b *batch) done() (Result, *Error) {
	if len(b.events) > 0 {
		native, err := json.Marshal(wire.Batch{Events: b.events})
		if err != nil {
			return Result{}, badBody("properties: expected JSON values: %v", err)
		}
		b.res.Native = native
		b.res.Events = len(b.events)
	}
	return b.res, nil
}
