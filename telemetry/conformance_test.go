package telemetry

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/abacushq/abacus/telemetry/wire"
)

// The conformance vectors in ../testdata/conformance are shared with the Node.js
// SDK; README.md there is their contract. Every file and every case field must be
// known here: a vector this runner cannot read fails instead of passing unseen.
const conformanceDir = "../testdata/conformance"

// conformanceFiles maps each vector file to the test that runs it.
var conformanceFiles = map[string]func(*testing.T, []byte){
	"consent.json":      runConsentVectors,
	"redaction.json":    runRedactionVectors,
	"manifest.json":     runManifestVectors,
	"machine-id.json":   runMachineIDVectors,
	"error-code.json":   runErrorCodeVectors,
	"environment.json":  runEnvironmentVectors,
	"do-not-track.json": runDoNotTrackVectors,
	"paths.json":        runPathVectors,
	"wire-event.json":   runWireEventVectors,
	"dropped-by.json":   runDroppedByVectors,
}

func TestConformance(t *testing.T) {
	entries, err := os.ReadDir(conformanceDir)
	if err != nil {
		t.Fatalf("cannot read the conformance vectors: %v", err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if name == "README.md" {
			continue
		}
		run, ok := conformanceFiles[name]
		if !ok {
			t.Errorf("unknown conformance file %s: add a runner for it", name)
			continue
		}
		seen[name] = true
		data, err := os.ReadFile(filepath.Join(conformanceDir, name))
		if err != nil {
			t.Fatal(err)
		}
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) { run(t, data) })
	}
	for name := range conformanceFiles {
		if !seen[name] {
			t.Errorf("conformance file %s is missing", name)
		}
	}
}

