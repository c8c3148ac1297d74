package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// DeleteProject removes every event of the project and reports how many.
//
// It is an ALTER TABLE … DELETE mutation on the events and on the ID index,
// and waits until both are done (18.16 has no mutations_sync: it polls
// system.mutations). When the project's erasure was recorded (RecordErasure),
// it repeats the deletion while events received before the erasure are
// still found: another collector's insert may have been on its way while the
// first mutation began.
func (s *Store) DeleteProject(ctx context.Context, projectID string) (int64, error) {
	done, err := s.enter(ctx)
	if err != nil {
		return 0, err
	}
	defer done()
	var n uint64
	if err := s.conn.QueryRow(ctx, "SELECT uniqExact(id) FROM "+s.db+".event_ids WHERE project = ?", projectID).Scan(&n); err != nil {
		return 0, ctxErr(ctx, fmt.Errorf("cannot count the project's events in ClickHouse: %w", err))
	}
	var at int64
	if err := s.conn.QueryRow(ctx, "SELECT max(erased_at) FROM "+s.db+".erasures WHERE project = ?", projectID).Scan(&at); err != nil {
		return 0, ctxErr(ctx, fmt.Errorf("cannot read the project's erasure in ClickHouse: %w", err))
	}
	for attempt := 0; ; attempt++ {
		if n == 0 && attempt == 0 {
			break
		}
		if err := s.mutate(ctx, "DELETE WHERE project = ?", projectID); err != nil {
			return 0, err
		}
		if at == 0 || attempt == 4 {
			break
		}
		var left uint64
		if err := s.conn.QueryRow(ctx, "SELECT count() FROM "+s.db+".event_ids WHERE project = ? AND received <= ?", projectID, at).Scan(&left); err != nil {
			return 0, ctxErr(ctx, fmt.Errorf("cannot count the project's events in ClickHouse: %w", err))
		}
		if left == 0 {
			break
		}
	}
	return int64(n), nil
}

// mutate runs ALTER TABLE … <cmd> on both tables and waits for the
// mutations; in the sharded layout on the local tables of every server (a
// Distributed table takes no mutation).
func (s *Store) mutate(ctx context.Context, cmd string, args ...any) error {
	for _, h := range s.hosts {
		for _, table := range []string{"events", "event_ids"} {
			if err := h.Exec(ctx, "ALTER TABLE "+s.db+"."+s.local(table)+" "+cmd, args...); err != nil {
				return ctxErr(ctx, fmt.Errorf("cannot delete events in ClickHouse (%s): %w", s.local(table), err))
			}
		}
	}
	for _, h := range s.hosts {
		for {
			var pending uint64
			if err := h.QueryRow(ctx, "SELECT count() FROM system.mutations WHERE database = ? AND is_done = 0", s.dbName).Scan(&pending); err != nil {
				return ctxErr(ctx, fmt.Errorf("cannot follow a deletion in ClickHouse: %w", err))
			}
			if pending == 0 {
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}

// DeleteBefore removes every event with Time < t and reports how many. Whole
// months before t go by DROP PARTITION (instant, no rewrite); the rest by a
// mutation, which on 18.16 rewrites every part of the table, so it runs only
// when the month of t holds events to delete.
func (s *Store) DeleteBefore(ctx context.Context, t time.Time) (int64, error) {
	done, err := s.enter(ctx)
	if err != nil {
		return 0, err
	}
	defer done()
	ms := ceilMS(t)
	var n uint64
	if err := s.conn.QueryRow(ctx, "SELECT uniqExact(id) FROM "+s.db+".event_ids WHERE time < ?", ms).Scan(&n); err != nil {
		return 0, ctxErr(ctx, fmt.Errorf("cannot count old events in ClickHouse: %w", err))
	}
	if n == 0 {
		return 0, nil
	}
	cutDay := dateLiteral(ms)
	for _, h := range s.hosts {
		if err := s.dropMonths(ctx, h, cutDay); err != nil {
			return 0, err
		}
	}
	var left uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM "+s.db+".events WHERE time < ?", ms).Scan(&left); err != nil {
		return 0, ctxErr(ctx, fmt.Errorf("cannot count old events in ClickHouse: %w", err))
	}
	if left > 0 {
		if err := s.mutate(ctx, "DELETE WHERE time < ?", ms); err != nil {
			return 0, err
		}
	}
	return int64(n), nil
}

// dropMonths drops the partitions of one server's tables whose days are all
// before cutDay.
func (s *Store) dropMonths(ctx context.Context, h driver.Conn, cutDay string) error {
	for _, table := range []string{s.local("events"), s.local("event_ids")} {
		rows, err := h.Query(ctx, "SELECT DISTINCT partition FROM system.parts WHERE database = ? AND table = ? AND active AND max_date < ?", s.dbName, table, cutDay)
		if err != nil {
			return ctxErr(ctx, fmt.Errorf("cannot list the partitions of %s: %w", table, err))
		}
		var parts []string
		for rows.Next() {
			var p string
			if err := rows.Scan(&p); err != nil {
				rows.Close()
				return err
			}
			parts = append(parts, p)
		}
		rows.Close()
		for _, p := range parts {
			if !validPartition(p) {
				continue
			}
			// A month is dropped only when all its days are before t's day.
			if err := h.Exec(ctx, "ALTER TABLE "+s.db+"."+table+" DROP PARTITION "+p); err != nil {
				return ctxErr(ctx, fmt.Errorf("cannot drop the partition %s of %s: %w", p, table, err))
			}
		}
	}
	return nil
}

// validPartition accepts the names toYYYYMM partitions have (six digits).
func validPartition(p string) bool {
	if len(p) != 6 {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	return true
}
