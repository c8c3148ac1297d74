//go:build unix

package telemetry

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/abacushq/abacus/telemetry/wire"
)

// specialFiles makes a FIFO, a socket and a symlink to a character device at
// path, one at a time, and calls check for each.
func specialFiles(t *testing.T, path string, check func(t *testing.T, kind string)) {
	t.Helper()
	kinds := []struct {
		name string
		make func() (cleanup func(), err error)
	}{
		{"fifo", func() (func(), error) { return func() {}, syscall.Mkfifo(path, 0o644) }},
		{"socket", func() (func(), error) {
			ln, err := net.Listen("unix", path)
			if err != nil {
				return func() {}, err
			}
			return func() { ln.Close() }, nil
		}},
		{"device", func() (func(), error) { return func() {}, os.Symlink("/dev/zero", path) }},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			os.MkdirAll(filepath.Dir(path), 0o700)
			os.Remove(path)
			cleanup, err := k.make()
			if err != nil {
				t.Fatalf("cannot make a %s: %v", k.name, err)
			}
			defer func() { cleanup(); os.Remove(path) }()
			check(t, k.name)
		})
	}
}

// within fails the test when f takes longer than d (and gives up waiting after 5s).
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		f()
		done <- time.Since(start)
	}()
	select {
	case took := <-done:
		if took > d {
			t.Errorf("%s took %v, limit %v", what, took, d)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s blocked for 5s, limit %v", what, d)
	}
}

func TestSpecialManifestNeverBlocks(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	specialFiles(t, filepath.Join(dir, "package.json"), func(t *testing.T, kind string) {
		within(t, 50*time.Millisecond, "CreateProject", func() {
			_, err := CreateProject(dir, "strapi")
			if err == nil || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("CreateProject on a %s: %v, want an error saying it is not a regular file", kind, err)
			}
		})
		within(t, 50*time.Millisecond, "New", func() {
			c, err := New(Config{Product: "strapi", Endpoint: "http://127.0.0.1:9", Dir: dir, StateDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if st := c.Status(); st.Enabled || !strings.HasPrefix(st.Reason, ReasonBadManifest) {
				t.Errorf("New on a %s: %+v", kind, st)
			}
		})
	})
}

func TestSpecialMachineIDNeverBlocks(t *testing.T) {
	state := t.TempDir()
	specialFiles(t, filepath.Join(state, "machine-id"), func(t *testing.T, kind string) {
		within(t, 50*time.Millisecond, "machineID", func() {
			id, _ := machineID("strapi", state, "uninitialized")
			if !wire.IsMachineID(id) {
				t.Errorf("machine ID %q with a %s in StateDir", id, kind)
			}
		})
	})
}

func TestSpecialOptOutFileOptsOut(t *testing.T) {
	isolate(t)
	path, err := optOutPath()
	if err != nil {
		t.Fatal(err)
	}
	specialFiles(t, path, func(t *testing.T, kind string) {
		within(t, 50*time.Millisecond, "New", func() {
			c, _ := New(Config{Product: "strapi", Endpoint: "http://127.0.0.1:9", Dir: newProject(t, projectManifest), StateDir: t.TempDir()})
			if st := c.Status(); st.Enabled || !strings.HasPrefix(st.Reason, ReasonOptOutFile) {
				t.Errorf("a %s as the opt-out file: %+v, want opted out (the file exists)", kind, st)
			}
		})
	})
}

// A symbolic link at the opt-out path opts out even when it leads nowhere:
// the user put something there to say no.
func TestDanglingOptOutLinkOptsOut(t *testing.T) {
	isolate(t)
	path, err := optOutPath()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(t.TempDir(), "nowhere"), path); err != nil {
		t.Fatal(err)
	}
	c, _ := New(Config{Product: "strapi", Endpoint: "http://127.0.0.1:9", Dir: newProject(t, projectManifest), StateDir: t.TempDir()})
	if st := c.Status(); st.Enabled || !strings.HasPrefix(st.Reason, ReasonOptOutFile) {
		t.Errorf("a dangling link as the opt-out file: %+v, want opted out", st)
	}
}

func TestSpecialSpoolFileIsSkipped(t *testing.T) {
	isolate(t)
	col := newCollector(t, nil)
	cfg := testConfig(t, col.URL)
	spoolDir := filepath.Join(cfg.StateDir, "spool", projectKey(cfg.Dir))
	specialFiles(t, filepath.Join(spoolDir, "1000-aaaaaaaa.jsonl"), func(t *testing.T, kind string) {
		c := mustNew(t, cfg)
		c.Track("ping", nil)
		within(t, 350*time.Millisecond, "Close", func() {
			if err := c.Close(context.Background()); err != nil {
				t.Error(err)
			}
		})
		if st := c.Status(); st.Sent != 1 {
			t.Errorf("with a %s in the spool: %+v", kind, st)
		}
	})
}

