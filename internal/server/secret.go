package server

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// loadOrCreate reads the secret kept in path, or creates one of n random bytes
// (hex) with mode 0600. It reports whether it created it. A file readable by
// others is tightened to 0600.
func loadOrCreate(path string, n int, encode func([]byte) string) (string, bool, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", false, fmt.Errorf("%s is empty; delete it to make a new one", path)
		}
		if info, err := os.Stat(path); err == nil && info.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(path, 0o600); err != nil {
				return "", false, fmt.Errorf("cannot restrict %s to mode 0600: %w", path, err)
			}
		}
		return v, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, fmt.Errorf("cannot read %s: %w", path, err)
	}
	buf := make([]byte, n)
	rand.Read(buf)
	v := encode(buf)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", false, fmt.Errorf("cannot create %s: %w", path, err)
	}
	_, err = f.WriteString(v + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", false, fmt.Errorf("cannot write %s: %w", path, err)
	}
	return v, true, nil
}

// serverSecret returns the re-keying secret kept in path, created on first
// use.
func serverSecret(path string) ([]byte, error) {
	v, _, err := loadOrCreate(path, 32, hex.EncodeToString)
	if err != nil {
		return nil, err
	}
	b, err := hex.DecodeString(v)
	if err != nil || len(b) < 32 {
		return nil, fmt.Errorf("%s: expected at least 64 hex characters", path)
	}
	return b, nil
}

// adminToken returns the admin token: the configured one, else the one kept in
// <data>/token, created on first start.
// Either must be at least minTokenLen characters long.
func adminToken(dataDir, configured string) (token string, created bool, err error) {
	if configured != "" {
		return configured, false, checkToken(configured, "ABACUS_TOKEN")
	}
	path := filepath.Join(dataDir, "token")
	token, created, err = loadOrCreate(path, 32, base64.RawURLEncoding.EncodeToString)
	if err == nil {
		err = checkToken(token, path)
	}
	return token, created, err
}

// tokenMatches compares in constant time (hashing first, so that not even the
// length leaks).
func tokenMatches(got, want string) bool {
	a := sha256.Sum256([]byte(got))
	b := sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1 && want != ""
}
