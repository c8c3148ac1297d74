package telemetry

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzSpoolLoad: a spool file is input the SDK did not necessarily write (a
// damaged disk, another program). Whatever it holds, loading never panics,
// every event it yields is one whole line of the file (less a final "\r")
// that is a JSON object with a non-empty string id, ids are not repeated, and
// a file that yields nothing is deleted.
func FuzzSpoolLoad(f *testing.F) {
	for _, s := range []string{
		`{"id":"a","event":"x"}` + "\n",
		`{"id":"a"}` + "\n" + `{"id":"a"}` + "\n" + `{"id":"b"}`,
		"not json\n{\"id\":1}\n{\"id\":\"\"}\n",
		"{\"id\":\"x\"}\r\n",
		"\n\n\n",
		`{"id":"\u0000"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		root := filepath.Join(t.TempDir(), "spool")
		s := openSpool(root, t.TempDir())
		os.MkdirAll(s.dir, 0o700)
		path := filepath.Join(s.dir, "1-00000000.jsonl")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		res, err := s.load()
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		lines := bytes.Split(data, []byte("\n"))
		for _, ev := range res.events {
			var v struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(ev.raw, &v) != nil || v.ID == "" || v.ID != ev.id || !ev.old {
				t.Fatalf("loaded %q (id %q) from %q", ev.raw, ev.id, data)
			}
			if seen[ev.id] {
				t.Fatalf("id %q loaded twice", ev.id)
			}
			seen[ev.id] = true
			whole := false
			for _, l := range lines {
				if bytes.Equal(bytes.TrimSuffix(l, []byte("\r")), ev.raw) {
					whole = true
				}
			}
			if !whole {
				t.Fatalf("loaded %q, not a line of %q", ev.raw, data)
			}
		}
		if _, err := os.Stat(path); (err == nil) != (len(res.events) > 0) {
			t.Fatalf("%d events loaded, file exists: %v", len(res.events), err == nil)
		}
	})
}
