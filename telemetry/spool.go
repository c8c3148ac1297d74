package telemetry

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/abacushq/abacus/telemetry/wire"
)

const (
	// spoolMaxBytes caps the spool of a product, all projects together, on
	// write and on load.
	spoolMaxBytes = 2 << 20
	// spoolLoadMaxFiles bounds the spool files one run reads; the rest wait for
	// the next run.
	spoolLoadMaxFiles = 256
	// discardMaxFiles bounds the spool files one run deletes after an opt-out;
	// what is left is deleted by the next run.
	discardMaxFiles = 50000
	// discardPrefix names a spool directory set aside for deletion.
	discardPrefix = "spool.discard-"
)

// spool keeps the events a run could not deliver, as JSON lines, for the next run.
//
// Layout: <StateDir>/spool/<project key>/<unix nanos>-<random>.jsonl, where the
// project key is a hash of the project directory's real path (so opting one
// project out can discard its events without knowing its lost uuid). Each Close
// writes a new file and no file is ever appended to, so two runs of the product
// at once need no lock: at worst both send a file, and the collector keeps each
// event id once. After writing, a run trims the oldest files of the product until
// the spool fits spoolMaxBytes, so concurrent runs keep it under the cap too.
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

// discardSpool makes spooled events unsendable at once and deletes them in the
// background: all of the product's on a user-level opt-out, else those of this
// project. The directory is renamed aside (one system call, whatever it holds),
// so New never waits for the deletion, and no run can send from it any more.
func (c *Client) discardSpool(userOptOut bool) {
	dir := c.spoolDir
	if !userOptOut {
		dir = filepath.Join(dir, projectKey(c.cfg.Dir))
	}
	if _, err := os.Lstat(dir); err == nil {
		var rnd [4]byte
		rand.Read(rnd[:])
		aside := filepath.Join(c.cfg.StateDir, discardPrefix+hex.EncodeToString(rnd[:]))
		if os.Rename(dir, aside) != nil {
			// Cannot set it aside: delete it in place, in the background.
			go removeBounded(dir, discardMaxFiles)
			return
		}
	}
	if hasDiscards(c.cfg.StateDir) {
		go discardLeftovers(c.cfg.StateDir)
	}
}

// hasDiscards reports whether stateDir holds spool directories set aside.
func hasDiscards(stateDir string) bool {
	m, _ := filepath.Glob(filepath.Join(stateDir, discardPrefix+"*"))
	return len(m) > 0
}

// discardLeftovers deletes the spool directories set aside, at most
// discardMaxFiles files a run.
func discardLeftovers(stateDir string) {
	defer func() { recover() }()
	m, _ := filepath.Glob(filepath.Join(stateDir, discardPrefix+"*"))
	budget := discardMaxFiles
	for _, d := range m {
		if budget <= 0 {
			return
		}
		budget -= removeBounded(d, budget)
	}
}

// removeBounded deletes the tree at dir, at most max entries, reading the
// directories in chunks so that a huge one never sits in memory; it returns how
// many entries it removed.
func removeBounded(dir string, max int) (n int) {
	defer func() { recover() }()
	f, err := os.Open(dir)
	if err != nil {
		return 0
	}
	for n < max {
		entries, err := f.ReadDir(256)
		for _, e := range entries {
			p := filepath.Join(dir, e.Name())
			if e.IsDir() {
				n += removeBounded(p, max-n)
			}
			if os.Remove(p) == nil {
				n++
			}
		}
		if err != nil || len(entries) == 0 {
			break
		}
	}
	f.Close()
	if n < max && os.Remove(dir) == nil {
		n++
	}
	return n
}

// loadResult is what one run read from its spool.
type loadResult struct {
	events    []queued // oldest first, marked old
	oversized int      // files over the cap, deleted unread
	bad       int      // files with no event that decodes, deleted
}

// load reads the project's spool files, oldest first, at most spoolLoadMaxFiles
// files and spoolMaxBytes bytes: no more than one run can send in its budget, and
// never more than the cap. A file over the cap is deleted unread; a file in which
// no line decodes is deleted; lines that do not decode are skipped, since one bad
// line must not block the rest. A FIFO, socket or device in the spool is skipped,
// never opened in a way that blocks.
func (s *spool) load() (res loadResult, err error) {
	files, err := spoolFiles(s.dir, false)
	if err != nil || len(files) == 0 {
		return res, err
	}
	s.ids = make(map[string]struct{})
	budget := int64(spoolMaxBytes)
	for i, f := range files {
		if i >= spoolLoadMaxFiles {
			break
		}
		if f.size > spoolMaxBytes {
			if os.Remove(f.path) == nil {
				res.oversized++
			}
			continue
		}
		if f.size > budget {
			break
		}
		data, err := readSpoolFile(f.path)
		if err != nil {
			continue
		}
		budget -= int64(len(data))
		n := 0
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 0, 64<<10), wire.MaxEventBytes+1)
		for sc.Scan() {
			var ev struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.ID == "" {
				continue
			}
			if _, dup := s.ids[ev.ID]; dup {
				continue
			}
			s.ids[ev.ID] = struct{}{}
			res.events = append(res.events, queued{id: ev.ID, raw: bytes.Clone(sc.Bytes()), old: true})
			n++
		}
		if n == 0 {
			if os.Remove(f.path) == nil {
				res.bad++
			}
			continue
		}
		s.loaded = append(s.loaded, f.path)
	}
	if len(s.ids) == 0 {
		s.removeLoaded()
	}
	return res, nil
}

