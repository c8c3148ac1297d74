package telemetry

import (
	"context"
	"encoding/binary"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

func rawMachineID() string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "/usr/sbin/ioreg", "-rd1", "-c", "IOPlatformExpertDevice").Output()
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.Contains(line, "IOPlatformUUID") {
			continue
		}
		if _, v, ok := strings.Cut(line, "="); ok {
			return strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	return ""
}

func osVersion() string {
	v, err := syscall.Sysctl("kern.osproductversion")
	if err != nil {
		return ""
	}
	return v
}

func memoryMB() int64 {
	v, err := syscall.Sysctl("hw.memsize")
	if err != nil {
		return 0
	}
	b := []byte(v)
	for len(b) < 8 {
		b = append(b, 0) // Sysctl trims trailing NULs
	}
	return int64(binary.LittleEndian.Uint64(b[:8]) / (1 << 20))
}

func inContainer() bool { return false }
func inWSL() bool       { return false }
