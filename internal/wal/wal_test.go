package wal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

type replayed struct {
	rec []byte
	end Pos
}

func open(t testing.TB, dir string, opt Options) *Log {
	t.Helper()
	l, err := Open(dir, opt)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func replayAll(t testing.TB, l *Log) ([]replayed, ReplayStats) {
	t.Helper()
	var out []replayed
	st, err := l.Replay(func(rec []byte, end Pos) error {
		out = append(out, replayed{rec, end})
		return nil
	})
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	return out, st
}

// reopen closes l and opens dir again, replaying everything.
func reopen(t testing.TB, l *Log, dir string, opt Options) (*Log, []replayed, ReplayStats) {
	t.Helper()
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	l2 := open(t, dir, opt)
	recs, st := replayAll(t, l2)
	return l2, recs, st
}

func segFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segExt))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m)
	return m
}

func payload(i int) []byte {
	return fmt.Appendf(nil, "record-%06d-%s", i, bytes.Repeat([]byte{byte('a' + i%26)}, i%97))
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{})
	ctx := context.Background()
	var want []replayed
	for i := range 100 {
		recs := [][]byte{payload(i)}
		if i%10 == 0 {
			recs = append(recs, payload(1000+i), []byte{}) // several per Append, and an empty one
		}
		p, err := l.Append(ctx, recs...)
		if err != nil {
			t.Fatal(err)
		}
		for j, r := range recs {
			want = append(want, replayed{r, Pos{}})
			if j == len(recs)-1 {
				want[len(want)-1].end = p
			}
		}
	}
	if got := l.Stats(); got.Appends != 100 || got.Records != int64(len(want)) {
		t.Fatalf("stats %+v, want 100 appends, %d records", got, len(want))
	}
	size := l.Size()
	l2, got, st := reopen(t, l, dir, Options{})
	if len(got) != len(want) {
		t.Fatalf("replayed %d records, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i].rec, want[i].rec) {
			t.Fatalf("record %d = %q, want %q", i, got[i].rec, want[i].rec)
		}
		if want[i].end != (Pos{}) && got[i].end != want[i].end {
			t.Fatalf("record %d end %v, want %v", i, got[i].end, want[i].end)
		}
		if i > 0 && !got[i-1].end.Less(got[i].end) {
			t.Fatalf("positions not increasing: %v then %v", got[i-1].end, got[i].end)
		}
	}
	if st.SkippedBytes != 0 || len(st.Tails) != 0 || st.Records != int64(len(want)) {
		t.Fatalf("replay stats %+v", st)
	}
	if l2.Size() != size {
		t.Fatalf("size after reopen %d, want %d", l2.Size(), size)
	}
	// New appends go to a new segment, after the replayed ones.
	p, err := l2.Append(ctx, []byte("after"))
	if err != nil {
		t.Fatal(err)
	}
	if !st.Last.Less(p) {
		t.Fatalf("append after reopen at %v, not after %v", p, st.Last)
	}
}

