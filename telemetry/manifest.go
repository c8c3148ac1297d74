package telemetry

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/abacushq/abacus/telemetry/wire"
)

// The manifest is the project's package.json. The project ID lives in it at
// <product>.uuid:
//
//	{ "name": "my-project", "strapi": { "uuid": "7b581c0d-89b7-479e-b379-a76ab90b8754" } }
//
// Deleting the uuid opts the project out, so the SDK writes it only when the product
// creates a project (CreateProject) and never puts it back.
//
// Reading follows JSON.parse and encoding/json: keys are compared after unescaping
// ("str\u0061pi" is "strapi"), and when a key appears twice in an object the last
// one wins. CreateProject edits that same last member, so what it writes is what
// every reader sees.
const (
	manifestName    = "package.json"
	maxManifestSize = 16 << 20 // bytes; a package.json is a few KiB
)

// The kinds of manifest that CreateProject refuses to edit, as the shared
// conformance vectors name them.
const (
	errInvalidJSON      = "invalid"            // not JSON
	errNotObject        = "not-object"         // JSON, but not an object
	errProductNotObject = "product-not-object" // "<product>" is there but not an object
	errBadUUID          = "bad-uuid"           // "<product>".uuid is not a string or not a project ID
)

// manifestError is an error about the manifest's content, with its kind.
type manifestError struct {
	kind string
	err  error
}

func (e *manifestError) Error() string { return e.err.Error() }
func (e *manifestError) Unwrap() error { return e.err }

func manifestErr(kind string, err error) error { return &manifestError{kind, err} }

// manifestErrorKind returns the kind of a manifest content error, or "".
func manifestErrorKind(err error) string {
	var me *manifestError
	if errors.As(err, &me) {
		return me.kind
	}
	return ""
}

// manifestState is what readProjectID found, for the consent rules.
type manifestState int

const (
	manifestOK      manifestState = iota // id is a valid project ID
	manifestMissing                      // no package.json
	manifestNoUUID                       // package.json without <product>.uuid (or not a string, or empty)
	manifestInvalid                      // unreadable / not a JSON object / uuid not a valid project ID
)

func (s manifestState) String() string {
	switch s {
	case manifestOK:
		return "ok"
	case manifestMissing:
		return "missing"
	case manifestNoUUID:
		return "no uuid"
	case manifestInvalid:
		return "invalid"
	}
	return fmt.Sprintf("manifestState(%d)", int(s))
}

// newUUID makes the ID of a new project. Tests replace it to get stable output.
var newUUID = randomUUID

// randomUUID returns a random (version 4) UUID in lowercase.
func randomUUID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails: crypto/rand.Read crashes the program rather than return an error
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return wire.FormatUUID(b)
}

