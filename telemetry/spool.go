package telemetry

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
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
	// spoolMaxFiles bounds the files of a product's spool; past it the oldest
	// are deleted.
	spoolMaxFiles = 1000
)

// discarding holds the state directories whose leftovers a goroutine of this
// process is deleting, so that one goroutine does it.
var discarding sync.Map

// spool keeps the events a run could not deliver, as JSON lines, for the next run.
//
// Layout: <StateDir>/spool/<project key>/<unix nanos>-<random>.jsonl, where the
// project key is a hash of the project directory's real path (so opting one
// project out can discard its events without knowing its lost uuid). Each Close
// writes a new file and no file is ever appended to, so two runs of the product
// at once need no lock: at worst both send a file, and the collector keeps each
// event id once. Before writing, a run deletes the oldest files of the product
// until the spool with its new file fits spoolMaxBytes, taking turns with other
// runs through an advisory lock, so concurrent runs keep it under the cap too.
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
	return len(namesWithPrefix(stateDir, discardPrefix)) > 0
}

// discardLeftovers deletes the spool directories set aside, at most
// discardMaxFiles files a run.
func discardLeftovers(stateDir string) {
	if _, busy := discarding.LoadOrStore(stateDir, true); busy {
		return
	}
	defer discarding.Delete(stateDir)
	defer func() { recover() }()
	m := namesWithPrefix(stateDir, discardPrefix)
	budget := discardMaxFiles
	for _, d := range m {
		if budget <= 0 {
			return
		}
		budget -= removeBounded(d, budget)
	}
}

// namesWithPrefix returns the paths of dir's entries whose names start with
// prefix (filepath.Glob would do, but links the pattern matcher into every
// host binary for two fixed prefixes).
func namesWithPrefix(dir, prefix string) []string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out
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
	files, err := spoolNames(s.dir, false)
	if err != nil || len(files) == 0 {
		return res, err
	}
	s.ids = make(map[string]struct{})
	budget := int64(spoolMaxBytes)
	for i, f := range files {
		if i >= spoolLoadMaxFiles {
			break
		}
		info, err := os.Lstat(f.path)
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		f.size = info.Size()
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
// earlier runs' events go first, then this run's oldest. Before writing, it
// deletes the oldest files of other runs until the whole spool, its new file
// included, fits the caps.
func (s *spool) save(events []queued, deadline time.Time) (res saveResult, err error) {
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
	if len(ordered) == 0 {
		s.removeLoaded()
		return res, nil
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
	// Runs that save at once take turns (an advisory lock on the spool
	// directory, waited for until the deadline): each makes room with every
	// earlier file in view, which keeps the spool under its caps even when
	// a run dies right after writing.
	unlock, _ := lockDir(s.root, max(time.Until(deadline), 10*time.Millisecond))
	defer unlock()
	loaded := make(map[string]bool, len(s.loaded))
	for _, f := range s.loaded {
		loaded[f] = true
	}
	res.othersDropped = s.makeRoom(int64(size), loaded, deadline)
	buf := make([]byte, 0, size)
	for _, ev := range ordered {
		buf = append(append(buf, ev.raw...), '\n')
	}
	var rnd [4]byte
	rand.Read(rnd[:])
	name := filepath.Join(s.dir, strconv.FormatInt(time.Now().UnixNano(), 10)+"-"+hex.EncodeToString(rnd[:])+".jsonl")
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
	s.removeLoaded()
	return res, nil
}

// makeRoom deletes the oldest spool files of the product, other than those this
// run loaded (they are about to go), until the rest and a new file of need bytes
// fit spoolMaxBytes and spoolMaxFiles; it returns how many events they held. It
// stops at deadline, looked at every 64 files: a small spool is always trimmed,
// however late, and a huge one costs a bounded time (a later run goes on).
func (s *spool) makeRoom(need int64, loaded map[string]bool, deadline time.Time) (dropped int) {
	files, err := spoolNamesBy(s.root, true, deadline)
	if err != nil {
		return 0
	}
	late := func(n int) bool { return n%64 == 63 && time.Now().After(deadline) }
	others := files[:0:0]
	for _, f := range files {
		if !loaded[f.path] {
			others = append(others, f)
		}
	}
	files = others
	total := need
	cut := 0 // files[:cut] go
	for i := len(files) - 1; i >= 0; i-- {
		if late(len(files) - 1 - i) {
			return dropped
		}
		if len(files)-i >= spoolMaxFiles {
			cut = i + 1
			break
		}
		info, err := os.Lstat(files[i].path)
		if err != nil {
			continue
		}
		if total+info.Size() > spoolMaxBytes {
			cut = i + 1
			break
		}
		total += info.Size()
	}
	for i, f := range files[:cut] {
		if late(i) {
			break
		}
		n := countLines(f.path)
		if os.Remove(f.path) == nil {
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

// spoolFiles is spoolNames with each file's size.
func spoolFiles(dir string, deep bool) ([]spoolFile, error) {
	files, err := spoolNames(dir, deep)
	out := files[:0]
	for _, f := range files {
		if info, err := os.Lstat(f.path); err == nil {
			f.size = info.Size()
			out = append(out, f)
		}
	}
	return out, err
}

// spoolNames lists the regular .jsonl files in dir (and in its subdirectories
// when deep), oldest first by name, without their sizes: it reads directories
// only, never each file's inode. It also removes the temporary files of writes
// that a killed process left behind.
func spoolNames(dir string, deep bool) ([]spoolFile, error) {
	return spoolNamesBy(dir, deep, time.Time{})
}

// errListTimeout stops a listing that would outlast its deadline.
var errListTimeout = errors.New("spool listing ran out of time")

// spoolNamesBy is spoolNames that gives up at deadline (zero: never).
func spoolNamesBy(dir string, deep bool, deadline time.Time) ([]spoolFile, error) {
	var files []spoolFile
	var walk func(dir string, depth int) error
	walk = func(dir string, depth int) error {
		d, err := os.Open(dir)
		if err != nil {
			return err
		}
		defer d.Close()
		var entries []os.DirEntry
		for {
			chunk, err := d.ReadDir(1024)
			entries = append(entries, chunk...)
			if err != nil || len(chunk) == 0 {
				break
			}
			if !deadline.IsZero() && time.Now().After(deadline) {
				return errListTimeout
			}
		}
		for _, e := range entries {
			path := filepath.Join(dir, e.Name())
			switch {
			case e.IsDir() && deep && depth == 0:
				if err := walk(path, 1); err == errListTimeout {
					return err
				}
			case e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".jsonl"):
				files = append(files, spoolFile{path: path, name: e.Name()})
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
