// Package walrec is the write-ahead log's record of accepted events: the
// collector encodes each accepted request's events into one record before
// the log's fsync and the 202, and decodes the records again to store them
// (in the writer, and at replay after a crash).
package walrec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sync"
	"time"
	"unsafe"

	"github.com/abacushq/abacus/internal/store"
)

// A write-ahead log record holds the events of one accepted request, in a
// compact binary form (encoding them as JSON cost a tenth of ingest's CPU):
//
//	record  = 'E' uvarint(count) event*
//	event   = string×9 (id name project machine session environment product productVersion os)
//	          string×6 (osVersion arch runtime runtimeVersion ciName sdk)
//	          varint(time ms) varint(receivedAt ms) uvarint(cpus) varint(memoryMB)
//	          byte(flags: ci 1, docker 2, wsl 4) map(build) map(properties)
//	string  = uvarint(len) bytes
//	map     = uvarint(count) (string value)*
//	value   = 's' string | 'i' varint | 'f' 8 bytes (IEEE 754, little endian) | 't' | 'F' | 'l' uvarint(count) value*
//
// The log's CRC guards each record; decode still checks every length against
// the bytes left, so a bad record is an error, never a panic or a huge
// allocation.
const tag = 'E'

// Append appends the record of events to b.
func Append(b []byte, events []store.Event) ([]byte, error) {
	b = append(b, tag)
	b = binary.AppendUvarint(b, uint64(len(events)))
	// The events of a request with the same build share its map (see
	// ingest.Batch): the map's bytes are copied, not encoded again.
	var seen [8]struct {
		m        unsafe.Pointer
		from, to int
	}
	next := 0
	for i := range events {
		e := &events[i]
		for _, s := range [...]string{e.ID, e.Name, e.ProjectID, e.MachineID, e.SessionID, e.Environment,
			e.Product, e.ProductVersion, e.OS, e.OSVersion, e.Arch, e.Runtime, e.RuntimeVersion, e.CIName, e.SDK} {
			b = appendString(b, s)
		}
		b = binary.AppendVarint(b, e.Time.UnixMilli())
		b = binary.AppendVarint(b, e.ReceivedAt.UnixMilli())
		b = binary.AppendUvarint(b, uint64(max(e.CPUs, 0)))
		b = binary.AppendVarint(b, e.MemoryMB)
		var flags byte
		if e.CI {
			flags |= 1
		}
		if e.Docker {
			flags |= 2
		}
		if e.WSL {
			flags |= 4
		}
		b = append(b, flags)
		var err error
		p, done := mapPointer(e.Build), false
		for _, s := range seen {
			if p != nil && s.m == p {
				b, done = append(b, b[s.from:s.to]...), true
				break
			}
		}
		if !done {
			start := len(b)
			if b, err = appendSortedMap(b, e.Build); err != nil {
				return nil, fmt.Errorf("event %s: build: %w", e.ID, err)
			}
			if p != nil {
				seen[next].m, seen[next].from, seen[next].to = p, start, len(b)
				next = (next + 1) % len(seen)
			}
		}
		if b, err = appendMap(b, e.Properties); err != nil {
			return nil, fmt.Errorf("event %s: properties: %w", e.ID, err)
		}
	}
	return b, nil
}

// pool recycles record buffers: a request encodes into one, the writer
// puts it back once the record's events are stored.
var pool sync.Pool

// Get returns an empty buffer for Append.
func Get() []byte {
	if p, ok := pool.Get().(*[]byte); ok {
		return (*p)[:0]
	}
	return make([]byte, 0, 32<<10)
}

