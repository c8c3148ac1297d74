package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/abacushq/abacus/telemetry/wire"
)

// When the write-ahead log cannot be written (here: its file system is full),
// ingest answers 503 with Retry-After, never 202, and keeps what it accepted.
// The log lives on a 1 MiB tmpfs, which needs root to mount; elsewhere the test
// is skipped (the log's own fault-injection tests cover the same path), except
// under CI (CI=true runs as root), where a failed mount fails the test.
func TestDiskFullAnswers503(t *testing.T) {
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt).CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("cannot mount a tmpfs (CI runs as root; the only end-to-end disk-full check must run there): %v %s", err, out)
		}
		t.Skipf("cannot mount a tmpfs (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })
	data := filepath.Join(t.TempDir(), "data")
	os.MkdirAll(data, 0o700)
	if err := os.Symlink(mnt, filepath.Join(data, "wal")); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, serveOpts{dir: data})
	project := newUUID()
	var acked []string
	got503 := false
	big := strings.Repeat("x", 200)
	for i := 0; i < 400 && !got503; i++ {
		events := make([]wire.Event, 50)
		for j := range events {
			events[j] = event(project, "willCreateProject", map[string]any{"template": "blog-" + big[:50]})
		}
		a := postBatch(t, srv.URL, events)
		switch a.status {
		case http.StatusAccepted:
			for _, e := range events {
				acked = append(acked, e.ID)
			}
		case http.StatusServiceUnavailable:
			got503 = true
			if a.header.Get("Retry-After") == "" {
				t.Errorf("503 without Retry-After")
			}
			if msg := a.errorMsg(t); !strings.Contains(msg, "write-ahead log") {
				t.Errorf("503 error %q does not say what failed", msg)
			}
		default:
			t.Fatalf("status %d: %s", a.status, a.body)
		}
	}
	if !got503 {
		t.Fatalf("1 MiB of log space never ran out after %d events", len(acked))
	}
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("server down after a full disk: %v", err)
	}
	resp.Body.Close()
	waitFor(t, "every acknowledged event in the export", func() bool {
		seen := map[string]bool{}
		for _, e := range export(t, srv) {
			seen[e.ID] = true
		}
		for _, id := range acked {
			if !seen[id] {
				return false
			}
		}
		return true
	})
	t.Logf("%d events acknowledged before the log's disk filled; all stored", len(acked))
}
