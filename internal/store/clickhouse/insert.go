package clickhouse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sync/atomic"
	"time"

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
	// Check everything before anything is sent.
	type row struct {
		id           [16]byte
		key          string
		e            *store.Event
		build, props string
	}
	rows := make([]row, 0, len(events))
	seen := make(map[[16]byte]bool, len(events))
	for i := range events {
		e := &events[i]
		id, ok := wire.ParseUUID(e.ID)
		if !ok {
			return 0, fmt.Errorf("cannot store event %q: expected a UUID as its ID", e.ID)
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		build, err := encodeMap(e.Build)
		if err != nil {
			return 0, fmt.Errorf("cannot store event %q: build: %w", e.ID, err)
		}
		props, err := encodeMap(e.Properties)
		if err != nil {
			return 0, fmt.Errorf("cannot store event %q: properties: %w", e.ID, err)
		}
		rows = append(rows, row{id: id, key: string(id[:]), e: e, build: build, props: props})
	}
	s.insertMu.Lock()
	defer s.insertMu.Unlock()
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	erased, err := s.erasures(ctx)
	if err != nil {
		return 0, err
	}
	keys := make([]string, len(rows))
	for i, r := range rows {
		keys[i] = r.key
	}
	stored, err := s.existingKeys(ctx, keys)
	if err != nil {
		return 0, err
	}
	fresh := rows[:0]
	for _, r := range rows {
		if stored[r.key] {
			s.seen.add(r.id)
			continue
		}
		if at, ok := erased[r.e.ProjectID]; ok && r.e.ReceivedAt.UnixMilli() <= at {
			continue // erased on some collector after this one acknowledged it
		}
		fresh = append(fresh, r)
	}
	if len(fresh) == 0 {
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
		for _, r := range fresh {
			e := r.e
			t := e.Time.UnixMilli()
			if err := b.Append(r.key, e.Name, t, e.ReceivedAt.UnixMilli(), dayTime(t),
				e.ProjectID, e.MachineID, e.SessionID, e.Environment, e.Product, e.ProductVersion,
				e.OS, e.OSVersion, e.Arch, int32(e.CPUs), e.MemoryMB, e.Runtime, e.RuntimeVersion,
				boolByte(e.CI), e.CIName, boolByte(e.Docker), boolByte(e.WSL), e.SDK, r.build, r.props); err != nil {
				return err
			}
		}
		return b.Send()
	}()
	if err == nil {
		for _, r := range fresh {
			s.seen.add(r.id)
		}
		return len(fresh), nil
	}
	// The answer was lost (a timeout, a broken connection): whether the
	// events are stored decides what to report.
	if took, cerr := s.landed(queryID, fresh[0].key); cerr == nil && took {
		for _, r := range fresh {
			s.seen.add(r.id)
		}
		return len(fresh), nil
	}
	return 0, ctxErr(ctx, fmt.Errorf("cannot insert %d events into ClickHouse: %w", len(fresh), err))
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

// encodeMap returns m as a JSON object ("" for an empty or nil map). Keys
// come out sorted; NaN, infinities and values of other types are refused.
func encodeMap(m map[string]any) (string, error) {
	if len(m) == 0 {
		return "", nil
	}
	for k, v := range m {
		if err := checkValue(v); err != nil {
			return "", fmt.Errorf("%q: %w", k, err)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func checkValue(v any) error {
	switch v := v.(type) {
	case string, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, nil:
		return nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%v has no JSON form", v)
		}
		return nil
	case float32:
		return checkValue(float64(v))
	case []any:
		for _, x := range v {
			if err := checkValue(x); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("%w, got %T", errNoJSON, v)
}

// decodeMap reverses encodeMap: integers come back as int64, other numbers
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
