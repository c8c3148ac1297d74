package telemetry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

const manifestGoldenUUID = "7b581c0d-89b7-479e-b379-a76ab90b8754"

// fixManifestUUID makes CreateProject's new IDs manifestGoldenUUID for the rest of the test. Tests
// that use it must not be parallel.
func fixManifestUUID(t *testing.T) {
	t.Helper()
	old := newUUID
	newUUID = func() string { return manifestGoldenUUID }
	t.Cleanup(func() { newUUID = old })
}

func writeTestManifest(t testing.TB, content string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, manifestName), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// checkManifestEdit checks, independently of any golden file, that out is in with
// <product>.uuid set to id and nothing else changed: out is valid JSON, decodes to
// what in decodes to plus the uuid, and is in with one run of bytes inserted.
func checkManifestEdit(in, out []byte, product, id string) error {
	inText, inBOM := bytes.CutPrefix(in, manifestBOM)
	outText, outBOM := bytes.CutPrefix(out, manifestBOM)
	if inBOM != outBOM {
		return fmt.Errorf("BOM: had %v, has %v", inBOM, outBOM)
	}
	if !json.Valid(outText) {
		return fmt.Errorf("output is not valid JSON:\n%s", out)
	}
	before, err := decodeManifestJSON(inText)
	if err != nil {
		return fmt.Errorf("input: %v", err)
	}
	after, err := decodeManifestJSON(outText)
	if err != nil {
		return fmt.Errorf("output: %v", err)
	}
	b, ok := before.(map[string]any)
	if !ok {
		return fmt.Errorf("input is not an object")
	}
	a, ok := after.(map[string]any)
	if !ok {
		return fmt.Errorf("output is not an object:\n%s", out)
	}
	ap, ok := a[product].(map[string]any)
	if !ok {
		return fmt.Errorf("output has no %q object:\n%s", product, out)
	}
	if ap["uuid"] != id {
		return fmt.Errorf("output %s.uuid = %#v, want %q:\n%s", product, ap["uuid"], id, out)
	}
	if bp, ok := b[product].(map[string]any); ok {
		if u, ok := bp["uuid"]; ok && u != "" {
			return fmt.Errorf("input already had %s.uuid = %#v", product, u)
		}
		delete(bp, "uuid")
		delete(ap, "uuid")
	} else {
		if _, ok := b[product]; ok {
			return fmt.Errorf("input %q was not an object", product)
		}
		if len(ap) != 1 {
			return fmt.Errorf("new %q object has other members: %v", product, ap)
		}
		delete(a, product)
	}
	if !reflect.DeepEqual(before, after) {
		return fmt.Errorf("output without the uuid differs from the input:\n%v\n%v", before, after)
	}

	// Byte for byte: out is in with one insertion, which holds the id.
	p := 0
	for p < len(in) && p < len(out) && in[p] == out[p] {
		p++
	}
	s := 0
	for s < len(in)-p && s < len(out)-p && in[len(in)-1-s] == out[len(out)-1-s] {
		s++
	}
	if p+s != len(in) {
		return fmt.Errorf("output is not the input with one insertion: changed bytes %d..%d of the input", p, len(in)-s)
	}
	if ins := out[p : len(out)-s]; !bytes.Contains(ins, []byte(id)) {
		return fmt.Errorf("inserted %q does not hold the id", ins)
	}
	return nil
}

func decodeManifestJSON(text []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func assertManifestDirClean(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != manifestName {
			t.Errorf("left %s in the project directory", e.Name())
		}
	}
}

