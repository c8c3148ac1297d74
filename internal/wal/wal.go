package wal

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

var (
	// ErrFull is returned by Append when the records would push the live segments past
	// Options.MaxBytes: the consumer (the store writer) is too far behind. Release frees space.
	ErrFull = errors.New("wal: full")
	// ErrIO wraps every write, sync, create or read failure of the log's files.
	ErrIO = errors.New("wal: i/o error")
	// ErrClosed is returned by operations on a closed Log.
	ErrClosed = errors.New("wal: closed")
	// ErrTooLarge is returned by Append for a record larger than MaxRecordBytes.
	ErrTooLarge = errors.New("wal: record too large")
	// ErrLocked is returned by Open when another Log (in this or another process) has dir open.
	ErrLocked = errors.New("wal: directory locked by another log")
)

const (
	defaultSegmentBytes = 64 << 20
	defaultMaxBytes     = 1 << 30
	// maxGroupBytes caps the bytes one group commit writes (besides the SegmentBytes cap).
	maxGroupBytes = 32 << 20
	// queueLen is how many Appends may wait for the writer before Append blocks (and
	// honours its context).
	queueLen = 4096
	segExt   = ".wal"
	lockName = "LOCK"
)

// Fault-hook operations (see Options.FaultHook).
const (
	OpWrite    = "write"    // the group write of an Append round
	OpSync     = "sync"     // the fsync of the active segment after a write
	OpTruncate = "truncate" // undoing a failed write/sync: truncate+fsync, then the fallback invalidation write
	OpCreate   = "create"   // creating a new segment file (roll, or after sealing)
)

// Options configures a Log. The zero value is production-ready.
type Options struct {
	// SegmentBytes rolls to a new segment file past this size; 0 = 64 MiB. A segment is
	// rolled before a write that would take it past SegmentBytes, so segments never exceed
	// it unless a single Append is larger.
	SegmentBytes int64
	// MaxBytes caps the bytes in all live segments; Append fails with ErrFull past it
	// (the store is too far behind). 0 = 1 GiB.
	MaxBytes int64
	// NoSync skips fsync of segments and of the directory (benchmarks of the floor only;
	// never in production: Append then returns before the data is durable).
	NoSync bool
	// Logger receives warnings (torn tails found by Replay, sealed segments after a failed
	// undo). nil = no logging.
	Logger *slog.Logger

	// FaultHook is for tests only. When set, it is called before each file operation with
	// one of OpWrite, OpSync, OpTruncate, OpCreate; when it returns an error the operation
	// fails with that error as if the OS had returned it. For OpWrite, the first half of
	// the bytes is written before the error is returned (a partial write). It is called
	// from the writer goroutine and from Release, so it must be safe for concurrent use.
	FaultHook func(op string) error
}

// Pos is a position in the log: a segment sequence number and a byte offset in it.
// Append and Replay return the position just past a record; Release takes one.
// Pos values are comparable and ordered by Less.
type Pos struct {
	Segment uint64
	Offset  int64
}

// Less reports whether p is before q.
func (p Pos) Less(q Pos) bool {
	if p.Segment != q.Segment {
		return p.Segment < q.Segment
	}
	return p.Offset < q.Offset
}

func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Segment, p.Offset) }

// Stats are cumulative counters since Open, plus the current size.
type Stats struct {
	Appends      int64         // Append calls acknowledged (durable)
	Records      int64         // records acknowledged
	Bytes        int64         // payload bytes acknowledged
	WrittenBytes int64         // bytes written to segments, headers included
	Groups       int64         // write rounds (one write + one fsync each)
	Fsyncs       int64         // fsyncs of segment files (directory fsyncs not counted)
	DirSyncs     int64         // fsyncs of the directory (segment create/remove)
	FsyncTotal   time.Duration // time spent in segment fsyncs
	FsyncLast    time.Duration // duration of the last segment fsync
	IOErrors     int64         // Append calls that failed with ErrIO
	Full         int64         // Append calls that failed with ErrFull
	Rolls        int64         // new segments started
	Removed      int64         // segments deleted by Release
	Segments     int           // live segment files
	Size         int64         // bytes in live segments
}

type segment struct {
	seq     uint64
	size    int64 // bytes in the file
	valid   int64 // end of the last valid record, once known (Replay); else size
	damaged bool  // Replay found damage between valid records: kept aside, not deleted
}

