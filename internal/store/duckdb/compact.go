package duckdb

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Suffixes of the files a compaction uses beside the database file.
const (
	compactSuffix = ".compact" // the fresh copy, until it replaces the file
	oldSuffix     = ".old"     // the replaced file, until the copy has opened
)

// drainTimeout bounds how long Compact waits for reads in progress (an
// export, a report) to give their connections back before it gives up.
var drainTimeout = 30 * time.Second

// Compact rewrites the database file without the bytes of deleted rows.
// DuckDB's DELETE marks rows deleted and a checkpoint frees blocks, but their
// bytes stay in the file until reused: an erased project's IDs could still be
// read from it. Compact copies the database (the live rows only) into a fresh
// file, then swaps it in: it holds the writer's lock for the whole copy (Insert
// and the deletes wait), then briefly stops handing out connections, waits for
// the reads in progress to finish (at most 30 s, else it gives up and changes
// nothing), closes the database, renames the fresh file over the old one and
// opens it. The *sql.DB returned by DB stays valid throughout: its connector
// hands out connections to whichever file is current. It needs free space for
// a second copy of the live data.
//
// A crash at any point leaves either the old file or the new one in place;
// Open finishes or undoes an interrupted swap. An in-memory store has nothing
// to compact.
func (s *Store) Compact(ctx context.Context) (err error) {
	if s.path == "" {
		return nil
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	defer func() {
		if err != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("duckdb: compact %s: %w", s.path, err)
		}
	}()
	tmp := s.path + compactSuffix
	if err := removeDatabase(tmp); err != nil {
		return err
	}
	if err := s.copyTo(ctx, tmp); err != nil {
		removeDatabase(tmp)
		return err
	}
	if err := syncFile(tmp); err != nil {
		removeDatabase(tmp)
		return err
	}
	if err := s.swap(ctx, tmp); err != nil {
		removeDatabase(tmp)
		return err
	}
	return nil
}

// copyTo copies the database into a new file at path, on the writer's
// connection (wmu held).
func (s *Store) copyTo(ctx context.Context, path string) error {
	if _, err := s.w.ExecContext(ctx, `CHECKPOINT`); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	var catalog string
	if err := s.w.QueryRowContext(ctx, `SELECT current_database()`).Scan(&catalog); err != nil {
		return err
	}
	attach := fmt.Sprintf(`ATTACH '%s' AS abacus_compact (STORAGE_VERSION '%s')`, strings.ReplaceAll(path, "'", "''"), storageVersion)
	if _, err := s.w.ExecContext(ctx, attach); err != nil {
		return fmt.Errorf("attach the copy: %w", err)
	}
	_, err := s.w.ExecContext(ctx, `COPY FROM DATABASE "`+strings.ReplaceAll(catalog, `"`, `""`)+`" TO abacus_compact`)
	if err != nil {
		err = fmt.Errorf("copy the database: %w", err)
	}
	if _, derr := s.w.ExecContext(context.Background(), `DETACH abacus_compact`); derr != nil && err == nil {
		err = fmt.Errorf("detach the copy: %w", derr)
	}
	if err != nil {
		return err
	}
	if _, err := os.Stat(path + ".wal"); err == nil {
		return fmt.Errorf("the copy %s still has a write-ahead log after DETACH", path)
	}
	return nil
}

