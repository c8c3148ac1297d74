package compat

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/abacushq/abacus/telemetry/wire"
)

// The one-pass mappings.
//
// Each protocol's body is read once by the scanner (scan.go) and written
// straight into a native batch body in a pooled buffer: the values that pass
// through unchanged (properties, build keys, the event name) are copied as
// JSON, never decoded; only the few fields the mapping reads become strings.
// A body they do not handle exactly as the encoding/json mapping
// (protocols.go) does — malformed JSON, a value of the wrong type, a key
// given twice, in another case or with escapes, a number beyond float64,
// deep nesting, invalid UTF-8, a large event — is declined, and the
// encoding/json mapping maps it or names the error. FuzzFastMatchesJSON holds
// the two to the same native events.

// maxCopied bounds the bytes one event copies from its body (properties and
// build values). A larger event is declined: its native size, and so whether
// the native checks refuse it as too large, then depends on encoding/json's
// re-encoding exactly as before.
const maxCopied = 4096

// writer builds one request's native batch.
type writer struct {
	m     *Mapper
	out   []byte // the native batch body
	props []byte // members of the properties of the event being mapped
	build []byte // members of its build object
	res   Result

	cover   func(int) bool // nil: no budget
	covered int
	busy    bool

	client  []byte // the last client ID mapped, and its machine
	machine string
	mac     hash.Hash
	sum     []byte

	strs  [64]string // recent short strings, so that repeated text is allocated once
	ckey  []byte
	ctxs  [4]ctxEntry // recent contexts, by the raw values they were made of
	nctx  int
	nextc int
}

// ctxEntry is a mapped context and product version, and the raw values it
// was made of.
type ctxEntry struct {
	key     []byte
	ctx     wire.Context
	version string
}

// context returns the context and product version made of the raw values
// parts by make, remembering the last few.
func (w *writer) context(parts *[5][]byte, make func(*[5][]byte) (wire.Context, string, bool)) (*ctxEntry, bool) {
	k := w.ckey[:0]
	for _, p := range parts {
		k = append(k, byte(len(p)>>8), byte(len(p)))
		k = append(k, p...)
	}
	w.ckey = k
	for i := range w.nctx {
		if string(w.ctxs[i].key) == string(k) {
			return &w.ctxs[i], true
		}
	}
	c, v, ok := make(parts)
	if !ok {
		return nil, false
	}
	i := w.nctx
	if i < len(w.ctxs) {
		w.nctx++
	} else {
		i = w.nextc
		w.nextc = (w.nextc + 1) % len(w.ctxs)
	}
	e := &w.ctxs[i]
	e.key = append(e.key[:0], k...)
	e.ctx, e.version = c, v
	return e, true
}

// intern returns the text of the JSON string v ("" for any other value),
// allocating only text it has not seen lately.
func (w *writer) intern(v []byte) string {
	b := strBytes(v)
	if len(b) == 0 || len(b) > 64 {
		return string(b)
	}
	h := uint(len(b))
	for _, c := range b {
		h = h*31 + uint(c)
	}
	slot := &w.strs[h%uint(len(w.strs))]
	if *slot != string(b) {
		*slot = string(b)
	}
	return *slot
}

var writerPool = sync.Pool{New: func() any { return new(writer) }}

const maxPooledOut = 1 << 20

func (m *Mapper) getWriter(cover func(int) bool) *writer {
	w := writerPool.Get().(*writer)
	if w.m != m {
		w.m, w.mac = m, hmac.New(sha256.New, m.key)
		w.client, w.machine = w.client[:0], ""
	}
	w.nctx, w.nextc = 0, 0
	w.out = append(w.out[:0], `{"events":[`...)
	w.res, w.cover, w.covered, w.busy = Result{}, cover, 0, false
	return w
}

func putWriter(w *writer) {
	if cap(w.out) > maxPooledOut {
		w.out = nil
	}
	if cap(w.props) > 64<<10 {
		w.props = nil
	}
	w.res, w.cover = Result{}, nil
	writerPool.Put(w)
}

// done finishes the batch into the result; the result holds the writer
// until Release.
func (w *writer) done() Result {
	r := w.res
	if r.Events == 0 {
		putWriter(w)
		return r
	}
	w.out = append(w.out, "]}"...)
	r.Native, r.w = w.out, w
	return r
}

