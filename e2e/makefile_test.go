package e2e

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestMakefileRunsNoRaceTests: `make test` runs everything under -race, which
// leaves out the tests that do not build under it (//go:build !race) and the
// ones that skip themselves when raceEnabled. The Makefile's NORACE list runs
// those once more without -race; every such test must be on it, or CI never
// runs it.
func TestMakefileRunsNoRaceTests(t *testing.T) {
	root := ".."
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(string(mk), "\n") {
		if rest, ok := strings.CutPrefix(line, "NORACE :="); ok {
			for _, f := range strings.Fields(rest) {
				parts := strings.Split(f, ":")
				if len(parts) != 3 {
					t.Fatalf("NORACE entry %q: expected module:package:TestName", f)
				}
				listed[parts[2]] = true
			}
		}
	}
	testFunc := regexp.MustCompile(`^func (Test[A-Za-z0-9_]*)\(`)
	skipIf := regexp.MustCompile(`^\s*if .*\braceEnabled\b.*\{\s*$`)
	var want []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		norace, current, raceIf := false, "", false
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for first := true; sc.Scan(); first = false {
			line := sc.Text()
			if first && strings.TrimSpace(line) == "//go:build !race" {
				norace = true
			}
			if m := testFunc.FindStringSubmatch(line); m != nil && m[1] != "TestMain" {
				current = m[1]
				if norace {
					want = append(want, path+": "+current)
				}
			}
			// A test that skips itself under the race detector:
			// if raceEnabled ... { t.Skip(...) }
			if raceIf && current != "" && !norace && strings.Contains(line, ".Skip") {
				want = append(want, path+": "+current)
			}
			raceIf = skipIf.MatchString(line)
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 {
		t.Fatal("found no test that runs only without -race; the scan is broken")
	}
	t.Logf("tests that run only without -race: %v", want)
	for _, w := range want {
		name := w[strings.LastIndex(w, " ")+1:]
		if !listed[name] {
			t.Errorf("%s runs only without -race but is not on the Makefile's NORACE list", w)
		}
	}
}
