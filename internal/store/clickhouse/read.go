package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/ext"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/abacushq/abacus/internal/store"
	"github.com/abacushq/abacus/telemetry/wire"
)

// existingKeys reports which of keys (IDs as 16 bytes) are stored, from the
// ID index. The keys travel as an external table (a native block), not as
// literals in the query's text, which the server would parse one by one.
// In the sharded layout it asks the local ID index of every server in turn,
// not the Distributed table: that would need GLOBAL IN to pass the table on,
// and 18.16 answers GLOBAL IN without the primary key, reading the whole
// index for every request's check.
func (s *Store) existingKeys(ctx context.Context, keys []string) (map[string]bool, error) {
	out := make(map[string]bool)
	if len(keys) == 0 {
		return out, nil
	}
	for _, h := range s.hosts {
		if err := s.existingOn(ctx, h, keys, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) existingOn(ctx context.Context, h driver.Conn, keys []string, out map[string]bool) error {
	tbl, err := ext.NewTable("asked", ext.Column("id", "FixedString(16)"))
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := tbl.Append(k); err != nil {
			return fmt.Errorf("cannot look up stored event IDs: %w", err)
		}
	}
	rows, err := h.Query(ch.Context(ctx, ch.WithExternalTable(tbl)), s.existingQuery())
	if err != nil {
		return ctxErr(ctx, fmt.Errorf("cannot look up stored event IDs in ClickHouse: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("cannot read a stored event ID: %w", err)
		}
		out[id] = true
	}
	if err := rows.Err(); err != nil {
		return ctxErr(ctx, fmt.Errorf("cannot look up stored event IDs in ClickHouse: %w", err))
	}
	return nil
}

// existingQuery is existingKeys' query of the external table asked, on one
// server's ID index.
func (s *Store) existingQuery() string {
	return "SELECT DISTINCT id FROM " + s.db + "." + s.local("event_ids") + " WHERE id IN (SELECT id FROM asked)"
}

// Existing reports which of ids this store has seen stored: it asks the
// table only about the IDs its filter of seen IDs may hold (those it
// stored, or found stored, lately) and answers "not stored" for the others
// without a query. An ID stored only by another collector is thus reported
// as not stored; Insert, which asks the table about every ID, is the
// guarantee (see "Idempotency across collectors" in the package doc).
//
// The collector asks it on the request path: after a failure that is not
// the caller's (the server is away), calls fail at once for a second
// instead of each waiting for the dial timeout.
func (s *Store) Existing(ctx context.Context, ids []string) (found map[string]bool, err error) {
	if p := s.away.Load(); p != nil && time.Now().Before(p.until) {
		return nil, p.err
	}
	defer func() {
		if err != nil && ctx.Err() == nil && !errors.Is(err, store.ErrClosed) {
			s.away.Store(&away{until: time.Now().Add(time.Second), err: err})
		}
	}()
	done, err := s.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	keys := make([]string, 0, len(ids))
	byKey := make(map[string]string, len(ids))
	for _, id := range ids {
		u, ok := wire.ParseUUID(id)
		if !ok || !s.seen.has(u) {
			continue // not a UUID (Insert takes only those), or not seen stored
		}
		keys = append(keys, string(u[:]))
		byKey[string(u[:])] = id
	}
	stored, err := s.existingKeys(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(stored))
	for k := range stored {
		out[byKey[k]] = true
	}
	return out, nil
}

// IDs calls fn with the ID of every event received at or after since, each
// once.
func (s *Store) IDs(ctx context.Context, since time.Time, fn func(id string) error) error {
	done, err := s.enter(ctx)
	if err != nil {
		return err
	}
	defer done()
	rows, err := s.conn.Query(ctx, "SELECT DISTINCT id FROM "+s.db+".event_ids WHERE received >= ?", ceilMS(since))
	if err != nil {
		return ctxErr(ctx, fmt.Errorf("cannot read event IDs from ClickHouse: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		var id string
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("cannot read an event ID: %w", err)
		}
		if err := fn(wire.FormatUUID([16]byte([]byte(id)))); err != nil {
			return err
		}
	}
	return ctxErr(ctx, rows.Err())
}

// ceilMS rounds t up to a whole millisecond, in Unix milliseconds: stored
// times are whole milliseconds, so x >= t ⇔ x >= ceilMS(t) and x < t ⇔
// x < ceilMS(t).
func ceilMS(t time.Time) int64 {
	ms := t.UnixMilli()
	if time.UnixMilli(ms).Before(t) {
		ms++
	}
	return ms
}

func dateLiteral(ms int64) string {
	return time.Unix(int64(dayOf(ms))*86400, 0).UTC().Format("2006-01-02")
}

const exportColumns = `id, name, time, received, project, machine, session, environment, product,
	product_version, os, os_version, arch, cpus, memory_mb, runtime, runtime_version, ci, ci_name,
	docker, wsl, sdk, build, properties`

// Export calls fn for each event with from <= Time < to, in Time order (ties
// by ID). An event stored twice (by two collectors before the table's merges
// replaced one copy) comes once: LIMIT 1 BY id keeps the earliest copy.
func (s *Store) Export(ctx context.Context, from, to time.Time, fn func(*store.Event) error) error {
	done, err := s.enter(ctx)
	if err != nil {
		return err
	}
	defer done()
	f, t := ceilMS(from), ceilMS(to)
	if f >= t {
		return nil
	}
	q := fmt.Sprintf(`SELECT %s FROM %s.events
		WHERE day >= '%s' AND day <= '%s' AND time >= %d AND time < %d
		ORDER BY time, id LIMIT 1 BY id`, exportColumns, s.db, dateLiteral(f), dateLiteral(t-1), f, t)
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return ctxErr(ctx, fmt.Errorf("cannot export events from ClickHouse: %w", err))
	}
	defer rows.Close()
	var (
		e                store.Event
		id, build, props string
		tm, recv         int64
		cpus             int32
		ci, docker, wsl  uint8
	)
	for rows.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := rows.Scan(&id, &e.Name, &tm, &recv, &e.ProjectID, &e.MachineID, &e.SessionID, &e.Environment,
			&e.Product, &e.ProductVersion, &e.OS, &e.OSVersion, &e.Arch, &cpus, &e.MemoryMB, &e.Runtime,
			&e.RuntimeVersion, &ci, &e.CIName, &docker, &wsl, &e.SDK, &build, &props); err != nil {
			return fmt.Errorf("cannot read an exported event: %w", err)
		}
		e.ID = wire.FormatUUID([16]byte([]byte(id)))
		e.Time, e.ReceivedAt = time.UnixMilli(tm).UTC(), time.UnixMilli(recv).UTC()
		e.CPUs, e.CI, e.Docker, e.WSL = int(cpus), ci != 0, docker != 0, wsl != 0
		if e.Build, err = decodeMap(build); err != nil {
			return fmt.Errorf("cannot read the build of event %s: %w", e.ID, err)
		}
		if e.Properties, err = decodeMap(props); err != nil {
			return fmt.Errorf("cannot read the properties of event %s: %w", e.ID, err)
		}
		if err := fn(&e); err != nil {
			return err
		}
	}
	return ctxErr(ctx, rows.Err())
}

// Stats reports the distinct events stored and the bytes of both tables'
// active parts (on every server of a cluster).
func (s *Store) Stats(ctx context.Context) (store.Stats, error) {
	done, err := s.enter(ctx)
	if err != nil {
		return store.Stats{}, err
	}
	defer done()
	var n, b uint64
	if err := s.conn.QueryRow(ctx, "SELECT uniqExact(id) FROM "+s.db+".event_ids").Scan(&n); err != nil {
		return store.Stats{}, ctxErr(ctx, fmt.Errorf("cannot count events in ClickHouse: %w", err))
	}
	for _, h := range s.hosts {
		var hb uint64
		if err := h.QueryRow(ctx, "SELECT sum(bytes_on_disk) FROM system.parts WHERE database = ? AND active", s.dbName).Scan(&hb); err != nil {
			return store.Stats{}, ctxErr(ctx, fmt.Errorf("cannot read the size of the ClickHouse tables: %w", err))
		}
		b += hb
	}
	return store.Stats{Events: int64(n), Bytes: int64(b)}, nil
}

// RecordErasure records that project id was erased at t, for every collector:
// Insert drops the events of an erased project received up to t, so events
// still in any collector's write-ahead log do not bring it back.
func (s *Store) RecordErasure(ctx context.Context, project string, at time.Time) error {
	done, err := s.enter(ctx)
	if err != nil {
		return err
	}
	defer done()
	if err := s.insertRow(ctx, "INSERT INTO "+s.db+".erasures (project, erased_at)", project, at.UnixMilli()); err != nil {
		return ctxErr(ctx, fmt.Errorf("cannot record the erasure of a project in ClickHouse: %w", err))
	}
	return nil
}

// erasures returns the erased projects and when (Unix milliseconds).
func (s *Store) erasures(ctx context.Context) (map[string]int64, error) {
	rows, err := s.conn.Query(ctx, "SELECT project, max(erased_at) FROM "+s.db+".erasures GROUP BY project")
	if err != nil {
		return nil, ctxErr(ctx, fmt.Errorf("cannot read erasures from ClickHouse: %w", err))
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var p string
		var at int64
		if err := rows.Scan(&p, &at); err != nil {
			return nil, fmt.Errorf("cannot read an erasure: %w", err)
		}
		out[p] = at
	}
	return out, ctxErr(ctx, rows.Err())
}
