package duckdb

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/abacushq/abacus/internal/store"
)

// existingChunk is how many IDs one Existing query looks up.
const existingChunk = 1000

// Existing reports which of ids are stored: the map has an entry for every ID
// asked, true when it is stored. A string that is not a UUID is never stored.
func (s *Store) Existing(ctx context.Context, ids []string) (map[string]bool, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rctx, done := s.readContext(ctx)
	defer done()
	// The filter of stored IDs rules out almost every new ID without a read.
	// It may miss an ID whose Insert is committing at this very moment; an
	// ingest lookup never asks for one, since the collector holds such IDs
	// as pending until Insert returns. The first lookup makes it, as the
	// first Insert would.
	if s.ids.Load() == nil {
		s.wmu.Lock()
		var err error
		if s.ids.Load() == nil {
			err = s.loadIDs(rctx)
		}
		s.wmu.Unlock()
		if err != nil {
			return nil, fmt.Errorf("duckdb: existing: read the stored IDs: %w", err)
		}
	}
	f := s.ids.Load()
	out := make(map[string]bool, len(ids))
	var asked map[duckdb.UUID][]string // only the IDs that may be stored
	var keys []duckdb.UUID
	for _, id := range ids {
		out[id] = false
		u, ok := parseUUID(id)
		if !ok || !f.Has(u) {
			continue
		}
		if asked == nil {
			asked = make(map[duckdb.UUID][]string)
		}
		if _, seen := asked[u]; !seen {
			keys = append(keys, u)
		}
		asked[u] = append(asked[u], id)
	}
	// Sorted, each query covers a narrow ID range: with time-ordered (v7) IDs
	// the BETWEEN lets DuckDB skip the row groups outside it.
	slices.SortFunc(keys, func(a, b duckdb.UUID) int { return bytes.Compare(a[:], b[:]) })
	var q strings.Builder
	for len(keys) > 0 {
		chunk := keys[:min(existingChunk, len(keys))]
		keys = keys[len(chunk):]
		q.Reset()
		fmt.Fprintf(&q, "SELECT id FROM event_rows WHERE id BETWEEN %s AND %s AND id IN (",
			uuidLiteral(chunk[0]), uuidLiteral(chunk[len(chunk)-1]))
		for i, u := range chunk {
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteString(uuidLiteral(u))
		}
		q.WriteByte(')')
		rows, err := s.db.QueryContext(rctx, q.String())
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		for rows.Next() {
			var b []byte
			if err := rows.Scan(&b); err != nil {
				rows.Close()
				return nil, s.fail(ctx, err)
			}
			var u duckdb.UUID
			copy(u[:], b)
			for _, id := range asked[u] {
				out[id] = true
			}
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return nil, s.fail(ctx, err)
		}
		rows.Close()
	}
	return out, nil
}

// IDs calls fn with the ID of every event received at or after since, in no
// particular order. An error from fn stops the scan and is returned.
func (s *Store) IDs(ctx context.Context, since time.Time, fn func(id string) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return err
	}
	rctx, done := s.readContext(ctx)
	defer done()
	rows, err := s.db.QueryContext(rctx, `SELECT id FROM event_rows WHERE received_at >= ?`, ceilMS(since))
	if err != nil {
		return s.fail(ctx, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := rctx.Err(); err != nil {
			return s.fail(ctx, err)
		}
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return s.fail(ctx, err)
		}
		if err := fn(formatUUID(b)); err != nil {
			return err
		}
	}
	return s.fail(ctx, rows.Err())
}

