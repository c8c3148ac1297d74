package telemetry

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/abacushq/abacus/telemetry/wire"
)

// FuzzCreateProject writes arbitrary bytes as package.json and checks CreateProject
// against encoding/json as the oracle:
//   - it never panics, and on error leaves the file as it was;
//   - it succeeds exactly when the file is a JSON object (after an optional BOM)
//     whose "<product>" (the last one, as encoding/json reads duplicates) is absent
//     or an object whose "uuid" is absent, "", or a valid project ID;
//   - on success the file is valid JSON whose <product>.uuid is the returned ID, it
//     decodes to the original plus that uuid, and it is the original with one run of
//     bytes inserted (or is untouched when a valid uuid was already there);
//   - a second call returns the same ID and changes no byte, and readProjectID agrees.
func FuzzCreateProject(f *testing.F) {
	vectors, err := os.ReadFile(filepath.Join(conformanceDir, "manifest.json"))
	if err != nil {
		f.Fatal(err)
	}
	var file struct {
		Cases []manifestCase `json:"cases"`
	}
	if err := json.Unmarshal(vectors, &file); err != nil || len(file.Cases) == 0 {
		f.Fatalf("cannot read the manifest vectors: %v", err)
	}
	for _, c := range file.Cases {
		in := []byte(c.In)
		if c.InBase64 != nil {
			in = c.InBase64
		}
		f.Add(in, c.Product)
	}
	for _, s := range []string{
		`{"strapi": "x"}`, `{"strapi": [1]}`, `{"strapi": {"uuid": 1}}`,
		`{"strapi": {"uuid": "nope"}}`, `[]`, `{"name": "x", "strapi": {"uu`,
		`{"strapi": {}, "strapi": {"uuid": ""}}`, "{\"a\":{\"b\":[[[{}]]]}}\t\r\n ",
	} {
		f.Add([]byte(s), "strapi")
	}
	f.Add([]byte("{\n  \"name\": \"x\"\n}\n"), `my "cms"\`)
	f.Add([]byte(`{"\u00fc": {}}`), "ü")
	f.Add([]byte("{\"\xff\": {\"uuid\": \"\"}}"), "\uFFFD") // encoding/json reads invalid UTF-8 as U+FFFD

	f.Fuzz(func(t *testing.T, data []byte, product string) {
		dir := t.TempDir()
		path := filepath.Join(dir, manifestName)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		want, existing := expectManifestEdit(data, product)

		id, err := CreateProject(dir, product)
		out, rerr := os.ReadFile(path)
		if rerr != nil {
			t.Fatal(rerr)
		}
		if err != nil {
			if want {
				t.Fatalf("CreateProject failed on an acceptable manifest: %v", err)
			}
			if !bytes.Equal(out, data) {
				t.Fatalf("file changed on error %v:\n%q", err, out)
			}
			return
		}
		if !want {
			t.Fatalf("CreateProject = %q, nil on a manifest it should refuse; wrote:\n%q", id, out)
		}
		if !wire.IsProjectID(id) {
			t.Fatalf("returned ID %q is not a project ID", id)
		}
		if existing != "" {
			if id != existing || !bytes.Equal(out, data) {
				t.Fatalf("uuid %q was there: got %q and file\n%q", existing, id, out)
			}
		} else if err := checkManifestEdit(data, out, product, id); err != nil {
			t.Fatalf("%v\ninput: %q\noutput: %q", err, data, out)
		}

		id2, err := CreateProject(dir, product)
		if err != nil || id2 != id {
			t.Fatalf("second CreateProject = %q, %v; want %q", id2, err, id)
		}
		if again, _ := os.ReadFile(path); !bytes.Equal(again, out) {
			t.Fatalf("second CreateProject changed the file:\n%q\n%q", out, again)
		}
		if rid, state, err := readProjectID(dir, product); rid != id || state != manifestOK || err != nil {
			t.Fatalf("readProjectID = %q, %v, %v; want %q, ok", rid, state, err, id)
		}
	})
}

// expectManifestEdit says, by decoding data with encoding/json, whether
// CreateProject must accept it, and the project ID already there if any.
func expectManifestEdit(data []byte, product string) (ok bool, existing string) {
	if product == "" || !utf8.ValidString(product) {
		return false, ""
	}
	text := bytes.TrimPrefix(data, manifestBOM)
	if !json.Valid(text) {
		return false, ""
	}
	v, err := decodeManifestJSON(text)
	if err != nil {
		return false, ""
	}
	root, isObj := v.(map[string]any)
	if !isObj {
		return false, ""
	}
	p, has := root[product]
	if !has {
		return true, ""
	}
	obj, isObj := p.(map[string]any)
	if !isObj {
		return false, ""
	}
	u, has := obj["uuid"]
	if !has {
		return true, ""
	}
	s, isStr := u.(string)
	switch {
	case !isStr:
		return false, ""
	case s == "":
		return true, ""
	case wire.IsProjectID(s):
		return true, s
	}
	return false, ""
}