func TestCreateProjectErrors(t *testing.T) {
	fixManifestUUID(t)
	tests := []struct {
		name, content string // content "" = no package.json
		product       string
		want          string // substring of the error
		notFound      bool   // errors.Is(err, fs.ErrNotExist)
	}{
		{"missing file", "", "strapi", "no such file", true},
		{"empty file", " ", "strapi", "package.json is not valid JSON", false},
		{"bad byte", "{\n  \"name\": \"é\",\n  \"x\": tru\n}", "strapi", "package.json is not valid JSON at line 3, column 11: invalid character '\\n' in literal true", false},
		{"truncated", `{"name": "x", "strapi": {"uu`, "strapi", "package.json is not valid JSON: unexpected end of JSON input", false},
		{"trailing comma", "{\"name\": \"x\",\n}", "strapi", "package.json is not valid JSON at line 2, column 1: invalid character '}'", false},
		{"two values", `{} {}`, "strapi", "package.json is not valid JSON", false},
		{"BOM twice", "\ufeff\ufeff{}", "strapi", "package.json is not valid JSON", false},
		{"root array", `[{"strapi": {}}]`, "strapi", "package.json is an array, expected an object", false},
		{"root string", `"strapi"`, "strapi", "package.json is a string, expected an object", false},
		{"root null", "null\n", "strapi", "package.json is null, expected an object", false},
		{"root number", "12", "strapi", "package.json is a number, expected an object", false},
		{"strapi string", `{"strapi": "7b581c0d-89b7-479e-b379-a76ab90b8754"}`, "strapi", `package.json: "strapi" is a string, expected an object`, false},
		{"strapi array", `{"strapi": [{"uuid": ""}]}`, "strapi", `package.json: "strapi" is an array, expected an object`, false},
		{"strapi number", `{"strapi": 1}`, "strapi", `package.json: "strapi" is a number, expected an object`, false},
		{"strapi null", `{"strapi": null}`, "strapi", `package.json: "strapi" is null, expected an object`, false},
		{"strapi bool", `{"strapi": false}`, "strapi", `package.json: "strapi" is a boolean, expected an object`, false},
		{"last strapi wins", `{"strapi": {}, "strapi": "x"}`, "strapi", `package.json: "strapi" is a string, expected an object`, false},
		{"uuid number", `{"strapi": {"uuid": 42}}`, "strapi", `package.json: "strapi.uuid" is a number, expected a string`, false},
		{"uuid object", `{"strapi": {"uuid": {}}}`, "strapi", `package.json: "strapi.uuid" is an object, expected a string`, false},
		{"uuid null", `{"strapi": {"uuid": null}}`, "strapi", `package.json: "strapi.uuid" is null, expected a string`, false},
		{"uuid invalid", `{"strapi": {"uuid": "not-a-uuid"}}`, "strapi", `package.json: "strapi.uuid" is "not-a-uuid", expected a project ID`, false},
		{"uuid with spaces", `{"strapi": {"uuid": " 7b581c0d-89b7-479e-b379-a76ab90b8754"}}`, "strapi", `"strapi.uuid" is " 7b581c0d-89b7-479e-b379-a76ab90b8754", expected a project ID`, false},
		{"uuid long", `{"strapi": {"uuid": "` + strings.Repeat("x", 100) + `"}}`, "strapi", `"strapi.uuid" is "` + strings.Repeat("x", 64) + `…", expected a project ID`, false},
		{"other product", `{"cms": 1}`, "cms", `package.json: "cms" is a number, expected an object`, false},
		{"empty product", `{}`, "", "empty product name", false},
		{"product not UTF-8", `{}`, "str\xffpi", "not valid UTF-8", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, manifestName)
			if tt.content != "" {
				if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			id, err := CreateProject(dir, tt.product)
			if err == nil {
				t.Fatalf("CreateProject = %q, nil; want an error", id)
			}
			if id != "" {
				t.Errorf("id = %q on error", id)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, fmt.Sprintf("cannot create project ID in %q: ", path)) {
				t.Errorf("error %q does not start with the path", msg)
			}
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error %q does not contain %q", msg, tt.want)
			}
			if got := errors.Is(err, fs.ErrNotExist); got != tt.notFound {
				t.Errorf("errors.Is(err, fs.ErrNotExist) = %v, want %v", got, tt.notFound)
			}
			if tt.content != "" {
				if got, _ := os.ReadFile(path); string(got) != tt.content {
					t.Errorf("file changed on error:\n%s", got)
				}
			}
			assertManifestDirCleanExcept(t, dir, tt.content != "")
		})
	}
}