// Export calls fn for each event with from <= Time < to, in Time order, ties
// by ID. The Event is reused between calls; its maps are the caller's. An
// error from fn stops the export and is returned.
//
// It reads in one transaction, so that a concurrent Insert or delete is seen
// whole or not at all: first the sources the window's events use (into Go
// memory, one entry per source), then the events, sorted by DuckDB with only
// their own narrow columns as payload.
func (s *Store) Export(ctx context.Context, from, to time.Time, fn func(*store.Event) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return err
	}
	from, to = ceilMS(from), ceilMS(to)
	if !from.Before(to) {
		return nil
	}
	rctx, done := s.readContext(ctx)
	defer done()
	tx, err := s.db.BeginTx(rctx, nil)
	if err != nil {
		return s.fail(ctx, err)
	}
	defer tx.Rollback()
	sources, err := readSources(rctx, tx, from, to)
	if err != nil {
		return s.fail(ctx, err)
	}
	rows, err := tx.QueryContext(rctx, exportQuery, from, to)
	if err != nil {
		return s.fail(ctx, err)
	}
	defer rows.Close()
	var (
		e                  store.Event
		id                 []byte
		sourceID           int32
		session, env, prop sql.NullString
	)
	for rows.Next() {
		if err := rctx.Err(); err != nil {
			return s.fail(ctx, err)
		}
		if err := rows.Scan(&id, &e.Name, &e.Time, &e.ReceivedAt, &sourceID, &session, &env, &prop); err != nil {
			return s.fail(ctx, err)
		}
		e.ID = formatUUID(id)
		src, ok := sources[sourceID]
		if !ok {
			return fmt.Errorf("duckdb: export event %s: source %d is missing", e.ID, sourceID)
		}
		src.fill(&e)
		e.Time, e.ReceivedAt = e.Time.UTC(), e.ReceivedAt.UTC()
		e.SessionID, e.Environment = session.String, env.String
		e.Properties = nil
		if prop.Valid {
			if e.Properties, err = decodeObject(prop.String); err != nil {
				return fmt.Errorf("duckdb: export event %s: properties: %w", e.ID, err)
			}
		}
		if err := fn(&e); err != nil {
			return err
		}
	}
	return s.fail(ctx, rows.Err())
}

// source is a row of the sources table, decoded.
type source struct {
	projectID, machineID, product, productVersion string
	os, osVersion, arch, runtime, runtimeVersion  string
	ciName, sdk                                   string
	cpus, memoryMB                                int64
	ci, docker, wsl                               bool
	build                                         map[string]any
}

// fill copies the source's fields into e, with a copy of the build map of
// its own (the caller may change it).
func (s *source) fill(e *store.Event) {
	e.ProjectID, e.MachineID, e.Product, e.ProductVersion = s.projectID, s.machineID, s.product, s.productVersion
	e.OS, e.OSVersion, e.Arch, e.CPUs, e.MemoryMB = s.os, s.osVersion, s.arch, int(s.cpus), s.memoryMB
	e.Runtime, e.RuntimeVersion, e.CI, e.CIName = s.runtime, s.runtimeVersion, s.ci, s.ciName
	e.Docker, e.WSL, e.SDK = s.docker, s.wsl, s.sdk
	e.Build = nil
	if s.build != nil {
		e.Build = make(map[string]any, len(s.build))
		for k, v := range s.build {
			if l, ok := v.([]any); ok {
				v = slices.Clone(l)
			}
			e.Build[k] = v
		}
	}
}

// readSources reads the sources of the events with from <= time < to.
func readSources(ctx context.Context, tx *sql.Tx, from, to time.Time) (map[int32]*source, error) {
	rows, err := tx.QueryContext(ctx, exportSources, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[int32]*source)
	var (
		id                                 int32
		product, productV                  sql.NullString
		osName, osV, arch, rt, rtV, ciName sql.NullString
		sdk, build                         sql.NullString
		plugins                            any
	)
	for rows.Next() {
		src := new(source)
		plugins = nil
		err := rows.Scan(&id, &src.projectID, &src.machineID, &product, &productV,
			&osName, &osV, &arch, &src.cpus, &src.memoryMB,
			&rt, &rtV, &src.ci, &ciName, &src.docker, &src.wsl, &sdk, &plugins, &build)
		if err != nil {
			return nil, err
		}
		src.product, src.productVersion = product.String, productV.String
		src.os, src.osVersion, src.arch = osName.String, osV.String, arch.String
		src.runtime, src.runtimeVersion, src.ciName, src.sdk = rt.String, rtV.String, ciName.String, sdk.String
		if src.build, err = readBuild(plugins, build); err != nil {
			return nil, fmt.Errorf("source %d: build: %w", id, err)
		}
		out[id] = src
	}
	return out, rows.Err()
}

// readBuild puts the plugins list back into the build map.
func readBuild(plugins any, build sql.NullString) (map[string]any, error) {
	var m map[string]any
	if build.Valid {
		var err error
		if m, err = decodeObject(build.String); err != nil {
			return nil, err
		}
	}
	if plugins != nil {
		list, ok := plugins.([]any)
		if !ok {
			return nil, fmt.Errorf("plugins column holds %T", plugins)
		}
		if m == nil {
			m = make(map[string]any, 1)
		}
		if list == nil {
			list = []any{}
		}
		m["plugins"] = list
	}
	return m, nil
}
