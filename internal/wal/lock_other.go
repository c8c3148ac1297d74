//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package wal

import "os"

// lockDir is a no-op where flock is not available: do not open one directory twice.
func lockDir(string) (*os.File, error) { return nil, nil }

func unlockDir(*os.File) {}
