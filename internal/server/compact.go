package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/abacushq/abacus/internal/wal"
)

// An erasure deletes a project's events at once, but their bytes stay on
// disk: in write-ahead log segments not yet rolled, and in the store's file
// (a deleted row's bytes stay in DuckDB's file until the space is reused).
// compactNow removes them; it runs at once for DELETE ...?compact=1 (abacus
// erase --now), else at most compactEvery after the erasure, or at the next
// start. The marker file <data>/erasure-pending says an erasure has not been
// compacted yet, so that a restart does not forget it.

// compactor is a store whose file can be rewritten without the bytes of
// deleted rows (duckdb.Store).
type compactor interface {
	Compact(ctx context.Context) error
}

const pendingName = "erasure-pending"

// compactEvery is how often the collector looks for an erasure not yet
// compacted. The guarantee documented is 24 hours, to leave room for retries.
var compactEvery = time.Hour

// markPending records, durably, that an erasure awaits compaction. The file
// holds the time of the latest erasure, so that a compaction that began
// before it does not take it for done.
func (s *Server) markPending() error {
	path := filepath.Join(s.cfg.DataDir, pendingName)
	if err := writeFileSync(path, []byte(strconv.FormatInt(time.Now().UnixNano(), 10))); err != nil {
		return fmt.Errorf("cannot record the pending erasure in %q: %w", path, err)
	}
	return syncDir(s.cfg.DataDir)
}

func (s *Server) erasurePending() bool {
	_, err := os.Stat(filepath.Join(s.cfg.DataDir, pendingName))
	return err == nil
}

// compactNow removes from disk what erasures deleted: it rolls the log, waits
// until every record appended before is stored, deletes those segments (and
// any kept in wal/damaged/), and rewrites the store's file. Only one runs at
// a time.
func (s *Server) compactNow(ctx context.Context) error {
	s.compactMu.Lock()
	defer s.compactMu.Unlock()
	start := time.Now()
	pending := filepath.Join(s.cfg.DataDir, pendingName)
	seen, statErr := os.ReadFile(pending)

	from, err := s.log.Roll()
	if err != nil {
		return fmt.Errorf("cannot roll the write-ahead log: %w", err)
	}
	for s.writer.holdsBefore(from) {
		if err := s.writer.flush(ctx); err != nil {
			return fmt.Errorf("cannot store the events logged before the compaction: %w", err)
		}
		if s.writer.holdsBefore(from) { // an append under way when the log rolled
			select {
			case <-time.After(10 * time.Millisecond):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	if err := s.log.Release(from); err != nil {
		return fmt.Errorf("cannot remove the write-ahead log segments: %w", err)
	}
	if n, err := s.log.DeleteDamaged(); err != nil {
		return fmt.Errorf("cannot remove damaged write-ahead log segments: %w", err)
	} else if n > 0 {
		s.logger.Warn("erasure: deleted damaged write-ahead log segments kept in wal/"+wal.DamagedDir+"/ (they may hold erased events)", "segments", n)
	}
	if c, ok := s.cfg.Store.(compactor); ok {
		if err := c.Compact(ctx); err != nil {
			return fmt.Errorf("cannot compact the store: %w", err)
		}
	}
	// Only the erasures seen before this compaction began are done: one
	// recorded meanwhile changed the file, which then stays for the next run.
	if now, err := os.ReadFile(pending); statErr == nil && err == nil && bytes.Equal(now, seen) {
		if err := os.Remove(pending); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("cannot remove %q: %w", pending, err)
		}
	}
	s.logger.Info("erasure: deleted data removed from disk", "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// compactPending runs compactNow if an erasure awaits it; the background job
// calls it hourly and at start, and tries again at the next tick on failure.
func (s *Server) compactPending() {
	if !s.erasurePending() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	if err := s.compactNow(ctx); err != nil {
		s.logger.Error("erasure: cannot remove deleted data from disk yet; trying again within the hour", "err", err)
	}
}

// holdsBefore reports whether the writer still has a record, queued or being
// appended, that lies before p (in an earlier segment).
func (w *writer) holdsBefore(p wal.Pos) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, g := range w.queue {
		if g.end.Segment < p.Segment {
			return true
		}
	}
	for _, t := range w.tickets {
		if t.Segment < p.Segment {
			return true
		}
	}
	return false
}
