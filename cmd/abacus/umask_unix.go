//go:build unix

package main

import "syscall"

// restrictUmask makes the files and directories the process creates from now
// on readable by its user only.
func restrictUmask() { syscall.Umask(0o077) }
