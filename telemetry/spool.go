package telemetry

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/abacushq/abacus/telemetry/wire"
)

// spoolMaxBytes caps the spool of a product, all projects together.
const spoolMaxBytes = 2 << 20

// spool keeps the events a run could not deliver, as JSON lines, for the next run.
//
// Layout: <StateDir>/spool/<project key>/<unix nanos>-<random>.jsonl, where the
// project key is a hash of the project directory (so opting one project out can
// discard its events without knowing its lost uuid). Each Close writes a new file
// and no file is ever appended to, so two runs of the product at once need no
// lock: at worst both send a file, and the collector keeps each event id once.
type spool struct {
	root   string // <StateDir>/spool
	dir    string // root/<project key>
	loaded []string
	ids    map[string]struct{} // ids of loaded events not yet delivered
}

// projectKey names a project's spool directory: the first 16 hex digits of the
// SHA-256 of the project directory's real path (absolute, symlinks resolved), so
// that every name of one directory finds the same spool.
func projectKey(projectDir string) string {
	if abs, err := filepath.Abs(projectDir); err == nil {
		projectDir = abs
	}
	if real, err := filepath.EvalSymlinks(projectDir); err == nil {
		projectDir = real
	}
	return projectKeyOf(projectDir)
}

// projectKeyOf hashes a real path into a project key.
func projectKeyOf(realPath string) string {
	sum := sha256.Sum256([]byte(realPath))
	return hex.EncodeToString(sum[:8])
}

func openSpool(root, projectDir string) *spool {
	return &spool{root: root, dir: filepath.Join(root, projectKey(projectDir))}
}

// discardSpool deletes spooled events: all of the product's on a user-level
// opt-out, else those of this project.
func (c *Client) discardSpool(userOptOut bool) {
	dir := c.spoolDir
	if !userOptOut {
		dir = filepath.Join(dir, projectKey(c.cfg.Dir))
	}
	if _, err := os.Stat(dir); err == nil {
		os.RemoveAll(dir)
	}
}

// load reads the project's spool files, oldest first. Lines that do not decode
// are skipped: a spool is a best effort, and one bad line must not block the rest.
func (s *spool) load() ([]queued, error) {
	files, err := spoolFiles(s.dir)
	if err != nil || len(files) == 0 {
		return nil, err
	}
	var events []queued
	s.ids = make(map[string]struct{})
	for _, f := range files {
		data, err := os.ReadFile(f.path)
		if err != nil {
			continue
		}
		s.loaded = append(s.loaded, f.path)
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 64<<10), wire.MaxEventBytes*2)
		for sc.Scan() {
			var ev struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.ID == "" {
				continue
			}
			s.ids[ev.ID] = struct{}{}
			events = append(events, queued{id: ev.ID, raw: bytes.Clone(sc.Bytes())})
		}
	}
	if len(s.ids) == 0 {
		s.removeLoaded()
	}
	return events, nil
}

// acked notes that events were delivered (or refused for good); once every loaded
// event is, the loaded files go.
func (s *spool) acked(events []queued) {
	if s == nil || len(s.ids) == 0 {
		return
	}
	for _, ev := range events {
		delete(s.ids, ev.id)
	}
	if len(s.ids) == 0 {
		s.removeLoaded()
	}
}

func (s *spool) removeLoaded() {
	for _, f := range s.loaded {
		os.Remove(f)
	}
	s.loaded = nil
}

// save writes events (oldest first) to a new spool file, replacing the files it
// loaded, whose undelivered events are among them. To stay within spoolMaxBytes it
// first deletes the oldest files of other runs, then drops the oldest events.
func (s *spool) save(events []queued) (written, dropped int, err error) {
	lines := make([][]byte, 0, len(events))
	for _, ev := range events {
		lines = append(lines, append(ev.raw[:len(ev.raw):len(ev.raw)], '\n'))
	}
	loaded := make(map[string]bool, len(s.loaded))
	for _, f := range s.loaded {
		loaded[f] = true
	}
	size := 0
	for _, l := range lines {
		size += len(l)
	}
	for size > spoolMaxBytes && len(lines) > 0 {
		size -= len(lines[0])
		lines = lines[1:]
		dropped++
	}
	others, _ := spoolFiles(s.root)
	var othersSize int64
	for _, f := range others {
		if !loaded[f.path] {
			othersSize += f.size
		}
	}
	for _, f := range others {
		if int64(size)+othersSize <= spoolMaxBytes {
			break
		}
		if loaded[f.path] {
			continue
		}
		n := countLines(f.path)
		if os.Remove(f.path) == nil {
			othersSize -= f.size
			dropped += n
		}
	}
	if len(lines) > 0 {
		if err := os.MkdirAll(s.dir, 0o700); err != nil {
			return 0, dropped + len(lines), fmt.Errorf("cannot create spool directory %q: %w", s.dir, err)
		}
		var rnd [4]byte
		rand.Read(rnd[:])
		name := filepath.Join(s.dir, strconv.FormatInt(time.Now().UnixNano(), 10)+"-"+hex.EncodeToString(rnd[:])+".jsonl")
		if err := writeFileAtomic(name, bytes.Join(lines, nil), 0o600); err != nil {
			return 0, dropped + len(lines), fmt.Errorf("cannot write spool %q: %w", name, err)
		}
	}
	s.removeLoaded()
	return len(lines), dropped, nil
}

// countLines counts the events of a spool file.
func countLines(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte{'\n'})
}

type spoolFile struct {
	path string
	size int64
	name string
}

// spoolFiles lists the .jsonl files below dir, oldest first by name.
func spoolFiles(dir string) ([]spoolFile, error) {
	var files []spoolFile
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return filepath.SkipAll
			}
			return err
		}
		if d.Type().IsRegular() && strings.HasSuffix(path, ".jsonl") {
			if info, err := d.Info(); err == nil {
				files = append(files, spoolFile{path: path, size: info.Size(), name: d.Name()})
			}
		}
		return nil
	})
	sort.Slice(files, func(i, j int) bool { return spoolOlder(files[i].name, files[j].name) })
	return files, err
}

// spoolOlder orders spool file names by their leading nanosecond time.
func spoolOlder(a, b string) bool {
	ta, _ := strconv.ParseInt(strings.SplitN(a, "-", 2)[0], 10, 64)
	tb, _ := strconv.ParseInt(strings.SplitN(b, "-", 2)[0], 10, 64)
	if ta != tb {
		return ta < tb
	}
	return a < b
}