func TestEmptyAppendIsBarrier(t *testing.T) {
	l := open(t, t.TempDir(), Options{})
	ctx := context.Background()
	p1, err := l.Append(ctx, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	p2, err := l.Append(ctx)
	if err != nil || p2 != p1 {
		t.Fatalf("empty Append = %v, %v; want %v", p2, err, p1)
	}
}

func TestPosLess(t *testing.T) {
	cases := []struct {
		a, b Pos
		want bool
	}{
		{Pos{1, 5}, Pos{1, 6}, true},
		{Pos{1, 6}, Pos{1, 5}, false},
		{Pos{1, 100}, Pos{2, 0}, true},
		{Pos{2, 0}, Pos{1, 100}, false},
		{Pos{3, 3}, Pos{3, 3}, false},
	}
	for _, c := range cases {
		if got := c.a.Less(c.b); got != c.want {
			t.Errorf("%v.Less(%v) = %v", c.a, c.b, got)
		}
	}
}

func TestGroupCommit(t *testing.T) {
	const goroutines, perG = 64, 200
	dir := t.TempDir()
	l := open(t, dir, Options{})
	ctx := context.Background()
	var wg sync.WaitGroup
	errc := make(chan error, goroutines)
	ends := make([][]Pos, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				p, err := l.Append(ctx, fmt.Appendf(nil, "g%02d-i%03d", g, i))
				if err != nil {
					errc <- err
					return
				}
				ends[g] = append(ends[g], p)
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	st := l.Stats()
	const appends = goroutines * perG
	t.Logf("appends=%d groups=%d fsyncs=%d (%.3f fsyncs/append) fsync avg=%v",
		st.Appends, st.Groups, st.Fsyncs, float64(st.Fsyncs)/float64(st.Appends), st.FsyncTotal/max(1, time.Duration(st.Fsyncs)))
	if st.Appends != appends {
		t.Fatalf("Appends = %d, want %d", st.Appends, appends)
	}
	if st.Fsyncs >= appends/4 {
		t.Fatalf("fsyncs = %d for %d appends: group commit is not grouping", st.Fsyncs, appends)
	}
	if st.Groups != st.Fsyncs {
		t.Fatalf("groups %d != fsyncs %d", st.Groups, st.Fsyncs)
	}
	_, got, _ := reopen(t, l, dir, Options{})
	seen := map[string]Pos{}
	for _, r := range got {
		if _, dup := seen[string(r.rec)]; dup {
			t.Fatalf("record %q replayed twice", r.rec)
		}
		seen[string(r.rec)] = r.end
	}
	if len(seen) != appends {
		t.Fatalf("replayed %d distinct records, want %d", len(seen), appends)
	}
	for g := range goroutines {
		for i := range perG {
			end, ok := seen[fmt.Sprintf("g%02d-i%03d", g, i)]
			if !ok {
				t.Fatalf("g%d i%d missing", g, i)
			}
			if end != ends[g][i] {
				t.Fatalf("g%d i%d replayed at %v, Append returned %v", g, i, end, ends[g][i])
			}
		}
	}
}

// writeRecords appends n records to a fresh log in dir and returns them and the byte offset
// where the last one starts in the (only) data segment.
func writeRecords(t *testing.T, dir string, n int) (recs [][]byte, lastStart int64, seg string) {
	t.Helper()
	l := open(t, dir, Options{})
	var prev Pos
	for i := range n {
		r := payload(i)
		p, err := l.Append(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
		if i == n-1 {
			lastStart = prev.Offset
		}
		prev = p
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	files := segFiles(t, dir)
	if len(files) != 1 {
		t.Fatalf("want one segment, have %v", files)
	}
	return recs, lastStart, files[0]
}

func TestTornTail(t *testing.T) {
	src := t.TempDir()
	recs, lastStart, seg := writeRecords(t, src, 20)
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(data)) != lastStart+encodedSize(len(recs[19])) {
		t.Fatalf("segment is %d bytes, want %d", len(data), lastStart+encodedSize(len(recs[19])))
	}
	for cut := lastStart; cut < int64(len(data)); cut++ {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(seg)), data[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		l := open(t, dir, Options{NoSync: true})
		got, st := replayAll(t, l)
		if len(got) != 19 {
			t.Fatalf("cut at %d: replayed %d records, want 19", cut, len(got))
		}
		for i := range got {
			if !bytes.Equal(got[i].rec, recs[i]) {
				t.Fatalf("cut at %d: record %d differs", cut, i)
			}
		}
		wantSkip := cut - lastStart
		if st.SkippedBytes != wantSkip {
			t.Fatalf("cut at %d: skipped %d bytes, want %d", cut, st.SkippedBytes, wantSkip)
		}
		if wantSkip > 0 && (len(st.Tails) != 1 || st.Tails[0].Offset != lastStart) {
			t.Fatalf("cut at %d: tails %+v", cut, st.Tails)
		}
		// The log is usable after a torn tail: new records land after all the old ones.
		if _, err := l.Append(context.Background(), []byte("new")); err != nil {
			t.Fatal(err)
		}
		l.Close()
		l2 := open(t, dir, Options{NoSync: true})
		got2, _ := replayAll(t, l2)
		if len(got2) != 20 || string(got2[19].rec) != "new" {
			t.Fatalf("cut at %d: after append+reopen got %d records", cut, len(got2))
		}
		l2.Close()
	}
}

func TestCorruptByte(t *testing.T) {
	src := t.TempDir()
	recs, lastStart, seg := writeRecords(t, src, 10)
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		at     int64
		want   int // records replayed
		reason string
	}{
		{"last payload", lastStart + headerSize + int64(len(recs[9]))/2, 9, "crc"},
		{"last crc", lastStart + 9, 9, "crc"},
		{"last length", lastStart + 5, 9, "length"},
		{"last magic", lastStart, 9, "magic"},
		{"last version", lastStart + 2, 9, "version"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad := bytes.Clone(data)
			bad[c.at] ^= 0x40
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(seg)), bad, 0o600); err != nil {
				t.Fatal(err)
			}
			l := open(t, dir, Options{NoSync: true})
			got, st := replayAll(t, l)
			if len(got) != c.want {
				t.Fatalf("replayed %d records, want %d", len(got), c.want)
			}
			for i := range got {
				if !bytes.Equal(got[i].rec, recs[i]) {
					t.Fatalf("record %d differs", i)
				}
			}
			if len(st.Tails) != 1 || !bytes.Contains([]byte(st.Tails[0].Reason), []byte(c.reason)) {
				t.Fatalf("tails %+v, want reason %q", st.Tails, c.reason)
			}
		})
	}
}