// machineID is Mapper.MachineID of the client ID text, remembering the last.
func (w *writer) machineID(client []byte) string {
	if w.machine != "" && bytes.Equal(client, w.client) {
		return w.machine
	}
	w.mac.Reset()
	w.mac.Write([]byte("machine\x00"))
	w.mac.Write(client)
	w.sum = w.mac.Sum(w.sum[:0])
	w.client = append(w.client[:0], client...)
	w.machine = hex.EncodeToString(w.sum)
	return w.machine
}

// eventID is Mapper.EventID.
func (w *writer) eventID(protocol string, id []byte) string {
	w.mac.Reset()
	w.mac.Write([]byte("event\x00" + protocol + "\x00"))
	w.mac.Write(id)
	w.sum = w.mac.Sum(w.sum[:0])
	var u [16]byte
	copy(u[:], w.sum)
	return uuidV8(u)
}

func (w *writer) key(k []byte) {
	if len(k) == 0 {
		return
	}
	for _, have := range w.res.Keys {
		if have == string(k) {
			return
		}
	}
	w.res.Keys = append(w.res.Keys, string(k))
}

// copyMember appends "key":value, to dst.
func copyMember(dst, key, v []byte, spaced bool) []byte {
	dst = append(dst, '"')
	dst = append(dst, key...)
	dst = append(dst, '"', ':')
	dst = appendValue(dst, v, spaced)
	return append(dst, ',')
}

// out is one native event to write; its properties and build members are in
// the writer.
type out struct {
	id          string
	name        []byte // the event's JSON string, as sent
	at          time.Time
	project     string
	machine     string
	environment string
	version     string
	ctx         wire.Context
}

// add writes e unless the plan does not declare it or it has no project or
// machine, as batch.add does; false declines the body (a time encoding/json
// cannot write) or reports the budget spent (w.busy).
func (w *writer) add(e *out, name string) bool {
	if w.m.plan.Event(name) == nil {
		w.res.count(Undeclared)
		return true
	}
	if !wire.IsProjectID(e.project) || e.machine == "" {
		w.res.count(Invalid)
		return true
	}
	t := e.at.UTC().Truncate(time.Millisecond)
	if y := t.Year(); y < 0 || y > 9999 {
		return false
	}
	if w.cover != nil {
		need := len(w.out) + len(w.props) + len(w.build) + 1024
		if need > w.covered {
			n := (need + 64<<10 - 1) / (64 << 10) * (64 << 10)
			if !w.cover(n) {
				w.busy = true
				return false
			}
			w.covered = n
		}
	}
	b := w.out
	if w.res.Events > 0 {
		b = append(b, ',')
	}
	b = append(b, `{"id":"`...)
	b = append(b, e.id...)
	b = append(b, `","event":`...)
	b = append(b, e.name...)
	b = append(b, `,"timestamp":"`...)
	b = t.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","projectId":"`...)
	b = append(b, e.project...)
	b = append(b, `","machineId":"`...)
	b = append(b, e.machine...)
	b = append(b, `","environment":"`...)
	b = append(b, e.environment...)
	b = append(b, `","product":{"name":`...)
	b = append(b, w.m.productJSON...)
	b = append(b, `,"version":"`...)
	b = append(b, e.version...)
	c := &e.ctx
	b = append(b, `"},"context":{"os":"`...)
	b = append(b, c.OS...)
	b = append(b, `","osVersion":"`...)
	b = append(b, c.OSVersion...)
	b = append(b, `","arch":"`...)
	b = append(b, c.Arch...)
	b = append(b, `","cpus":0,"memoryMB":0,"runtime":"`...)
	b = append(b, c.Runtime...)
	b = append(b, `","runtimeVersion":"`...)
	b = append(b, c.RuntimeVersion...)
	b = append(b, `","ci":`...)
	b = appendBool(b, c.CI)
	b = append(b, `,"ciName":"","docker":`...)
	b = appendBool(b, c.Docker)
	b = append(b, `,"wsl":false,"sdk":"`...)
	b = append(b, c.SDK...)
	b = append(b, `"}`...)
	if len(w.build) > 0 {
		b = append(b, `,"build":{`...)
		b = append(b, w.build[:len(w.build)-1]...)
		b = append(b, '}')
	}
	if len(w.props) > 0 {
		b = append(b, `,"properties":{`...)
		b = append(b, w.props[:len(w.props)-1]...)
		b = append(b, '}')
	}
	w.out = append(b, '}')
	w.res.Events++
	return true
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, "true"...)
	}
	return append(b, "false"...)
}

