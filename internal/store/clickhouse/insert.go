package clickhouse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/abacushq/abacus/internal/store"
	"github.com/abacushq/abacus/telemetry/wire"
)

// insertColumns lists the events table's columns: an INSERT without a column
// list gets an empty header from servers before 19.x, and clickhouse-go's
// batch then takes no values (see doc.go).
const insertColumns = `(id, name, time, received, day, project, machine, session, environment, product,
	product_version, os, os_version, arch, cpus, memory_mb, runtime, runtime_version, ci, ci_name,
	docker, wsl, sdk, build, properties)`

// Insert stores the events whose IDs are not stored yet and reports how many
// were new. One Insert is one block on the server, written as one part per
// month: atomic for the events of a month.
//
// It asks the table which IDs are stored and which projects are erased (two
// queries at once) while it encodes the events' maps, and sends the new
// events column by column.
//
// Once the data is on its way, a cancelled ctx no longer interrupts it: the
// call waits for the server's answer (up to Options.InsertTimeout), so that
// an Insert that returns an error has stored nothing, and one whose data the
// server took reports success. When the answer is lost, Insert waits for the
// server to finish the query and looks whether its events are stored.
func (s *Store) Insert(ctx context.Context, events []store.Event) (int, error) {
	done, err := s.enter(ctx)
	if err != nil {
		return 0, err
	}
	defer done()
	if len(events) == 0 {
		return 0, nil
	}
	// Every ID is checked before anything is asked or sent.
	rows := make([]row, 0, len(events))
	dup := make(map[[16]byte]bool, len(events))
	for i := range events {
		e := &events[i]
		id, ok := wire.ParseUUID(e.ID)
		if !ok {
			return 0, fmt.Errorf("cannot store event %q: expected a UUID as its ID", e.ID)
		}
		if dup[id] {
			continue
		}
		dup[id] = true
		rows = append(rows, row{id: id, key: string(id[:]), e: e})
	}
	s.insertMu.Lock()
	defer s.insertMu.Unlock()
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	keys := make([]string, len(rows))
	for i, r := range rows {
		keys[i] = r.key
	}
	var (
		wg             sync.WaitGroup
		erased         map[string]int64
		stored         map[string]bool
		eraseErr, kErr error
	)
	wg.Add(2)
	go func() { defer wg.Done(); erased, eraseErr = s.erasures(ctx) }()
	go func() { defer wg.Done(); stored, kErr = s.existingKeys(ctx, keys) }()
	var buf []byte
	for i := range rows {
		r := &rows[i]
		start := len(buf)
		if buf, err = appendMap(buf, r.e.Build); err != nil {
			wg.Wait()
			return 0, fmt.Errorf("cannot store event %q: build: %w", r.e.ID, err)
		}
		mid := len(buf)
		if buf, err = appendMap(buf, r.e.Properties); err != nil {
			wg.Wait()
			return 0, fmt.Errorf("cannot store event %q: properties: %w", r.e.ID, err)
		}
		r.build, r.props = [2]int{start, mid}, [2]int{mid, len(buf)}
	}
	wg.Wait()
	if eraseErr != nil {
		return 0, eraseErr
	}
	if kErr != nil {
		return 0, kErr
	}
	text := string(buf) // one allocation for every event's build and properties
	var c columns
	c.grow(len(rows))
	first := ""
	for _, r := range rows {
		if stored[r.key] {
			s.seen.add(r.id)
			continue
		}
		if at, ok := erased[r.e.ProjectID]; ok && r.e.ReceivedAt.UnixMilli() <= at {
			continue // erased on some collector after this one acknowledged it
		}
		if first == "" {
			first = r.key
		}
		c.add(r.key, r.e, text[r.build[0]:r.build[1]], text[r.props[0]:r.props[1]])
	}
	n := len(c.id)
	if n == 0 {
		return 0, nil
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	// From here the server may take the data: wait for its answer.
	octx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.InsertTimeout)
	defer cancel()
	queryID := newQueryID()
	err = func() error {
		b, err := s.conn.PrepareBatch(ch.Context(s.writeCtx(octx), ch.WithQueryID(queryID)), "INSERT INTO "+s.db+".events "+insertColumns)
		if err != nil {
			return err
		}
		defer b.Abort()
		for i, col := range c.list() {
			if err := b.Column(i).Append(col); err != nil {
				return err
			}
		}
		return b.Send()
	}()
	if err != nil {
		// The answer was lost (a timeout, a broken connection): whether the
		// events are stored decides what to report.
		if took, cerr := s.landed(queryID, first); cerr != nil || !took {
			return 0, ctxErr(ctx, fmt.Errorf("cannot insert %d events into ClickHouse: %w", n, err))
		}
	}
	for _, k := range c.id {
		s.seen.add([16]byte([]byte(k)))
	}
	return n, nil
}

