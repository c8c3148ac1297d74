package server

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"time"
)

// Default floor of free disk space: 5% of the volume, at least 64 MiB (what
// the store needs to checkpoint its own log on a small volume) and at most
// 256 MiB, and never more than half the volume.
const (
	defaultMinFree        = 256 << 20
	defaultMinFreeLeast   = 64 << 20
	defaultMinFreePercent = 5
)

// failingLagBytes is how many bytes of records may wait for a store whose
// last write failed: a hiccup costs no 503, but a store that stays down (a
// full disk) stops the log from growing into the space it needs.
const failingLagBytes = 8 << 20

// volume is a directory the collector writes (the data directory, the log) and
// the free bytes its file system must keep.
type volume struct {
	path  string
	what  string // whose disk, for messages
	floor int64
}

// floors works out the free-space floor of the data directory and of the log
// directory from the configuration.
func floors(cfg Config) []volume {
	var vols []volume
	for i, p := range []string{cfg.DataDir, filepath.Join(cfg.DataDir, "wal")} {
		v := volume{path: p, what: []string{"the store's disk", "the write-ahead log's disk"}[i]}
		_, total, ok := diskSpace(p)
		switch {
		case cfg.MinFree < 0 || !ok:
			continue
		case cfg.MinFree == 0 && cfg.MinFreePercent == 0:
			v.floor = min(defaultMinFree, max(defaultMinFreeLeast, int64(float64(total)*defaultMinFreePercent/100)), total/2)
		case cfg.MinFree > 0 && cfg.MinFreePercent > 0:
			v.floor = min(cfg.MinFree, int64(float64(total)*cfg.MinFreePercent/100))
		case cfg.MinFree > 0:
			v.floor = cfg.MinFree
		default:
			v.floor = int64(float64(total) * cfg.MinFreePercent / 100)
		}
		vols = append(vols, v)
	}
	return vols
}

// backlog refuses new events (503) while acknowledging them would put what is
// already acknowledged at risk or take the space the store needs: the store is
// too many events or bytes behind, its last write failed and failingLagBytes
// wait for it, or a disk is down to its floor of free space (size is the bytes about to be written to the log).
func (s *Server) backlog(size int) error {
	if lag, age := s.writer.lag(); lag > s.cfg.MaxLag {
		s.metrics.shed.Inc("lag")
		return &httpError{http.StatusServiceUnavailable,
			fmt.Sprintf("the store is %d events (%v) behind", lag, age.Round(time.Second)), 5 * time.Second}
	}
	if b := s.writer.lagBytes(); b > s.cfg.MaxLagBytes {
		s.metrics.shed.Inc("lag")
		return &httpError{http.StatusServiceUnavailable,
			fmt.Sprintf("the store is %d MiB of events behind", b>>20), 5 * time.Second}
	}
	if s.writer.failing.Load() && s.writer.lagBytes() > failingLagBytes {
		s.metrics.shed.Inc("store")
		return &httpError{http.StatusServiceUnavailable,
			"the store cannot take events now; what was acknowledged waits in the write-ahead log", 5 * time.Second}
	}
	for _, v := range s.vols {
		free, _, ok := diskSpace(v.path)
		if ok && free-int64(size) < 2*v.floor {
			s.relieveDisk(free)
		}
		if ok && free-int64(size) < v.floor {
			s.metrics.shed.Inc("disk")
			return &httpError{http.StatusServiceUnavailable,
				fmt.Sprintf("%s is nearly full: %d KiB free, below the floor of %d KiB (--min-free) kept for the store",
					v.what, free>>10, v.floor>>10), 10 * time.Second}
		}
	}
	return nil
}

// checkpointer is a store that keeps a log of its own and can fold it into its
// file (DuckDB: its log grows up to 256 MB between checkpoints).
type checkpointer interface {
	Checkpoint(ctx context.Context) error
}

// relieveDisk checkpoints the store, at most once every 10 seconds, when a disk
// nears its floor: the store's own log, several times the size of the rows it
// becomes in the file, is then given back to the disk.
func (s *Server) relieveDisk(free int64) {
	cp, ok := s.cfg.Store.(checkpointer)
	if !ok {
		return
	}
	now := time.Now().UnixNano()
	last := s.relieved.Load()
	if now-last < int64(10*time.Second) || !s.relieved.CompareAndSwap(last, now) {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := cp.Checkpoint(ctx); err != nil {
			s.logger.Warn("disk space is low and the store cannot checkpoint", "free_mib", free>>20, "err", err)
			return
		}
		s.logger.Info("disk space is low: checkpointed the store to give its log back", "free_mib_before", free>>20)
	}()
}
