package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/abacushq/abacus/internal/store"
	"github.com/abacushq/abacus/internal/store/idfilter"
)

// Options tune the embedded database. The zero value gives the defaults.
type Options struct {
	// MemoryLimit caps DuckDB's buffer memory, in DuckDB's syntax ("256MB",
	// "1GB"). Default "256MB". Larger queries spill to <path>.tmp.
	MemoryLimit string
	// Threads is how many threads one query may use. Default 2.
	Threads int
}

const (
	defaultMemoryLimit = "256MB"
	defaultThreads     = 2
	maxIdleConns       = 4
)

// Store is the embedded DuckDB backend of store.Store. It is safe for
// concurrent use: reads run in parallel on a pool of connections, writes
// (Insert, the deletes) take turns on one connection.
type Store struct {
	path  string
	dsn   string     // the connector's, to open the file again after Compact
	conns *connector // what db connects through
	db    *sql.DB

	wmu sync.Mutex // serializes writes; guards w and sourceIDs
	w   *sql.Conn  // the writer's connection, with the staging tables
	// sourceIDs caches the source_id of stored sources by source_key, so that
	// an Insert appends only the sources it has not seen. Deletes empty it.
	sourceIDs map[duckdb.UUID]int32
	// ids holds every stored event ID (and some more); nil until the first
	// Insert or Existing. Inserts fill it under wmu; Existing reads it
	// without. nextIDs (guarded by wmu) is its larger successor while
	// growIDs fills it in the background.
	ids     atomic.Pointer[idfilter.Filter]
	nextIDs *idfilter.Filter
	// projNums caches the number of projects by project ID (guarded by
	// wmu; deletes empty it); pieces counts the rows appended to each day of
	// day_names since its last merge, merged the rows it had after it.
	projNums       map[string]int32
	pieces, merged map[period]int
	// sealed mirrors week_sealed (nil: not read yet; guarded by wmu);
	// lastSeal is when the writer last looked for weeks to seal.
	sealed   map[int32]bool
	lastSeal time.Time

	mu      sync.Mutex // guards closed and the Add of active
	closed  bool
	active  sync.WaitGroup     // calls in progress
	closing context.Context    // done when Close starts: stops reads in progress
	stop    context.CancelFunc // cancels closing
}

var _ store.Store = (*Store)(nil)

// Open opens the store in the DuckDB file at path, creating the file and its
// tables when they do not exist. An empty path opens a store in memory, gone at
// Close. Only one Store (one process) may have a file open at a time.
func Open(path string, opt Options) (*Store, error) {
	if opt.MemoryLimit == "" {
		opt.MemoryLimit = defaultMemoryLimit
	}
	if opt.Threads <= 0 {
		opt.Threads = defaultThreads
	}
	q := url.Values{}
	q.Set("access_mode", "read_write")
	q.Set("threads", strconv.Itoa(opt.Threads))
	q.Set("memory_limit", opt.MemoryLimit)
	// The collector's own write-ahead log already makes every insert durable;
	// fewer, larger DuckDB checkpoints keep their disk writes away from its
	// fsyncs (Close still checkpoints).
	q.Set("checkpoint_threshold", "256MB")
	q.Set("storage_compatibility_version", storageVersion)
	// No downloads: everything the store and its reports need (json) is
	// built into the driver's library.
	q.Set("autoinstall_known_extensions", "false")
	q.Set("autoload_known_extensions", "false")
	if path != "" {
		if err := recoverCompaction(path); err != nil {
			return nil, fmt.Errorf("duckdb: open %s: finish an interrupted compaction: %w", path, err)
		}
	}
	dsn := path + "?" + q.Encode()
	c, err := duckdb.NewConnector(dsn, nil)
	if err != nil {
		return nil, fmt.Errorf("duckdb: open %s: %w", path, err)
	}
	conns := &connector{cur: c}
	db := sql.OpenDB(conns)
	db.SetMaxIdleConns(maxIdleConns)
	s := &Store{path: path, dsn: dsn, conns: conns, db: db, sourceIDs: map[duckdb.UUID]int32{},
		projNums: map[string]int32{}, pieces: map[period]int{}, merged: map[period]int{}}
	s.closing, s.stop = context.WithCancel(context.Background())
	ctx := context.Background()
	from, err := s.migrate(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("duckdb: open %s: %w", path, err)
	}
	if err := s.newWriter(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("duckdb: open %s: %w", path, err)
	}
	if from != "" {
		// Version 2 added the daily rollups, version 3 the weekly ones: made
		// once, from the events (from the daily rollups for a version 2
		// file), in the transaction that writes the new version.
		s.wmu.Lock()
		err := s.rebuildRollups(ctx, from == "2", `UPDATE abacus_meta SET value = '`+schemaVersion+`' WHERE key = 'schema_version'`)
		s.wmu.Unlock()
		if err != nil {
			s.w.Close()
			db.Close()
			return nil, fmt.Errorf("duckdb: open %s: migrate from schema version %s: %w", path, from, err)
		}
	}
	// The weeks that ended since the store was last open are sealed now,
	// not at the first Insert. On failure they stay unsealed, and their
	// days answer for them.
	s.wmu.Lock()
	s.sealWeeks(ctx)
	s.wmu.Unlock()
	return s, nil
}

