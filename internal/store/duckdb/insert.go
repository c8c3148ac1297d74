package duckdb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"unsafe"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/abacushq/abacus/internal/store"
)

// Insert stores the events whose IDs are not stored yet, in one transaction.
// A batch whose IDs the filter of stored IDs rules out (the common case) is
// appended to the table directly; one with an ID that may be stored is
// appended to an in-memory staging table, then copied into the table with an
// anti-join on the ID, so idempotency costs no index and no memory in Go
// beyond the batch and the filter. IDs must be UUIDs (36 characters); a batch
// with an ID that is not, or with a value that has no JSON form (NaN, a
// channel), fails whole before anything is written.
func (s *Store) Insert(ctx context.Context, events []store.Event) (int, error) {
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if len(events) == 0 {
		return 0, nil
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if f := s.ids.Load(); f == nil {
		if err := s.loadIDs(ctx); err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			return 0, fmt.Errorf("duckdb: insert: read the stored IDs: %w", err)
		}
	} else if f.Full() && s.nextIDs == nil {
		s.growIDs()
	}
	b, err := s.prepare(events)
	if err != nil {
		return 0, fmt.Errorf("duckdb: insert: %w", err)
	}
	n, err := s.insert(ctx, b)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, fmt.Errorf("duckdb: insert: %w", err)
	}
	return n, nil
}

// batch is an Insert's events, ready to append.
type batch struct {
	events  [][]driver.Value // stage_events rows, the source ID still to set
	keys    []duckdb.UUID    // the source key of each row of events
	sources [][]driver.Value // stage_sources rows, one per distinct source not in the cache
	lo, hi  duckdb.UUID      // the lowest and highest event ID
	stored  bool             // some event ID may be stored already (see idfilter)
	facts   []rowFacts       // what the rollups take from each row's properties
	rollup  *rollupPending   // what the batch added to the rollups
}

// maxSourceIDs bounds the cache of source IDs (about 6 MB): past it, the
// cache starts again empty.
const maxSourceIDs = 1 << 18

// prepare checks and encodes the events; an event whose ID repeats an earlier
// one of the batch is dropped. It holds wmu (for the cache of source IDs).
func (s *Store) prepare(events []store.Event) (*batch, error) {
	b := &batch{events: make([][]driver.Value, 0, len(events)), keys: make([]duckdb.UUID, 0, len(events))}
	seen := make(map[duckdb.UUID]struct{}, len(events))
	srcSeen := make(map[duckdb.UUID]struct{})
	ids := s.ids.Load()
	var buf, keyBuf []byte
	// One backing array for every row's values, not one slice per row.
	const eventCols = 8
	vals := make([]driver.Value, eventCols*len(events))
	// Events of one source often share their Build map (the collector's log
	// decodes equal builds into one map): split each map once.
	var builds buildMemo
	for i := range events {
		e := &events[i]
		id, ok := parseUUID(e.ID)
		if !ok {
			return nil, fmt.Errorf("event %d: ID %q is not a UUID", i, e.ID)
		}
		if _, dup := seen[id]; dup {
			continue
		}
		seen[id] = struct{}{}
		if !b.stored && ids.Has(id) {
			b.stored = true
		}
		if len(b.events) == 0 || bytes.Compare(id[:], b.lo[:]) < 0 {
			b.lo = id
		}
		if len(b.events) == 0 || bytes.Compare(id[:], b.hi[:]) > 0 {
			b.hi = id
		}
		var props any
		if len(e.Properties) > 0 {
			var err error
			if buf, err = appendJSON(buf[:0], e.Properties); err != nil {
				return nil, fmt.Errorf("event %s: properties: %w", e.ID, err)
			}
			props = string(buf)
		}
		plugins, build, err := builds.split(e.Build)
		if err != nil {
			return nil, fmt.Errorf("event %s: build: %w", e.ID, err)
		}
		var key duckdb.UUID
		key, keyBuf = sourceKey(keyBuf, e, plugins, build)
		row := vals[:eventCols:eventCols]
		vals = vals[eventCols:]
		row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7] =
			id, e.Time, e.ReceivedAt, e.Name, nil, orNull(e.SessionID), orNull(e.Environment), props
		b.events = append(b.events, row)
		b.keys = append(b.keys, key)
		b.facts = append(b.facts, eventFacts(e))
		if _, ok := s.sourceIDs[key]; ok {
			continue
		}
		if _, ok := srcSeen[key]; ok {
			continue
		}
		srcSeen[key] = struct{}{}
		var pl any
		if plugins != nil {
			pl = plugins
		}
		var bj any
		if build != nil {
			bj = string(build)
		}
		b.sources = append(b.sources, []driver.Value{
			key, e.ProjectID, e.MachineID, orNull(e.Product), orNull(e.ProductVersion),
			orNull(e.OS), orNull(e.OSVersion), orNull(e.Arch), int64(e.CPUs), e.MemoryMB,
			orNull(e.Runtime), orNull(e.RuntimeVersion), e.CI, orNull(e.CIName), e.Docker, e.WSL, orNull(e.SDK),
			pl, bj,
		})
	}
	return b, nil
}