// CreateProject gives the project in dir (the folder holding package.json) a project ID,
// stored at <product>.uuid in package.json, and returns it. When a uuid is already there
// it is returned unchanged. Every other byte of the file is kept as it was: key order,
// indentation (2 or 4 spaces, tabs), line endings (LF or CRLF), a final newline or its
// absence, a UTF-8 BOM. It is the only function of the SDK that writes the manifest.
//
// The new member goes last in its object and copies the layout of the member before
// it: on its own line with that member's indentation when the members are one per
// line, on the same line after ", " (or "," in compact JSON) otherwise. A new
// "<product>" object is laid out the same way, multi-line in a multi-line file. An
// empty object has no layout to copy: an empty root, or an empty "<product>" object
// on a line of its own, gets the layout npm writes (one member per line, indented
// by the file's indent unit, two spaces by default); an empty "<product>" object
// inside a one-line file gets {"uuid": "…"}.
//
// It fails, and leaves the file alone, when there is no package.json, when it is not
// a JSON object, when "<product>" is not an object, or when "<product>".uuid is there
// but is not a string or not a valid project ID: that is the user's data, not ours to
// overwrite. An empty uuid string is replaced.
//
// The file is replaced atomically (written to a temporary file, synced, renamed
// over) with its owner, group and mode preserved exactly; a symlinked
// package.json stays a symlink. It refuses, with an error and the file untouched,
// to edit a package.json that is not a regular file, that is read-only for its
// owner (mode 0444: the user said "do not write"), that the current user may not
// write, or that has more than one hard link (a rename would split the link and
// leave the other name with the old content). Temporary files of an earlier call
// that was killed half-way are removed.
//
// Concurrent calls on one project, from goroutines or processes, give one answer:
// they are serialized by an advisory lock on the project directory (waiting at
// most 2s), and each returns the uuid the file holds after its own write.
func CreateProject(dir, product string) (projectID string, err error) {
	defer recoverInto(&err)
	path := filepath.Join(dir, manifestName)
	fail := func(err error) (string, error) {
		return "", fmt.Errorf("cannot create project ID in %q: %w", path, err)
	}
	if err := checkManifestProduct(product); err != nil {
		return fail(err)
	}
	// Write where the file really is, so a symlinked package.json stays a symlink.
	target := path
	if real, err := filepath.EvalSymlinks(path); err == nil {
		target = real
	}
	unlock, _ := lockDir(filepath.Dir(target), manifestLockWait)
	defer unlock()
	removeStaleTemps(target)
	data, info, err := readManifest(target)
	if err != nil {
		return fail(err)
	}
	out, id, err := addProjectID(data, product, newUUID)
	if err != nil {
		return fail(err)
	}
	if out == nil {
		return id, nil
	}
	if err := checkWritable(target, info); err != nil {
		return fail(err)
	}
	if err := replaceManifest(target, out, info); err != nil {
		return fail(err)
	}
	// Return what the file holds now: without the lock (a platform without
	// advisory locks, or a holder that took too long) another writer may have
	// renamed its own version over ours.
	if data, _, err := readManifest(target); err == nil {
		if out, again, err := addProjectID(data, product, func() string { return "" }); err == nil && out == nil {
			return again, nil
		}
	}
	return id, nil
}

// manifestLockWait bounds the wait for another CreateProject on the same project.
const manifestLockWait = 2 * time.Second

// checkWritable refuses to replace a manifest whose owner made it read-only,
// that the current user may not write, or that has other hard links.
func checkWritable(path string, info fs.FileInfo) error {
	if info.Mode().Perm()&0o200 == 0 {
		return fmt.Errorf("%s is read-only for its owner (mode %#o), expected a file its owner may write", manifestName, info.Mode().Perm())
	}
	if !writableByMe(path) {
		return fmt.Errorf("%s is not writable by the current user, expected a file this user may write", manifestName)
	}
	if _, _, links, ok := fileOwner(info); ok && links > 1 {
		return fmt.Errorf("%s has %d hard links, expected 1 (replacing it would split the link)", manifestName, links)
	}
	return nil
}

// removeStaleTemps removes the temporary files an earlier CreateProject left
// beside path when it was killed between writing and renaming. It runs under the
// directory lock, so no live call is writing one.
func removeStaleTemps(path string) {
	for _, m := range namesWithPrefix(filepath.Dir(path), "."+filepath.Base(path)+".") {
		if !strings.HasSuffix(m, ".tmp") {
			continue
		}
		mid := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), "."+filepath.Base(path)+"."), ".tmp")
		if mid == "" || strings.Trim(mid, "0123456789") != "" {
			continue // not a name os.CreateTemp gave us
		}
		if info, err := os.Lstat(m); err == nil && info.Mode().IsRegular() {
			os.Remove(m)
		}
	}
}

