//go:build !unix

package telemetry

import (
	"io/fs"
	"os"
	"time"
)

// openRegular opens path for reading, refusing anything that is not a regular
// file. Without O_NONBLOCK the type is checked before opening.
func openRegular(path string) (*os.File, os.FileInfo, error) {
	if info, err := os.Stat(path); err != nil {
		return nil, nil, err
	} else if !info.Mode().IsRegular() {
		return nil, nil, &fs.PathError{Op: "open", Path: path, Err: errNotRegular}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		f.Close()
		return nil, nil, &fs.PathError{Op: "open", Path: path, Err: errNotRegular}
	}
	return f, info, nil
}

func fileOwner(info os.FileInfo) (uid, gid, links int, ok bool) { return 0, 0, 1, false }

func writableByMe(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().Perm()&0o200 != 0
}

// lockDir is not available here; CreateProject re-reads the file instead.
func lockDir(dir string, wait time.Duration) (unlock func(), ok bool) { return func() {}, false }