// swap closes the database, puts the file at tmp in its place and opens it.
// Connections requested meanwhile wait. On error the old file is in place and
// open again.
func (s *Store) swap(ctx context.Context, tmp string) error {
	s.conns.pause()
	defer s.conns.resume()
	s.db.SetMaxIdleConns(-1) // connections given back are closed from now on
	defer s.db.SetMaxIdleConns(maxIdleConns)
	// The writer's connection, closed for good (not handed back to the pool).
	s.w.Raw(func(any) error { return driver.ErrBadConn })
	s.w.Close()
	reopenWriter := func(err error) error {
		s.conns.resume()
		s.db.SetMaxIdleConns(maxIdleConns)
		if werr := s.newWriter(context.Background()); werr != nil {
			return errors.Join(err, fmt.Errorf("reopen the writer: %w", werr))
		}
		return err
	}
	deadline := time.Now().Add(drainTimeout)
	for s.db.Stats().OpenConnections > s.conns.waiting() {
		if time.Now().After(deadline) {
			return reopenWriter(fmt.Errorf("reads still running after %v; nothing changed, try again later", drainTimeout))
		}
		if ctx.Err() != nil {
			return reopenWriter(ctx.Err())
		}
		time.Sleep(5 * time.Millisecond)
	}
	// No connection is open: close the database and swap the files.
	if err := s.conns.closeCurrent(); err != nil {
		return reopenWriter(err)
	}
	old := s.path + oldSuffix
	reopen := func(cause error) error {
		c, err := duckdb.NewConnector(s.dsn, nil)
		if err != nil {
			return errors.Join(cause, fmt.Errorf("reopen %s: %w", s.path, err))
		}
		s.conns.setCurrent(c)
		return reopenWriter(cause)
	}
	if err := os.Rename(s.path, old); err != nil {
		return reopen(err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		if rerr := os.Rename(old, s.path); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return reopen(err)
	}
	if err := syncDir(filepath.Dir(s.path)); err != nil {
		return reopen(err)
	}
	c, err := duckdb.NewConnector(s.dsn, nil)
	if err != nil {
		// The copy does not open: put the old file back.
		os.Rename(s.path, tmp)
		if rerr := os.Rename(old, s.path); rerr != nil {
			return errors.Join(err, rerr)
		}
		return reopen(fmt.Errorf("open the compacted copy: %w", err))
	}
	s.conns.setCurrent(c)
	if err := removeDatabase(old); err != nil {
		return reopenWriter(err)
	}
	if err := syncDir(filepath.Dir(s.path)); err != nil {
		return reopenWriter(err)
	}
	return reopenWriter(nil)
}

// recoverCompaction finishes or undoes a swap that a crash interrupted, before
// the file at path is opened: with the file and its replaced original both
// present, the swap was done and the original goes; with only the original,
// it goes back. A copy that never replaced the file goes.
func recoverCompaction(path string) error {
	old := path + oldSuffix
	if _, err := os.Stat(old); err == nil {
		if _, err := os.Stat(path); err == nil {
			if err := removeDatabase(old); err != nil {
				return err
			}
		} else if errors.Is(err, fs.ErrNotExist) {
			if err := os.Rename(old, path); err != nil {
				return err
			}
		}
	}
	return removeDatabase(path + compactSuffix)
}

// removeDatabase removes a database file and its write-ahead log, if present.
func removeDatabase(path string) error {
	for _, p := range []string{path, path + ".wal"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// connector hands out connections to the current database, and holds new
// ones back while Compact swaps the file.
type connector struct {
	mu      sync.Mutex
	cur     *duckdb.Connector
	paused  chan struct{} // non-nil while paused; closed by resume
	waiters int           // Connect calls waiting for resume
}

func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	c.mu.Lock()
	for c.paused != nil {
		p := c.paused
		c.waiters++
		c.mu.Unlock()
		select {
		case <-p:
		case <-ctx.Done():
			c.mu.Lock()
			c.waiters--
			c.mu.Unlock()
			return nil, ctx.Err()
		}
		c.mu.Lock()
		c.waiters--
	}
	defer c.mu.Unlock()
	if c.cur == nil {
		return nil, errors.New("duckdb: the database is not open (a compaction failed to reopen it)")
	}
	return c.cur.Connect(ctx)
}

func (c *connector) Driver() driver.Driver { return duckdb.Driver{} }

// Close closes the current database (sql.DB.Close calls it).
func (c *connector) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil {
		return nil
	}
	err := c.cur.Close()
	c.cur = nil
	return err
}

func (c *connector) pause() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.paused = make(chan struct{})
}

func (c *connector) resume() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.paused != nil {
		close(c.paused)
		c.paused = nil
	}
}

func (c *connector) waiting() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.waiters
}

func (c *connector) closeCurrent() error { return c.Close() }

func (c *connector) setCurrent(d *duckdb.Connector) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cur = d
}
