package duckdb

import (
	"context"
	"fmt"
	"time"
)

// DeleteProject removes every event of the (re-keyed) project and the
// project's sources, then checkpoints so that the deletion leaves the
// write-ahead log for the file.
func (s *Store) DeleteProject(ctx context.Context, projectID string) (int64, error) {
	return s.delete(ctx, "project",
		`DELETE FROM event_rows WHERE source_id IN (SELECT source_id FROM sources WHERE project_id = ?)`, projectID,
		`DELETE FROM sources WHERE project_id = ?`, projectID)
}

// DeleteBefore removes every event with Time < t (retention) and the sources
// no event uses any more, then checkpoints.
func (s *Store) DeleteBefore(ctx context.Context, t time.Time) (int64, error) {
	return s.delete(ctx, "before",
		`DELETE FROM event_rows WHERE time < ?`, ceilMS(t),
		`DELETE FROM sources s WHERE NOT EXISTS (SELECT 1 FROM event_rows e WHERE e.source_id = s.source_id)`)
}

// delete runs, in one transaction, the statement events (which deletes events
// and counts them) and the statement sources (which removes sources).
func (s *Store) delete(ctx context.Context, what, events string, arg any, sources string, sourcesArgs ...any) (n int64, err error) {
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	clear(s.sourceIDs) // whatever the outcome: the sources may be gone
	defer func() {
		if err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			} else {
				err = fmt.Errorf("duckdb: delete %s: %w", what, err)
			}
		}
	}()
	if _, err := s.w.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
		if ctx.Err() != nil {
			return 0, err
		}
		return 0, s.recoverWriter(err)
	}
	res, err := s.w.ExecContext(ctx, events, arg)
	if err != nil {
		return 0, s.rollback(err)
	}
	if n, err = res.RowsAffected(); err != nil {
		return 0, s.rollback(err)
	}
	if _, err := s.w.ExecContext(ctx, sources, sourcesArgs...); err != nil {
		return 0, s.rollback(err)
	}
	if err := ctx.Err(); err != nil {
		return 0, s.rollback(err)
	}
	if _, err := s.w.ExecContext(context.Background(), `COMMIT`); err != nil {
		return 0, s.rollback(err)
	}
	// The deletion is committed. The checkpoint moves it from the log into
	// the file and lets DuckDB rewrite row groups that lost many rows; if it
	// cannot run now, DuckDB's next automatic checkpoint does the same.
	if n > 0 {
		_, _ = s.w.ExecContext(context.Background(), `CHECKPOINT`)
	}
	return n, nil
}