// readProjectID returns the project ID stored at <product>.uuid in dir/package.json.
// It returns a manifestState telling what was found, for the consent rules; err is
// non-nil exactly when the state is manifestInvalid, and says why.
func readProjectID(dir, product string) (id string, state manifestState, err error) {
	path := filepath.Join(dir, manifestName)
	fail := func(err error) (string, manifestState, error) {
		return "", manifestInvalid, fmt.Errorf("cannot read project ID from %q: %w", path, err)
	}
	if err := checkManifestProduct(product); err != nil {
		return fail(err)
	}
	data, _, err := readManifest(path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return "", manifestMissing, nil
	}
	if err != nil {
		return fail(err)
	}
	doc, err := parseManifest(data)
	if err != nil {
		return fail(err)
	}
	pm := doc.root.lookup(product)
	if pm == nil || data[pm.valStart] != '{' {
		return "", manifestNoUUID, nil
	}
	obj, err := doc.object(pm.valStart)
	if err != nil {
		return fail(err)
	}
	um := obj.lookup("uuid")
	if um == nil || data[um.valStart] != '"' {
		return "", manifestNoUUID, nil
	}
	s, err := manifestUnquote(data[um.valStart:um.valEnd])
	if err != nil {
		return fail(err)
	}
	if s == "" {
		return "", manifestNoUUID, nil
	}
	if !wire.IsProjectID(s) {
		return fail(notManifestID(product, s))
	}
	return s, manifestOK, nil
}

// checkManifestProduct rejects product names that cannot be a package.json key
// that reads back as the same name.
func checkManifestProduct(product string) error {
	if product == "" {
		return errors.New("empty product name")
	}
	if !utf8.ValidString(product) {
		return fmt.Errorf("product name %q is not valid UTF-8", product)
	}
	return nil
}

// readManifest reads at most maxManifestSize bytes of the file at path and
// returns them with the file's information. It never blocks on a FIFO and
// refuses anything but a regular file.
func readManifest(path string) ([]byte, fs.FileInfo, error) {
	f, info, err := openRegular(path)
	if errors.Is(err, errNotRegular) {
		return nil, nil, fmt.Errorf("%s is not a regular file (%v), expected a file", manifestName, info2mode(path))
	}
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxManifestSize+1))
	if err != nil {
		return nil, nil, err
	}
	if len(data) > maxManifestSize {
		return nil, nil, fmt.Errorf("%s is larger than %d MiB", manifestName, maxManifestSize>>20)
	}
	return data, info, nil
}

// info2mode names the type of the file at path, for an error message.
func info2mode(path string) string {
	info, err := os.Stat(path)
	if err != nil {
		return "unknown type"
	}
	switch m := info.Mode(); {
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m.IsDir():
		return "a directory"
	}
	return "not a regular file"
}