// Put recycles b; the caller no longer uses it.
func Put(b []byte) {
	if cap(b) > 1<<20 {
		return // a rare huge batch: let it go
	}
	pool.Put(&b)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendMap(b []byte, m map[string]any) ([]byte, error) {
	b = binary.AppendUvarint(b, uint64(len(m)))
	for k, v := range m {
		b = appendString(b, k)
		var err error
		if b, err = appendValue(b, v, true); err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
	}
	return b, nil
}

// mapPointer identifies a map (nil for a nil map).
func mapPointer(m map[string]any) unsafe.Pointer {
	if m == nil {
		return nil
	}
	return reflect.ValueOf(m).UnsafePointer()
}

// appendSortedMap is appendMap with the keys in order, so that equal maps
// encode alike (see sharedMap).
func appendSortedMap(b []byte, m map[string]any) ([]byte, error) {
	var arr [16]string
	keys := arr[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = binary.AppendUvarint(b, uint64(len(m)))
	for _, k := range keys {
		b = appendString(b, k)
		var err error
		if b, err = appendValue(b, m[k], true); err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
	}
	return b, nil
}

func appendValue(b []byte, v any, listOK bool) ([]byte, error) {
	switch x := v.(type) {
	case string:
		return appendString(append(b, 's'), x), nil
	case int64:
		return binary.AppendVarint(append(b, 'i'), x), nil
	case int:
		return binary.AppendVarint(append(b, 'i'), int64(x)), nil
	case float64:
		return binary.LittleEndian.AppendUint64(append(b, 'f'), math.Float64bits(x)), nil
	case bool:
		if x {
			return append(b, 't'), nil
		}
		return append(b, 'F'), nil
	case []any:
		if !listOK {
			return nil, errors.New("a list inside a list")
		}
		b = binary.AppendUvarint(append(b, 'l'), uint64(len(x)))
		for _, e := range x {
			var err error
			if b, err = appendValue(b, e, false); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
	return nil, fmt.Errorf("unsupported value type %T", v)
}

// ErrMalformed is the error of a record that does not decode.
var ErrMalformed = errors.New("malformed write-ahead log record")

// decoder reads a record; the first error sticks. Its strings are substrings
// of s, one copy of the whole record: one allocation per record, not one per
// string.
type decoder struct {
	b   []byte // what is left to read
	s   string // the whole record
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = ErrMalformed
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = ErrMalformed
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte1() byte {
	if d.err != nil || len(d.b) == 0 {
		d.err = ErrMalformed
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = ErrMalformed
		return ""
	}
	off := len(d.s) - len(d.b)
	d.b = d.b[n:]
	return d.s[off : off+int(n)]
}

func (d *decoder) value(listOK bool) any {
	switch d.byte1() {
	case 's':
		return d.string()
	case 'i':
		return d.varint()
	case 'f':
		if d.err != nil || len(d.b) < 8 {
			d.err = ErrMalformed
			return nil
		}
		f := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
		d.b = d.b[8:]
		return f
	case 't':
		return true
	case 'F':
		return false
	case 'l':
		n := d.uvarint()
		if !listOK || n > uint64(len(d.b)) { // every value takes at least a byte
			d.err = ErrMalformed
			return nil
		}
		l := make([]any, 0, n)
		for i := uint64(0); i < n && d.err == nil; i++ {
			l = append(l, d.value(false))
		}
		return l
	}
	d.err = ErrMalformed
	return nil
}

func (d *decoder) mapValue() map[string]any {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b))/2 { // a key and a value take at least a byte each
		d.err = ErrMalformed
		return nil
	}
	if n == 0 {
		return nil
	}
	m := make(map[string]any, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		k := d.string()
		m[k] = d.value(true)
	}
	return m
}

// mapMemo remembers the last few maps a record's decoding made, by their
// encoded bytes: the events of a request mostly come from a few sources, and
// share their build maps byte for byte.
type mapMemo struct {
	enc  [16]string
	m    [16]map[string]any
	next int
}

// sharedMap decodes a map, or returns the map decoded before from the same
// bytes in this record: decoded events may share their Build maps, which
// nothing downstream changes.
func (d *decoder) sharedMap(memo *mapMemo) map[string]any {
	if d.err != nil {
		return nil
	}
	start := len(d.s) - len(d.b)
	probe := decoder{b: d.b}
	probe.skipMap()
	if probe.err != nil {
		d.err = probe.err
		return nil
	}
	enc := d.s[start : start+len(d.b)-len(probe.b)]
	for i, e := range memo.enc {
		if e == enc && memo.m[i] != nil {
			d.b = probe.b
			return memo.m[i]
		}
	}
	m := d.mapValue()
	if d.err == nil && m != nil {
		memo.enc[memo.next], memo.m[memo.next] = enc, m
		memo.next = (memo.next + 1) % len(memo.enc)
	}
	return m
}

// skipMap reads past a map without making it.
func (d *decoder) skipMap() {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b))/2 {
		d.err = ErrMalformed
		return
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		d.skipString()
		d.skipValue(true)
	}
}

func (d *decoder) skipString() {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = ErrMalformed
		return
	}
	d.b = d.b[n:]
}

func (d *decoder) skipValue(listOK bool) {
	switch d.byte1() {
	case 's':
		d.skipString()
	case 'i':
		d.varint()
	case 'f':
		if d.err != nil || len(d.b) < 8 {
			d.err = ErrMalformed
			return
		}
		d.b = d.b[8:]
	case 't', 'F':
	case 'l':
		n := d.uvarint()
		if !listOK || n > uint64(len(d.b)) {
			d.err = ErrMalformed
			return
		}
		for i := uint64(0); i < n && d.err == nil; i++ {
			d.skipValue(false)
		}
	default:
		d.err = ErrMalformed
	}
}

// Decode reads a record written by Append.
func Decode(rec []byte) ([]store.Event, error) {
	return AppendDecoded(nil, rec)
}

// AppendDecoded appends the events of a record written by Append to dst. On
// error dst is returned as it was. Events of one record with equal Build
// maps share one map: the caller must not change them.
func AppendDecoded(dst []store.Event, rec []byte) ([]store.Event, error) {
	d := &decoder{b: rec, s: string(rec)}
	if d.byte1() != tag {
		return dst, ErrMalformed
	}
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b))/20 { // an event takes at least 20 bytes
		return dst, ErrMalformed
	}
	var builds mapMemo
	start := len(dst)
	dst = slices.Grow(dst, int(n))[:start+int(n)]
	events := dst[start:]
	for i := range events {
		e := &events[i]
		for _, p := range [...]*string{&e.ID, &e.Name, &e.ProjectID, &e.MachineID, &e.SessionID, &e.Environment,
			&e.Product, &e.ProductVersion, &e.OS, &e.OSVersion, &e.Arch, &e.Runtime, &e.RuntimeVersion, &e.CIName, &e.SDK} {
			*p = d.string()
		}
		e.Time = time.UnixMilli(d.varint()).UTC()
		e.ReceivedAt = time.UnixMilli(d.varint()).UTC()
		e.CPUs = int(min(d.uvarint(), math.MaxInt32))
		e.MemoryMB = d.varint()
		flags := d.byte1()
		e.CI, e.Docker, e.WSL = flags&1 != 0, flags&2 != 0, flags&4 != 0
		e.Build = d.sharedMap(&builds)
		e.Properties = d.mapValue()
		if d.err != nil {
			clear(events)
			return dst[:start], d.err
		}
	}
	if len(d.b) != 0 {
		clear(events)
		return dst[:start], ErrMalformed
	}
	return dst, nil
}