func makeSpoolFiles(t testing.TB, dir string, n int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		line := fmt.Appendf(nil, `{"id":"0190b0a8-0000-7000-8000-%012x","event":"old"}`+"\n", i)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%d-%08x.jsonl", 1000000+i, i)), line, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOptOutDeletesTheSpoolInTheBackground: New returns at once, and nothing of the
// spool is ever sent.
func TestOptOutDeletesTheSpoolInTheBackground(t *testing.T) {
	isolate(t)
	col := newCollector(t, nil)
	cfg := testConfig(t, col.URL)
	spoolRoot := filepath.Join(cfg.StateDir, "spool")
	makeSpoolFiles(t, filepath.Join(spoolRoot, projectKey(cfg.Dir)), 20000)
	t.Setenv("DO_NOT_TRACK", "1")
	start := time.Now()
	c := mustNew(t, cfg)
	if took := time.Since(start); took > 20*time.Millisecond {
		t.Errorf("New took %v with 20,000 spool files under DO_NOT_TRACK, limit 20ms", took)
	}
	if _, err := os.Stat(spoolRoot); err == nil {
		t.Errorf("the spool is still in place after New: a later run could send it")
	}
	c.Close(context.Background())
	waitFor(t, "the spool set aside to be deleted", func() bool { return !hasDiscards(cfg.StateDir) })
	t.Setenv("DO_NOT_TRACK", "")
	c2 := mustNew(t, cfg)
	closeClient(t, c2)
	if n := col.requests.Load(); n != 0 {
		t.Errorf("%d requests after an opt-out", n)
	}
}

// TestSpoolLoadIsBounded: a huge file is deleted unread, thousands of small ones
// are read a bounded number at a time, and the run's own events go first.
func TestSpoolLoadIsBounded(t *testing.T) {
	isolate(t)
	var mu sync.Mutex
	var first []string
	col := newCollector(t, func(n int, b wire.Batch, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if first == nil {
			for _, ev := range b.Events {
				first = append(first, ev.Event)
			}
		}
		mu.Unlock()
		accept(w, len(b.Events), nil)
	})
	cfg := testConfig(t, col.URL)
	cfg.FlushInterval = time.Minute // everything goes at Close, where the budget is short
	dir := filepath.Join(cfg.StateDir, "spool", projectKey(cfg.Dir))
	makeSpoolFiles(t, dir, 1000)
	big := filepath.Join(dir, "999-ffffffff.jsonl")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(2 << 30) // sparse
	f.Close()
	c := mustNew(t, cfg)
	c.Track("mine", nil)
	start := time.Now()
	if err := c.Close(context.Background()); err != nil {
		t.Errorf("Close: %v", err)
	}
	if took := time.Since(start); took > 350*time.Millisecond {
		t.Errorf("Close took %v", took)
	}
	st := c.Status()
	if st.Sent != 1 || st.Tracked != 1 {
		t.Errorf("status %+v: the run's own event was not delivered", st)
	}
	if len(first) == 0 || first[0] != "mine" {
		t.Errorf("first batch starts with %v, want the run's own event first", first)
	}
	if st.Resent > spoolLoadMaxFiles {
		t.Errorf("resent %d events from %d files, at most %d files a run", st.Resent, 1000, spoolLoadMaxFiles)
	}
	// The spool is read on a goroutine of its own, which may still run.
	waitFor(t, "the 2 GiB spool file to be deleted", func() bool { _, err := os.Stat(big); return err != nil })
	left, _ := spoolFiles(filepath.Join(cfg.StateDir, "spool"), true)
	if len(left) != 1000-int(st.Resent) {
		t.Errorf("%d spool files left, want %d", len(left), 1000-int(st.Resent))
	}
}

// TestCloseErrorCountsWhatIsLost: a spool that cannot be written loses exactly
// the run's unsent events, and Close says how many.
func TestCloseErrorCountsWhatIsLost(t *testing.T) {
	isolate(t)
	cfg := testConfig(t, "http://"+resetServer(t))
	os.MkdirAll(cfg.StateDir, 0o700)
	os.WriteFile(filepath.Join(cfg.StateDir, "spool"), []byte("not a directory"), 0o600)
	c := mustNew(t, cfg)
	for i := 0; i < 3; i++ {
		c.Track("ping", nil)
	}
	err := c.Close(context.Background())
	if err == nil || !strings.Contains(err.Error(), "3 events of this run lost") {
		t.Errorf("Close = %v, want it to count 3 lost events", err)
	}
	if st := c.Status(); st.Dropped != 3 || st.DroppedBy["spool"] != 3 || st.Pending != 0 {
		t.Errorf("status %+v", st)
	}
}

// TestPendingIsBoundedByBytes: with the collector down, big events are dropped
// oldest first once the loop holds maxPendingBytes.
func TestPendingIsBoundedByBytes(t *testing.T) {
	isolate(t)
	cfg := testConfig(t, "http://"+resetServer(t))
	cfg.QueueSize = 100000
	c := mustNew(t, cfg)
	props := bigProps(0)
	for i := 0; i < 600; i++ { // ~11 MB encoded
		c.Track("big", props)
	}
	waitFor(t, "the loop to build every event", func() bool { return len(c.queue) == 0 })
	st := c.Status()
	if st.DroppedBy["memory"] == 0 {
		t.Errorf("nothing dropped at the memory cap: %+v", st)
	}
	if held := st.Pending * 17000; held > maxPendingBytes+2*maxBatchBytes {
		t.Errorf("%d events (~%d bytes) held, cap %d", st.Pending, held, maxPendingBytes)
	}
	c.Close(context.Background())
}

func bigProps(seed int) map[string]any {
	m := make(map[string]any, 64)
	for k := 0; k < 64; k++ {
		m[fmt.Sprintf("p%02d", k)] = strings.Repeat(string(rune('a'+(k+seed)%26)), 256)
	}
	return m
}

// TestHugePropertyMapNeverStalls: a 1M-key map costs Track 64 entries, the rest
// counted.
func TestHugePropertyMapNeverStalls(t *testing.T) {
	isolate(t)
	col := newCollector(t, nil)
	c := mustNew(t, testConfig(t, col.URL))
	huge := make(map[string]any, 1<<20)
	for i := 0; i < 1<<20; i++ {
		huge[fmt.Sprintf("k%d", i)] = i
	}
	within(t, 20*time.Millisecond, "Track with a 1M-key map", func() { c.Track("huge", huge) })
	closeClient(t, c)
	st := c.Status()
	if st.Sent != 1 || st.DroppedValues != 1<<20-64 {
		t.Errorf("status %+v, want 1 sent and %d values dropped", st, 1<<20-64)
	}
	if ev := col.events(); len(ev) != 1 || len(ev[0].Properties) != 64 {
		t.Errorf("collector got %v", ev)
	}
}

// TestCountsAddUp: 100 goroutines track while Close runs; every tracked event is
// sent, spooled or counted dropped.
func TestCountsAddUp(t *testing.T) {
	isolate(t)
	for round := 0; round < 5; round++ {
		col := newCollector(t, nil)
		cfg := testConfig(t, col.URL)
		cfg.CloseBudget = 5 * time.Second // the race detector is slow; the budget is tested elsewhere
		c := mustNew(t, cfg)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for g := 0; g < 100; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for i := 0; i < 50; i++ {
					c.Track("ping", map[string]any{"i": i})
				}
			}()
		}
		close(start)
		time.Sleep(time.Millisecond)
		if err := c.Close(context.Background()); err != nil {
			t.Fatalf("round %d: Close: %v", round, err)
		}
		wg.Wait()
		st := c.Status()
		if st.Tracked != st.Sent+st.Rejected+st.Spooled+st.Dropped || st.Pending != 0 {
			t.Fatalf("round %d: tracked %d != sent %d + rejected %d + spooled %d + dropped %d (pending %d)",
				round, st.Tracked, st.Sent, st.Rejected, st.Spooled, st.Dropped, st.Pending)
		}
		if got := uint64(len(col.events())); got != st.Sent {
			t.Fatalf("round %d: collector got %d, Sent says %d", round, got, st.Sent)
		}
	}
}