// Damage in the middle of a segment skips only the damaged record: Replay resynchronises
// on the next valid frame, so the acknowledged records after it are not lost. Each of 20
// records in turn gets a flipped byte (in its magic, version, length, CRC or payload), a
// zeroed header, or loses bytes from its middle; every other record must replay, in order,
// at its own position. Damage before the last record is reported as Damaged and the
// segment is moved to damaged/ on Release; damage to the last record is a torn tail.
func TestDamageResync(t *testing.T) {
	const n = 20
	src := t.TempDir()
	recs, _, seg := writeRecords(t, src, n)
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	starts := make([]int64, n+1)
	for i, r := range recs {
		starts[i+1] = starts[i] + encodedSize(len(r))
	}
	if starts[n] != int64(len(data)) {
		t.Fatalf("segment is %d bytes, records take %d", len(data), starts[n])
	}
	flip := func(at int64) func([]byte, int64) []byte {
		return func(b []byte, start int64) []byte { b[start+at] ^= 0x5a; return b }
	}
	mutations := []struct {
		name   string
		mutate func(b []byte, start int64) []byte // b is a copy of the segment; start is the record's offset
		reason string
	}{
		{"magic", flip(0), "magic"},
		{"version", flip(2), "version"},
		{"length", flip(5), "length"},
		{"length low byte", flip(4), ""},
		{"crc", flip(9), "crc"},
		{"payload", flip(headerSize + 3), "crc"},
		{"zeroed header", func(b []byte, start int64) []byte { clear(b[start : start+headerSize]); return b }, "magic"},
		{"bytes cut out", func(b []byte, start int64) []byte {
			return append(b[:start+headerSize+2], b[start+headerSize+6:]...)
		}, ""},
	}
	for _, m := range mutations {
		for bad := range n {
			t.Run(fmt.Sprintf("%s/record %d", m.name, bad), func(t *testing.T) {
				file := m.mutate(bytes.Clone(data), starts[bad])
				dir := t.TempDir()
				if err := os.WriteFile(filepath.Join(dir, filepath.Base(seg)), file, 0o600); err != nil {
					t.Fatal(err)
				}
				l := open(t, dir, Options{NoSync: true})
				got, st := replayAll(t, l)
				if len(got) != n-1 {
					t.Fatalf("replayed %d records, want %d (all but record %d); stats %+v", len(got), n-1, bad, st)
				}
				shift := int64(len(file) - len(data)) // bytes cut out of record bad
				for j, r := range got {
					i := j
					if j >= bad {
						i = j + 1
					}
					want := Pos{1, starts[i+1]}
					if i > bad {
						want.Offset += shift
					}
					if !bytes.Equal(r.rec, recs[i]) || r.end != want {
						t.Fatalf("replayed record %d at %v = %q, want record %d at %v", j, r.end, r.rec, i, want)
					}
				}
				badBytes := starts[bad+1] - starts[bad] + shift
				if bad == n-1 {
					if len(st.Damaged) != 0 || len(st.Tails) != 1 || st.Tails[0].Offset != starts[bad] || st.SkippedBytes != badBytes {
						t.Fatalf("damaged last record: want one tail at %d of %d bytes, got %+v", starts[bad], badBytes, st)
					}
				} else {
					if len(st.Tails) != 0 || len(st.Damaged) != 1 || st.SkippedBytes != badBytes {
						t.Fatalf("want one damaged run of %d bytes, got %+v", badBytes, st)
					}
					d := st.Damaged[0]
					if d.Segment != 1 || d.Offset != starts[bad] || d.Skipped != badBytes || d.Records != 1 || !strings.Contains(d.Reason, m.reason) {
						t.Fatalf("damage %+v, want segment 1 offset %d, %d bytes, reason with %q", d, starts[bad], badBytes, m.reason)
					}
				}
				// Release keeps a damaged segment aside and deletes a torn one.
				if err := l.Release(st.Last); err != nil {
					t.Fatal(err)
				}
				kept, _ := filepath.Glob(filepath.Join(dir, DamagedDir, "*"+segExt))
				if _, err := os.Stat(filepath.Join(dir, filepath.Base(seg))); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("released segment still live: %v", err)
				}
				if wantKept := bad < n-1; (len(kept) == 1) != wantKept {
					t.Fatalf("kept aside %v, want a kept segment: %v", kept, wantKept)
				}
				if bad < n-1 {
					b, err := os.ReadFile(kept[0])
					if err != nil || !bytes.Equal(b, file) {
						t.Fatalf("the kept segment differs from the damaged one (%v)", err)
					}
				}
			})
		}
	}
}