// DamagedDir is the subdirectory of the log's directory where Release moves segments in
// which Replay found damaged records between intact ones, instead of deleting them.
const DamagedDir = "damaged"

type result struct {
	pos Pos
	err error
}

type request struct {
	recs [][]byte
	size int64 // encoded bytes
	done chan result
}

var reqPool = sync.Pool{New: func() any { return &request{done: make(chan result, 1)} }}

// Log is a segmented, checksummed write-ahead log with group commit. Create it with Open.
type Log struct {
	dir  string
	opt  Options
	lock *os.File

	// closeMu makes "closed" and sending on reqs atomic with respect to Close.
	closeMu sync.RWMutex
	closed  bool
	reqs    chan *request
	done    chan struct{} // closed when the writer goroutine exits

	// mu guards the segment set and the active file; the writer holds it for a whole
	// write+fsync round.
	mu         sync.Mutex
	sealed     []segment // ascending seq, not written any more
	active     *segment  // nil only after a failed seal-and-recreate (retried) or Close
	f          *os.File  // the active segment
	nextSeq    uint64
	filesShut  bool
	rollAtFree int64 // Release rolls a fully released active segment at least this big
	buf        []byte

	size atomic.Int64 // bytes in live segments

	appends, records, bytes, written, groups, fsyncs, dirSyncs atomic.Int64
	fsyncTotal, fsyncLast, ioErrors, full, rolls, removed      atomic.Int64
	segments                                                   atomic.Int64
}

// segName is the file name of segment seq: 20 zero-padded digits, ".wal".
func segName(seq uint64) string { return fmt.Sprintf("%020d%s", seq, segExt) }

func parseSegName(name string) (uint64, bool) {
	if len(name) != 20+len(segExt) || filepath.Ext(name) != segExt {
		return 0, false
	}
	seq, err := strconv.ParseUint(name[:20], 10, 64)
	return seq, err == nil
}

// Open opens (creating) the log in dir. Existing segments are kept, sealed, for Replay;
// appends go to a new segment (or to the last one if it is empty), so a torn tail left by
// a crash is never followed by new records in the same file.
func Open(dir string, opt Options) (*Log, error) {
	if opt.SegmentBytes < 0 || opt.MaxBytes < 0 {
		return nil, errors.New("wal: negative SegmentBytes or MaxBytes")
	}
	if opt.SegmentBytes == 0 {
		opt.SegmentBytes = defaultSegmentBytes
	}
	if opt.MaxBytes == 0 {
		opt.MaxBytes = defaultMaxBytes
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrIO, err)
	}
	lock, err := lockDir(filepath.Join(dir, lockName))
	if err != nil {
		return nil, err
	}
	l := &Log{
		dir:        dir,
		opt:        opt,
		lock:       lock,
		reqs:       make(chan *request, queueLen),
		done:       make(chan struct{}),
		nextSeq:    1,
		rollAtFree: min(opt.SegmentBytes, opt.MaxBytes) / 8,
	}
	if err := l.load(); err != nil {
		l.closeFiles()
		unlockDir(lock)
		return nil, err
	}
	go l.writer()
	return l, nil
}

// load lists the existing segments and opens the active one.
func (l *Log) load() error {
	ents, err := os.ReadDir(l.dir)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrIO, err)
	}
	for _, e := range ents {
		seq, ok := parseSegName(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			return fmt.Errorf("%w: %w", ErrIO, err)
		}
		l.sealed = append(l.sealed, segment{seq: seq, size: fi.Size(), valid: fi.Size()})
		l.size.Add(fi.Size())
		l.nextSeq = max(l.nextSeq, seq+1)
	}
	slices.SortFunc(l.sealed, func(a, b segment) int { return cmpSeq(a.seq, b.seq) })
	l.segments.Store(int64(len(l.sealed)))
	// Reuse an empty last segment rather than piling up empty files on every restart.
	if n := len(l.sealed); n > 0 && l.sealed[n-1].size == 0 {
		last := l.sealed[n-1]
		f, err := os.OpenFile(l.segPath(last.seq), os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrIO, err)
		}
		l.sealed = l.sealed[:n-1]
		l.active, l.f = &last, f
		return nil
	}
	return l.newSegmentLocked()
}

func cmpSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (l *Log) segPath(seq uint64) string { return filepath.Join(l.dir, segName(seq)) }

