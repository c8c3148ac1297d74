//go:build unix

package telemetry

// The child side of the hostile-environment suite (hostile_test.go): a
// separate process that drives the public API and reports what it saw.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// hostileResult is what a child reports, as one JSON line after "RESULT ".
type hostileResult struct {
	NewMs     float64  `json:"newMs"`
	CreateMs  float64  `json:"createMs"`
	CloseMs   float64  `json:"closeMs"`
	ID        string   `json:"id"`
	IDs       []string `json:"ids"`
	Err       string   `json:"err"`
	CloseErr  string   `json:"closeErr"`
	Status    Status   `json:"status"`
	PeakRSSMB float64  `json:"peakRssMB"`
	MaxHeapMB float64  `json:"maxHeapMB"`
}

// TestHostileChild is the child side: it does nothing unless the parent set
// ABACUS_HOSTILE.
func TestHostileChild(t *testing.T) {
	scenario := os.Getenv("ABACUS_HOSTILE")
	if scenario == "" {
		return
	}
	var res hostileResult
	dir, state, endpoint := os.Getenv("H_DIR"), os.Getenv("H_STATE"), os.Getenv("H_ENDPOINT")
	cfg := Config{Product: "strapi", Version: "1.0.0", Endpoint: endpoint, Dir: dir, StateDir: state}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	switch scenario {
	case "new": // New, Track n, Close; times and peak memory
		if os.Getenv("H_WARM") != "" {
			// Run New's code once on an empty StateDir, so that the time
			// measured below is the files', not the first page-in of the
			// test binary's code after the page cache was dropped.
			warm, _ := os.MkdirTemp("", "warm-")
			w := cfg
			w.StateDir = warm
			New(w)
			os.RemoveAll(warm)
		}
		start := time.Now()
		c, err := New(cfg)
		res.NewMs = ms(time.Since(start))
		if err != nil {
			res.Err = err.Error()
			break
		}
		n, _ := strconv.Atoi(os.Getenv("H_EVENTS"))
		for i := 0; i < n; i++ {
			c.Track("didStartServer", map[string]any{"i": i})
		}
		start = time.Now()
		if err := c.Close(context.Background()); err != nil {
			res.CloseErr = err.Error()
		}
		res.CloseMs = ms(time.Since(start))
		res.Status = c.Status()
	case "create": // CreateProject once
		start := time.Now()
		id, err := CreateProject(dir, "strapi")
		res.CreateMs = ms(time.Since(start))
		res.ID = id
		if err != nil {
			res.Err = err.Error()
		}
	case "create-rounds": // CreateProject on H_DIR/<round>, each round at its time slot
		t0, _ := strconv.ParseInt(os.Getenv("H_T0"), 10, 64)
		rounds, _ := strconv.Atoi(os.Getenv("H_ROUNDS"))
		for r := 0; r < rounds; r++ {
			time.Sleep(time.Until(time.Unix(0, t0).Add(time.Duration(r) * 60 * time.Millisecond)))
			id, err := CreateProject(filepath.Join(dir, strconv.Itoa(r)), "strapi")
			if err != nil {
				id = "error: " + err.Error()
			}
			res.IDs = append(res.IDs, id)
		}
	case "heap": // collector down, 3,000 events/s of 64 properties × 256 characters
		cfg.CloseBudget = 300 * time.Millisecond
		if d, err := time.ParseDuration(os.Getenv("H_BUDGET")); err == nil {
			cfg.CloseBudget = d
		}
		c, err := New(cfg)
		if err != nil {
			res.Err = err.Error()
			break
		}
		secs, _ := strconv.ParseFloat(os.Getenv("H_SECONDS"), 64)
		// 100 distinct maps of 64 distinct 256-character strings, used in turn:
		// building fresh ones for every event would cost more CPU than a busy
		// machine has, and what the SDK holds is its own encoded copy either way.
		pool := make([]map[string]any, 100)
		for i := range pool {
			pool[i] = make(map[string]any, 64)
			for p := 0; p < 64; p++ {
				pool[i]["p"+strconv.Itoa(p)] = strings.Repeat(string(rune('a'+(i+p)%26)), 253) + fmt.Sprintf("%03d", i)
			}
		}
		var maxHeap uint64
		stop := time.Now().Add(time.Duration(secs * float64(time.Second)))
		tick := time.NewTicker(time.Millisecond)
		begin := time.Now()
		i := 0
		nextSample := time.Now()
		for time.Now().Before(stop) {
			<-tick.C
			// 3 events a millisecond; after a late tick, catch up.
			for want := int(time.Since(begin) / time.Millisecond * 3); i < want; i++ {
				c.Track("big", pool[i%len(pool)])
			}
			if time.Now().After(nextSample) {
				runtime.GC()
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				maxHeap = max(maxHeap, m.HeapAlloc)
				nextSample = time.Now().Add(200 * time.Millisecond)
			}
		}
		tick.Stop()
		res.MaxHeapMB = float64(maxHeap) / (1 << 20)
		if err := c.Close(context.Background()); err != nil {
			res.CloseErr = err.Error()
		}
		res.Status = c.Status()
	default:
		t.Fatalf("unknown scenario %q", scenario)
	}
	res.PeakRSSMB = peakRSSMB()
	out, _ := json.Marshal(res)
	fmt.Printf("\nRESULT %s\n", out)
}

// peakRSSMB reads VmHWM, the process's peak resident set.
func peakRSSMB() float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