func assertManifestDirCleanExcept(t *testing.T, dir string, manifest bool) {
	t.Helper()
	if manifest {
		assertManifestDirClean(t, dir)
		return
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("created %s", entries[0].Name())
	}
}

func TestCreateProjectTooLarge(t *testing.T) {
	content := `{"name": "` + strings.Repeat("x", maxManifestSize) + `"}`
	dir := writeTestManifest(t, content)
	_, err := CreateProject(dir, "strapi")
	if err == nil || !strings.Contains(err.Error(), "larger than 16 MiB") {
		t.Fatalf("err = %v, want too large", err)
	}
	_, state, err := readProjectID(dir, "strapi")
	if state != manifestInvalid || err == nil {
		t.Errorf("readProjectID = %v, %v; want invalid", state, err)
	}
}

func TestCreateProjectNotAFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, manifestName), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := CreateProject(dir, "strapi"); err == nil {
		t.Fatal("CreateProject on a directory named package.json: no error")
	}
	if _, state, err := readProjectID(dir, "strapi"); state != manifestInvalid || err == nil {
		t.Errorf("readProjectID = %v, %v; want invalid", state, err)
	}
}

func TestCreateProjectKeepsMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	dir := writeTestManifest(t, "{\n  \"name\": \"x\"\n}\n")
	path := filepath.Join(dir, manifestName)
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := CreateProject(dir, "strapi"); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o640 {
		t.Errorf("mode = %v, want 0640", info.Mode().Perm())
	}
}

func TestCreateProjectSymlink(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need privileges")
	}
	real := writeTestManifest(t, "{\n  \"name\": \"x\"\n}\n")
	dir := t.TempDir()
	link := filepath.Join(dir, manifestName)
	if err := os.Symlink(filepath.Join(real, manifestName), link); err != nil {
		t.Fatal(err)
	}
	id, err := CreateProject(dir, "strapi")
	if err != nil {
		t.Fatal(err)
	}
	if info, err := os.Lstat(link); err != nil || info.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("package.json is no longer a symlink: %v, %v", info, err)
	}
	if got, state, _ := readProjectID(real, "strapi"); got != id || state != manifestOK {
		t.Errorf("target has %q, %v; want %q", got, state, id)
	}
}

func TestCreateProjectRandomIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 3 {
		id, err := CreateProject(writeTestManifest(t, `{}`), "strapi")
		if err != nil {
			t.Fatal(err)
		}
		if seen[id] {
			t.Errorf("ID %s given twice", id)
		}
		seen[id] = true
	}
}

func TestRandomUUID(t *testing.T) {
	v4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		u := randomUUID()
		if !v4.MatchString(u) {
			t.Fatalf("randomUUID() = %q, not a lowercase version-4 UUID", u)
		}
		if seen[u] {
			t.Fatalf("randomUUID() repeated %q", u)
		}
		seen[u] = true
	}
}

