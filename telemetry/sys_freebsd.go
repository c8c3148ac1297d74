package telemetry

import (
	"encoding/binary"
	"strings"
	"syscall"
)

func rawMachineID() string {
	if v, err := syscall.Sysctl("kern.hostuuid"); err == nil && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	if b, err := readSmall("/etc/hostid"); err == nil {
		return strings.TrimSpace(string(b))
	}
	return ""
}

func osVersion() string {
	v, err := syscall.Sysctl("kern.osrelease")
	if err != nil {
		return ""
	}
	if i := strings.IndexByte(v, '-'); i > 0 {
		return v[:i]
	}
	return v
}

func memoryMB() int64 {
	v, err := syscall.Sysctl("hw.physmem")
	if err != nil {
		return 0
	}
	b := []byte(v)
	for len(b) < 8 {
		b = append(b, 0)
	}
	return int64(binary.LittleEndian.Uint64(b[:8]) / (1 << 20))
}

func inContainer() bool { return false }
func inWSL() bool       { return false }
