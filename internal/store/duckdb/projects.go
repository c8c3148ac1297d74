package duckdb

import "context"

// Projects calls fn with every (re-keyed) project ID the store holds.
func (s *Store) Projects(ctx context.Context, fn func(id string) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return err
	}
	rctx, done := s.readContext(ctx)
	defer done()
	rows, err := s.db.QueryContext(rctx, `SELECT DISTINCT project_id FROM sources`)
	if err != nil {
		return s.fail(ctx, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return s.fail(ctx, err)
		}
		if err := fn(id); err != nil {
			return err
		}
	}
	return s.fail(ctx, rows.Err())
}