func (l *Log) fault(op string) error {
	if l.opt.FaultHook == nil {
		return nil
	}
	return l.opt.FaultHook(op)
}

// newSegmentLocked creates the next segment file, makes its directory entry durable, and
// makes it the active segment (sealing the previous active one, which must be durable).
func (l *Log) newSegmentLocked() error {
	seq := l.nextSeq
	if err := l.fault(OpCreate); err != nil {
		return fmt.Errorf("%w: create segment %d: %w", ErrIO, seq, err)
	}
	f, err := os.OpenFile(l.segPath(seq), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("%w: create segment: %w", ErrIO, err)
	}
	if err := l.syncDir(); err != nil {
		f.Close()
		os.Remove(l.segPath(seq))
		return err
	}
	l.nextSeq = seq + 1
	if l.active != nil {
		l.sealed = append(l.sealed, *l.active)
		l.f.Close() // already fsynced after its last write
	}
	l.active, l.f = &segment{seq: seq}, f
	l.segments.Store(int64(len(l.sealed) + 1))
	l.rolls.Add(1)
	return nil
}

func (l *Log) syncDir() error {
	if l.opt.NoSync {
		return nil
	}
	d, err := os.Open(l.dir)
	if err != nil {
		return fmt.Errorf("%w: open dir: %w", ErrIO, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("%w: sync dir: %w", ErrIO, err)
	}
	l.dirSyncs.Add(1)
	return nil
}

// Append writes the records durably: it returns only after they are written and fsynced
// (unless Options.NoSync). Concurrent Appends share one write and one fsync (group commit).
// It returns the position just past the last record, for Release; with no records it is a
// barrier that returns the current end of the log.
//
// ctx is honoured only while waiting to be queued for the writer; once queued, Append
// waits for and reports the real outcome. The records are not retained after Append returns.
//
// Errors: ErrTooLarge, ErrFull, ErrClosed, ctx.Err(), or an error wrapping ErrIO when the
// write or fsync failed (nothing of this call is then acknowledged, no torn bytes remain
// between acknowledged records, and later Appends try again).
func (l *Log) Append(ctx context.Context, recs ...[]byte) (Pos, error) {
	var size int64
	for _, r := range recs {
		if len(r) > MaxRecordBytes {
			return Pos{}, fmt.Errorf("%w: %d bytes > %d", ErrTooLarge, len(r), MaxRecordBytes)
		}
		size += encodedSize(len(r))
	}
	if err := ctx.Err(); err != nil {
		return Pos{}, err
	}
	if size > 0 {
		if cur := l.size.Load(); cur+size > l.opt.MaxBytes {
			l.full.Add(1)
			return Pos{}, fmt.Errorf("%w: %d live bytes + %d > max %d", ErrFull, cur, size, l.opt.MaxBytes)
		}
	}
	req := reqPool.Get().(*request)
	req.recs, req.size = recs, size

	l.closeMu.RLock()
	if l.closed {
		l.closeMu.RUnlock()
		req.recs = nil
		reqPool.Put(req)
		return Pos{}, ErrClosed
	}
	select {
	case l.reqs <- req:
	case <-ctx.Done():
		l.closeMu.RUnlock()
		req.recs = nil
		reqPool.Put(req)
		return Pos{}, ctx.Err()
	}
	l.closeMu.RUnlock()

	res := <-req.done
	req.recs = nil
	reqPool.Put(req)
	return res.pos, res.err
}

// writer is the single goroutine that writes and fsyncs: it takes everything queued (up to
// a group size limit), writes it with one write call, fsyncs once, and wakes every caller.
func (l *Log) writer() {
	defer close(l.done)
	groupMax := min(l.opt.SegmentBytes, maxGroupBytes)
	var (
		group  []*request
		carry  *request
		closed bool
	)
	for {
		var first *request
		if carry != nil {
			first, carry = carry, nil
		} else {
			if closed {
				return
			}
			r, ok := <-l.reqs
			if !ok {
				return
			}
			first = r
		}
		group = append(group[:0], first)
		total := first.size
	drain:
		for !closed && total < groupMax {
			select {
			case r, ok := <-l.reqs:
				if !ok {
					closed = true
					break drain
				}
				if total+r.size > groupMax {
					carry = r
					break drain
				}
				group = append(group, r)
				total += r.size
			default:
				break drain
			}
		}
		l.commit(group)
		clear(group)
	}
}

// commit writes and fsyncs one group and answers every request in it.
func (l *Log) commit(group []*request) {
	l.mu.Lock()
	defer l.mu.Unlock()

	if l.active == nil {
		if err := l.newSegmentLocked(); err != nil {
			l.failAll(group, err)
			return
		}
	}
	// Backpressure: reject the requests that do not fit under MaxBytes.
	size := l.size.Load()
	var total int64
	live := group[:0]
	for _, r := range group {
		if r.size > 0 && size+r.size > l.opt.MaxBytes {
			l.full.Add(1)
			r.done <- result{err: fmt.Errorf("%w: %d live bytes + %d > max %d", ErrFull, size, r.size, l.opt.MaxBytes)}
			continue
		}
		size += r.size
		total += r.size
		live = append(live, r)
	}
	group = live
	if len(group) == 0 {
		return
	}
	// Roll before a write that would take a non-empty segment past SegmentBytes.
	if total > 0 && l.active.size > 0 && l.active.size+total > l.opt.SegmentBytes {
		if err := l.newSegmentLocked(); err != nil {
			l.failAll(group, err)
			return
		}
	}
	seg, off := l.active.seq, l.active.size
	if total == 0 { // barriers only
		for _, r := range group {
			r.done <- result{pos: Pos{seg, off}}
		}
		return
	}

	buf := l.buf[:0]
	for _, r := range group {
		for _, rec := range r.recs {
			buf = appendRecord(buf, rec)
		}
	}
	if cap(buf) <= 2*maxGroupBytes {
		l.buf = buf
	} else {
		l.buf = nil
	}

	err := l.writeAt(buf, off)
	if err == nil {
		err = l.syncFile()
	}
	if err != nil {
		l.undo(off, int64(len(buf)))
		l.failAll(group, err)
		return
	}
	l.active.size += total
	l.active.valid = l.active.size
	l.size.Add(total)
	l.groups.Add(1)
	l.written.Add(total)

	var nrec, nbytes int64
	for _, r := range group {
		for _, rec := range r.recs {
			nbytes += int64(len(rec))
		}
		nrec += int64(len(r.recs))
	}
	// Counters first, so that they include an Append by the time it returns.
	l.appends.Add(int64(len(group)))
	l.records.Add(nrec)
	l.bytes.Add(nbytes)
	end := off
	for _, r := range group {
		end += r.size
		r.done <- result{pos: Pos{seg, end}}
	}
}

func (l *Log) failAll(group []*request, err error) {
	l.ioErrors.Add(int64(len(group)))
	if l.opt.Logger != nil {
		l.opt.Logger.Warn("wal: append failed", "appends", len(group), "err", err)
	}
	for _, r := range group {
		r.done <- result{err: err}
	}
}

func (l *Log) writeAt(buf []byte, off int64) error {
	seq := l.active.seq
	if err := l.fault(OpWrite); err != nil {
		l.f.WriteAt(buf[:len(buf)/2], off) // simulated partial write
		return fmt.Errorf("%w: write segment %d at %d: %w", ErrIO, seq, off, err)
	}
	if _, err := l.f.WriteAt(buf, off); err != nil {
		return fmt.Errorf("%w: write segment %d at %d: %w", ErrIO, seq, off, err)
	}
	return nil
}

func (l *Log) syncFile() error {
	if l.opt.NoSync {
		return nil
	}
	if err := l.fault(OpSync); err != nil {
		return fmt.Errorf("%w: fsync segment %d: %w", ErrIO, l.active.seq, err)
	}
	t := time.Now()
	err := l.f.Sync()
	d := time.Since(t)
	l.fsyncs.Add(1)
	l.fsyncTotal.Add(int64(d))
	l.fsyncLast.Store(int64(d))
	if err != nil {
		return fmt.Errorf("%w: fsync segment %d: %w", ErrIO, l.active.seq, err)
	}
	return nil
}

// undo removes the bytes of a failed write: it truncates the active segment back to the
// last durable offset and fsyncs that. If that fails, it writes a seal record at the durable
// end (so Replay stops there), seals the segment (its torn tail is at its very end, where
// Replay stops and goes on with the next segment) and starts a new segment, now or at the
// next Append. Either way no torn bytes remain between acknowledged records.
func (l *Log) undo(durable, attempted int64) {
	err := l.fault(OpTruncate)
	if err == nil {
		err = l.f.Truncate(durable)
	}
	if err == nil && !l.opt.NoSync {
		err = l.f.Sync()
	}
	if err == nil {
		return
	}
	// Could not cut the bytes off: overwrite the first header after the durable end with
	// a seal, so that Replay stops there and does not return (or resynchronise on) the
	// records of the failed group, whose callers were told it failed. If even that fails,
	// those records may replay, like the unacknowledged appends of a crash.
	perr := l.fault(OpTruncate)
	if perr == nil {
		_, perr = l.f.WriteAt(appendSeal(nil), durable)
	}
	if perr == nil && !l.opt.NoSync {
		perr = l.f.Sync()
	}
	old := *l.active
	old.size = durable + attempted // upper bound of what may be in the file
	if fi, serr := l.f.Stat(); serr == nil {
		old.size = fi.Size()
	}
	old.valid = durable
	l.size.Add(old.size - durable)
	if l.opt.Logger != nil {
		l.opt.Logger.Warn("wal: undo of a failed write failed; sealing segment",
			"segment", old.seq, "durable", durable, "size", old.size, "err", err, "invalidate_err", perr)
	}
	l.f.Close()
	l.sealed = append(l.sealed, old)
	l.active, l.f = nil, nil
	l.segments.Store(int64(len(l.sealed)))
	_ = l.newSegmentLocked() // on failure, retried by the next commit
}

// ReplayStats describes one Replay.
type ReplayStats struct {
	Segments     int      // segments read
	Records      int64    // records passed to fn
	Bytes        int64    // payload bytes passed to fn
	SkippedBytes int64    // bytes not replayed: torn or corrupt tails and damaged records
	Tails        []Tail   // one per segment whose replay stopped early
	Damaged      []Damage // damaged records between intact ones, skipped
	Last         Pos      // position just past the last record replayed (zero if none)
}

// Damage describes a damaged record (or run of records) in the middle of a segment, with
// intact records after it: not a torn append but corruption of acknowledged data. Replay
// skips it, goes on with the next valid record, and the segment is later moved to
// DamagedDir rather than deleted.
type Damage struct {
	Segment uint64
	Offset  int64  // where the damaged bytes start
	Skipped int64  // bytes up to the next valid record
	Records int    // records skipped, as far as their headers tell (at least 1)
	Reason  string // bad magic, bad length, crc mismatch, ...
}

// Tail describes a torn or corrupt segment tail skipped by Replay.
type Tail struct {
	Segment uint64
	Offset  int64  // where the unusable bytes start (the end of the last valid record)
	Skipped int64  // bytes from Offset to the end of the file
	Reason  string // short header, bad magic, bad length, crc mismatch, ...
}

// Replay calls fn for every record of every live segment in order, with the position just
// past it. fn may retain rec. A bad record (short header, bad magic or length, CRC
// mismatch) followed by valid records is damage: Replay skips it, resynchronises on the
// next valid frame, reports it in ReplayStats.Damaged and logs it as an error. A bad
// record with no valid record after it is a torn tail, reported in ReplayStats.Tails (and
// logged as a warning): an append that was never acknowledged. Neither is returned as an
// error. An error from fn stops Replay and is returned as is.
//
// Call it before the first Append: it reads the segments that exist when it starts, and the
// active segment only up to its durable end.
func (l *Log) Replay(fn func(rec []byte, end Pos) error) (ReplayStats, error) {
	var st ReplayStats
	l.mu.Lock()
	if l.filesShut {
		l.mu.Unlock()
		return st, ErrClosed
	}
	segs := slices.Clone(l.sealed)
	if l.active != nil {
		segs = append(segs, *l.active)
	}
	l.mu.Unlock()

	for _, s := range segs {
		valid, tail, damaged, err := l.replaySegment(s, fn, &st)
		if err != nil {
			return st, err
		}
		st.Segments++
		for _, d := range damaged {
			st.Damaged = append(st.Damaged, d)
			st.SkippedBytes += d.Skipped
			if l.opt.Logger != nil {
				l.opt.Logger.Error("wal: replay skipped a damaged record between intact ones; the segment will be kept in "+DamagedDir+"/",
					"segment", d.Segment, "offset", d.Offset, "skipped_records", d.Records, "skipped_bytes", d.Skipped, "reason", d.Reason)
			}
		}
		if tail != nil {
			st.Tails = append(st.Tails, *tail)
			st.SkippedBytes += tail.Skipped
			if l.opt.Logger != nil {
				l.opt.Logger.Warn("wal: replay skipped a torn or corrupt segment tail",
					"segment", tail.Segment, "offset", tail.Offset, "skipped_bytes", tail.Skipped, "reason", tail.Reason)
			}
		}
		l.mu.Lock()
		for i := range l.sealed {
			if l.sealed[i].seq == s.seq {
				l.sealed[i].valid = valid
				l.sealed[i].damaged = l.sealed[i].damaged || len(damaged) > 0
			}
		}
		l.mu.Unlock()
	}
	return st, nil
}

func (l *Log) replaySegment(s segment, fn func([]byte, Pos) error, st *ReplayStats) (int64, *Tail, []Damage, error) {
	f, err := os.Open(l.segPath(s.seq))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil, nil, nil // released meanwhile
	}
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%w: %w", ErrIO, err)
	}
	defer f.Close()
	size := s.size
	if s.seq != l.activeSeq() {
		// Sealed: read all of the file as it is now.
		fi, err := f.Stat()
		if err != nil {
			return 0, nil, nil, fmt.Errorf("%w: %w", ErrIO, err)
		}
		size = fi.Size()
	}
	res, err := scanSegment(f, size, func(rec []byte, end int64) error {
		st.Records++
		st.Bytes += int64(len(rec))
		p := Pos{s.seq, end}
		st.Last = p
		return fn(rec, p)
	})
	var damaged []Damage
	for _, d := range res.damaged {
		damaged = append(damaged, Damage{Segment: s.seq, Offset: d.off, Skipped: d.n, Records: d.records, Reason: d.reason})
	}
	if err != nil {
		return res.valid, nil, damaged, err
	}
	if res.tail == nil {
		return res.valid, nil, damaged, nil
	}
	return res.valid, &Tail{Segment: s.seq, Offset: res.valid, Skipped: size - res.valid, Reason: res.tail.reason}, damaged, nil
}