// decodeCases decodes {"cases": [...]} strictly: an unknown field fails, and
// every case needs a unique name.
func decodeCases[T any](t *testing.T, data []byte, name func(T) string) []T {
	t.Helper()
	var file struct {
		Cases []T `json:"cases"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&file); err != nil {
		t.Fatalf("cannot decode the vectors: %v", err)
	}
	if len(file.Cases) == 0 {
		t.Fatal("no cases")
	}
	names := map[string]bool{}
	for _, c := range file.Cases {
		n := name(c)
		if n == "" || names[n] {
			t.Fatalf("case name %q is empty or not unique", n)
		}
		names[n] = true
	}
	return file.Cases
}

// readerVariables are every environment variable the SDK reads for a product,
// so that a case starts with none of them set.
func clearSDKVariables(t *testing.T, products ...string) {
	t.Helper()
	keys := []string{"DO_NOT_TRACK", "NODE_ENV", "APP_ENV"}
	for _, p := range products {
		pre := envPrefix(p)
		keys = append(keys, pre+"_TELEMETRY_DISABLED", pre+"_TELEMETRY_DEBUG", pre+"_ENV")
	}
	for _, k := range keys {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

type consentCase struct {
	Name       string            `json:"name"`
	Product    string            `json:"product"`
	Env        map[string]string `json:"env"`
	OptOutFile bool              `json:"optOutFile"`
	Manifest   *string           `json:"manifest"`
	Enabled    bool              `json:"enabled"`
	Reason     string            `json:"reason"`
}

// runConsentVectors drives New and Status, the public API, for each case.
func runConsentVectors(t *testing.T, data []byte) {
	for _, tc := range decodeCases(t, data, func(c consentCase) string { return c.Name }) {
		t.Run(tc.Name, func(t *testing.T) {
			clearSDKVariables(t, tc.Product, "strapi", "cms", "my-cms")
			home := t.TempDir()
			t.Setenv("HOME", home)
			t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "config"))
			t.Setenv("XDG_CACHE_HOME", filepath.Join(home, "cache"))
			t.Setenv("AppData", filepath.Join(home, "config"))
			t.Setenv("LocalAppData", filepath.Join(home, "cache"))
			for k, v := range tc.Env {
				t.Setenv(k, v)
			}
			if tc.OptOutFile {
				if err := Disable(); err != nil {
					t.Fatal(err)
				}
			}
			dir := t.TempDir()
			if tc.Manifest != nil {
				if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(*tc.Manifest), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			c, err := New(Config{Product: tc.Product, Endpoint: "http://127.0.0.1:9", Dir: dir, StateDir: t.TempDir()})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			defer c.Close(context.Background())
			s := c.Status()
			if s.Enabled != tc.Enabled || !strings.HasPrefix(s.Reason, tc.Reason) {
				t.Errorf("Status() = enabled %v, reason %q; want enabled %v, reason starting with %q", s.Enabled, s.Reason, tc.Enabled, tc.Reason)
			}
		})
	}
}

type doNotTrackCase struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	OptOut bool   `json:"optOut"`
}

func runDoNotTrackVectors(t *testing.T, data []byte) {
	for _, tc := range decodeCases(t, data, func(c doNotTrackCase) string { return c.Name }) {
		t.Run(tc.Name, func(t *testing.T) {
			clearSDKVariables(t, "strapi")
			t.Setenv("XDG_CONFIG_HOME", t.TempDir())
			t.Setenv("DO_NOT_TRACK", tc.Value)
			dir := t.TempDir()
			manifest := `{"strapi": {"uuid": "7b581c0d-89b7-479e-b379-a76ab90b8754"}}`
			if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(manifest), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := New(Config{Product: "strapi", Endpoint: "http://127.0.0.1:9", Dir: dir, StateDir: t.TempDir()})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			defer c.Close(context.Background())
			s := c.Status()
			if s.Enabled == tc.OptOut {
				t.Errorf("DO_NOT_TRACK=%q: enabled %v (%s), want opt-out %v", tc.Value, s.Enabled, s.Reason, tc.OptOut)
			}
			if tc.OptOut && !strings.HasPrefix(s.Reason, ReasonDoNotTrack) {
				t.Errorf("reason %q, want DO_NOT_TRACK", s.Reason)
			}
		})
	}
}

type droppedByCase struct {
	Name string `json:"name"`
	Key  string `json:"key"`
	When string `json:"when"`
	Only string `json:"only"`
}

// runDroppedByVectors: Status.DroppedBy's keys are exactly the vectors' keys
// that are not another SDK's only.
func runDroppedByVectors(t *testing.T, data []byte) {
	want := map[string]bool{}
	for _, tc := range decodeCases(t, data, func(c droppedByCase) string { return c.Name }) {
		if tc.Key == "" || tc.When == "" {
			t.Errorf("case %q: key and when are required", tc.Name)
		}
		switch tc.Only {
		case "", "go":
			want[tc.Key] = true
		default:
			// A reason only another SDK has.
		}
	}
	got := map[string]bool{}
	for _, k := range dropReasonNames {
		got[k] = true
	}
	for k := range want {
		if !got[k] {
			t.Errorf("the vectors list the reason %q; DroppedBy has no such key", k)
		}
	}
	for k := range got {
		if !want[k] {
			t.Errorf("DroppedBy has the key %q; the vectors do not list it", k)
		}
	}
}

type redactionCase struct {
	Name string `json:"name"`
	In   string `json:"in"`
	Out  string `json:"out"`
	Home string `json:"home"`
}

func runRedactionVectors(t *testing.T, data []byte) {
	for _, tc := range decodeCases(t, data, func(c redactionCase) string { return c.Name }) {
		t.Run(tc.Name, func(t *testing.T) {
			s := newSanitizer(tc.Home)
			if got := s.str(tc.In); got != tc.Out {
				t.Errorf("sanitize(%q) = %q, want %q", tc.In, got, tc.Out)
			}
			// The whole path: a property value goes through the same sanitizer.
			out, _ := s.props(map[string]any{"value": tc.In})
			if got, _ := out["value"].(string); got != tc.Out {
				t.Errorf("property value %q became %q, want %q", tc.In, got, tc.Out)
			}
		})
	}
}

type manifestCase struct {
	Name      string `json:"name"`
	Product   string `json:"product"`
	In        string `json:"in"`
	InBase64  []byte `json:"inBase64"`
	UUID      string `json:"uuid"`
	Out       string `json:"out"`
	OutBase64 []byte `json:"outBase64"`
	ID        string `json:"id"`
	Error     string `json:"error"`
}

func runManifestVectors(t *testing.T, data []byte) {
	cases := decodeCases(t, data, func(c manifestCase) string { return c.Name })
	old := newUUID
	t.Cleanup(func() { newUUID = old })
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			in := []byte(tc.In)
			if tc.InBase64 != nil {
				in = tc.InBase64
			}
			want := []byte(tc.Out)
			if tc.OutBase64 != nil {
				want = tc.OutBase64
			}
			if (tc.Error == "") == (tc.ID == "") {
				t.Fatalf("a case has either an error or an id")
			}
			// The edit itself.
			out, id, err := addProjectID(in, tc.Product, func() string { return tc.UUID })
			if tc.Error != "" {
				if err == nil {
					t.Fatalf("edit succeeded (%q), want error %s", id, tc.Error)
				}
				if kind := manifestErrorKind(err); kind != tc.Error {
					t.Errorf("error %q is of kind %q, want %q", err, kind, tc.Error)
				}
			} else {
				if err != nil {
					t.Fatalf("edit: %v", err)
				}
				if out == nil {
					out = in
				}
				if id != tc.ID || !bytes.Equal(out, want) {
					t.Errorf("edit = %q,\n%s\nwant %q,\n%s", id, out, tc.ID, want)
				}
			}
			// The same through CreateProject, on disk.
			dir := t.TempDir()
			path := filepath.Join(dir, "package.json")
			if err := os.WriteFile(path, in, 0o644); err != nil {
				t.Fatal(err)
			}
			old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
			if err := os.Chtimes(path, old, old); err != nil {
				t.Fatal(err)
			}
			newUUID = func() string { return tc.UUID }
			id, err = CreateProject(dir, tc.Product)
			if info, serr := os.Stat(path); serr == nil && (tc.Error != "" || bytes.Equal(in, want)) && !info.ModTime().Equal(old) {
				t.Errorf("the file was written (mtime %v) though nothing changed", info.ModTime())
			}
			got, _ := os.ReadFile(path)
			if tc.Error != "" {
				if err == nil || manifestErrorKind(err) != tc.Error || !bytes.Equal(got, in) {
					t.Errorf("CreateProject = %q, %v (kind %q), file changed %v; want error %s and the file untouched", id, err, manifestErrorKind(err), !bytes.Equal(got, in), tc.Error)
				}
				return
			}
			if err != nil || id != tc.ID || !bytes.Equal(got, want) {
				t.Errorf("CreateProject = %q, %v; file\n%s", id, err, got)
			}
			if !bytes.Equal(in, want) {
				// Checked independently of the vector: the input with one run of
				// bytes inserted, decoding to the input plus the uuid.
				if err := checkManifestEdit(in, got, tc.Product, id); err != nil {
					t.Error(err)
				}
			}
			// Idempotent: a second call returns the same ID and writes nothing.
			newUUID = func() string { return "00000000-0000-4000-8000-000000000000" }
			id2, err := CreateProject(dir, tc.Product)
			again, _ := os.ReadFile(path)
			if err != nil || id2 != id || !bytes.Equal(again, got) {
				t.Errorf("second CreateProject = %q, %v (file changed %v); want %q", id2, err, !bytes.Equal(again, got), id)
			}
			if rid, state, err := readProjectID(dir, tc.Product); rid != id || state != manifestOK || err != nil {
				t.Errorf("readProjectID = %q, %v, %v; want %q", rid, state, err, id)
			}
			assertManifestDirClean(t, dir)
		})
	}
}

type machineIDCase struct {
	Name    string `json:"name"`
	Raw     string `json:"raw"`
	Product string `json:"product"`
	Usable  bool   `json:"usable"`
	ID      string `json:"id"`
}

func runMachineIDVectors(t *testing.T, data []byte) {
	for _, tc := range decodeCases(t, data, func(c machineIDCase) string { return c.Name }) {
		t.Run(tc.Name, func(t *testing.T) {
			if got := usableMachineID(tc.Raw); got != tc.Usable {
				t.Errorf("usable(%q) = %v, want %v", tc.Raw, got, tc.Usable)
			}
			state := filepath.Join(t.TempDir(), "state")
			id, err := machineID(tc.Product, state, tc.Raw)
			if err != nil {
				t.Fatal(err)
			}
			if tc.Usable {
				if id != tc.ID {
					t.Errorf("machine ID = %s, want %s", id, tc.ID)
				}
				if _, err := os.Stat(state); err == nil {
					t.Errorf("a usable OS ID wrote %s", state)
				}
				return
			}
			if tc.ID != "" {
				t.Fatalf("an unusable case has no id")
			}
			// The fallback: 32 lowercase hex digits and a newline, mode 0600,
			// and the ID is its HMAC keyed by the product.
			b, err := os.ReadFile(filepath.Join(state, "machine-id"))
			if err != nil || !regexp.MustCompile(`^[0-9a-f]{32}\n$`).Match(b) {
				t.Fatalf("fallback file %q, %v", b, err)
			}
			m := hmac.New(sha256.New, []byte(tc.Product))
			m.Write(bytes.TrimSpace(b))
			if want := hex.EncodeToString(m.Sum(nil)); id != want {
				t.Errorf("machine ID = %s, want the HMAC of the fallback %s", id, want)
			}
		})
	}
}

type codeError struct{ code string }

func (e codeError) Error() string { return "failed: " + e.code }
func (e codeError) Code() string  { return e.code }

var errnoByName = map[string]syscall.Errno{
	"ENOENT": syscall.ENOENT, "EACCES": syscall.EACCES, "EPERM": syscall.EPERM, "EEXIST": syscall.EEXIST,
	"ECONNREFUSED": syscall.ECONNREFUSED, "ECONNRESET": syscall.ECONNRESET, "ETIMEDOUT": syscall.ETIMEDOUT,
	"EADDRINUSE": syscall.EADDRINUSE, "ENOSPC": syscall.ENOSPC, "EPIPE": syscall.EPIPE, "EMFILE": syscall.EMFILE,
	"ENOTDIR": syscall.ENOTDIR, "EISDIR": syscall.EISDIR,
}

type errorCodeCase struct {
	Name     string  `json:"name"`
	Code     *string `json:"code"`
	Errno    string  `json:"errno"`
	Expected string  `json:"expected"`
}

func runErrorCodeVectors(t *testing.T, data []byte) {
	for _, tc := range decodeCases(t, data, func(c errorCodeCase) string { return c.Name }) {
		t.Run(tc.Name, func(t *testing.T) {
			var err error
			switch {
			case tc.Code != nil && tc.Errno == "":
				err = fmt.Errorf("wrapped: %w", codeError{*tc.Code})
			case tc.Code == nil && tc.Errno != "":
				errno, ok := errnoByName[tc.Errno]
				if !ok {
					t.Fatalf("no errno named %s on this system", tc.Errno)
				}
				err = &os.PathError{Op: "open", Path: "/x", Err: errno}
			default:
				t.Fatal("a case has either a code or an errno")
			}
			if got := ErrorCode(err); got != tc.Expected {
				t.Errorf("ErrorCode = %q, want %q", got, tc.Expected)
			}
		})
	}
}

type environmentCase struct {
	Name     string            `json:"name"`
	Product  string            `json:"product"`
	Env      map[string]string `json:"env"`
	Expected string            `json:"expected"`
}

func runEnvironmentVectors(t *testing.T, data []byte) {
	for _, tc := range decodeCases(t, data, func(c environmentCase) string { return c.Name }) {
		t.Run(tc.Name, func(t *testing.T) {
			clearSDKVariables(t, tc.Product)
			for k, v := range tc.Env {
				t.Setenv(k, v)
			}
			if got := detectEnvironment(tc.Product); got != tc.Expected {
				t.Errorf("environment = %q, want %q", got, tc.Expected)
			}
		})
	}
}

type pathCase struct {
	Name       string            `json:"name"`
	OS         string            `json:"os"`
	Env        map[string]string `json:"env"`
	Product    string            `json:"product"`
	StateDir   string            `json:"stateDir"`
	OptOutFile string            `json:"optOutFile"`
	ProjectDir string            `json:"projectDir"`
	ProjectKey string            `json:"projectKey"`
}

func runPathVectors(t *testing.T, data []byte) {
	ran := 0
	for _, tc := range decodeCases(t, data, func(c pathCase) string { return c.Name }) {
		t.Run(tc.Name, func(t *testing.T) {
			if tc.ProjectDir != "" {
				if got := projectKeyOf(tc.ProjectDir); got != tc.ProjectKey {
					t.Errorf("project key of %q = %s, want %s", tc.ProjectDir, got, tc.ProjectKey)
				}
				ran++
				return
			}
			if tc.OS != runtime.GOOS {
				return // a case of another OS
			}
			ran++
			for _, k := range []string{"HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "LocalAppData", "AppData", "home"} {
				t.Setenv(k, "")
				os.Unsetenv(k)
			}
			for k, v := range tc.Env {
				t.Setenv(k, v)
			}
			cfg, err := Config{Product: tc.Product, Dir: "."}.resolve()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.StateDir != tc.StateDir {
				t.Errorf("StateDir = %q, want %q", cfg.StateDir, tc.StateDir)
			}
			if p, err := optOutPath(); err != nil || p != tc.OptOutFile {
				t.Errorf("opt-out file = %q, %v; want %q", p, err, tc.OptOutFile)
			}
		})
	}
	if ran == 0 {
		t.Error("no path case ran on this OS")
	}
}

// runWireEventVectors tracks an event through a real client and checks the batch a
// collector receives against the field types of the vector.
func runWireEventVectors(t *testing.T, data []byte) {
	var spec struct {
		Envelope map[string]string `json:"envelope"`
		Event    map[string]string `json:"event"`
		Optional map[string]string `json:"optional"`
		Context  map[string]string `json:"context"`
		Product  map[string]string `json:"product"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		t.Fatalf("cannot decode the vector: %v", err)
	}
	for _, m := range []map[string]string{spec.Envelope, spec.Event, spec.Optional, spec.Context, spec.Product} {
		if len(m) == 0 {
			t.Fatal("a section of wire-event.json is empty")
		}
	}
	clearSDKVariables(t, "strapi")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	bodies := make(chan []byte, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		zr, err := gzip.NewReader(r.Body)
		if err == nil {
			b, _ := io.ReadAll(zr)
			bodies <- b
		}
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"accepted":2,"duplicates":0,"rejected":[]}`)
	}))
	defer srv.Close()
	dir := t.TempDir()
	manifest := `{"strapi": {"uuid": "7b581c0d-89b7-479e-b379-a76ab90b8754"}}`
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{Product: "strapi", Version: "5.3.1", Endpoint: srv.URL, Dir: dir, StateDir: t.TempDir(),
		Build: map[string]any{"plugins": []string{"i18n"}}})
	if err != nil {
		t.Fatal(err)
	}
	c.Track("didStartServer", map[string]any{"durationMs": 1234})
	c.Track("ping", nil)
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	var body []byte
	select {
	case body = <-bodies:
	case <-time.After(5 * time.Second):
		t.Fatal("no batch received")
	}
	var batch map[string]any
	if err := json.Unmarshal(body, &batch); err != nil {
		t.Fatal(err)
	}
	checkWireFields(t, "envelope", batch, spec.Envelope, nil)
	events, _ := batch["events"].([]any)
	if len(events) != 2 {
		t.Fatalf("batch has %d events, want 2", len(events))
	}
	for i, e := range events {
		ev, _ := e.(map[string]any)
		checkWireFields(t, fmt.Sprintf("events[%d]", i), ev, spec.Event, spec.Optional)
		ctx, _ := ev["context"].(map[string]any)
		checkWireFields(t, fmt.Sprintf("events[%d].context", i), ctx, spec.Context, nil)
		prod, _ := ev["product"].(map[string]any)
		checkWireFields(t, fmt.Sprintf("events[%d].product", i), prod, spec.Product, nil)
	}
	if _, ok := events[0].(map[string]any)["properties"]; !ok {
		t.Error("the event with properties has none on the wire")
	}
	if _, ok := events[1].(map[string]any)["properties"]; ok {
		t.Error("the event without properties has a properties field")
	}
}

var (
	wireTimestamp = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	wireUUID      = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// checkWireFields checks that obj has exactly the fields of required (and any of
// optional), each of its type.
func checkWireFields(t *testing.T, where string, obj map[string]any, required, optional map[string]string) {
	t.Helper()
	if obj == nil {
		t.Errorf("%s: not an object", where)
		return
	}
	var keys []string
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		typ, ok := required[k]
		if !ok {
			typ, ok = optional[k]
		}
		if !ok {
			t.Errorf("%s: unexpected field %q", where, k)
			continue
		}
		if err := checkWireType(obj[k], typ); err != nil {
			t.Errorf("%s.%s: %v", where, k, err)
		}
	}
	for k := range required {
		if _, ok := obj[k]; !ok {
			t.Errorf("%s: missing field %q", where, k)
		}
	}
}

func checkWireType(v any, typ string) error {
	s, isString := v.(string)
	ok := false
	switch typ {
	case "uuid":
		ok = isString && wireUUID.MatchString(s)
	case "hex64":
		ok = isString && wire.IsLowerHex(s, 64)
	case "timestamp":
		ok = isString && wireTimestamp.MatchString(s)
	case "string":
		ok = isString
	case "environment":
		ok = isString && wire.IsEnvironment(s)
	case "int":
		f, isNum := v.(float64)
		ok = isNum && f == float64(int64(f))
	case "bool":
		_, ok = v.(bool)
	case "object":
		_, ok = v.(map[string]any)
	case "array":
		_, ok = v.([]any)
	default:
		return errors.New("unknown type " + typ + " in the vector")
	}
	if !ok {
		return fmt.Errorf("%v is not a %s", v, typ)
	}
	return nil
}
