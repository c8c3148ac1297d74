//go:build !linux

package server

// diskSpace is unknown here: no floor is kept.
func diskSpace(string) (free, total int64, ok bool) { return 0, 0, false }
