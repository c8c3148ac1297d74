package telemetry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// The record of what was sent: <StateDir>/recent.jsonl, mode 0600, the events
// the collector acknowledged with a 2xx, one per line, byte for byte as they were
// in the batch, the newest last; at most recentMaxEvents events and
// recentMaxBytes bytes, whichever is smaller. It is what a product's
// "telemetry show" command prints, through Recent.
const (
	recentName      = "recent.jsonl"
	recentMaxEvents = 100
	recentMaxBytes  = 256 << 10
)

// record appends the events of an acknowledged batch to the record of what was
// sent, keeping the newest.
func (l *loop) record(events []queued) error {
	path := filepath.Join(l.c.cfg.StateDir, recentName)
	lines, _ := readRecent(path)
	for _, ev := range events {
		lines = append(lines, ev.raw)
	}
	size := 0
	keep := len(lines)
	for i := len(lines) - 1; i >= 0; i-- {
		if len(lines)-i > recentMaxEvents || size+len(lines[i])+1 > recentMaxBytes {
			break
		}
		size += len(lines[i]) + 1
		keep = i
	}
	lines = lines[keep:]
	buf := make([]byte, 0, size)
	for _, l := range lines {
		buf = append(append(buf, l...), '\n')
	}
	if err := os.MkdirAll(l.c.cfg.StateDir, 0o700); err != nil {
		return fmt.Errorf("cannot create state directory %q: %w", l.c.cfg.StateDir, err)
	}
	if err := writeFileAtomic(path, buf, 0o600); err != nil {
		return fmt.Errorf("cannot write the record of sent events %q: %w", path, err)
	}
	return nil
}

// readRecent reads the record at path, oldest first; a missing file is empty.
func readRecent(path string) ([]json.RawMessage, error) {
	f, _, err := openRegular(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read %q: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 2*recentMaxBytes))
	if err != nil {
		return nil, fmt.Errorf("cannot read %q: %w", path, err)
	}
	var out []json.RawMessage
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		if len(line) > 0 && json.Valid(line) {
			out = append(out, json.RawMessage(line))
		}
	}
	return out, nil
}

// Recent returns the events this product sent from this machine and the
// collector acknowledged, oldest first, byte for byte as they went on the wire:
// at most the last 100, or 256 KiB. It reads <StateDir>/recent.jsonl and works on
// any client, enabled or not, so that a "telemetry show" command can print what
// was sent even after the user opted out.
func (c *Client) Recent() (events []json.RawMessage, err error) {
	if c == nil {
		return nil, nil
	}
	defer c.recoverInto(&err)
	return readRecent(filepath.Join(c.cfg.StateDir, recentName))
}

// Recent is (*Client).Recent for a product that uses the default StateDir,
// without making a client.
func Recent(product string) (events []json.RawMessage, err error) {
	defer recoverInto(&err)
	cfg, err := Config{Product: product, Dir: "."}.resolve()
	if err != nil {
		return nil, err
	}
	return readRecent(filepath.Join(cfg.StateDir, recentName))
}
