package telemetry

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
)

// osMachineIDFiles are read in order for the OS machine ID.
var osMachineIDFiles = []string{"/etc/machine-id", "/var/lib/dbus/machine-id"}

func rawMachineID() string {
	for _, f := range osMachineIDFiles {
		if b, err := readSmall(f); err == nil {
			if id := strings.TrimSpace(string(b)); id != "" {
				return id
			}
		}
	}
	return ""
}

func osVersion() string {
	b, err := readSmall("/proc/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	return kernelVersion(string(b))
}

// kernelVersion keeps the numeric release of a Linux kernel string
// ("6.1.0-13-amd64" becomes "6.1.0"): distribution suffixes can carry build host
// names.
func kernelVersion(s string) string {
	s = strings.TrimSpace(s)
	end := 0
	for end < len(s) && (s[end] >= '0' && s[end] <= '9' || s[end] == '.') {
		end++
	}
	return strings.TrimRight(s[:end], ".")
}

func memoryMB() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb / 1024
		}
	}
	return 0
}

func inContainer() bool {
	for _, f := range []string{"/.dockerenv", "/run/.containerenv"} {
		if _, err := os.Stat(f); err == nil {
			return true
		}
	}
	b, err := readSmall("/proc/1/cgroup")
	if err != nil {
		return false
	}
	for _, k := range []string{"docker", "kubepods", "containerd", "libpod"} {
		if bytes.Contains(b, []byte(k)) {
			return true
		}
	}
	return false
}

func inWSL() bool {
	if os.Getenv("WSL_DISTRO_NAME") != "" {
		return true
	}
	b, err := readSmall("/proc/sys/kernel/osrelease")
	return err == nil && bytes.Contains(bytes.ToLower(b), []byte("microsoft"))
}