// TestRedirectsAreNeverFollowed: 307, 308 and 302 to another host deliver nothing
// there; the events are spooled and Status says why.
func TestRedirectsAreNeverFollowed(t *testing.T) {
	isolate(t)
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer other.Close()
	for _, code := range []int{301, 302, 303, 307, 308} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, other.URL+wire.BatchPath, code)
			}))
			defer redirect.Close()
			for _, own := range []bool{false, true} {
				cfg := testConfig(t, redirect.URL)
				if own {
					cfg.HTTPClient = &http.Client{}
				}
				c := mustNew(t, cfg)
				c.Track("ping", nil)
				c.Close(context.Background())
				st := c.Status()
				if st.Sent != 0 || st.Spooled != 1 || !strings.Contains(st.LastError, "redirect") {
					t.Errorf("host client %v: status %+v", own, st)
				}
				if cfg.HTTPClient != nil && cfg.HTTPClient.CheckRedirect != nil {
					t.Errorf("the host's client was changed")
				}
			}
			if n := elsewhere.Load(); n != 0 {
				t.Errorf("%d requests reached the other host", n)
			}
		})
	}
}

// TestOptOutThroughASymlinkClearsTheSpool: the spool key is the real path.
func TestOptOutThroughASymlinkClearsTheSpool(t *testing.T) {
	isolate(t)
	cfg := testConfig(t, "http://"+resetServer(t))
	c := mustNew(t, cfg)
	c.Track("ping", nil)
	c.Close(context.Background())
	if len(spooledEvents(t, cfg.StateDir)) != 1 {
		t.Fatal("nothing spooled")
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(cfg.Dir, link); err != nil {
		t.Fatal(err)
	}
	// The project opts out (its uuid removed), seen through the link.
	if err := os.WriteFile(filepath.Join(cfg.Dir, "package.json"), []byte(`{"name": "x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Dir = link
	mustNew(t, cfg)
	waitFor(t, "the spool to be cleared", func() bool {
		files, _ := spoolFiles(filepath.Join(cfg.StateDir, "spool"), true)
		return len(files) == 0 && !hasDiscards(cfg.StateDir)
	})
}

// TestRecentIsWhatTheCollectorReceived: the record of sent events holds each
// event byte for byte as the collector received it.
func TestRecentIsWhatTheCollectorReceived(t *testing.T) {
	isolate(t)
	var mu sync.Mutex
	var received [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		zr, _ := gzip.NewReader(r.Body)
		body, _ := io.ReadAll(zr)
		var b struct {
			Events []json.RawMessage `json:"events"`
		}
		json.Unmarshal(body, &b)
		mu.Lock()
		for _, ev := range b.Events {
			received = append(received, ev)
		}
		mu.Unlock()
		accept(w, len(b.Events), nil)
	}))
	defer srv.Close()
	cfg := testConfig(t, srv.URL)
	cfg.CloseBudget = 10 * time.Second // about the record, not the budget
	for run := 0; run < 3; run++ {
		c := mustNew(t, cfg)
		for i := 0; i < 50; i++ {
			c.Track("didStartServer", map[string]any{"run": run, "i": i, "text": "héllo \"quoted\" <b>"})
		}
		closeClient(t, c)
	}
	c := mustNew(t, cfg)
	defer c.Close(context.Background())
	recent, err := c.Recent()
	if err != nil {
		t.Fatal(err)
	}
	if len(received) != 150 || len(recent) != recentMaxEvents {
		t.Fatalf("received %d, Recent has %d, want 150 and %d", len(received), len(recent), recentMaxEvents)
	}
	for i, ev := range recent {
		if want := received[len(received)-recentMaxEvents+i]; !bytes.Equal(ev, want) {
			t.Fatalf("Recent()[%d] = %s, collector received %s", i, ev, want)
		}
	}
	info, err := os.Stat(filepath.Join(cfg.StateDir, recentName))
	if err != nil || info.Mode().Perm() != 0o600 || info.Size() > recentMaxBytes {
		t.Errorf("record file: %v, %v", info, err)
	}
	t.Setenv("XDG_CACHE_HOME", filepath.Dir(filepath.Dir(filepath.Dir(cfg.StateDir))))
}

// TestRecentIsCappedInBytes: big events keep the record under 256 KiB.
func TestRecentIsCappedInBytes(t *testing.T) {
	isolate(t)
	col := newCollector(t, nil)
	cfg := testConfig(t, col.URL)
	cfg.CloseBudget = 10 * time.Second // about the record, not the budget
	c := mustNew(t, cfg)
	for i := 0; i < 40; i++ {
		c.Track("big", bigProps(i))
	}
	closeClient(t, c)
	recent, err := c.Recent()
	if err != nil {
		t.Fatal(err)
	}
	size := 0
	for _, ev := range recent {
		size += len(ev) + 1
	}
	if size > recentMaxBytes || len(recent) == 0 || len(recent) == 40 {
		t.Fatalf("record holds %d events, %d bytes; want the newest within %d bytes", len(recent), size, recentMaxBytes)
	}
	var last struct{ Properties map[string]string }
	json.Unmarshal(recent[len(recent)-1], &last)
	if last.Properties["p00"] != strings.Repeat(string(rune('a'+39%26)), 256) {
		t.Errorf("the newest event is not last")
	}
}

// TestRecentWithoutClient reads the record of the default StateDir.
func TestRecentWithoutClient(t *testing.T) {
	isolate(t)
	col := newCollector(t, nil)
	cfg := testConfig(t, col.URL)
	cfg.StateDir = ""
	c := mustNew(t, cfg)
	c.Track("ping", nil)
	closeClient(t, c)
	got, err := Recent("strapi")
	if err != nil || len(got) != 1 || !strings.Contains(string(got[0]), `"event":"ping"`) {
		t.Errorf("Recent(strapi) = %s, %v", got, err)
	}
	if got, err := Recent("other"); err != nil || len(got) != 0 {
		t.Errorf("Recent(other) = %s, %v", got, err)
	}
}