// loadIDs makes the filter of stored IDs, at the first Insert or Existing (a
// store that is only read for reports never pays for it): about 0.1 s a
// million events. When it is full, growIDs makes a larger one without
// holding up Inserts. It holds wmu.
func (s *Store) loadIDs(ctx context.Context) error {
	var n int64
	if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM event_rows`).Scan(&n); err != nil {
		return err
	}
	f := idfilter.New(2 * n) // room to grow before the next rebuild
	rows, err := s.w.QueryContext(ctx, `SELECT id FROM event_rows`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id duckdb.UUID
		if err := rows.Scan(&id); err != nil {
			return err
		}
		f.Add(id)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	s.ids.Store(f)
	return nil
}

// growIDs replaces a full filter of stored IDs with one twice as large,
// filled in the background from the table while Inserts go on: from now on
// each Insert adds its IDs to both, and the scan, which starts after this
// moment, sees every ID committed before it. It holds wmu.
func (s *Store) growIDs() {
	if s.enter() != nil {
		return
	}
	next := idfilter.New(2 * s.ids.Load().Len())
	s.nextIDs = next
	go func() {
		defer s.leave()
		err := s.scanIDs(s.closing, next)
		s.wmu.Lock()
		defer s.wmu.Unlock()
		s.nextIDs = nil
		if err != nil {
			// The full filter stays: more of its answers are "maybe", which
			// costs reads, never a wrong answer. The next Insert tries again.
			return
		}
		s.ids.Store(next)
	}()
}

// scanIDs adds every stored ID to f, reading through the pool.
func (s *Store) scanIDs(ctx context.Context, f *idfilter.Filter) error {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM event_rows`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id duckdb.UUID
		if err := rows.Scan(&id); err != nil {
			return err
		}
		f.Add(id)
	}
	return rows.Err()
}

// migrate creates the tables that do not exist. It returns the file's
// schema version when it is an older one this build migrates from (the
// caller finishes the migration), else "".
func (s *Store) migrate(ctx context.Context) (string, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	for _, q := range schema {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return "", fmt.Errorf("create schema: %w", err)
		}
	}
	var v, from string
	err = tx.QueryRowContext(ctx, `SELECT value FROM abacus_meta WHERE key = 'schema_version'`).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, `INSERT INTO abacus_meta VALUES ('schema_version', ?)`, schemaVersion); err != nil {
			return "", err
		}
	case err != nil:
		return "", err
	case v == "1" || v == "2":
		from = v
	case v != schemaVersion:
		return "", fmt.Errorf("the file has schema version %s; this build reads versions 1 to %s", v, schemaVersion)
	}
	return from, tx.Commit()
}