// row is an event of an Insert: its ID, and where its encoded build and
// properties are in the call's buffer.
type row struct {
	id           [16]byte
	key          string
	e            *store.Event
	build, props [2]int
}

// columns are the events table's columns (insertColumns, in order) of the
// events an Insert sends.
type columns struct {
	id, name                                                    []string
	time, received                                              []int64
	day                                                         []time.Time
	project, machine, session, environment, product, productVer []string
	os, osVersion, arch                                         []string
	cpus                                                        []int32
	memoryMB                                                    []int64
	runtime, runtimeVersion                                     []string
	ci                                                          []uint8
	ciName                                                      []string
	docker, wsl                                                 []uint8
	sdk, build, properties                                      []string
}

func (c *columns) grow(n int) {
	for _, p := range []*[]string{&c.id, &c.name, &c.project, &c.machine, &c.session, &c.environment, &c.product,
		&c.productVer, &c.os, &c.osVersion, &c.arch, &c.runtime, &c.runtimeVersion, &c.ciName, &c.sdk, &c.build, &c.properties} {
		*p = make([]string, 0, n)
	}
	c.time, c.received, c.memoryMB = make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n)
	c.day, c.cpus = make([]time.Time, 0, n), make([]int32, 0, n)
	c.ci, c.docker, c.wsl = make([]uint8, 0, n), make([]uint8, 0, n), make([]uint8, 0, n)
}

func (c *columns) add(key string, e *store.Event, build, props string) {
	t := e.Time.UnixMilli()
	c.id = append(c.id, key)
	c.name = append(c.name, e.Name)
	c.time = append(c.time, t)
	c.received = append(c.received, e.ReceivedAt.UnixMilli())
	c.day = append(c.day, dayTime(t))
	c.project = append(c.project, e.ProjectID)
	c.machine = append(c.machine, e.MachineID)
	c.session = append(c.session, e.SessionID)
	c.environment = append(c.environment, e.Environment)
	c.product = append(c.product, e.Product)
	c.productVer = append(c.productVer, e.ProductVersion)
	c.os = append(c.os, e.OS)
	c.osVersion = append(c.osVersion, e.OSVersion)
	c.arch = append(c.arch, e.Arch)
	c.cpus = append(c.cpus, int32(e.CPUs))
	c.memoryMB = append(c.memoryMB, e.MemoryMB)
	c.runtime = append(c.runtime, e.Runtime)
	c.runtimeVersion = append(c.runtimeVersion, e.RuntimeVersion)
	c.ci = append(c.ci, boolByte(e.CI))
	c.ciName = append(c.ciName, e.CIName)
	c.docker = append(c.docker, boolByte(e.Docker))
	c.wsl = append(c.wsl, boolByte(e.WSL))
	c.sdk = append(c.sdk, e.SDK)
	c.build = append(c.build, build)
	c.properties = append(c.properties, props)
}

// list returns the columns in insertColumns' order.
func (c *columns) list() []any {
	return []any{c.id, c.name, c.time, c.received, c.day, c.project, c.machine, c.session, c.environment, c.product,
		c.productVer, c.os, c.osVersion, c.arch, c.cpus, c.memoryMB, c.runtime, c.runtimeVersion, c.ci, c.ciName,
		c.docker, c.wsl, c.sdk, c.build, c.properties}
}