// buildMemo remembers splitBuild's result for each Build map of a batch, by
// map identity (never by content): the collector's log decodes the equal
// builds of a request into one map, so most events find theirs split.
type buildMemo map[unsafe.Pointer]splitOutcome

type splitOutcome struct {
	plugins []string
	rest    []byte
}

func (b *buildMemo) split(m map[string]any) ([]string, []byte, error) {
	if len(m) == 0 {
		return splitBuild(m)
	}
	p := reflect.ValueOf(m).UnsafePointer()
	if o, ok := (*b)[p]; ok {
		return o.plugins, o.rest, nil
	}
	plugins, rest, err := splitBuild(m)
	if err == nil {
		if *b == nil {
			*b = make(buildMemo)
		}
		(*b)[p] = splitOutcome{plugins, rest}
	}
	return plugins, rest, err
}

func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// sourceKey identifies an event's source: SHA-256 (the first 128 bits) of
// every field that goes to the sources table, each length-prefixed so that
// no two different sources encode alike. buf is scratch space.
func sourceKey(buf []byte, e *store.Event, plugins []string, build []byte) (duckdb.UUID, []byte) {
	b := sourceBytes(buf, e, plugins, build)
	sum := sha256.Sum256(b)
	var k duckdb.UUID
	copy(k[:], sum[:16])
	return k, b
}

// sourceBytes appends to buf[:0] what sourceKey hashes.
func sourceBytes(buf []byte, e *store.Event, plugins []string, build []byte) []byte {
	b := buf[:0]
	field := func(s string) {
		b = binary.LittleEndian.AppendUint64(b, uint64(len(s)))
		b = append(b, s...)
	}
	flags := uint64(0)
	for i, f := range []bool{e.CI, e.Docker, e.WSL, plugins != nil, build != nil} {
		if f {
			flags |= 1 << i
		}
	}
	field(e.ProjectID)
	field(e.MachineID)
	field(e.Product)
	field(e.ProductVersion)
	field(e.OS)
	field(e.OSVersion)
	field(e.Arch)
	b = binary.LittleEndian.AppendUint64(b, uint64(e.CPUs))
	b = binary.LittleEndian.AppendUint64(b, uint64(e.MemoryMB))
	field(e.Runtime)
	field(e.RuntimeVersion)
	field(e.CIName)
	field(e.SDK)
	b = binary.LittleEndian.AppendUint64(b, flags)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(plugins)))
	for _, p := range plugins {
		field(p)
	}
	return append(b, build...)
}

