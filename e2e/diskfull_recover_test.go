package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/abacushq/abacus/telemetry/wire"
)

// mountTmpfs mounts a tmpfs of size at a new directory. It needs root: under
// CI (which runs as root) a failure fails the test; elsewhere it skips.
func mountTmpfs(t testing.TB, size string) string {
	t.Helper()
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", mnt).CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("cannot mount a tmpfs under CI: %v %s", err, out)
		}
		t.Skipf("cannot mount a tmpfs (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })
	return mnt
}

// fill writes a file of zeros at path until the file system has about left
// bytes free.
func fill(t testing.TB, path string, left int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		free := freeBytes(t, filepath.Dir(path))
		if free <= left {
			return
		}
		n := min(int64(len(buf)), free-left)
		if _, err := f.Write(buf[:n]); err != nil {
			t.Fatalf("cannot fill the disk: %v", err)
		}
	}
}

func freeBytes(t testing.TB, dir string) int64 {
	var st syscallStatfs
	if err := statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// The whole data directory (store and log) on a small disk, under heavy
// ingest: the disk runs out, then 22 MB are freed. The collector must come
// back by itself — answer 202 again, store every event it acknowledged (none
// lost), and start again on the same disk.
func TestDiskFullThenFreedRecovers(t *testing.T) {
	r := diskFullThenFreed(t)
	t.Logf("%d events acknowledged, all stored and kept across a restart; first 202 %v after space was freed",
		r.acked, r.recovery.Round(time.Millisecond))
}

type diskFullResult struct {
	acked    int
	recovery time.Duration // from freeing space to the next 202
	peakRSS  int64
}

// diskFullThenFreed runs the scenario of TestDiskFullThenFreedRecovers and
// fails t unless every acknowledged event is stored, before and after a
// restart.
func diskFullThenFreed(t testing.TB) diskFullResult {
	mnt := mountTmpfs(t, "512m")
	data := filepath.Join(mnt, "data")
	filler := filepath.Join(mnt, "filler")
	fill(t, filler, 80<<20) // the floor: 64 MiB
	// The disk must fill within seconds: no race detector in the collector.
	srv := startServer(t, serveOpts{dir: data, bin: plainBinary(t)})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("collector's log (end):\n%s", tail(srv.logs(), 4000))
		}
	})

	var (
		mu       sync.Mutex
		acked    []string
		statuses = map[int]int{}
		last202  time.Time
	)
	ctx, stop := context.WithCancel(context.Background())
	var senders sync.WaitGroup
	client := &http.Client{Timeout: 30 * time.Second}
	for range 16 {
		senders.Go(func() {
			project := newUUID()
			for ctx.Err() == nil {
				body, ids := fastBatch(200, project, "didUseFeature", map[string]any{"feature": strings.Repeat("f", 60)})
				req, _ := http.NewRequest(http.MethodPost, srv.URL+wire.BatchPath, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					mu.Lock()
					statuses[-1]++
					mu.Unlock()
					time.Sleep(50 * time.Millisecond)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				statuses[resp.StatusCode]++
				if resp.StatusCode == http.StatusAccepted {
					acked = append(acked, ids...)
					last202 = time.Now()
				}
				mu.Unlock()
				if resp.StatusCode == http.StatusServiceUnavailable {
					if resp.Header.Get("Retry-After") == "" {
						t.Error("503 without Retry-After")
					}
					time.Sleep(100 * time.Millisecond) // a client backs off
				}
			}
		})
	}
	defer func() { stop(); senders.Wait() }()

	// Until the disk is full: no 202 for two seconds.
	deadline := time.Now().Add(90 * time.Second)
	for {
		time.Sleep(200 * time.Millisecond)
		mu.Lock()
		full := !last202.IsZero() && time.Since(last202) > 2*time.Second && statuses[http.StatusServiceUnavailable] > 0
		mu.Unlock()
		if full {
			break
		}
		if time.Now().After(deadline) {
			mu.Lock()
			msg := fmt.Sprint(statuses)
			mu.Unlock()
			t.Fatalf("the disk never filled in 90s: %s", msg)
		}
	}
	mu.Lock()
	t.Logf("disk full after %d acknowledged events (%d MiB free): %v", len(acked), freeBytes(t, mnt)>>20, statuses)
	freedAt := time.Now()
	mu.Unlock()
	// Free 22 MB.
	fi, _ := os.Stat(filler)
	if err := os.Truncate(filler, fi.Size()-22<<20); err != nil {
		t.Fatal(err)
	}
	// Heavy ingest goes on; the collector must answer 202 again by itself.
	var recovery time.Duration
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		back := last202.After(freedAt)
		recovery = last202.Sub(freedAt)
		mu.Unlock()
		if back {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("no 202 in 30s after space was freed")
		}
	}
	time.Sleep(5 * time.Second)
	stop()
	senders.Wait()
	mu.Lock()
	t.Logf("%d events acknowledged in all: %v; %d MiB free", len(acked), statuses, freeBytes(t, mnt)>>20)
	want := acked
	mu.Unlock()

	stored := func() (missing int) {
		seen := map[string]bool{}
		for _, e := range export(t, srv) {
			seen[e.ID] = true
		}
		for _, id := range want {
			if !seen[id] {
				missing++
			}
		}
		return missing
	}
	missing := -1
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(time.Second) {
		if missing = stored(); missing == 0 {
			break
		}
	}
	if missing != 0 {
		t.Fatalf("%d of %d acknowledged events not stored 60s after ingest stopped:\n%s", missing, len(want), tail(srv.logs(), 3000))
	}
	res := diskFullResult{acked: len(want), recovery: recovery, peakRSS: peakRSS(t, srv)}
	// And it starts again on the same disk, with everything.
	srv.term()
	srv.restart()
	if missing = stored(); missing != 0 {
		t.Fatalf("%d of %d acknowledged events missing after a restart", missing, len(want))
	}
	return res
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
