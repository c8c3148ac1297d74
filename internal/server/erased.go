package server

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/abacushq/abacus/internal/ingest"
	"github.com/abacushq/abacus/telemetry/wire"
)

// erasures remembers which projects were erased and when, in <data>/erased,
// so that a crash between an erasure and the release of the log cannot bring
// the project's events back: replay skips the events of an erased project
// received before its erasure.
//
// Each line is "<project> <time> <crc>\n", fsynced before the erasure is
// answered: project is a keyed hash of the re-keyed project ID (16 bytes, hex;
// the ID itself is never written, so the file does not keep what the erasure
// removed), time is RFC 3339 in UTC, crc the CRC-32C of the text before it
// (8 hex digits). A line that fails its check stops the start with an error
// naming the file and the line: skipping it would silently undo an erasure.
// Only a last line without its newline is a torn append (the erasure was never
// answered): it is cut off at start, with a warning. Lines of the older form
// "<re-keyed ID> <time>" are read and rewritten in the new form.
type erasures struct {
	path string
	key  []byte     // keys the hash of project IDs
	mu   sync.Mutex // protects at and appends to the file
	at   map[string]time.Time
}

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// erasureLine is one line of the file, newline included.
func erasureLine(hash string, t time.Time) string {
	text := hash + " " + t.UTC().Format(time.RFC3339Nano)
	return fmt.Sprintf("%s %08x\n", text, crc32.Checksum([]byte(text), crc32c))
}

func (e *erasures) hash(id string) string {
	m := hmac.New(sha256.New, e.key)
	m.Write([]byte("abacus erased project\x00" + id))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// parseErasureLine reads one line (without its newline): the hash, the time,
// and whether it was of the older form.
func (e *erasures) parseErasureLine(line string) (string, time.Time, bool, bool) {
	f := strings.Split(line, " ")
	switch len(f) {
	case 3:
		sum, err := strconv.ParseUint(f[2], 16, 32)
		text := f[0] + " " + f[1]
		if err != nil || len(f[2]) != 8 || uint32(sum) != crc32.Checksum([]byte(text), crc32c) || !wire.IsLowerHex(f[0], ingest.KeyLen) {
			return "", time.Time{}, false, false
		}
		t, err := time.Parse(time.RFC3339Nano, f[1])
		return f[0], t, false, err == nil
	case 2: // the older form: the re-keyed ID itself, no checksum
		t, err := time.Parse(time.RFC3339Nano, f[1])
		if err != nil || !wire.IsLowerHex(f[0], ingest.KeyLen) {
			return "", time.Time{}, false, false
		}
		return e.hash(f[0]), t, true, true
	}
	return "", time.Time{}, false, false
}

// loadErasures reads <dataDir>/erased; key is the server secret.
func loadErasures(dataDir string, key []byte, logger *slog.Logger) (*erasures, error) {
	e := &erasures{path: filepath.Join(dataDir, "erased"), key: key, at: map[string]time.Time{}}
	b, err := os.ReadFile(e.path)
	if os.IsNotExist(err) {
		return e, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read erasures %q: %w", e.path, err)
	}
	rewrite := false
	if i := bytes.LastIndexByte(b, '\n'); i < len(b)-1 {
		logger.Warn("the erasures file ends with a torn line (an erasure that was never answered); cutting it off",
			"file", e.path, "line", bytes.Count(b, []byte{'\n'})+1, "bytes", len(b)-i-1)
		b = b[:i+1]
		rewrite = true
	}
	for n, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if line == "" && len(b) == 0 {
			break
		}
		hash, t, old, ok := e.parseErasureLine(line)
		if !ok {
			return nil, fmt.Errorf("cannot read erasures %q: line %d: expected \"<32 hex> <RFC 3339 time> <8 hex CRC-32C>\" with a matching checksum, got %q: "+
				"the file is damaged, and skipping the line could undo an erasure (restore the file, or remove the line once you know which erasure it held)",
				e.path, n+1, line)
		}
		rewrite = rewrite || old
		if e.at[hash].Before(t) {
			e.at[hash] = t
		}
	}
	if rewrite {
		if err := e.rewrite(); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// rewrite replaces the file with one line per erased project, atomically.
func (e *erasures) rewrite() error {
	var b strings.Builder
	for hash, t := range e.at {
		b.WriteString(erasureLine(hash, t))
	}
	tmp := e.path + ".tmp"
	if err := writeFileSync(tmp, []byte(b.String())); err != nil {
		return fmt.Errorf("cannot rewrite erasures %q: %w", e.path, err)
	}
	if err := os.Rename(tmp, e.path); err != nil {
		return fmt.Errorf("cannot rewrite erasures %q: %w", e.path, err)
	}
	return syncDir(filepath.Dir(e.path))
}

// writeFileSync writes a new file with mode 0600 and fsyncs it.
func writeFileSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir fsyncs a directory, so that a file created or renamed in it stays.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("cannot sync directory %q: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("cannot sync directory %q: %w", dir, err)
	}
	return nil
}

// add records that project id was erased at t, durably.
func (e *erasures) add(id string, t time.Time) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	hash := e.hash(id)
	f, err := os.OpenFile(e.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("cannot record the erasure in %q: %w", e.path, err)
	}
	_, err = f.WriteString(erasureLine(hash, t))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cannot record the erasure in %q: %w", e.path, err)
	}
	if e.at[hash].Before(t) {
		e.at[hash] = t
	}
	return nil
}

// erased reports whether an event of project id received at t was erased.
func (e *erasures) erased(id string, received time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.at) == 0 {
		return false
	}
	at, ok := e.at[e.hash(id)]
	return ok && !received.After(at)
}