// newWriter opens the writer's connection and its staging tables.
func (s *Store) newWriter(ctx context.Context) error {
	w, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	for _, q := range staging {
		if _, err := w.ExecContext(ctx, q); err != nil {
			w.Close()
			return fmt.Errorf("create staging tables: %w", err)
		}
	}
	s.w = w
	return nil
}

// DB returns the database, for reports that read it in SQL (see the package
// documentation for the schema). It is the Store's own pool: use it to read
// only, and not after Close.
func (s *Store) DB() *sql.DB { return s.db }

// enter registers a call in progress; it fails once Close has started.
func (s *Store) enter() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	s.active.Add(1)
	return nil
}

func (s *Store) leave() { s.active.Done() }

// readContext returns ctx, also cancelled when Close starts.
func (s *Store) readContext(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.closing, cancel)
	return ctx, func() { stop(); cancel() }
}

// fail turns err into what a method returns: the caller's context error when
// its context ended, ErrClosed when Close stopped the call.
func (s *Store) fail(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if s.closing.Err() != nil {
		return store.ErrClosed
	}
	return err
}

// Stats reports the number of events and the size of the database file and
// its write-ahead log. The file does not shrink after deletes: DuckDB reuses
// the freed blocks for new data.
func (s *Store) Stats(ctx context.Context) (store.Stats, error) {
	if err := s.enter(); err != nil {
		return store.Stats{}, err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return store.Stats{}, err
	}
	var st store.Stats
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM event_rows`).Scan(&st.Events); err != nil {
		return store.Stats{}, s.fail(ctx, err)
	}
	if s.path == "" {
		var used, block int64
		err := s.db.QueryRowContext(ctx, `SELECT used_blocks, block_size FROM pragma_database_size() WHERE database_name = current_database()`).Scan(&used, &block)
		if err != nil {
			return store.Stats{}, s.fail(ctx, err)
		}
		st.Bytes = used * block
		return st, nil
	}
	for _, p := range []string{s.path, s.path + ".wal"} {
		if fi, err := os.Stat(p); err == nil {
			st.Bytes += fi.Size()
		}
	}
	return st, nil
}

// Checkpoint writes the write-ahead log into the database file, compressing
// the rows appended since the last checkpoint and releasing deleted rows.
// DuckDB also checkpoints by itself when the log passes 16 MB. First it
// checks that the daily rollups sum to the events of event_rows, and
// rebuilds them when they do not (events written into the table around the
// store, as a test's generator does), and seals the weeks that are over.
func (s *Store) Checkpoint(ctx context.Context) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	ok, err := s.rollupsAccountFor(ctx)
	if err != nil {
		return s.fail(ctx, err)
	}
	if !ok {
		if err := s.rebuildRollups(ctx, false); err != nil {
			return s.fail(ctx, fmt.Errorf("duckdb: rebuild the rollups: %w", err))
		}
	}
	if err := s.sealWeeks(ctx); err != nil {
		return s.fail(ctx, fmt.Errorf("duckdb: seal the weeks that are over: %w", err))
	}
	_, err = s.w.ExecContext(ctx, `CHECKPOINT`)
	return s.fail(ctx, err)
}

// Close stops reads in progress (they return ErrClosed), waits for writes in
// progress, checkpoints and closes the file. Do not call it from an Export or
// IDs callback. Calls after Close return ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return store.ErrClosed
	}
	s.closed = true
	s.mu.Unlock()
	s.stop()
	s.active.Wait()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	var errs []error
	if s.path != "" {
		if _, err := s.w.ExecContext(context.Background(), `CHECKPOINT`); err != nil {
			errs = append(errs, fmt.Errorf("checkpoint: %w", err))
		}
	}
	if err := s.w.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := s.db.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("duckdb: close %s: %w", s.path, err)
	}
	return nil
}
