package server

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// erasures remembers which projects were erased and when, in <data>/erased
// (one "projectId RFC3339-time" line each, fsynced). Replay skips the events of
// an erased project received before its erasure, so a crash between an
// erasure and the release of the log cannot bring them back.
type erasures struct {
	path string
	mu   sync.Mutex // protects at and appends to the file
	at   map[string]time.Time
}

func loadErasures(dataDir string) (*erasures, error) {
	e := &erasures{path: filepath.Join(dataDir, "erased"), at: map[string]time.Time{}}
	f, err := os.Open(e.path)
	if os.IsNotExist(err) {
		return e, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", e.path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		id, ts, ok := strings.Cut(sc.Text(), " ")
		t, err := time.Parse(time.RFC3339Nano, ts)
		if !ok || err != nil {
			continue // a torn last line: that erasure had not been answered
		}
		e.at[id] = t
	}
	return e, sc.Err()
}

// add records that project id was erased at t, durably.
func (e *erasures) add(id string, t time.Time) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	f, err := os.OpenFile(e.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("cannot record the erasure: %w", err)
	}
	_, err = fmt.Fprintf(f, "%s %s\n", id, t.UTC().Format(time.RFC3339Nano))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cannot record the erasure: %w", err)
	}
	if e.at[id].Before(t) {
		e.at[id] = t
	}
	return nil
}

// erased reports whether an event of project id received at t was erased.
func (e *erasures) erased(id string, received time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	at, ok := e.at[id]
	return ok && !received.After(at)
}
