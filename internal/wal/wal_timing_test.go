package wal

import (
	"bytes"
	"context"
	"runtime"
	"testing"
)

// Benchmarks of Append with 1 KiB records: sequential (one caller: one fsync per Append)
// against 16 parallel callers (group commit shares each fsync). The NoSync variants are
// the floor (framing, copying, the writer hand-off) without the disk.
//
//	go test -run '^$' -bench Append -benchtime 3s ./internal/wal/
//
// Each reports fsyncs/op (fsyncs per Append) and appends/fsync.

const benchRecord = 1 << 10

func benchAppend(b *testing.B, parallel int, noSync bool) {
	l, err := Open(b.TempDir(), Options{NoSync: noSync, MaxBytes: 1 << 40})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	rec := make([]byte, benchRecord)
	for i := range rec {
		rec[i] = byte(i)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(benchRecord)
	before := l.Stats()
	b.ResetTimer()
	if parallel <= 1 {
		for b.Loop() {
			if _, err := l.Append(ctx, rec); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		procs := runtime.GOMAXPROCS(0)
		b.SetParallelism((parallel + procs - 1) / procs) // goroutines = parallelism * GOMAXPROCS
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := l.Append(ctx, rec); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.StopTimer()
	st := l.Stats()
	appends := float64(st.Appends - before.Appends)
	if appends > 0 {
		b.ReportMetric(float64(st.Fsyncs-before.Fsyncs)/appends, "fsyncs/op")
		if g := float64(st.Groups - before.Groups); g > 0 {
			b.ReportMetric(appends/g, "appends/group")
		}
		b.ReportMetric(appends/b.Elapsed().Seconds(), "appends/s")
	}
}

func BenchmarkAppendSequential(b *testing.B)       { benchAppend(b, 1, false) }
func BenchmarkAppendParallel16(b *testing.B)       { benchAppend(b, 16, false) }
func BenchmarkAppendParallel64(b *testing.B)       { benchAppend(b, 64, false) }
func BenchmarkAppendSequentialNoSync(b *testing.B) { benchAppend(b, 1, true) }
func BenchmarkAppendParallel16NoSync(b *testing.B) { benchAppend(b, 16, true) }

// BenchmarkReplay replays a segment of 20,000 records of 1 KiB: the start-up
// cost of a log the store fell behind on.
func BenchmarkReplay(b *testing.B) {
	dir := b.TempDir()
	l, err := Open(dir, Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	rec := bytes.Repeat([]byte("r"), 1024)
	for range 20000 {
		if _, err := l.Append(context.Background(), rec); err != nil {
			b.Fatal(err)
		}
	}
	l.Close()
	b.SetBytes(20000 * encodedSize(len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		l, err := Open(dir, Options{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		if _, err := l.Replay(func([]byte, Pos) error { n++; return nil }); err != nil || n != 20000 {
			b.Fatalf("replayed %d, %v", n, err)
		}
		l.Close()
	}
}