// fields records the members of one object of a known struct type: raw
// values by field index (nil when absent or null). A key given twice, or
// matching a field only without regard to case, declines the body (the
// encoding/json mapping's rules for those apply).
type fields struct {
	names []string
	kinds []kind
	v     [12][]byte
	seen  uint32
}

// kind is the JSON types a struct field accepts (null always).
type kind uint8

const (
	kAny    kind = iota // json.RawMessage, flexTime
	kString             // string
	kObject             // a map
	kArray              // a slice
)

// read reads the object at b[i] == '{' into f and returns the index after
// it, or -1 to decline. Object and array values are only delimited here: the
// caller reads each with obj (or reads the array's elements), which
// validates it, or calls check.
func (f *fields) read(b []byte, i int) int {
	f.seen = 0
	clear(f.v[:len(f.names)])
	i = ws(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	for {
		var key []byte
		if key, i = memberKey(b, i); i < 0 {
			return -1
		}
		n := f.field(key)
		if n == -2 {
			return -1
		}
		if i >= len(b) {
			return -1
		}
		start := i
		lazy := false
		if n >= 0 && b[i] != 'n' {
			switch f.kinds[n] {
			case kString:
				if b[i] != '"' {
					return -1 // a value of the wrong type
				}
			case kObject:
				if b[i] != '{' {
					return -1
				}
				lazy = true
			case kArray:
				if b[i] != '[' {
					return -1
				}
				lazy = true
			}
		}
		if lazy {
			i = skipBrackets(b, i)
		} else {
			spaced := false
			i = skip(b, i, 2, &spaced)
		}
		if i < 0 {
			return -1
		}
		if n >= 0 && b[start] != 'n' {
			f.v[n] = b[start:i]
		}
		if i = memberEnd(b, i); i < 0 || b[i-1] == '}' {
			return i
		}
	}
}

// field returns the index of the field called key, -1 for an unknown key,
// -2 (decline) for a field given twice or named in another case.
func (f *fields) field(key []byte) int {
	for j, name := range f.names {
		if name == string(key) {
			if f.seen&(1<<j) != 0 {
				return -2
			}
			f.seen |= 1 << j
			return j
		}
	}
	ascii := true
	for _, c := range key {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	for _, name := range f.names {
		if (!ascii || len(name) == len(key)) && bytes.EqualFold([]byte(name), key) {
			return -2
		}
	}
	return -1
}

// check validates the object or array of field n when the caller does not
// read it.
func (f *fields) check(n int) bool {
	v := f.v[n]
	if v == nil {
		return true
	}
	spaced := false
	return skip(v, 0, 2, &spaced) == len(v)
}

// text returns the text of the JSON string v (with its quotes), "" for any
// other value.
func text(v []byte) string { return rawStr(v) }

// member returns the value of the last member called name of v when v is an
// object (nil otherwise or when it has none); ok is false when v's keys hold
// escapes (declined: encoding/json would unescape them).
func member(v []byte, name string) (val []byte, ok bool) {
	if len(v) == 0 || v[0] != '{' {
		return nil, true
	}
	end := obj(v, 0, 1, func(key []byte, start, end int, _ bool) bool {
		if string(key) == name {
			val = v[start:end]
		}
		return true
	})
	return val, end >= 0
}

// begin checks what every body needs before the scanner reads it.
func begin(body []byte) bool { return utf8.Valid(body) }

// Field indexes of PostHog's event object and body.
const (
	phEvent = iota
	phDistinct
	phProperties
	phTimestamp
	phUUID
	phAPIKey
	phToken
	phBatch
	phSentAt
)

var (
	phNames     = []string{"event", "distinct_id", "properties", "timestamp", "uuid", "api_key", "token", "batch", "sent_at"}
	phKinds     = []kind{kString, kAny, kObject, kAny, kString, kString, kString, kArray, kAny}
	phEventOnly = phNames[:phBatch]
)

// postHogFast maps a PostHog body in one pass; false declines it.
func (m *Mapper) postHogFast(w *writer, body []byte, receivedAt time.Time) bool {
	if !begin(body) {
		return false
	}
	i := ws(body, 0)
	if i >= len(body) {
		return false
	}
	var top fields
	var sentAt flexTime
	var elems []byte
	switch body[i] {
	case '[':
		elems = body[i:]
		end := skipBrackets(body, i)
		if end < 0 || ws(body, end) != len(body) {
			return false
		}
		elems = body[i:end]
	case '{':
		top.names, top.kinds = phNames, phKinds
		end := top.read(body, i)
		if end < 0 || ws(body, end) != len(body) {
			return false
		}
		if top.v[phBatch] == nil {
			if top.v[phEvent] == nil || len(top.v[phEvent]) == 2 {
				return false // no event: the encoding/json mapping names the error
			}
		} else {
			elems = top.v[phBatch]
			if !top.check(phProperties) {
				return false
			}
		}
		sentAt = flexOf(top.v[phSentAt])
		w.key(strBytes(top.v[phAPIKey]))
	default:
		return false
	}
	if elems == nil {
		// One event: the body's own fields.
		top.names, top.kinds = phEventOnly, phKinds
		return m.postHogEvent(w, &top, sentAt, receivedAt)
	}
	ev := fields{names: phEventOnly, kinds: phKinds}
	n := 0
	j := ws(elems, 1)
	if j < len(elems) && elems[j] == ']' {
		return false // an empty batch: an error
	}
	for {
		if j >= len(elems) || elems[j] != '{' {
			return false
		}
		if j = ev.read(elems, j); j < 0 {
			return false
		}
		if !m.postHogEvent(w, &ev, sentAt, receivedAt) {
			return false
		}
		n++
		j = ws(elems, j)
		if j >= len(elems) {
			return false
		}
		if elems[j] == ']' {
			return ws(elems, j+1) == len(elems)
		}
		if elems[j] != ',' {
			return false
		}
		j = ws(elems, j+1)
	}
}

// postHogEvent maps one PostHog event; false declines the body.
func (m *Mapper) postHogEvent(w *writer, f *fields, sentAt flexTime, receivedAt time.Time) bool {
	var pEnv, pProject, pToken, pGroups, pOS, pOSVersion, pLib, pLibVersion, pAppVersion []byte
	w.props = w.props[:0]
	if p := f.v[phProperties]; p != nil {
		end := obj(p, 0, 2, func(key []byte, start, end int, spaced bool) bool {
			v := p[start:end]
			if len(key) > 0 && key[0] == '$' {
				switch string(key) {
				case "$groups":
					pGroups = v
				case "$os":
					pOS = v
				case "$os_version":
					pOSVersion = v
				case "$lib":
					pLib = v
				case "$lib_version":
					pLibVersion = v
				case "$app_version":
					pAppVersion = v
				}
				return true
			}
			switch string(key) {
			case "environment":
				pEnv = v
			case "projectId":
				pProject = v
			case "token":
				pToken = v
			default:
				w.props = copyMember(w.props, key, v, spaced)
			}
			return true
		})
		if end < 0 || len(w.props) > maxCopied {
			return false
		}
	}
	w.key(strBytes(f.v[phAPIKey]))
	w.key(strBytes(f.v[phToken]))
	w.key(strBytes(pToken))
	name := w.intern(f.v[phEvent])
	if name == "" {
		w.res.count(Invalid)
		return true
	}
	if posthogNotTrack[name] && m.plan.Event(name) == nil {
		w.res.count(NotTrack)
		return true
	}
	c, _ := w.context(&[5][]byte{pOS, pOSVersion, pLib, pLibVersion, pAppVersion}, postHogContext)
	e := out{
		name:        f.v[phEvent],
		at:          eventTime(flexOf(f.v[phTimestamp]), sentAt, receivedAt),
		environment: environment(w.intern(pEnv)),
		version:     c.version,
		ctx:         c.ctx,
	}
	project, ok := member(pGroups, "project")
	if !ok {
		return false
	}
	e.project = text(project)
	if e.project == "" {
		e.project = text(pProject)
	}
	if m.plan.Event(name) == nil || !wire.IsProjectID(e.project) {
		return w.add(&e, name) // counted, not written: no IDs needed
	}
	if id := idBytes(f.v[phDistinct]); len(id) > 0 {
		e.machine = w.machineID(id)
	}
	uuid := text(f.v[phUUID])
	switch {
	case wire.IsUUID(uuid):
		e.id = strings.ToLower(uuid)
	case uuid != "":
		e.id = w.eventID(PostHog, []byte(uuid))
	default:
		e.id = randomID()
	}
	w.build = w.build[:0]
	return w.add(&e, name)
}

// postHogContext maps the properties $os, $os_version, $lib, $lib_version
// and $app_version.
func postHogContext(p *[5][]byte) (wire.Context, string, bool) {
	return wire.Context{
		OS:        shape(strings.ToLower(text(p[0]))),
		OSVersion: shape(text(p[1])),
		SDK:       sdk(text(p[2]), text(p[3])),
	}, shape(text(p[4])), true
}

// segmentContext maps the context's os, library and app objects; false
// declines the body.
func segmentContext(p *[5][]byte) (wire.Context, string, bool) {
	osName, ok1 := member(p[0], "name")
	osVersion, ok2 := member(p[0], "version")
	libName, ok3 := member(p[1], "name")
	libVersion, ok4 := member(p[1], "version")
	appVersion, ok5 := member(p[2], "version")
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 {
		return wire.Context{}, "", false
	}
	return wire.Context{
		OS:        shape(strings.ToLower(text(osName))),
		OSVersion: shape(text(osVersion)),
		SDK:       sdk(text(libName), text(libVersion)),
	}, shape(text(appVersion)), true
}

// Field indexes of a Segment call and body.
const (
	sgType = iota
	sgEvent
	sgMessageID
	sgAnonymousID
	sgUserID
	sgTimestamp
	sgProperties
	sgContext
	sgWriteKey
	sgBatch
	sgSentAt
)

var (
	sgNames       = []string{"type", "event", "messageId", "anonymousId", "userId", "timestamp", "properties", "context", "writeKey", "batch", "sentAt"}
	sgKinds       = []kind{kString, kString, kString, kAny, kAny, kAny, kObject, kObject, kString, kArray, kAny}
	sgMessageOnly = sgNames[:sgBatch]
)

// segCtx holds the context members the mapping reads.
type segCtx struct {
	v   [5][]byte // os, library, app, environment, groupId
	has uint8
}

var segCtxNames = [5]string{"os", "library", "app", "environment", "groupId"}

func (c *segCtx) read(v []byte) bool {
	*c = segCtx{}
	if v == nil {
		return true
	}
	return obj(v, 0, 2, func(key []byte, start, end int, _ bool) bool {
		for i, n := range segCtxNames {
			if n == string(key) {
				c.v[i] = v[start:end]
				c.has |= 1 << i
			}
		}
		return true
	}) >= 0
}

// get returns the member i of the call's context c, else of the batch's.
func (c *segCtx) get(shared *segCtx, i int) []byte {
	if c.has&(1<<i) != 0 {
		return c.v[i]
	}
	return shared.v[i]
}

// segmentFast maps a Segment body in one pass; false declines it.
func (m *Mapper) segmentFast(w *writer, body []byte, single bool, basicUser string, receivedAt time.Time) bool {
	if !begin(body) {
		return false
	}
	i := ws(body, 0)
	if i >= len(body) || body[i] != '{' {
		return false
	}
	top := fields{names: sgNames, kinds: sgKinds}
	end := top.read(body, i)
	if end < 0 || ws(body, end) != len(body) {
		return false
	}
	if single && top.seen&(1<<sgBatch) != 0 {
		return false
	}
	elems := top.v[sgBatch]
	if !single && (elems == nil || ws(elems, 1) == len(elems)-1 || !top.check(sgProperties)) {
		return false // no or an empty batch: an error
	}
	w.key([]byte(basicUser))
	w.key(strBytes(top.v[sgWriteKey]))
	var shared segCtx
	if !shared.read(top.v[sgContext]) {
		return false
	}
	sentAt := flexOf(top.v[sgSentAt])
	if single {
		if top.v[sgType] == nil || len(top.v[sgType]) == 2 {
			top.v[sgType] = []byte(`"track"`)
		}
		return m.segmentCall(w, &top, &shared, sentAt, receivedAt)
	}
	call := fields{names: sgMessageOnly, kinds: sgKinds}
	j := ws(elems, 1)
	for {
		if j >= len(elems) || elems[j] != '{' {
			return false
		}
		if j = call.read(elems, j); j < 0 {
			return false
		}
		if !m.segmentCall(w, &call, &shared, sentAt, receivedAt) {
			return false
		}
		j = ws(elems, j)
		if j >= len(elems) {
			return false
		}
		if elems[j] == ']' {
			return ws(elems, j+1) == len(elems)
		}
		if elems[j] != ',' {
			return false
		}
		j = ws(elems, j+1)
	}
}

// segmentCall maps one Segment call; false declines the body.
func (m *Mapper) segmentCall(w *writer, f *fields, shared *segCtx, sentAt flexTime, receivedAt time.Time) bool {
	var ctx segCtx
	if !ctx.read(f.v[sgContext]) {
		return false
	}
	var pEnv, pProject []byte
	w.props = w.props[:0]
	if p := f.v[sgProperties]; p != nil {
		end := obj(p, 0, 2, func(key []byte, start, end int, spaced bool) bool {
			v := p[start:end]
			switch {
			case len(key) > 0 && key[0] == '$':
			case string(key) == "environment":
				pEnv = v
			case string(key) == "projectId":
				pProject = v
			default:
				w.props = copyMember(w.props, key, v, spaced)
			}
			return true
		})
		if end < 0 || len(w.props) > maxCopied {
			return false
		}
	}
	w.key(strBytes(f.v[sgWriteKey]))
	if string(f.v[sgType]) != `"track"` {
		if t := f.v[sgType]; t != nil && bytes.IndexByte(t, '\\') >= 0 {
			return false // an escaped type: the encoding/json mapping reads it
		}
		w.res.count(NotTrack)
		return true
	}
	name := w.intern(f.v[sgEvent])
	if name == "" {
		w.res.count(Invalid)
		return true
	}
	c, ok := w.context(&[5][]byte{ctx.get(shared, 0), ctx.get(shared, 1), ctx.get(shared, 2)}, segmentContext)
	if !ok {
		return false
	}
	env := w.intern(pEnv)
	if env == "" {
		env = w.intern(ctx.get(shared, 3))
	}
	e := out{
		name:        f.v[sgEvent],
		at:          eventTime(flexOf(f.v[sgTimestamp]), sentAt, receivedAt),
		environment: environment(env),
		version:     c.version,
		ctx:         c.ctx,
	}
	e.project = text(ctx.get(shared, 4))
	if e.project == "" {
		e.project = text(pProject)
	}
	if m.plan.Event(name) == nil || !wire.IsProjectID(e.project) {
		return w.add(&e, name)
	}
	client := idBytes(f.v[sgAnonymousID])
	if len(client) == 0 {
		client = idBytes(f.v[sgUserID])
	}
	if len(client) > 0 {
		e.machine = w.machineID(client)
	}
	if mid := strBytes(f.v[sgMessageID]); len(mid) > 0 {
		e.id = w.eventID(Segment, mid)
	} else {
		e.id = randomID()
	}
	w.build = w.build[:0]
	return w.add(&e, name)
}

// Field indexes of Strapi's body.
const (
	stEvent = iota
	stInstallID
	stDeviceID
	stEventProperties
	stUserProperties
	stGroupProperties
)

var (
	stNames = []string{"event", "installId", "deviceId", "eventProperties", "userProperties", "groupProperties"}
	stKinds = []kind{kString, kString, kString, kObject, kObject, kObject}
)

// strapiFast maps a Strapi body in one pass; false declines it.
func (m *Mapper) strapiFast(w *writer, body []byte, receivedAt time.Time) bool {
	if !begin(body) {
		return false
	}
	i := ws(body, 0)
	if i >= len(body) || body[i] != '{' {
		return false
	}
	f := fields{names: stNames, kinds: stKinds}
	end := f.read(body, i)
	if end < 0 || ws(body, end) != len(body) {
		return false
	}
	name := text(f.v[stEvent])
	if name == "" {
		return false // the encoding/json mapping names the error
	}
	var uEnv, uPlatform, uRelease, uArch, uNode []byte
	if up := f.v[stUserProperties]; up != nil {
		if obj(up, 0, 1, func(key []byte, start, end int, _ bool) bool {
			v := up[start:end]
			switch string(key) {
			case "environment":
				uEnv = v
			case "osPlatform":
				uPlatform = v
			case "osRelease":
				uRelease = v
			case "osArch":
				uArch = v
			case "nodeVersion":
				uNode = v
			}
			return true
		}) < 0 {
			return false
		}
	}
	var gProject, gVersion, gCI, gDocker, gEnv []byte
	type buildValue struct {
		v      []byte
		spaced bool
	}
	var builds [16]buildValue
	if len(m.plan.Build) > len(builds) {
		return false
	}
	if gp := f.v[stGroupProperties]; gp != nil {
		if obj(gp, 0, 1, func(key []byte, start, end int, spaced bool) bool {
			v := gp[start:end]
			switch string(key) {
			case "projectId":
				gProject = v
			case "version":
				gVersion = v
			case "isCI":
				gCI = v
			case "docker":
				gDocker = v
			case "environment":
				gEnv = v
			}
			for j, bf := range m.plan.Build {
				if bf.Name == string(key) {
					builds[j] = buildValue{v, spaced}
				}
			}
			return true
		}) < 0 {
			return false
		}
	}
	w.props = w.props[:0]
	if p := f.v[stEventProperties]; p != nil {
		if obj(p, 0, 1, func(key []byte, start, end int, spaced bool) bool {
			if len(key) == 0 || key[0] != '$' {
				w.props = copyMember(w.props, key, p[start:end], spaced)
			}
			return true
		}) < 0 {
			return false
		}
	}
	w.build = w.build[:0]
	for j, bf := range m.plan.Build {
		if bv := builds[j]; bv.v != nil {
			w.build = copyMember(w.build, []byte(bf.Name), bv.v, bv.spaced)
		}
	}
	if len(w.props)+len(w.build) > maxCopied {
		return false
	}
	e := out{
		name:    f.v[stEvent],
		at:      receivedAt,
		project: text(gProject),
		version: shape(text(gVersion)),
		ctx: wire.Context{
			OS:             shape(platform(text(uPlatform))),
			OSVersion:      shape(text(uRelease)),
			Arch:           shape(arch(text(uArch))),
			RuntimeVersion: shape(strings.TrimPrefix(text(uNode), "v")),
			CI:             truthyRaw(gCI),
			Docker:         truthyRaw(gDocker),
			SDK:            "strapi-telemetry",
		},
	}
	if e.ctx.RuntimeVersion != "" {
		e.ctx.Runtime = "node"
	}
	env := text(uEnv)
	if env == "" {
		env = text(gEnv)
	}
	e.environment = environment(env)
	client := f.v[stInstallID]
	if len(client) <= 2 {
		client = f.v[stDeviceID]
	}
	if c := strBytes(client); len(c) > 0 {
		e.machine = w.machineID(c)
	}
	e.id = randomID()
	return w.add(&e, name)
}

// truthyRaw is truthy of a raw JSON value.
func truthyRaw(v []byte) bool {
	switch {
	case len(v) == 0:
		return false
	case v[0] == 't':
		return true
	case v[0] == '"':
		return truthy(text(v))
	}
	return false
}

// strBytes returns the text of the JSON string v, nil for any other value.
func strBytes(v []byte) []byte {
	if len(v) < 2 || v[0] != '"' {
		return nil
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return v[1 : len(v)-1]
	}
	return []byte(rawStr(v))
}

// idBytes is idString without the string.
func idBytes(v []byte) []byte {
	if len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9') {
		return v
	}
	return strBytes(v)
}

// flexOf reads a raw value as flexTime does.
func flexOf(v []byte) flexTime {
	var f flexTime
	if len(v) > 2 && v[0] == '"' && bytes.IndexByte(v, '\\') < 0 {
		if t, err := time.Parse(time.RFC3339Nano, string(v[1:len(v)-1])); err == nil {
			f.t, f.ok = t, true
		}
		return f
	}
	if len(v) > 0 {
		f.UnmarshalJSON(v)
	}
	return f
}

// skipBrackets returns the index after the array or object at b[i], found by
// matching brackets outside strings (not validating: the caller reads every
// element), or -1.
func skipBrackets(b []byte, i int) int {
	d := 0
	for i < len(b) {
		switch b[i] {
		case '"':
			e := i + 1
			for e < len(b) && b[e] != '"' {
				if b[e] == '\\' {
					e++
				}
				e++
			}
			if e >= len(b) {
				return -1
			}
			i = e
		case '{', '[':
			d++
		case '}', ']':
			d--
			if d == 0 {
				return i + 1
			}
		}
		i++
	}
	return -1
}