func (l *Log) activeSeq() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.active == nil {
		return 0
	}
	return l.active.seq
}

// End returns the position just past the last record written so far. A record
// appended after End returns lies at or after it, so a caller that takes End
// before Append knows a position its record cannot precede.
func (l *Log) End() Pos {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.active == nil {
		return Pos{}
	}
	return Pos{l.active.seq, l.active.size}
}

// Roll starts a new segment if the active one holds data, and returns the start of the
// (new) active segment: every record appended before Roll lies before that position, so
// Release of it, once they are all stored, deletes every segment that holds them.
func (l *Log) Roll() (Pos, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.filesShut {
		return Pos{}, ErrClosed
	}
	if l.active == nil || l.active.size > 0 {
		if err := l.newSegmentLocked(); err != nil {
			return Pos{}, err
		}
	}
	return Pos{Segment: l.active.seq}, nil
}

// DeleteDamaged deletes the segments Release kept in DamagedDir. They hold records that
// may belong to erased data; once the operator no longer needs them, or when an erasure
// must reach every copy, they go.
func (l *Log) DeleteDamaged() (int, error) {
	dir := filepath.Join(l.dir, DamagedDir)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrIO, err)
	}
	n := 0
	for _, e := range ents {
		if _, ok := parseSegName(e.Name()); !ok {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return n, fmt.Errorf("%w: remove damaged segment %s: %w", ErrIO, e.Name(), err)
		}
		n++
	}
	return n, nil
}