// Damage runs that stretch over several records, and several runs in one segment, are
// each skipped, and the records between and after them replay; each run counts the
// records it held.
func TestDamageSeveralRuns(t *testing.T) {
	src := t.TempDir()
	recs, _, seg := writeRecords(t, src, 20)
	data, _ := os.ReadFile(seg)
	starts := []int64{0}
	for _, r := range recs {
		starts = append(starts, starts[len(starts)-1]+encodedSize(len(r)))
	}
	bad := bytes.Clone(data)
	for _, i := range []int{2, 3, 4, 10, 17} { // runs: 2-4, 10, 17
		bad[starts[i]+headerSize] ^= 1
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, filepath.Base(seg)), bad, 0o600)
	l := open(t, dir, Options{NoSync: true})
	got, st := replayAll(t, l)
	var want []string
	for i, r := range recs {
		if !slices.Contains([]int{2, 3, 4, 10, 17}, i) {
			want = append(want, string(r))
		}
	}
	var have []string
	for _, r := range got {
		have = append(have, string(r.rec))
	}
	if !slices.Equal(have, want) {
		t.Fatalf("replayed %d records %q, want %q", len(have), have, want)
	}
	var runs []int
	for _, d := range st.Damaged {
		runs = append(runs, d.Records)
	}
	if !slices.Equal(runs, []int{3, 1, 1}) || len(st.Tails) != 0 {
		t.Fatalf("damage %+v tails %+v: want runs of 3, 1 and 1 records", st.Damaged, st.Tails)
	}
}