// readSpoolFile reads one spool file, refusing anything but a regular file of at
// most spoolMaxBytes.
func readSpoolFile(path string) ([]byte, error) {
	f, _, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, spoolMaxBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > spoolMaxBytes {
		return nil, fmt.Errorf("spool file %q grew past %d bytes", path, spoolMaxBytes)
	}
	return data, nil
}

// acked notes that events were delivered (or refused for good); once every loaded
// event is, the loaded files go.
func (s *spool) acked(events []queued) {
	if s == nil || len(s.ids) == 0 {
		return
	}
	for _, ev := range events {
		if ev.old {
			delete(s.ids, ev.id)
		}
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

// saveResult counts what save did with the events it was given, by origin: this
// run's events (own) and those loaded from earlier runs (old).
type saveResult struct {
	ownWritten, oldWritten int
	ownDropped, oldDropped int
	othersDropped          int // events of other runs' files deleted to fit the cap
}

// save writes events to a new spool file, replacing the files it loaded, whose
// undelivered events are among them. Past spoolMaxBytes it keeps the newest:
// earlier runs' events go first, then this run's oldest. Then it deletes the
// oldest files of other runs until the whole spool fits the cap.
func (s *spool) save(events []queued) (res saveResult, err error) {
	// Old events first, then this run's, each oldest first.
	ordered := make([]queued, 0, len(events))
	for _, ev := range events {
		if ev.old {
			ordered = append(ordered, ev)
		}
	}
	for _, ev := range events {
		if !ev.old {
			ordered = append(ordered, ev)
		}
	}
	size := 0
	for _, ev := range ordered {
		size += len(ev.raw) + 1
	}
	for len(ordered) > 0 && size > spoolMaxBytes {
		size -= len(ordered[0].raw) + 1
		if ordered[0].old {
			res.oldDropped++
		} else {
			res.ownDropped++
		}
		ordered = ordered[1:]
	}
	var name string
	if len(ordered) > 0 {
		buf := make([]byte, 0, size)
		for _, ev := range ordered {
			buf = append(append(buf, ev.raw...), '\n')
		}
		count := func() {
			for _, ev := range ordered {
				if ev.old {
					res.oldDropped++
				} else {
					res.ownDropped++
				}
			}
		}
		if err := os.MkdirAll(s.dir, 0o700); err != nil {
			count()
			return res, fmt.Errorf("cannot create spool directory %q: %w", s.dir, err)
		}
		var rnd [4]byte
		rand.Read(rnd[:])
		name = filepath.Join(s.dir, strconv.FormatInt(time.Now().UnixNano(), 10)+"-"+hex.EncodeToString(rnd[:])+".jsonl")
		if err := writeFileAtomic(name, buf, 0o600); err != nil {
			count()
			return res, fmt.Errorf("cannot write spool %q: %w", name, err)
		}
		for _, ev := range ordered {
			if ev.old {
				res.oldWritten++
			} else {
				res.ownWritten++
			}
		}
	}
	s.removeLoaded()
	res.othersDropped = s.trim(name)
	return res, nil
}

// trim deletes the oldest spool files of the product, other than keep, until the
// spool fits spoolMaxBytes, and returns how many events they held. Every run
// trims after it writes, so the last of several concurrent runs sees every file
// written before it and leaves the spool under the cap.
func (s *spool) trim(keep string) (dropped int) {
	files, _ := spoolFiles(s.root, true)
	var total int64
	for _, f := range files {
		total += f.size
	}
	for _, f := range files {
		if total <= spoolMaxBytes {
			break
		}
		if f.path == keep {
			continue
		}
		n := countLines(f.path)
		if os.Remove(f.path) == nil {
			total -= f.size
			dropped += n
		}
	}
	return dropped
}

// countLines counts the events of a spool file.
func countLines(path string) int {
	b, err := readSpoolFile(path)
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

// spoolFiles lists the regular .jsonl files in dir (and in its subdirectories
// when deep), oldest first by name. It also removes the temporary files of
// writes that a killed process left behind.
func spoolFiles(dir string, deep bool) ([]spoolFile, error) {
	var files []spoolFile
	var walk func(dir string, depth int) error
	walk = func(dir string, depth int) error {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			path := filepath.Join(dir, e.Name())
			switch {
			case e.IsDir() && deep && depth == 0:
				walk(path, 1)
			case e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".jsonl"):
				if info, err := e.Info(); err == nil {
					files = append(files, spoolFile{path: path, size: info.Size(), name: e.Name()})
				}
			case e.Type().IsRegular() && strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), ".tmp-"):
				if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > time.Minute {
					os.Remove(path)
				}
			}
		}
		return nil
	}
	err := walk(dir, 0)
	if os.IsNotExist(err) {
		err = nil
	}
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