// insert runs the transaction on the writer's connection; it holds wmu.
func (s *Store) insert(ctx context.Context, b *batch) (n int, err error) {
	if _, err := s.w.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
		if ctx.Err() != nil {
			return 0, err
		}
		return 0, s.recoverWriter(err)
	}
	defer func() {
		if err != nil {
			err = s.rollback(err)
		}
	}()
	var added map[duckdb.UUID]int32 // source IDs learnt in this transaction
	if len(b.sources) > 0 {
		if added, err = s.insertSources(ctx, b.sources); err != nil {
			return 0, err
		}
	}
	for i, r := range b.events {
		id, ok := s.sourceIDs[b.keys[i]]
		if !ok {
			if id, ok = added[b.keys[i]]; !ok {
				return 0, fmt.Errorf("no source ID for source key %s", formatUUID(b.keys[i][:]))
			}
		}
		r[4] = id
	}
	if err := s.rollupInsert(ctx, b); err != nil {
		return 0, fmt.Errorf("rollups: %w", err)
	}
	var stored int64
	if !b.stored {
		// No ID may be stored (the common case): the rows go straight into
		// the table, in ID order (v7 IDs are time-ordered: neighbouring rows
		// then have neighbouring times, which compresses better and keeps
		// the zone maps of id and time narrow).
		slices.SortFunc(b.events, func(x, y []driver.Value) int {
			a, c := x[0].(duckdb.UUID), y[0].(duckdb.UUID)
			return bytes.Compare(a[:], c[:])
		})
		if err := s.appendRows(ctx, "", "event_rows", b.events); err != nil {
			return 0, err
		}
		stored = int64(len(b.events))
	} else {
		if err := s.appendRows(ctx, "temp", "stage_events", b.events); err != nil {
			return 0, err
		}
		res, err := s.w.ExecContext(ctx, fmt.Sprintf(insertEvents, uuidLiteral(b.lo), uuidLiteral(b.hi)))
		if err != nil {
			return 0, err
		}
		if stored, err = res.RowsAffected(); err != nil {
			return 0, err
		}
		if _, err := s.w.ExecContext(ctx, `DELETE FROM stage_events`); err != nil {
			return 0, err
		}
	}
	// The last moment to give up: after COMMIT the events are stored, and
	// Insert reports them whatever the context says by then.
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if _, err := s.w.ExecContext(context.Background(), `COMMIT`); err != nil {
		return 0, err
	}
	if len(s.sourceIDs)+len(added) > maxSourceIDs {
		clear(s.sourceIDs)
	}
	for k, id := range added {
		s.sourceIDs[k] = id
	}
	ids := s.ids.Load()
	for _, r := range b.events {
		ids.Add(r[0].(duckdb.UUID))
	}
	if next := s.nextIDs; next != nil {
		for _, r := range b.events {
			next.Add(r[0].(duckdb.UUID))
		}
	}
	s.rollupCommitted(b)
	return int(stored), nil
}

// insertSources adds the sources not stored yet and returns the ID of every
// source of rows, stored before or now. It runs in insert's transaction.
func (s *Store) insertSources(ctx context.Context, rows [][]driver.Value) (map[duckdb.UUID]int32, error) {
	if err := s.appendRows(ctx, "temp", "stage_sources", rows); err != nil {
		return nil, err
	}
	if _, err := s.w.ExecContext(ctx, insertSources); err != nil {
		return nil, err
	}
	ids := make(map[duckdb.UUID]int32, len(rows))
	q, err := s.w.QueryContext(ctx, stagedSourceIDs)
	if err != nil {
		return nil, err
	}
	defer q.Close()
	for q.Next() {
		var key duckdb.UUID
		var id int32
		if err := q.Scan(&key, &id); err != nil {
			return nil, err
		}
		ids[key] = id
	}
	if err := q.Err(); err != nil {
		return nil, err
	}
	if _, err := s.w.ExecContext(ctx, `DELETE FROM stage_sources`); err != nil {
		return nil, err
	}
	return ids, nil
}

// appendRows appends rows to a table (catalog "temp": a staging table) with
// DuckDB's appender, in the writer's transaction.
func (s *Store) appendRows(ctx context.Context, catalog, table string, rows [][]driver.Value) error {
	return s.w.Raw(func(dc any) error {
		a, err := duckdb.NewAppender(dc.(driver.Conn), catalog, "main", table)
		if err != nil {
			return err
		}
		for i, r := range rows {
			if i%1024 == 0 {
				if err := ctx.Err(); err != nil {
					a.Close()
					return err
				}
			}
			if err := a.AppendRow(r...); err != nil {
				a.Close()
				return fmt.Errorf("%s row %d: %w", table, i, err)
			}
		}
		return a.CloseWithCancel(ctx)
	})
}

// rollback ends the failed transaction; it returns err, the cause.
func (s *Store) rollback(cause error) error {
	if _, err := s.w.ExecContext(context.Background(), `ROLLBACK`); err != nil {
		return s.recoverWriter(errors.Join(cause, fmt.Errorf("rollback: %w", err)))
	}
	return cause
}

// recoverWriter replaces a writer connection that cannot roll back: closing
// it ends its transaction, with nothing committed. It returns err.
func (s *Store) recoverWriter(err error) error {
	// Closing a *sql.Conn only hands it back to the pool; ErrBadConn from
	// Raw makes database/sql close the driver's connection for good.
	s.w.Raw(func(any) error { return driver.ErrBadConn })
	s.w.Close()
	if nerr := s.newWriter(context.Background()); nerr != nil {
		return errors.Join(err, fmt.Errorf("reopen the writer: %w", nerr))
	}
	return err
}