func TestSegmentRollAndRelease(t *testing.T) {
	dir := t.TempDir()
	opt := Options{SegmentBytes: 4096}
	l := open(t, dir, opt)
	ctx := context.Background()
	rec := bytes.Repeat([]byte("x"), 500) // 512 bytes framed: 8 per segment
	var ends []Pos
	for range 40 {
		p, err := l.Append(ctx, rec)
		if err != nil {
			t.Fatal(err)
		}
		ends = append(ends, p)
	}
	files := segFiles(t, dir)
	if len(files) != 5 {
		t.Fatalf("%d segments, want 5: %v", len(files), files)
	}
	for _, f := range files {
		fi, _ := os.Stat(f)
		if fi.Size() > 4096 {
			t.Fatalf("%s is %d bytes > SegmentBytes", f, fi.Size())
		}
	}
	if ends[8].Segment != ends[7].Segment+1 || ends[8].Offset != 512 {
		t.Fatalf("roll: record 7 ends %v, record 8 ends %v", ends[7], ends[8])
	}
	if got := l.Size(); got != 40*512 {
		t.Fatalf("Size = %d, want %d", got, 40*512)
	}
	if st := l.Stats(); st.Segments != 5 {
		t.Fatalf("Stats.Segments = %d", st.Segments)
	}

	// Releasing inside segment 2 deletes only segment 1.
	if err := l.Release(ends[10]); err != nil {
		t.Fatal(err)
	}
	if files := segFiles(t, dir); len(files) != 4 || filepath.Base(files[0]) != segName(ends[8].Segment) {
		t.Fatalf("after Release(%v): %v", ends[10], files)
	}
	// Releasing exactly at the end of segment 2 deletes it too.
	if err := l.Release(ends[15]); err != nil {
		t.Fatal(err)
	}
	if files := segFiles(t, dir); len(files) != 3 {
		t.Fatalf("after Release(%v): %v", ends[15], files)
	}
	if got := l.Size(); got != 24*512 {
		t.Fatalf("Size = %d, want %d", got, 24*512)
	}
	// Releasing everything rolls the (big enough) active segment and deletes all the rest.
	if err := l.Release(ends[39]); err != nil {
		t.Fatal(err)
	}
	files = segFiles(t, dir)
	if len(files) != 1 || l.Size() != 0 {
		t.Fatalf("after releasing all: %v, size %d", files, l.Size())
	}
	p, err := l.Append(ctx, []byte("fresh"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Segment <= ends[39].Segment {
		t.Fatalf("append after full release at %v", p)
	}
	// Replay after reopen sees only what was not released.
	_, got, _ := reopen(t, l, dir, opt)
	if len(got) != 1 || string(got[0].rec) != "fresh" {
		t.Fatalf("replay after release: %d records", len(got))
	}
}

func TestReleaseSmallActiveKept(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{SegmentBytes: 1 << 20})
	p, err := l.Append(context.Background(), []byte("tiny"))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Release(p); err != nil {
		t.Fatal(err)
	}
	if files := segFiles(t, dir); len(files) != 1 || l.Size() != encodedSize(4) {
		t.Fatalf("small active segment should be kept: %v size %d", files, l.Size())
	}
}

func TestReleaseAfterReplayOfTornSegment(t *testing.T) {
	// A sealed segment with a torn tail is deleted by a Release at its last valid record.
	src := t.TempDir()
	_, lastStart, seg := writeRecords(t, src, 5)
	data, _ := os.ReadFile(seg)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, filepath.Base(seg)), data[:lastStart+3], 0o600)
	l := open(t, dir, Options{})
	_, st := replayAll(t, l)
	if err := l.Release(st.Last); err != nil {
		t.Fatal(err)
	}
	if files := segFiles(t, dir); len(files) != 1 || l.Size() != 0 {
		t.Fatalf("after release: %v size %d", files, l.Size())
	}
}

