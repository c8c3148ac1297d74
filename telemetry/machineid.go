package telemetry

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// sharedMachineIDs are OS machine IDs known to be shared by many machines (cloned
// images, placeholder firmware values); they identify nothing, so the SDK falls
// back to a random ID of its own for them.
var sharedMachineIDs = map[string]bool{
	"b08dfa6083e7567a1921a715000001fb":     true, // Whonix images
	"03000200-0400-0500-0006-000700080009": true, // placeholder SMBIOS UUID
}

// usableMachineID reports whether raw identifies one machine: after trimming
// and lower-casing, at least 16 hex digits (dashes allowed between them, as in a
// platform UUID), not all zeros or all f, and not a value known to be shared.
// Anything else — systemd's "uninitialized" placeholder, an empty file,
// firmware text such as "Not Settable" — is unusable, and the SDK uses the
// random ID it keeps in StateDir instead.
func usableMachineID(raw string) bool {
	raw = strings.ToLower(strings.TrimSpace(raw))
	if sharedMachineIDs[raw] {
		return false
	}
	digits := 0
	var zero, eff bool = true, true
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '-':
			continue
		case c >= '0' && c <= '9' || c >= 'a' && c <= 'f':
			digits++
			zero = zero && c == '0'
			eff = eff && c == 'f'
		default:
			return false
		}
	}
	return digits >= 16 && !zero && !eff
}

// hashMachineID keys the raw ID with the product name, so that two products on one
// machine send unrelated IDs and the raw ID never leaves the process.
func hashMachineID(raw, product string) string {
	m := hmac.New(sha256.New, []byte(product))
	io.WriteString(m, strings.ToLower(strings.TrimSpace(raw)))
	return hex.EncodeToString(m.Sum(nil))
}

// machineID returns the product-keyed hash of the OS machine ID, or of a random ID
// kept in stateDir when the OS has none worth using.
func machineID(product, stateDir string, raw string) (string, error) {
	if usableMachineID(raw) {
		return hashMachineID(raw, product), nil
	}
	path := filepath.Join(stateDir, "machine-id")
	if b, err := readSmall(path); err == nil && usableMachineID(string(b)) {
		return hashMachineID(string(b), product), nil
	}
	var buf [16]byte
	if _, err := rand.Read(buf[:]); err != nil {
		return "", fmt.Errorf("cannot make a random machine ID: %w", err)
	}
	id := hex.EncodeToString(buf[:])
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return hashMachineID(id, product), fmt.Errorf("cannot keep the machine ID in %q: %w", stateDir, err)
	}
	if err := writeFileAtomic(path, []byte(id+"\n"), 0o600); err != nil {
		return hashMachineID(id, product), fmt.Errorf("cannot keep the machine ID in %q: %w", path, err)
	}
	return hashMachineID(id, product), nil
}

// errNotRegular is the error for a FIFO, socket, device or directory where the
// SDK expects a regular file.
var errNotRegular = errors.New("not a regular file")

// readSmall reads a regular file of at most 64 KiB; it never blocks on a FIFO.
func readSmall(path string) ([]byte, error) {
	f, _, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64<<10+1))
	if err != nil {
		return nil, err
	}
	if len(b) > 64<<10 {
		return nil, errors.New("file too large")
	}
	return b, nil
}

// writeFileAtomic writes data to path through a temporary file and a rename, so a
// reader never sees a partial file. It does not fsync: its files (the spool, the
// fallback machine ID) are best effort, and an fsync can take longer than the
// whole close budget on a busy disk; a process exit keeps them either way.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
