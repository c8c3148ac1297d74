//go:build !race

package insights

import (
	"context"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/plan"
)

// TestReportsAtServeDefaults runs every report over the 10M events of
// BenchmarkReports (generated into a file under the temporary directory on
// the first run, about a minute on two cores, and reused) with the store at
// abacus serve's defaults, 64 MB and one thread (serveDefaults): each must
// answer. The errors report ran out of memory there while its query
// counted distinct project IDs per grouping set. Not under the race
// detector (a tenth of the speed); make test-norace runs it:
//
//	go test -count=1 -run TestReportsAtServeDefaults -v ./internal/insights/
func TestReportsAtServeDefaults(t *testing.T) {
	s := openBenchStore(t)
	defer s.Close()
	in := New(DuckDB(s.DB()), plan.Default())
	p := Params{From: benchEnd.AddDate(0, 0, -benchDays), To: benchEnd.AddDate(0, 0, -1), Feature: "releases"}
	for _, name := range Names {
		start := time.Now()
		r, err := in.Run(context.Background(), name, p)
		if err != nil {
			t.Errorf("%s at %s and %d thread: %v", name, serveDefaults.MemoryLimit, serveDefaults.Threads, err)
			continue
		}
		if r.ActiveProjects < benchProjects/2 {
			t.Errorf("%s: %d active projects, want most of the %d", name, r.ActiveProjects, benchProjects)
		}
		t.Logf("%s: %v", name, time.Since(start).Round(time.Millisecond))
	}
}