// replaceManifest replaces the file at path with data, atomically: a reader sees
// the old file or the new one, never a mix, even if the process dies half-way.
// The new file gets the old one's mode, owner and group.
func replaceManifest(path string, data []byte, info fs.FileInfo) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if uid, gid, _, ok := fileOwner(info); ok {
		if tu, tg, _, _ := statOwner(f); tu != uid || tg != gid {
			if err := f.Chown(uid, gid); err != nil {
				return fmt.Errorf("cannot keep the owner %d:%d of %s: %w", uid, gid, manifestName, err)
			}
		}
	}
	if err := f.Chmod(info.Mode().Perm() | info.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	// Make the rename itself durable; not every platform can sync a directory.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// statOwner returns the owner and group of an open file.
func statOwner(f *os.File) (uid, gid, links int, ok bool) {
	info, err := f.Stat()
	if err != nil {
		return -1, -1, 0, false
	}
	return fileOwner(info)
}

// addProjectID is the edit behind CreateProject: it returns the manifest with a new
// project ID from gen, or out == nil and the ID already there.
func addProjectID(data []byte, product string, gen func() string) (out []byte, id string, err error) {
	doc, err := parseManifest(data)
	if err != nil {
		return nil, "", err
	}
	ed := manifestEditor{doc: doc}
	ed.detectLayout()

	pm := doc.root.lookup(product)
	if pm == nil {
		if id, err = newManifestID(gen); err != nil {
			return nil, "", err
		}
		// "<product>": {"uuid": "…"} goes last in the root.
		member := func(indent string, multiline bool) string {
			sep := ed.sep(doc.root)
			key, uuid := manifestQuote(product), `"uuid"`+sep+manifestQuote(id)
			if multiline {
				return key + sep + "{" + ed.eol + indent + ed.unit + uuid + ed.eol + indent + "}"
			}
			return key + sep + "{" + uuid + "}"
		}
		at, text := ed.insert(doc.root, doc.lineIndent(doc.root.open), true, member)
		return spliceManifest(data, at, at, text), id, nil
	}

	if c := data[pm.valStart]; c != '{' {
		return nil, "", manifestErr(errProductNotObject, fmt.Errorf("%s: %q is %s, expected an object", manifestName, product, manifestKind(c)))
	}
	obj, err := doc.object(pm.valStart)
	if err != nil {
		return nil, "", err
	}
	um := obj.lookup("uuid")
	if um == nil {
		if id, err = newManifestID(gen); err != nil {
			return nil, "", err
		}
		// "uuid": "…" goes last in the product's object. An empty one-line object is
		// opened up when the product's member has a line of its own.
		member := func(string, bool) string {
			return `"uuid"` + ed.sep(obj, doc.root) + manifestQuote(id)
		}
		ownLine := bytes.IndexByte(data[pm.gapStart:pm.keyStart], '\n') >= 0
		at, text := ed.insert(obj, doc.lineIndent(pm.keyStart), ownLine, member)
		return spliceManifest(data, at, at, text), id, nil
	}

	if c := data[um.valStart]; c != '"' {
		return nil, "", manifestErr(errBadUUID, fmt.Errorf("%s: %q is %s, expected a string", manifestName, product+".uuid", manifestKind(c)))
	}
	s, err := manifestUnquote(data[um.valStart:um.valEnd])
	if err != nil {
		return nil, "", err
	}
	if s != "" {
		if !wire.IsProjectID(s) {
			return nil, "", notManifestID(product, s)
		}
		return nil, s, nil
	}
	// "uuid": "" is a project without an ID yet: fill it in place.
	if id, err = newManifestID(gen); err != nil {
		return nil, "", err
	}
	return spliceManifest(data, um.valStart, um.valEnd, manifestQuote(id)), id, nil
}

func newManifestID(gen func() string) (string, error) {
	id := gen()
	if !wire.IsProjectID(id) {
		return "", fmt.Errorf("generated project ID %q is not valid", id)
	}
	return id, nil
}

func notManifestID(product, s string) error {
	if len(s) > 64 {
		s = strings.ToValidUTF8(s[:64], "") + "…"
	}
	return manifestErr(errBadUUID, fmt.Errorf("%s: %q is %q, expected a project ID (a UUID, optionally after a prefix)", manifestName, product+".uuid", s))
}

// spliceManifest returns data with data[i:j] replaced by text, in a new slice.
func spliceManifest(data []byte, i, j int, text string) []byte {
	out := make([]byte, 0, len(data)-(j-i)+len(text))
	out = append(out, data[:i]...)
	out = append(out, text...)
	return append(out, data[j:]...)
}

// manifestEditor writes new members in the layout of the file around them.
type manifestEditor struct {
	doc  *manifestDoc
	eol  string // "\n" or "\r\n", whichever most lines of the file end with
	unit string // one level of indentation: two or four spaces, a tab…
}

func (ed *manifestEditor) detectLayout() {
	data := ed.doc.data
	ed.eol = "\n"
	if crlf := bytes.Count(data, []byte("\r\n")); crlf > 0 && 2*crlf >= bytes.Count(data, []byte("\n")) {
		ed.eol = "\r\n"
	}
	// The unit is how much deeper the root's members are indented than the root's
	// brace, seen on the last member that starts a line.
	ed.unit = "  "
	root := ed.doc.root
	for i := len(root.members) - 1; i >= 0; i-- {
		m := root.members[i]
		if bytes.IndexByte(data[m.gapStart:m.keyStart], '\n') < 0 {
			continue
		}
		member, brace := ed.doc.lineIndent(m.keyStart), ed.doc.lineIndent(root.open)
		if u, ok := strings.CutPrefix(member, brace); ok && u != "" {
			ed.unit = u
		} else if member != "" {
			ed.unit = member
		}
		break
	}
}

// sep returns the key/value separator (`": "`, `":"`…) of the last member of the
// first of objs that has one on a single line, or ": ".
func (ed *manifestEditor) sep(objs ...manifestObject) string {
	for _, obj := range objs {
		for i := len(obj.members) - 1; i >= 0; i-- {
			m := obj.members[i]
			s := ed.doc.data[m.keyEnd:m.valStart]
			if bytes.IndexAny(s, "\r\n") < 0 {
				return string(s)
			}
		}
	}
	return ": "
}

// insert returns where and what to insert to add a member as the last one of obj.
// ownerIndent is the indentation of the line where obj's owner starts; expandEmpty
// tells whether an empty one-line obj is to become multi-line. member returns the
// member's text for the indentation of its line and whether it is on a line of its
// own.
func (ed *manifestEditor) insert(obj manifestObject, ownerIndent string, expandEmpty bool, member func(indent string, multiline bool) string) (at int, text string) {
	data := ed.doc.data
	if n := len(obj.members); n > 0 {
		last := obj.members[n-1]
		gap := data[last.gapStart:last.keyStart]
		if bytes.IndexByte(gap, '\n') >= 0 {
			indent := ed.doc.lineIndent(last.keyStart)
			return last.valEnd, "," + ed.eol + indent + member(indent, true)
		}
		// One line: copy what follows the comma before the last member. A first member
		// has only the brace before it: {"a":1} gets ",", {"a": 1} and { "a": 1 } ", ".
		space := string(gap)
		if n == 1 && space == "" && strings.HasSuffix(ed.sep(obj), " ") {
			space = " "
		}
		return last.valEnd, "," + space + member("", false)
	}
	inner := data[obj.open+1 : obj.close]
	indent := ownerIndent + ed.unit
	switch {
	case bytes.IndexByte(inner, '\n') >= 0:
		// {⏎} already spans lines: the member takes the first one.
		return obj.open + 1, ed.eol + indent + member(indent, true)
	case expandEmpty:
		return obj.open + 1, ed.eol + indent + member(indent, true) + ed.eol + ownerIndent
	default:
		// {} stays on one line: {"uuid": "…"}, or { "uuid": "…" } for { }.
		return obj.open + 1, string(inner) + member("", false)
	}
}

// manifestDoc is a parsed package.json: the offsets of the root object's members.
type manifestDoc struct {
	data  []byte // the whole file
	start int    // where the JSON text starts: 3 after a UTF-8 BOM, else 0
	root  manifestObject
}

// manifestObject is where a JSON object and its members are in a manifestDoc's data.
type manifestObject struct {
	open, close int // offsets of the braces
	members     []manifestMember
}

// manifestMember is where one member of an object is. data[gapStart:keyStart] is the
// white space before the key, after the '{' or ',' that precedes it.
type manifestMember struct {
	key              string // unescaped
	gapStart         int
	keyStart, keyEnd int // the quoted key
	valStart, valEnd int // the value
}

// lookup returns the member named key, the last one if there are several (as
// JSON.parse and encoding/json read them), or nil.
func (o manifestObject) lookup(key string) *manifestMember {
	for i := len(o.members) - 1; i >= 0; i-- {
		if o.members[i].key == key {
			return &o.members[i]
		}
	}
	return nil
}

var manifestBOM = []byte("\xef\xbb\xbf")

// parseManifest checks that data is a JSON object (after an optional UTF-8 BOM) and
// finds its members.
func parseManifest(data []byte) (*manifestDoc, error) {
	doc := &manifestDoc{data: data}
	if bytes.HasPrefix(data, manifestBOM) {
		doc.start = len(manifestBOM)
	}
	text := data[doc.start:]
	// encoding/json decides what is JSON, so that the scanner below only ever sees
	// valid JSON, and the file means the same to it as to every JSON reader.
	if !json.Valid(text) {
		var v json.RawMessage
		err := json.Unmarshal(text, &v)
		if err == nil { // cannot happen
			err = errors.New("not valid JSON")
		}
		var syn *json.SyntaxError
		// The offset is just after the bad byte; at the end of the text there is no
		// bad byte, only a missing one.
		if errors.As(err, &syn) && syn.Offset > 0 && syn.Offset <= int64(len(text)) && syn.Error() != "unexpected end of JSON input" {
			before := text[:syn.Offset-1]
			line := 1 + bytes.Count(before, []byte("\n"))
			col := 1 + utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:])
			return nil, manifestErr(errInvalidJSON, fmt.Errorf("%s is not valid JSON at line %d, column %d: %w", manifestName, line, col, err))
		}
		return nil, manifestErr(errInvalidJSON, fmt.Errorf("%s is not valid JSON: %w", manifestName, err))
	}
	i := skipManifestSpace(data, doc.start)
	if c := data[i]; c != '{' {
		return nil, manifestErr(errNotObject, fmt.Errorf("%s is %s, expected an object", manifestName, manifestKind(c)))
	}
	root, err := doc.object(i)
	if err != nil {
		return nil, err
	}
	doc.root = root
	return doc, nil
}

