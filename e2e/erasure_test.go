package e2e

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/abacushq/abacus/telemetry/wire"
)

// uuidOnDisk is DuckDB's 16-byte form of a UUID: a 128-bit integer with the
// top bit flipped, little endian (the low 64 bits first). The duckdb
// package's TestUUIDOnDisk checks it against a real file.
func uuidOnDisk(id string) []byte {
	u, err := hex.DecodeString(strings.ReplaceAll(id, "-", ""))
	if err != nil || len(u) != 16 {
		panic("not a UUID: " + id)
	}
	out := make([]byte, 16)
	for i := range 8 {
		out[i], out[8+i] = u[15-i], u[7-i]
	}
	out[15] ^= 0x80
	return out
}

// needles are the byte strings that would show a project on disk.
type needles map[string][]byte

// projectNeedles are a project's traces: its raw and re-keyed IDs, the
// re-keyed machine ID, and every event ID as text and as a stored UUID.
func projectNeedles(raw string, stored []exported) needles {
	n := needles{}
	if raw != "" {
		n["raw project ID"] = []byte(raw)
	}
	for _, e := range stored {
		n["re-keyed project ID "+e.ProjectID] = []byte(e.ProjectID)
		n["re-keyed machine ID "+e.MachineID] = []byte(e.MachineID)
		n["event ID "+e.ID] = []byte(e.ID)
		n["event ID as UUID "+e.ID] = uuidOnDisk(e.ID)
	}
	return n
}

// findOnDisk reads every file under dir and lists which needles it holds.
func findOnDisk(t *testing.T, dir string, n needles) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for what, needle := range n {
			if bytes.Contains(b, needle) {
				found = append(found, strings.TrimPrefix(path, dir)+": "+what)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func eraseNow(t *testing.T, srv *proc, project string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/api/v1/projects/"+project+"?compact=1", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &out) != nil {
		t.Fatalf("DELETE ?compact=1: %d %s", resp.StatusCode, b)
	}
	return out
}

// An erased project leaves no trace on disk once compacted: not in the
// store's file, not in the write-ahead log, not in the erasures file. One
// project is erased over HTTP with ?compact=1, another with `abacus erase
// --now`; the data directory is searched byte by byte, while the collector
// runs and after it stopped, for their IDs as text and as DuckDB stores
// UUIDs. A third project, kept, must be found the same way (so that the search
// is known to see what it looks for).
func TestErasureLeavesNoTraceOnDisk(t *testing.T) {
	srv := startServer(t, serveOpts{})
	projects := map[string]string{"http": newUUID(), "cli": newUUID(), "kept": newUUID()}
	for _, p := range projects {
		var events []wire.Event
		for range 30 {
			events = append(events, event(p, "willCreateProject", map[string]any{"quickstart": true}))
		}
		// Each project's events all come from one machine of its own.
		for i := range events {
			events[i].MachineID = events[0].MachineID
		}
		if a := postBatch(t, srv.URL, events); a.status != http.StatusAccepted {
			t.Fatalf("batch: %d %s", a.status, a.body)
		}
	}
	var all []exported
	waitFor(t, "90 events in the export", func() bool { all = export(t, srv); return len(all) == 90 })
	byKey := map[string][]exported{}
	for _, e := range all {
		byKey[e.ProjectID] = append(byKey[e.ProjectID], e)
	}
	if len(byKey) != 3 {
		t.Fatalf("%d projects in the export, want 3", len(byKey))
	}

	out := eraseNow(t, srv, projects["http"])
	if out["deleted"] != float64(30) || out["compacted"] != true {
		t.Fatalf("DELETE ?compact=1 answered %v, want 30 deleted and compacted", out)
	}
	cliOut, err := runCLI(t, srv, "erase", "--project", projects["cli"], "--now", "--server", srv.URL)
	if err != nil || !strings.Contains(cliOut, "erased 30 events") || !strings.Contains(cliOut, "gone from the collector's disk") {
		t.Fatalf("abacus erase --now: %v\n%s", err, cliOut)
	}
	left := export(t, srv)
	if len(left) != 30 {
		t.Fatalf("%d events left in the export, want the kept project's 30", len(left))
	}
	keptKey := left[0].ProjectID
	gone := needles{}
	for key, events := range byKey {
		if key != keptKey {
			for k, v := range projectNeedles("", events) {
				gone[k] = v
			}
		}
	}
	gone["raw project ID http"] = []byte(projects["http"])
	gone["raw project ID cli"] = []byte(projects["cli"])
	kept := projectNeedles(projects["kept"], byKey[keptKey])
	delete(kept, "raw project ID") // never stored: the collector re-keys it

	check := func(when string) {
		t.Helper()
		if found := findOnDisk(t, srv.dir, gone); len(found) > 0 {
			t.Errorf("%s: erased projects still on disk:\n  %s", when, strings.Join(found, "\n  "))
		}
		// The kept project's event IDs are in the store's file as UUIDs.
		found := findOnDisk(t, srv.dir, kept)
		uuids := 0
		for _, f := range found {
			if strings.Contains(f, "as UUID") {
				uuids++
			}
		}
		if uuids < 30 {
			t.Errorf("%s: only %d of the kept project's 30 event IDs found on disk as UUIDs: the search does not see the store", when, uuids)
		}
	}
	check("while serving")
	srv.term()
	check("after shutdown")
	srv.restart()
	if got := export(t, srv); len(got) != 30 {
		t.Fatalf("after restart: %d events, want 30", len(got))
	}
}
