package server

import (
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// tightenPermissions takes every permission of group and others from the
// data directory, its directories (0700) and its files (0600), so that no other user of the machine reads the
// events, the log, the secret or the token. What it cannot change is logged
// as a warning. Symbolic links (a log on another disk) are left as they are.
func tightenPermissions(dir string, logger *slog.Logger) {
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			logger.Warn("cannot check the permissions of the data directory", "path", path, "err", err)
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !d.IsDir() && !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil || info.Mode().Perm()&0o077 == 0 {
			return nil
		}
		want := info.Mode().Perm() &^ 0o077 // 0755 becomes 0700, 0644 becomes 0600
		if err := os.Chmod(path, want); err != nil {
			logger.Warn("cannot restrict the permissions of the data directory", "path", path,
				"mode", info.Mode().Perm().String(), "want", want.String(), "err", err)
		}
		return nil
	})
	if err != nil {
		logger.Warn("cannot restrict the permissions of the data directory", "path", dir, "err", err)
	}
}