// lineIndent returns the spaces and tabs that start the line holding offset i.
func (doc *manifestDoc) lineIndent(i int) string {
	start := i
	for start > doc.start && doc.data[start-1] != '\n' {
		start--
	}
	end := start
	for end < i && (doc.data[end] == ' ' || doc.data[end] == '\t') {
		end++
	}
	return string(doc.data[start:end])
}

var errManifestScan = errors.New("internal error: unexpected JSON structure")

// object finds the members of the object whose '{' is at offset i. The data has
// passed json.Valid; the checks only keep a disagreement from becoming a panic.
func (doc *manifestDoc) object(i int) (manifestObject, error) {
	b := doc.data
	obj := manifestObject{open: i}
	i++
	for {
		gap := i
		i = skipManifestSpace(b, i)
		if i >= len(b) {
			return obj, errManifestScan
		}
		if b[i] == '}' && len(obj.members) == 0 {
			obj.close = i
			return obj, nil
		}
		if b[i] != '"' {
			return obj, errManifestScan
		}
		m := manifestMember{gapStart: gap, keyStart: i}
		i = skipManifestString(b, i)
		m.keyEnd = i
		i = skipManifestSpace(b, i)
		if i >= len(b) || b[i] != ':' {
			return obj, errManifestScan
		}
		i = skipManifestSpace(b, i+1)
		if i >= len(b) {
			return obj, errManifestScan
		}
		m.valStart = i
		i = skipManifestValue(b, i)
		m.valEnd = i
		key, err := manifestUnquote(b[m.keyStart:m.keyEnd])
		if err != nil {
			return obj, err
		}
		m.key = key
		obj.members = append(obj.members, m)
		i = skipManifestSpace(b, i)
		if i >= len(b) {
			return obj, errManifestScan
		}
		switch b[i] {
		case ',':
			i++
		case '}':
			obj.close = i
			return obj, nil
		default:
			return obj, errManifestScan
		}
	}
}

func isManifestSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipManifestSpace(b []byte, i int) int {
	for i < len(b) && isManifestSpace(b[i]) {
		i++
	}
	return i
}

// skipManifestString returns the offset after the string starting at b[i] == '"'.
func skipManifestString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++ // the escaped byte; \uXXXX's hex digits need no care
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipManifestValue returns the offset after the value starting at b[i]. It loops
// rather than recurses, whatever the nesting.
func skipManifestValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipManifestString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipManifestString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	default: // number, true, false, null
		for i < len(b) && !isManifestSpace(b[i]) && b[i] != ',' && b[i] != '}' && b[i] != ']' {
			i++
		}
		return i
	}
}

// manifestKind names the kind of the JSON value starting with c, for error messages.
func manifestKind(c byte) string {
	switch c {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// manifestUnquote decodes a JSON string literal as encoding/json does (invalid UTF-8
// and lone surrogates become U+FFFD).
func manifestUnquote(lit []byte) (string, error) {
	if len(lit) < 2 {
		return "", errManifestScan
	}
	if inner := lit[1 : len(lit)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), nil
	}
	var s string
	if err := json.Unmarshal(lit, &s); err != nil {
		return "", err
	}
	return s, nil
}

// manifestQuote encodes s as a JSON string, leaving <, > and & as they are.
func manifestQuote(s string) string {
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(buf.String(), "\n")
}