// Release says everything before p is safely stored elsewhere. Every sealed segment that
// lies entirely before p (its sequence number is below p.Segment, or it is p.Segment and p
// is at or past its last valid record) is deleted, and the directory fsynced.
//
// The active segment is never deleted. If p covers all of it and it holds at least
// min(SegmentBytes, MaxBytes)/8 bytes, it is rolled first (a new active segment is started)
// and then deleted, so that a quiet log still gives its space back; smaller fully released
// active segments are kept, to avoid a new file per Release at low traffic.
func (l *Log) Release(p Pos) error { return l.release(p, false) }

// ReleaseAll is Release that also deletes a fully released active segment of
// any size (rolling to a new, empty one): for a clean shutdown, so that a
// stopped collector leaves no log behind.
func (l *Log) ReleaseAll(p Pos) error { return l.release(p, true) }

func (l *Log) release(p Pos, all bool) error {
	l.mu.Lock()
	if l.filesShut {
		l.mu.Unlock()
		return ErrClosed
	}
	if a := l.active; a != nil && a.size > 0 && (all || a.size >= l.rollAtFree) && !p.Less(Pos{a.seq, a.size}) {
		if err := l.newSegmentLocked(); err != nil {
			l.mu.Unlock()
			return err
		}
	}
	var doomed []segment
	keep := l.sealed[:0:0]
	var freed int64
	for _, s := range l.sealed {
		if s.seq < p.Segment || (s.seq == p.Segment && p.Offset >= s.valid) {
			doomed = append(doomed, s)
			freed += s.size
		} else {
			keep = append(keep, s)
		}
	}
	l.sealed = keep
	l.size.Add(-freed)
	n := len(l.sealed)
	if l.active != nil {
		n++
	}
	l.segments.Store(int64(n))
	l.mu.Unlock()

	if len(doomed) == 0 {
		return nil
	}
	var errs []error
	for _, s := range doomed {
		if s.damaged {
			if err := l.keepDamaged(s.seq); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if err := os.Remove(l.segPath(s.seq)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("%w: remove segment %d: %w", ErrIO, s.seq, err))
			continue
		}
		l.removed.Add(1)
	}
	if err := l.syncDir(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// keepDamaged moves a released segment that holds damaged records into DamagedDir, for
// the operator to look at, instead of deleting it. It no longer counts as live.
func (l *Log) keepDamaged(seq uint64) error {
	dst := filepath.Join(l.dir, DamagedDir)
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return fmt.Errorf("%w: cannot create %q: %w", ErrIO, dst, err)
	}
	if err := os.Rename(l.segPath(seq), filepath.Join(dst, segName(seq))); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: cannot move damaged segment %d to %q: %w", ErrIO, seq, dst, err)
	}
	if l.opt.Logger != nil {
		l.opt.Logger.Error("wal: kept a segment with damaged records instead of deleting it",
			"segment", seq, "path", filepath.Join(dst, segName(seq)))
	}
	if l.opt.NoSync {
		return nil
	}
	d, err := os.Open(dst)
	if err != nil {
		return fmt.Errorf("%w: open dir: %w", ErrIO, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("%w: sync dir: %w", ErrIO, err)
	}
	return nil
}

// Size returns the bytes in live segments (for metrics and backpressure).
func (l *Log) Size() int64 { return l.size.Load() }

// Stats returns the cumulative counters.
func (l *Log) Stats() Stats {
	return Stats{
		Appends:      l.appends.Load(),
		Records:      l.records.Load(),
		Bytes:        l.bytes.Load(),
		WrittenBytes: l.written.Load(),
		Groups:       l.groups.Load(),
		Fsyncs:       l.fsyncs.Load(),
		DirSyncs:     l.dirSyncs.Load(),
		FsyncTotal:   time.Duration(l.fsyncTotal.Load()),
		FsyncLast:    time.Duration(l.fsyncLast.Load()),
		IOErrors:     l.ioErrors.Load(),
		Full:         l.full.Load(),
		Rolls:        l.rolls.Load(),
		Removed:      l.removed.Load(),
		Segments:     int(l.segments.Load()),
		Size:         l.size.Load(),
	}
}

// Close waits for the Appends already queued to complete, stops the writer goroutine and
// closes the files. Later Appends return ErrClosed. Close is idempotent.
func (l *Log) Close() error {
	l.closeMu.Lock()
	if l.closed {
		l.closeMu.Unlock()
		<-l.done
		return nil
	}
	l.closed = true
	close(l.reqs) // no sender is inside its send: they hold closeMu.RLock there
	l.closeMu.Unlock()
	<-l.done

	l.mu.Lock()
	err := l.closeFiles()
	l.mu.Unlock()
	unlockDir(l.lock)
	return err
}

func (l *Log) closeFiles() error {
	l.filesShut = true
	var err error
	if l.f != nil {
		if cerr := l.f.Close(); cerr != nil {
			err = fmt.Errorf("%w: close: %w", ErrIO, cerr)
		}
		l.f = nil
	}
	return err
}