func TestReadProjectID(t *testing.T) {
	const id = "7b581c0d-89b7-479e-b379-a76ab90b8754"
	tests := []struct {
		name, content string // content "" = no package.json
		wantID        string
		want          manifestState
		wantErr       string
	}{
		{"ok", `{"strapi": {"uuid": "` + id + `"}}`, id, manifestOK, ""},
		{"ok prefixed", `{"strapi": {"uuid": "getstarted-` + id + `"}}`, "getstarted-" + id, manifestOK, ""},
		{"ok escaped", `{"str\u0061pi": {"uuid": "\u0037b581c0d-89b7-479e-b379-a76ab90b8754"}}`, id, manifestOK, ""},
		{"ok BOM CRLF", "\ufeff{\r\n  \"strapi\": {\"uuid\": \"" + id + "\"}\r\n}\r\n", id, manifestOK, ""},
		{"ok last wins", `{"strapi": {"uuid": 1}, "strapi": {"uuid": "x", "uuid": "` + id + `"}}`, id, manifestOK, ""},
		{"missing", "", "", manifestMissing, ""},
		{"no strapi", `{"name": "x"}`, "", manifestNoUUID, ""},
		{"no uuid", `{"strapi": {"template": "blog"}}`, "", manifestNoUUID, ""},
		{"nested uuid only", `{"strapi": {"x": {"uuid": "` + id + `"}}}`, "", manifestNoUUID, ""},
		{"empty uuid", `{"strapi": {"uuid": ""}}`, "", manifestNoUUID, ""},
		{"uuid not a string", `{"strapi": {"uuid": 7}}`, "", manifestNoUUID, ""},
		{"uuid null", `{"strapi": {"uuid": null}}`, "", manifestNoUUID, ""},
		{"strapi not an object", `{"strapi": "` + id + `"}`, "", manifestNoUUID, ""},
		{"other product's uuid", `{"cms": {"uuid": "` + id + `"}}`, "", manifestNoUUID, ""},
		{"invalid uuid", `{"strapi": {"uuid": "1234"}}`, "", manifestInvalid, `package.json: "strapi.uuid" is "1234", expected a project ID`},
		{"invalid JSON", `{"strapi": {"uuid": "` + id + `"}`, "", manifestInvalid, "package.json is not valid JSON"},
		{"not an object", `["` + id + `"]`, "", manifestInvalid, "package.json is an array, expected an object"},
		{"empty file", "\n", "", manifestInvalid, "package.json is not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.content != "" {
				if err := os.WriteFile(filepath.Join(dir, manifestName), []byte(tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			id, state, err := readProjectID(dir, "strapi")
			if id != tt.wantID || state != tt.want {
				t.Errorf("readProjectID = %q, %v; want %q, %v", id, state, tt.wantID, tt.want)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("err = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("err = %v, want one containing %q", err, tt.wantErr)
			case err != nil && !strings.HasPrefix(err.Error(), "cannot read project ID from "):
				t.Errorf("err = %v, want the \"cannot read project ID from\" prefix", err)
			}
		})
	}
}

func TestReadProjectIDMissingDir(t *testing.T) {
	_, state, err := readProjectID(filepath.Join(t.TempDir(), "nope"), "strapi")
	if state != manifestMissing || err != nil {
		t.Errorf("readProjectID = %v, %v; want missing, nil", state, err)
	}
}

func TestManifestStateString(t *testing.T) {
	for s, want := range map[manifestState]string{manifestOK: "ok", manifestMissing: "missing", manifestNoUUID: "no uuid", manifestInvalid: "invalid", 9: "manifestState(9)"} {
		if got := s.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(s), got, want)
		}
	}
}

// The product name is a JSON key like any other: it is quoted when written and
// matched after unescaping when read.
func TestCreateProjectProductNeedsEscaping(t *testing.T) {
	fixManifestUUID(t)
	for _, product := range []string{`my "cms"`, `a\b`, "tab\there", "<&>", "ünï"} {
		in := "{\n  \"name\": \"x\"\n}\n"
		dir := writeTestManifest(t, in)
		id, err := CreateProject(dir, product)
		if err != nil {
			t.Fatalf("%q: %v", product, err)
		}
		out, _ := os.ReadFile(filepath.Join(dir, manifestName))
		if err := checkManifestEdit([]byte(in), out, product, id); err != nil {
			t.Errorf("%q: %v", product, err)
		}
		if got, state, err := readProjectID(dir, product); got != id || state != manifestOK {
			t.Errorf("%q: readProjectID = %q, %v, %v", product, got, state, err)
		}
	}
}
