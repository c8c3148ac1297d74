package e2e

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// A data directory left open to other users (0755, files 0644) is closed at
// start: the directories 0700, every file 0600, the store's included.
func TestDataDirectoryIsPrivate(t *testing.T) {
	srv := startServer(t, serveOpts{})
	postBatch(t, srv.URL, nil) // a 400, but the store and log exist by now
	srv.term()
	filepath.WalkDir(srv.dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil {
			if d.IsDir() {
				os.Chmod(path, 0o755)
			} else {
				os.Chmod(path, 0o644)
			}
		}
		return nil
	})
	srv.restart()
	files := 0
	filepath.WalkDir(srv.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Error(err)
			return nil
		}
		info, err := os.Lstat(path)
		if err != nil {
			return nil // removed meanwhile
		}
		switch {
		case d.IsDir() && info.Mode().Perm() != 0o700:
			t.Errorf("%s: mode %v, want 0700", path, info.Mode().Perm())
		case d.Type().IsRegular():
			files++
			if info.Mode().Perm() != 0o600 {
				t.Errorf("%s: mode %v, want 0600", path, info.Mode().Perm())
			}
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(srv.dir, "events.duckdb")); err != nil || files < 3 {
		t.Fatalf("the data directory holds %d files (events.duckdb: %v)", files, err)
	}
}
