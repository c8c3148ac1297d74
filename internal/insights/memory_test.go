//go:build !race

package insights

import (
	"context"
	"fmt"
	"math"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/plan"
)

// TestReportsAtServeDefaults runs every report over the 10M events of
// BenchmarkReports (generated into a file under the temporary directory on
// the first run, about a minute on two cores, and reused) with the store at
// abacus serve's defaults, 64 MB and one thread (serveDefaults): each must
// answer, and in under reportLimit. The errors report ran out of memory
// there while its query counted distinct project IDs per grouping set; the
// reports took 1.6 to 3.5 s before they read the store's rollups.
//
// The machine is shared (two cores, other builds and tests running), so
// each report runs three times and its fastest run is held to the limit.
// When the machine is so busy that no run had a core to itself (the wall
// time of every run is over the limit while the process's CPU time is
// not), the fastest run's CPU time is held to it instead, and the test says
// so: with DuckDB's one thread, that is the time the report takes on a
// quiet machine. Not under the race detector (a tenth of the speed); make
// test-norace runs it:
//
//	go test -count=1 -run TestReportsAtServeDefaults -v ./internal/insights/
func TestReportsAtServeDefaults(t *testing.T) {
	const runs, reportLimit = 3, time.Second
	s := openBenchStore(t)
	defer s.Close()
	in := New(DuckDB(s.DB()), plan.Default())
	p := Params{From: benchEnd.AddDate(0, 0, -benchDays), To: benchEnd.AddDate(0, 0, -1), Feature: "releases"}
	for _, name := range Names {
		best, bestCPU := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
		times := make([]string, 0, runs)
		for range runs {
			start, cpu0 := time.Now(), processCPU(t)
			r, err := in.Run(context.Background(), name, p)
			took, cpu := time.Since(start), processCPU(t)-cpu0
			if err != nil {
				t.Fatalf("%s at %s and %d thread: %v", name, serveDefaults.MemoryLimit, serveDefaults.Threads, err)
			}
			if r.ActiveProjects < benchProjects/2 {
				t.Fatalf("%s: %d active projects, want most of the %d", name, r.ActiveProjects, benchProjects)
			}
			best, bestCPU = min(best, took), min(bestCPU, cpu)
			times = append(times, fmt.Sprintf("%v (CPU %v)", took.Round(time.Millisecond), cpu.Round(time.Millisecond)))
		}
		t.Logf("%s: best %v; runs %s", name, best.Round(time.Millisecond), strings.Join(times, ", "))
		switch {
		case best < reportLimit:
		case bestCPU < reportLimit:
			t.Logf("%s: every run over %v of wall time on a busy machine, but its fastest took %v of CPU time", name, reportLimit, bestCPU.Round(time.Millisecond))
		default:
			t.Errorf("%s took %v at best of %d runs at abacus serve's defaults (%v of CPU time), want under %v",
				name, best.Round(time.Millisecond), runs, bestCPU.Round(time.Millisecond), reportLimit)
		}
	}
}

// processCPU is the CPU time the process has used, user and system.
func processCPU(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
