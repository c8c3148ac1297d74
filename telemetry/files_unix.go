//go:build unix

package telemetry

import (
	"io/fs"
	"os"
	"syscall"
	"time"
)

// openRegular opens path for reading without ever blocking: O_NONBLOCK makes
// opening a FIFO return at once, and anything that is not a regular file (a FIFO,
// a socket, a device) is refused. It follows a symlink to a regular file.
func openRegular(path string) (*os.File, os.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		// A socket cannot be opened at all (ENXIO): name what it is.
		if info, serr := os.Stat(path); serr == nil && !info.Mode().IsRegular() {
			return nil, nil, &fs.PathError{Op: "open", Path: path, Err: errNotRegular}
		}
		return nil, nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, nil, &fs.PathError{Op: "open", Path: path, Err: errNotRegular}
	}
	return f, info, nil
}

// fileOwner returns the owner and group of a file, and its number of links.
func fileOwner(info os.FileInfo) (uid, gid, links int, ok bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, 1, false
	}
	return int(st.Uid), int(st.Gid), int(st.Nlink), true
}

// writableByMe reports whether the current user may write the file at path.
func writableByMe(path string) bool {
	return syscall.Access(path, 2 /* W_OK */) == nil
}

// lockDir takes an exclusive advisory lock on the directory dir, waiting at most
// wait; unlock releases it. The lock lives on the directory itself, so no lock
// file is left in the user's project, and it dies with the process. ok is false
// when the lock could not be taken in time (the caller goes on without it).
func lockDir(dir string, wait time.Duration) (unlock func(), ok bool) {
	d, err := os.Open(dir)
	if err != nil {
		return func() {}, false
	}
	deadline := time.Now().Add(wait)
	for pause := time.Millisecond; ; pause = min(2*pause, 20*time.Millisecond) {
		err = syscall.Flock(int(d.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(d.Fd()), syscall.LOCK_UN); d.Close() }, true
		}
		if err != syscall.EWOULDBLOCK && err != syscall.EINTR || time.Now().After(deadline) {
			d.Close()
			return func() {}, false
		}
		time.Sleep(pause)
	}
}
