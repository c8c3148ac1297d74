package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestCommands drives the example as a user would: init, a run against a local
// collector, status, show (what the collector received, byte for byte),
// disable, enable.
func TestCommands(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "config"))
	t.Setenv("XDG_CACHE_HOME", filepath.Join(home, "cache"))
	for _, k := range []string{"DO_NOT_TRACK", "MYCLI_TELEMETRY_DISABLED", "MYCLI_TELEMETRY_DEBUG"} {
		t.Setenv(k, "")
	}
	var mu sync.Mutex
	var received []json.RawMessage
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		zr, _ := gzip.NewReader(r.Body)
		body, _ := io.ReadAll(zr)
		var b struct{ Events []json.RawMessage }
		json.Unmarshal(body, &b)
		mu.Lock()
		received = append(received, b.Events...)
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	t.Setenv("MYCLI_ENDPOINT", srv.URL)
	project := t.TempDir()
	os.WriteFile(filepath.Join(project, "package.json"), []byte("{\n  \"name\": \"site\"\n}\n"), 0o644)
	t.Chdir(project)

	cli := func(args ...string) (string, int) {
		var out bytes.Buffer
		code := run(args, &out, &out)
		return out.String(), code
	}
	if out, code := cli("init", project); code != 0 || !strings.HasPrefix(out, "project ") {
		t.Fatalf("init: %d %s", code, out)
	}
	if out, code := cli("telemetry", "show"); code != 0 || !strings.Contains(out, "No events") {
		t.Errorf("show before any run: %d %s", code, out)
	}
	for i := 0; i < 2; i++ {
		if out, code := cli("run", project); code != 0 {
			t.Fatalf("run: %d %s", code, out)
		}
	}
	out, code := cli("telemetry", "status")
	if code != 0 || !strings.Contains(out, "Telemetry is enabled: enabled") || !strings.Contains(out, filepath.Join(home, "config", "abacus", "telemetry-disabled")) {
		t.Errorf("status: %d %s", code, out)
	}
	out, code = cli("telemetry", "show")
	var want bytes.Buffer
	for _, ev := range received {
		want.Write(ev)
		want.WriteByte('\n')
	}
	if code != 0 || len(received) != 2 || out != want.String() {
		t.Errorf("show printed\n%s\nthe collector received\n%s", out, want.String())
	}
	if out, code := cli("telemetry", "disable"); code != 0 || !strings.Contains(out, "every product") {
		t.Errorf("disable: %d %s", code, out)
	}
	if out, _ := cli("telemetry", "status"); !strings.Contains(out, "Telemetry is disabled: opt-out file") {
		t.Errorf("status after disable: %s", out)
	}
	cli("run", project)
	if len(received) != 2 {
		t.Errorf("a run after disable sent events")
	}
	if out, code := cli("telemetry", "enable"); code != 0 {
		t.Errorf("enable: %d %s", code, out)
	}
	if out, _ := cli("telemetry", "status"); !strings.Contains(out, "Telemetry is enabled") {
		t.Errorf("status after enable: %s", out)
	}
}