// dayTime is the Date of a time in Unix milliseconds (UTC midnight), clamped
// to Date's range.
func dayTime(ms int64) time.Time {
	return time.Unix(int64(dayOf(ms))*86400, 0).UTC()
}

// landed waits until the server has finished query id and reports whether
// key, the first ID it inserted, is stored (one query is one block: all or
// none).
func (s *Store) landed(queryID, key string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.InsertTimeout)
	defer cancel()
	for {
		var n uint64
		if err := s.conn.QueryRow(ctx, "SELECT count() FROM system.processes WHERE query_id = ?", queryID).Scan(&n); err != nil {
			return false, err
		}
		if n == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	got, err := s.existingKeys(ctx, []string{key})
	if err != nil {
		return false, err
	}
	return len(got) > 0, nil
}

var queryIDs atomic.Uint64

func init() { queryIDs.Store(uint64(time.Now().UnixNano())) }

// newQueryID returns an ID for an insert query, unique among this process's.
func newQueryID() string {
	return fmt.Sprintf("abacus-insert-%d-%x", os.Getpid(), queryIDs.Add(1))
}

// dayOf is the Date (days since 1970-01-01, UTC) of a time in Unix
// milliseconds, clamped to Date's range.
func dayOf(ms int64) uint16 {
	d := ms / 86_400_000
	if ms < 0 && ms%86_400_000 != 0 {
		d--
	}
	return uint16(min(max(d, 0), math.MaxUint16))
}

func boolByte(v bool) uint8 {
	if v {
		return 1
	}
	return 0
}

var errNoJSON = errors.New("expected strings, numbers, booleans or lists of them")

// appendMap appends m as a JSON object to b (nothing for an empty or nil
// map): the bytes json.Marshal makes of it (keys sorted, the same escapes and
// number forms), without its reflection. NaN, infinities and values of
// other types are refused.
func appendMap(b []byte, m map[string]any) ([]byte, error) {
	if len(m) == 0 {
		return b, nil
	}
	var kbuf [16]string
	keys := kbuf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		var err error
		if b, err = appendValue(b, m[k]); err != nil {
			return b, fmt.Errorf("%q: %w", k, err)
		}
	}
	return append(b, '}'), nil
}

func appendValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return appendString(b, v), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int8:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int16:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int32:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case uint:
		return strconv.AppendUint(b, uint64(v), 10), nil
	case uint8:
		return strconv.AppendUint(b, uint64(v), 10), nil
	case uint16:
		return strconv.AppendUint(b, uint64(v), 10), nil
	case uint32:
		return strconv.AppendUint(b, uint64(v), 10), nil
	case uint64:
		return strconv.AppendUint(b, v, 10), nil
	case float64:
		return appendFloat(b, v, 64)
	case float32:
		return appendFloat(b, float64(v), 32)
	case nil:
		return append(b, "null"...), nil
	case []any:
		if v == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, x := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendValue(b, x); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	}
	return b, fmt.Errorf("%w, got %T", errNoJSON, v)
}

// appendFloat writes f as encoding/json does: the shortest form, with an
// exponent only for very small or large magnitudes.
func appendFloat(b []byte, f float64, bits int) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, fmt.Errorf("%v has no JSON form", f)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' {
		// e-09 → e-9, as encoding/json writes it.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

// appendString writes s as a JSON string with encoding/json's escapes: the
// HTML characters <, > and & and the line separators U+2028 and U+2029 as
// \u escapes, invalid UTF-8 as U+FFFD.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// decodeMap reverses appendMap: integers come back as int64, other numbers
// as float64.
func decodeMap(s string) (map[string]any, error) {
	if s == "" {
		return nil, nil
	}
	d := json.NewDecoder(bytes.NewReader([]byte(s)))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	for k, v := range m {
		m[k] = numbers(v)
	}
	return m, nil
}

func numbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		f, _ := v.Float64()
		return f
	case []any:
		for i := range v {
			v[i] = numbers(v[i])
		}
	}
	return v
}
