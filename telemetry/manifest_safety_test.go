//go:build unix

package telemetry

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

const noUUIDManifest = "{\n  \"name\": \"site\"\n}\n"

// needRoot skips a test that needs root, except in CI, where it fails: CI runs
// as root.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("this test needs root, and CI runs as root")
		}
		t.Skip("needs root")
	}
}

func TestCreateProjectKeepsOwnerGroupAndMode(t *testing.T) {
	needRoot(t)
	dir := writeTestManifest(t, noUUIDManifest)
	path := filepath.Join(dir, manifestName)
	if err := os.Chown(path, 1000, 1001); err != nil {
		t.Fatal(err)
	}
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
	st := info.Sys().(*syscall.Stat_t)
	if st.Uid != 1000 || st.Gid != 1001 || info.Mode().Perm() != 0o640 {
		t.Errorf("after CreateProject: owner %d:%d mode %#o, want 1000:1001 0640", st.Uid, st.Gid, info.Mode().Perm())
	}
	assertManifestDirClean(t, dir)
}

func TestCreateProjectRefusesReadOnlyAndLinkedManifests(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		prepare    func(t *testing.T, path string)
	}{
		{"read-only for its owner", "read-only for its owner", func(t *testing.T, path string) { os.Chmod(path, 0o444) }},
		{"two hard links", "2 hard links", func(t *testing.T, path string) {
			if err := os.Link(path, filepath.Join(t.TempDir(), "other-name.json")); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeTestManifest(t, noUUIDManifest)
			path := filepath.Join(dir, manifestName)
			tc.prepare(t, path)
			before, _ := os.Stat(path)
			_, err := CreateProject(dir, "strapi")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("CreateProject = %v, want an error saying %q", err, tc.want)
			}
			after, _ := os.Stat(path)
			if got, _ := os.ReadFile(path); string(got) != noUUIDManifest || !os.SameFile(before, after) {
				t.Errorf("the file was replaced or changed")
			}
			assertManifestDirClean(t, dir)
		})
	}
}

func TestCreateProjectRemovesItsStaleTempFiles(t *testing.T) {
	dir := writeTestManifest(t, noUUIDManifest)
	stale := filepath.Join(dir, ".package.json.1234567.tmp")
	notOurs := filepath.Join(dir, ".package.json.backup.tmp")
	for _, p := range []string{stale, notOurs} {
		if err := os.WriteFile(p, []byte("{"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := CreateProject(dir, "strapi"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Errorf("a stale temp file of ours is still there")
	}
	if _, err := os.Stat(notOurs); err != nil {
		t.Errorf("a file that is not ours was removed")
	}
}

func TestCreateProjectConcurrentCallsAgree(t *testing.T) {
	for round := 0; round < 20; round++ {
		dir := writeTestManifest(t, noUUIDManifest)
		ids := make([]string, 20)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id, err := CreateProject(dir, "strapi")
				if err != nil {
					t.Error(err)
				}
				ids[i] = id
			}()
		}
		wg.Wait()
		inFile, state, err := readProjectID(dir, "strapi")
		if state != manifestOK || err != nil {
			t.Fatalf("round %d: file holds no valid ID: %v", round, err)
		}
		for i, id := range ids {
			if id != inFile {
				t.Fatalf("round %d: call %d returned %s, the file holds %s", round, i, id, inFile)
			}
		}
	}
}
