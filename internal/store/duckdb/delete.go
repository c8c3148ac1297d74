package duckdb

import (
	"context"
	"fmt"
	"time"
)

// DeleteProject removes every event of the (re-keyed) project, the project's
// sources, its number and its rows of the rollups, then checkpoints so
// that the deletion leaves the write-ahead log for the file.
func (s *Store) DeleteProject(ctx context.Context, projectID string) (int64, error) {
	pn := `pn IN (SELECT pn FROM projects WHERE project_id = ?)`
	return s.delete(ctx, "project",
		stmt{`DELETE FROM event_rows WHERE source_id IN (SELECT source_id FROM sources WHERE project_id = ?)`, projectID},
		stmt{`DELETE FROM day_names WHERE ` + pn, projectID},
		stmt{`DELETE FROM day_sources WHERE ` + pn, projectID},
		stmt{`DELETE FROM day_projects WHERE ` + pn, projectID},
		stmt{`DELETE FROM week_names WHERE ` + pn, projectID},
		stmt{`DELETE FROM week_sources WHERE ` + pn, projectID},
		stmt{`DELETE FROM week_projects WHERE ` + pn, projectID},
		stmt{`DELETE FROM sources WHERE project_id = ?`, projectID},
		stmt{`DELETE FROM projects WHERE project_id = ?`, projectID})
}

// DeleteBefore removes every event with Time < t (retention), the sources no
// event uses any more and their projects' numbers, and the rollups' days
// and weeks up to t's; t's own day, when t is not its midnight, is made
// again from the events left (the writer seals the week again). Then it
// checkpoints.
func (s *Store) DeleteBefore(ctx context.Context, t time.Time) (int64, error) {
	t = ceilMS(t)
	ms := t.UnixMilli()
	day := dayOfMS(ms)
	before := fmt.Sprintf(`day < %d`, day)
	stmts := []stmt{
		{`DELETE FROM event_rows WHERE time < ?`, t},
		{`DELETE FROM sources s WHERE NOT EXISTS (SELECT 1 FROM event_rows e WHERE e.source_id = s.source_id)`, nil},
		{`DELETE FROM day_names WHERE ` + before, nil},
		{`DELETE FROM day_sources WHERE ` + before, nil},
		{`DELETE FROM day_projects WHERE ` + before, nil},
	}
	if int64(day)*msPerDay != ms {
		for _, q := range rebuildStatements(day, day+1) {
			stmts = append(stmts, stmt{q, nil})
		}
	}
	// The weeks up to t's go; t's own is sealed again by the writer.
	week := weekOfDay(day)
	for _, t := range []string{"week_names", "week_sources", "week_projects", "week_sealed"} {
		stmts = append(stmts, stmt{fmt.Sprintf(`DELETE FROM %s WHERE week <= %d`, t, week), nil})
	}
	stmts = append(stmts, stmt{`DELETE FROM projects p WHERE NOT EXISTS (SELECT 1 FROM sources s WHERE s.project_id = p.project_id)`, nil})
	return s.delete(ctx, "before", stmts...)
}

// stmt is one statement of a delete, with its argument (nil: none).
type stmt struct {
	query string
	arg   any
}

// delete runs, in one transaction, the statements; the first deletes events
// and counts them.
func (s *Store) delete(ctx context.Context, what string, stmts ...stmt) (n int64, err error) {
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
	s.forgetRollupState()
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
	for i, st := range stmts {
		var args []any
		if st.arg != nil {
			args = []any{st.arg}
		}
		res, err := s.w.ExecContext(ctx, st.query, args...)
		if err != nil {
			return 0, s.rollback(err)
		}
		if i == 0 {
			if n, err = res.RowsAffected(); err != nil {
				return 0, s.rollback(err)
			}
		}
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