func TestFull(t *testing.T) {
	dir := t.TempDir()
	opt := Options{SegmentBytes: 4096, MaxBytes: 16384}
	l := open(t, dir, opt)
	ctx := context.Background()
	rec := bytes.Repeat([]byte("y"), 500)
	var last Pos
	n := 0
	for ; ; n++ {
		p, err := l.Append(ctx, rec)
		if errors.Is(err, ErrFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		last = p
		if n > 100 {
			t.Fatal("never full")
		}
	}
	if n != 32 || l.Size() != 16384 {
		t.Fatalf("full after %d appends, size %d", n, l.Size())
	}
	if l.Stats().Full == 0 {
		t.Fatal("Stats.Full not counted")
	}
	// Concurrent appends past the limit all get ErrFull, none hang.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := l.Append(ctx, rec); !errors.Is(err, ErrFull) {
				t.Errorf("want ErrFull, got %v", err)
			}
		})
	}
	wg.Wait()
	// Release frees space and appends work again.
	if err := l.Release(last); err != nil {
		t.Fatal(err)
	}
	if l.Size() != 0 {
		t.Fatalf("size after release %d", l.Size())
	}
	for range 10 {
		if _, err := l.Append(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	// An append that could never fit is refused too.
	if _, err := l.Append(ctx, make([]byte, 20000)); !errors.Is(err, ErrFull) {
		t.Fatalf("oversized append: %v", err)
	}
}

func TestTooLarge(t *testing.T) {
	l := open(t, t.TempDir(), Options{MaxBytes: 64 << 20})
	ctx := context.Background()
	if _, err := l.Append(ctx, make([]byte, MaxRecordBytes+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
	big := bytes.Repeat([]byte{7}, MaxRecordBytes)
	if _, err := l.Append(ctx, big); err != nil {
		t.Fatalf("max-size record: %v", err)
	}
}

func TestClose(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{})
	ctx := context.Background()
	// Appends racing with Close either succeed (and are durable) or get ErrClosed.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var acked []string
	for g := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("%d-%d", g, i)
				_, err := l.Append(ctx, []byte(id))
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
			}
		})
	}
	for l.Stats().Appends < 200 {
		runtime.Gosched()
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if _, err := l.Append(ctx, []byte("late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
	if _, err := l.Replay(func([]byte, Pos) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Replay after Close: %v", err)
	}
	if err := l.Release(Pos{9, 9}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Release after Close: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	l2 := open(t, dir, Options{})
	got, _ := replayAll(t, l2)
	have := map[string]bool{}
	for _, r := range got {
		have[string(r.rec)] = true
	}
	for _, id := range acked {
		if !have[id] {
			t.Fatalf("acknowledged %s not replayed", id)
		}
	}
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{})
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	l.Close()
	l2, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	l2.Close()
}

func TestContextWhileQueued(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l := open(t, t.TempDir(), Options{})
	if _, err := l.Append(ctx, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

func TestReplayFnError(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{})
	for i := range 5 {
		l.Append(context.Background(), payload(i))
	}
	l.Close()
	l2 := open(t, dir, Options{})
	stop := errors.New("stop")
	n := 0
	_, err := l2.Replay(func([]byte, Pos) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Fatalf("err %v after %d records", err, n)
	}
}

func TestReopenReusesEmptySegment(t *testing.T) {
	dir := t.TempDir()
	for range 5 {
		l := open(t, dir, Options{})
		l.Close()
	}
	if files := segFiles(t, dir); len(files) != 1 {
		t.Fatalf("reopening without appends created %v", files)
	}
}

func TestEndIsAtOrBeforeTheNextRecord(t *testing.T) {
	l, err := Open(t.TempDir(), Options{SegmentBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := range 50 {
		before := l.End()
		end, err := l.Append(context.Background(), make([]byte, 300))
		if err != nil {
			t.Fatal(err)
		}
		if end.Less(before) || end == before {
			t.Fatalf("append %d ended at %v, not after End() = %v", i, end, before)
		}
		if after := l.End(); after != end {
			t.Fatalf("End() after append %d = %v, want %v", i, after, end)
		}
	}
}

func TestReleaseAllLeavesAnEmptyLog(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	end, err := l.Append(context.Background(), []byte("one"), []byte("two"))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Release(end); err != nil || l.Size() == 0 {
		t.Fatalf("Release kept %d bytes, err %v: a small active segment stays", l.Size(), err)
	}
	if err := l.ReleaseAll(end); err != nil || l.Size() != 0 {
		t.Fatalf("ReleaseAll left %d bytes, err %v", l.Size(), err)
	}
	l.Close()
	l, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	st, err := l.Replay(func([]byte, Pos) error { t.Error("a released record replayed"); return nil })
	if err != nil || st.Records != 0 {
		t.Errorf("replay after ReleaseAll: %+v %v", st, err)
	}
}

// Roll starts a new segment when the active one holds data; releasing its
// position deletes every segment with records appended before it, and
// DeleteDamaged removes the segments kept in damaged/.
func TestRollReleasesEverythingBefore(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{})
	ctx := context.Background()
	for i := range 5 {
		if _, err := l.Append(ctx, payload(i)); err != nil {
			t.Fatal(err)
		}
	}
	p, err := l.Roll()
	if err != nil {
		t.Fatal(err)
	}
	if again, err := l.Roll(); err != nil || again != p {
		t.Fatalf("Roll of an empty segment: %v, %v; want %v again", again, err, p)
	}
	after, err := l.Append(ctx, []byte("after"))
	if err != nil || after.Segment != p.Segment {
		t.Fatalf("append after Roll at %v (%v), want segment %d", after, err, p.Segment)
	}
	if err := l.Release(p); err != nil {
		t.Fatal(err)
	}
	files := segFiles(t, dir)
	if len(files) != 1 || filepath.Base(files[0]) != segName(p.Segment) {
		t.Fatalf("segments after Release(%v): %v, want only the new one", p, files)
	}
	if b, _ := os.ReadFile(files[0]); bytes.Contains(b, payload(0)) || !bytes.Contains(b, []byte("after")) {
		t.Fatal("the new segment holds a record appended before Roll, or not the one after")
	}
	os.MkdirAll(filepath.Join(dir, DamagedDir), 0o700)
	os.WriteFile(filepath.Join(dir, DamagedDir, segName(1)), []byte("x"), 0o600)
	if n, err := l.DeleteDamaged(); err != nil || n != 1 {
		t.Fatalf("DeleteDamaged: %d, %v", n, err)
	}
	if left, _ := os.ReadDir(filepath.Join(dir, DamagedDir)); len(left) != 0 {
		t.Fatalf("damaged/ still holds %v", left)
	}
}
