package duckdb

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/store"
	"github.com/abacushq/abacus/internal/store/storetest"
)

// The benchmarks measure what the collector cares about, on the synthetic
// population of storetest.Generator (2000 projects, 5000 machines):
//
//	go test -run '^$' -bench . -benchtime 1x ./internal/store/duckdb
//
// BenchmarkGrowth inserts 1M events (ABACUS_BENCH_EVENTS=3000000 for more)
// and takes about a minute; -short skips it.

const batchSize = 10000

func openBench(b *testing.B, path string) *Store {
	b.Helper()
	s, err := Open(path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkInsert times one Insert into a store of about 100k events, for
// batches of new events of several sizes and for a 10k batch stored before
// (a write-ahead-log replay: all duplicates).
func BenchmarkInsert(b *testing.B) {
	ctx := context.Background()
	s := openBench(b, filepath.Join(b.TempDir(), "events.db"))
	defer s.Close()
	g := storetest.NewGenerator(1, storetest.Population{})
	var last []store.Event
	for range 10 {
		last = g.Batch(batchSize)
		if _, err := s.Insert(ctx, last); err != nil {
			b.Fatal(err)
		}
	}
	for _, size := range []int{100, 1000, batchSize} {
		b.Run(fmt.Sprintf("new=%d", size), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				evs := g.Batch(size)
				b.StartTimer()
				if n, err := s.Insert(ctx, evs); err != nil || n != size {
					b.Fatalf("Insert = %d, %v", n, err)
				}
			}
			b.ReportMetric(ms(b.Elapsed())/float64(b.N), "ms/insert")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*size), "µs/event")
		})
	}
	b.Run(fmt.Sprintf("replayed=%d", batchSize), func(b *testing.B) {
		for b.Loop() {
			if n, err := s.Insert(ctx, last); err != nil || n != 0 {
				b.Fatalf("Insert = %d, %v", n, err)
			}
		}
		b.ReportMetric(ms(b.Elapsed())/float64(b.N), "ms/insert")
	})
}

// BenchmarkGrowth inserts 1M events in 10k batches and reports the insert
// latency as the table grows, the bytes per event on disk after CHECKPOINT,
// and the cost of opening and reading the 1M-event file.
func BenchmarkGrowth(b *testing.B) {
	if testing.Short() {
		b.Skip("inserts 1M events")
	}
	total := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("ABACUS_BENCH_EVENTS")); err == nil && v >= 200_000 {
		total = v / batchSize * batchSize
	}
	ctx := context.Background()
	for b.Loop() {
		path := filepath.Join(b.TempDir(), "events.db")
		s := openBench(b, path)
		g := storetest.NewGenerator(1, storetest.Population{})
		lat := make([]time.Duration, 0, total/batchSize)
		var firstID string
		for len(lat) < total/batchSize {
			evs := g.Batch(batchSize)
			if firstID == "" {
				firstID = evs[0].ProjectID
			}
			t0 := time.Now()
			n, err := s.Insert(ctx, evs)
			lat = append(lat, time.Since(t0))
			if err != nil || n != batchSize {
				b.Fatalf("Insert = %d, %v", n, err)
			}
		}
		// The mean of the ten batches around a table of 100k events, of the
		// ten that took it to 1M (and to the total), and the worst batch
		// (an automatic checkpoint).
		mean := func(ds []time.Duration) float64 {
			var sum time.Duration
			for _, d := range ds {
				sum += d
			}
			return ms(sum) / float64(len(ds))
		}
		b.ReportMetric(mean(lat[5:15]), "ms/insert@100k")
		b.ReportMetric(mean(lat[90:100]), "ms/insert@1M")
		if total > 1_000_000 {
			b.ReportMetric(mean(lat[len(lat)-10:]), fmt.Sprintf("ms/insert@%dk", total/1000))
		}
		sorted := slices.Sorted(slices.Values(lat))
		b.ReportMetric(ms(sorted[len(sorted)/2]), "ms/insert-p50")
		b.ReportMetric(ms(sorted[len(sorted)*99/100]), "ms/insert-p99")
		b.ReportMetric(ms(sorted[len(sorted)-1]), "ms/insert-max")

		t0 := time.Now()
		if err := s.Checkpoint(ctx); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(ms(time.Since(t0)), "ms/checkpoint")
		st, err := s.Stats(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if st.Events != int64(total) {
			b.Fatalf("Stats().Events = %d, want %d", st.Events, total)
		}
		b.ReportMetric(float64(st.Bytes)/float64(st.Events), "B/event")
		var mem int64
		if err := s.DB().QueryRow(`SELECT sum(memory_usage_bytes) FROM duckdb_memory()`).Scan(&mem); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(mem)/(1<<20), "MiB-duckdb-memory")

		// Replaying the last batch: every event a duplicate.
		last := g.Batch(batchSize)
		if _, err := s.Insert(ctx, last); err != nil {
			b.Fatal(err)
		}
		t0 = time.Now()
		if n, err := s.Insert(ctx, last); err != nil || n != 0 {
			b.Fatalf("replay = %d, %v", n, err)
		}
		b.ReportMetric(ms(time.Since(t0)), "ms/replay10k@end")

		// Existing for an ingest request of 1000 recent IDs.
		ids := make([]string, 1000)
		for i := range ids {
			ids[i] = last[i].ID
		}
		t0 = time.Now()
		if _, err := s.Existing(ctx, ids); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(ms(time.Since(t0)), "ms/existing1000@end")

		t0 = time.Now()
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(ms(time.Since(t0)), "ms/close@end")
		t0 = time.Now()
		s = openBench(b, path)
		b.ReportMetric(ms(time.Since(t0)), "ms/open@end")

		t0 = time.Now()
		n := 0
		err = s.Export(ctx, time.Time{}, time.Now().AddDate(10, 0, 0), func(*store.Event) error { n++; return nil })
		if err != nil || n != total+batchSize {
			b.Fatalf("Export = %d events, %v", n, err)
		}
		b.ReportMetric(ms(time.Since(t0)), "ms/export-all@end")

		t0 = time.Now()
		if _, err := s.DeleteProject(ctx, firstID); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(ms(time.Since(t0)), "ms/delete-project@end")
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
