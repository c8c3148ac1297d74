package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/store"
)

// Option changes what Run checks.
type Option func(*config)

type config struct {
	place func(t *testing.T) func(t *testing.T) store.Store
}

// Reopenable enables the persistence subtests. place is called once per such
// subtest and chooses where a store lives (a file under t.TempDir(), a fresh
// ClickHouse database); the function it returns opens the store there, and
// every call opens the same data again after the previous store was closed.
func Reopenable(place func(t *testing.T) (open func(t *testing.T) store.Store)) Option {
	return func(c *config) { c.place = place }
}

// Run runs the contract suite. open returns a new, empty store on every call;
// the suite closes each store when its subtest ends.
func Run(t *testing.T, open func(t *testing.T) store.Store, opts ...Option) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	s := &suite{open: func(t *testing.T) store.Store {
		t.Helper()
		st := open(t)
		t.Cleanup(func() { closeQuietly(t, st) })
		return st
	}, cfg: c}

	t.Run("RoundTrip", func(t *testing.T) {
		t.Run("every field survives Insert and Export", s.roundTripEveryField)
		t.Run("build and properties keep values of every plan type", s.roundTripValues)
		t.Run("times come back in UTC to the millisecond", s.roundTripTimes)
		t.Run("empty strings and maps", s.roundTripEmpty)
	})
	t.Run("Idempotency", func(t *testing.T) {
		t.Run("an ID repeated within one call is stored once", s.dupWithinCall)
		t.Run("an ID inserted again in a later call is not stored again", s.dupAcrossCalls)
		t.Run("8 goroutines inserting overlapping batches store each ID once", s.dupConcurrent)
		t.Run("an erased event is no longer stored so it can be inserted again", s.dupAfterDelete)
	})
	t.Run("Existing", func(t *testing.T) {
		t.Run("reports the stored IDs and only those", s.existing)
		t.Run("takes empty and large inputs", s.existingSizes)
	})
	t.Run("IDs", func(t *testing.T) {
		t.Run("lists the events received at or after since", s.idsSince)
		t.Run("stops at the callback's error", s.idsStop)
	})
	t.Run("Export", func(t *testing.T) {
		t.Run("includes from and excludes to", s.exportWindow)
		t.Run("orders by time then ID", s.exportOrder)
		t.Run("an empty or inverted window yields nothing", s.exportEmpty)
		t.Run("stops at the callback's error", s.exportStop)
	})
	t.Run("DeleteProject", func(t *testing.T) {
		t.Run("removes one project's events and reports how many", s.deleteProject)
		t.Run("an unknown project removes nothing", s.deleteProjectUnknown)
	})
	t.Run("DeleteBefore", func(t *testing.T) {
		t.Run("removes events before t and keeps t", s.deleteBefore)
	})
	t.Run("Stats", func(t *testing.T) {
		t.Run("counts events and bytes", s.stats)
	})
	t.Run("Context", func(t *testing.T) {
		t.Run("a cancelled context stops every method", s.ctxCancelled)
		t.Run("cancelling during Export or IDs stops the iteration", s.ctxCancelledMidway)
	})
	t.Run("Atomicity", func(t *testing.T) {
		t.Run("an Insert cancelled midway stores all of its events or none", s.atomicCancel)
		t.Run("an Insert that fails stores none of its events", s.atomicBadEvent)
	})
	t.Run("Concurrency", func(t *testing.T) {
		t.Run("readers and deletes run while the writer inserts", s.concurrentMixed)
	})
	t.Run("Close", func(t *testing.T) {
		t.Run("methods after Close return ErrClosed", s.afterClose)
	})
	t.Run("Persistence", func(t *testing.T) {
		if c.place == nil {
			t.Skip("the backend did not pass storetest.Reopenable")
		}
		t.Run("events survive Close and reopen", s.persist)
		t.Run("idempotency holds across reopen", s.persistIdempotent)
	})
}

type suite struct {
	open func(t *testing.T) store.Store
	cfg  config
}

func closeQuietly(t *testing.T, st store.Store) {
	if err := st.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
		t.Errorf("Close: %v", err)
	}
}

// base is the time the suite's events are built around.
var base = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

// hex32 returns 32 lowercase hex characters derived from s, like a re-keyed ID.
func hex32(s string) string {
	var h1, h2 uint64 = 14695981039346656037, 1099511628211
	for i := 0; i < len(s); i++ {
		h1 ^= uint64(s[i])
		h1 *= 1099511628211
		h2 = h2*31 + uint64(s[i]) + h1>>7
	}
	return fmt.Sprintf("%016x%016x", h1, h2)
}

// eventID returns a version-7 style UUID for time t and sequence n.
func eventID(t time.Time, n int) string {
	ms := uint64(t.UnixMilli())
	return fmt.Sprintf("%08x-%04x-7%03x-8%03x-%012x", ms>>16, ms&0xffff, (n>>12)&0xfff, n&0xfff, uint64(n)*2654435761%(1<<48))
}

// event returns a complete event number n of project p, at base+n ms.
func event(n int, project string) store.Event {
	tm := base.Add(time.Duration(n) * time.Millisecond)
	return store.Event{
		ID:             eventID(tm, n),
		Name:           "didStartServer",
		Time:           tm,
		ReceivedAt:     tm.Add(2 * time.Second),
		ProjectID:      hex32("project " + project),
		MachineID:      hex32(fmt.Sprintf("machine %d", n%3)),
		SessionID:      hex32(fmt.Sprintf("session %d", n%5)),
		Environment:    "development",
		Product:        "strapi",
		ProductVersion: "5.3.1",
		OS:             "linux",
		OSVersion:      "6.1.0",
		Arch:           "amd64",
		CPUs:           8,
		MemoryMB:       16384,
		Runtime:        "node",
		RuntimeVersion: "20.11.1",
		SDK:            "abacus-go/0.1.0",
		Build:          map[string]any{"plugins": []any{"i18n", "graphql"}, "typescript": true},
		Properties:     map[string]any{"durationMs": int64(1000 + n)},
	}
}

func events(from, n int, project string) []store.Event {
	out := make([]store.Event, n)
	for i := range out {
		out[i] = event(from+i, project)
	}
	return out
}

func ids(evs []store.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

func insert(t *testing.T, st store.Store, evs []store.Event) int {
	t.Helper()
	n, err := st.Insert(context.Background(), evs)
	if err != nil {
		t.Fatalf("Insert(%d events): %v", len(evs), err)
	}
	return n
}

func mustInsert(t *testing.T, st store.Store, evs []store.Event, want int) {
	t.Helper()
	if n := insert(t, st, evs); n != want {
		t.Fatalf("Insert(%d events) = %d new, want %d", len(evs), n, want)
	}
}

// exportAll returns copies of the events Export yields for [from, to).
func exportAll(t *testing.T, st store.Store, from, to time.Time) []store.Event {
	t.Helper()
	var out []store.Event
	err := st.Export(context.Background(), from, to, func(e *store.Event) error {
		out = append(out, Clone(*e))
		return nil
	})
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	return out
}

var (
	farPast   = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	farFuture = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

func exportEverything(t *testing.T, st store.Store) []store.Event {
	t.Helper()
	return exportAll(t, st, farPast, farFuture)
}

func allIDs(t *testing.T, st store.Store, since time.Time) []string {
	t.Helper()
	var out []string
	if err := st.IDs(context.Background(), since, func(id string) error {
		out = append(out, id)
		return nil
	}); err != nil {
		t.Fatalf("IDs: %v", err)
	}
	slices.Sort(out)
	return out
}

func stats(t *testing.T, st store.Store) store.Stats {
	t.Helper()
	s, err := st.Stats(context.Background())
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return s
}

func wantCount(t *testing.T, st store.Store, want int64) {
	t.Helper()
	if got := stats(t, st).Events; got != want {
		t.Fatalf("Stats().Events = %d, want %d", got, want)
	}
}

// Clone returns a deep copy of e, so that it outlives an Export callback.
func Clone(e store.Event) store.Event {
	e.Build = cloneMap(e.Build)
	e.Properties = cloneMap(e.Properties)
	return e
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch v := v.(type) {
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = cloneValue(x)
		}
		return out
	case map[string]any:
		return cloneMap(v)
	}
	return v
}

// Diff describes how got differs from want under the store's rules (times to
// the millisecond and in UTC, numbers compared by value, empty maps equal to
// nil ones); "" when they match.
func Diff(want, got store.Event) string {
	var d []string
	str := func(name, w, g string) {
		if w != g {
			d = append(d, fmt.Sprintf("%s: got %q, want %q", name, g, w))
		}
	}
	str("ID", want.ID, got.ID)
	str("Name", want.Name, got.Name)
	for _, tm := range []struct {
		name      string
		want, got time.Time
	}{{"Time", want.Time, got.Time}, {"ReceivedAt", want.ReceivedAt, got.ReceivedAt}} {
		if dt := tm.got.Sub(tm.want); dt <= -time.Millisecond || dt >= time.Millisecond {
			d = append(d, fmt.Sprintf("%s: got %v, want %v", tm.name, tm.got, tm.want))
		}
		if tm.got.Location() != time.UTC {
			d = append(d, fmt.Sprintf("%s: got location %v, want UTC", tm.name, tm.got.Location()))
		}
	}
	str("ProjectID", want.ProjectID, got.ProjectID)
	str("MachineID", want.MachineID, got.MachineID)
	str("SessionID", want.SessionID, got.SessionID)
	str("Environment", want.Environment, got.Environment)
	str("Product", want.Product, got.Product)
	str("ProductVersion", want.ProductVersion, got.ProductVersion)
	str("OS", want.OS, got.OS)
	str("OSVersion", want.OSVersion, got.OSVersion)
	str("Arch", want.Arch, got.Arch)
	if want.CPUs != got.CPUs {
		d = append(d, fmt.Sprintf("CPUs: got %d, want %d", got.CPUs, want.CPUs))
	}
	if want.MemoryMB != got.MemoryMB {
		d = append(d, fmt.Sprintf("MemoryMB: got %d, want %d", got.MemoryMB, want.MemoryMB))
	}
	str("Runtime", want.Runtime, got.Runtime)
	str("RuntimeVersion", want.RuntimeVersion, got.RuntimeVersion)
	for _, b := range []struct {
		name      string
		want, got bool
	}{{"CI", want.CI, got.CI}, {"Docker", want.Docker, got.Docker}, {"WSL", want.WSL, got.WSL}} {
		if b.want != b.got {
			d = append(d, fmt.Sprintf("%s: got %v, want %v", b.name, b.got, b.want))
		}
	}
	str("CIName", want.CIName, got.CIName)
	str("SDK", want.SDK, got.SDK)
	if !equalValue(want.Build, got.Build) {
		d = append(d, fmt.Sprintf("Build: got %#v, want %#v", got.Build, want.Build))
	}
	if !equalValue(want.Properties, got.Properties) {
		d = append(d, fmt.Sprintf("Properties: got %#v, want %#v", got.Properties, want.Properties))
	}
	return strings.Join(d, "\n")
}

func number(v any) (float64, bool) {
	switch v := v.(type) {
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case int32:
		return float64(v), true
	case float64:
		return v, true
	case float32:
		return float64(v), true
	}
	return 0, false
}

func equalValue(want, got any) bool {
	if w, ok := number(want); ok {
		g, ok := number(got)
		return ok && w == g
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok && got != nil {
			return false
		}
		if len(w) != len(g) {
			return false
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok || !equalValue(wv, gv) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(w) != len(g) {
			return false
		}
		for i := range w {
			if !equalValue(w[i], g[i]) {
				return false
			}
		}
		return true
	case nil:
		if m, ok := got.(map[string]any); ok {
			return len(m) == 0
		}
		return got == nil
	}
	return want == got
}

// expectEvents checks that Export over everything returns exactly want (in
// any insertion order: want is sorted here by time, then ID).
func expectEvents(t *testing.T, st store.Store, want []store.Event) {
	t.Helper()
	want = slices.Clone(want)
	sortEvents(want)
	got := exportEverything(t, st)
	if len(got) != len(want) {
		t.Fatalf("Export returned %d events, want %d", len(got), len(want))
	}
	for i := range want {
		if d := Diff(want[i], got[i]); d != "" {
			t.Fatalf("Export event %d (%s) differs:\n%s", i, want[i].ID, d)
		}
	}
}

func sortEvents(evs []store.Event) {
	slices.SortStableFunc(evs, func(a, b store.Event) int {
		if c := a.Time.Truncate(time.Millisecond).Compare(b.Time.Truncate(time.Millisecond)); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

func (s *suite) roundTripEveryField(t *testing.T) {
	st := s.open(t)
	e := store.Event{
		ID:             "0193723e-6f1a-7cc2-9c5e-3a1f0e4b2d10",
		Name:           "didStartServer",
		Time:           time.Date(2026, 11, 28, 10, 0, 0, 123_000_000, time.UTC),
		ReceivedAt:     time.Date(2026, 11, 28, 10, 0, 5, 7_000_000, time.UTC),
		ProjectID:      "9f86d081884c7d659a2feaa0c55ad015",
		MachineID:      "a3b1c2d4e5f60718293a4b5c6d7e8f90",
		SessionID:      "0123456789abcdef0123456789abcdef",
		Environment:    "production",
		Product:        "strapi",
		ProductVersion: "5.3.1",
		OS:             "darwin",
		OSVersion:      "24.1.0",
		Arch:           "arm64",
		CPUs:           10,
		MemoryMB:       32768,
		Runtime:        "node",
		RuntimeVersion: "22.11.0",
		CI:             true,
		CIName:         "github-actions",
		Docker:         true,
		WSL:            true,
		SDK:            "abacus-go/0.1.0",
		Build:          map[string]any{"plugins": []any{"i18n", "graphql", "@strapi/plugin-seo"}, "typescript": true, "database": "postgres"},
		Properties:     map[string]any{"durationMs": int64(1234), "quickstart": false},
	}
	// A second event differs in every field, so that no column can be mixed up
	// with another or taken from the wrong row.
	f := store.Event{
		ID:             "0193723e-6f1a-7cc2-9c5e-3a1f0e4b2d11",
		Name:           "didUseFeature",
		Time:           e.Time.Add(time.Minute),
		ReceivedAt:     e.ReceivedAt.Add(time.Hour),
		ProjectID:      "00000000000000000000000000000001",
		MachineID:      "ffffffffffffffffffffffffffffffff",
		SessionID:      "fedcba9876543210fedcba9876543210",
		Environment:    "staging",
		Product:        "other-product",
		ProductVersion: "1.0.0-beta.2",
		OS:             "windows",
		OSVersion:      "10.0.22631",
		Arch:           "386",
		CPUs:           1,
		MemoryMB:       1 << 40,
		Runtime:        "bun",
		RuntimeVersion: "1.1.30",
		SDK:            "abacus-go/0.2.0",
		Build:          map[string]any{"typescript": false},
		Properties:     map[string]any{"feature": "media-library"},
	}
	mustInsert(t, st, []store.Event{f, e}, 2)
	expectEvents(t, st, []store.Event{e, f})
}

func (s *suite) roundTripValues(t *testing.T) {
	st := s.open(t)
	cases := []struct {
		name              string
		build, properties map[string]any
	}{
		{"strings", map[string]any{"database": "sqlite"}, map[string]any{"feature": "content-types", "code": "E_DB_CONNECT"}},
		{"ints", map[string]any{"workers": int64(4)}, map[string]any{"durationMs": int64(86400000), "zero": int64(0), "negative": int64(-42), "big": int64(1) << 52}},
		{"floats", map[string]any{"ratio": 0.5}, map[string]any{"score": 3.25, "tiny": 1e-9, "neg": -2.5, "whole": 3.0}},
		{"bools", map[string]any{"typescript": true, "ssr": false}, map[string]any{"quickstart": true, "first": false}},
		{"lists", map[string]any{"plugins": []any{"a", "b"}, "ports": []any{int64(1), int64(2)}}, map[string]any{"tags": []any{"x", "y", "z"}, "mixed": []any{"s", int64(1), 2.5, true}, "none": []any{}}},
		{"empty plugin list", map[string]any{"plugins": []any{}}, map[string]any{"n": int64(1)}},
		{"plugins that are not a list of strings", map[string]any{"plugins": "i18n"}, nil},
		{"plugins list of numbers", map[string]any{"plugins": []any{int64(1), int64(2)}}, nil},
		{"unicode", map[string]any{"locale": "日本語", "plugins": []any{"ünïcödé", "emoji-🚀"}}, map[string]any{"note": "naïve café — 你好 🎉", "quote": "a \"quoted\" \\ back\\slash\nnew line\ttab\u0000nul", "ключ": "значение"}},
		{"special characters in keys", map[string]any{"a.b": "x", "a'b": "y"}, map[string]any{"with space": int64(1), "$.x": true}},
	}
	var want []store.Event
	for i, c := range cases {
		e := event(i, "values")
		e.Build, e.Properties = c.build, c.properties
		want = append(want, e)
	}
	mustInsert(t, st, want, len(want))
	got := exportEverything(t, st)
	if len(got) != len(want) {
		t.Fatalf("Export returned %d events, want %d", len(got), len(want))
	}
	for i, c := range cases {
		if d := Diff(want[i], got[i]); d != "" {
			t.Errorf("%s:\n%s", c.name, d)
		}
	}
}

func (s *suite) roundTripTimes(t *testing.T) {
	st := s.open(t)
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600)
	}
	e := event(1, "times")
	// Microseconds and a zone other than UTC: the store keeps at least the
	// milliseconds and returns the same instant in UTC.
	e.Time = time.Date(2026, 11, 28, 11, 0, 0, 123_456_789, paris)
	e.ReceivedAt = time.Date(2026, 11, 28, 11, 0, 1, 999_999_999, paris)
	f := event(2, "times")
	f.Time = time.Date(1999, 12, 31, 23, 59, 59, 999_000_000, time.UTC)
	f.ReceivedAt = time.Date(2038, 1, 19, 3, 14, 8, 0, time.UTC)
	mustInsert(t, st, []store.Event{e, f}, 2)
	got := exportAll(t, st, time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), farFuture)
	if len(got) != 2 {
		t.Fatalf("Export returned %d events, want 2", len(got))
	}
	if d := Diff(f, got[0]); d != "" {
		t.Errorf("old event:\n%s", d)
	}
	if d := Diff(e, got[1]); d != "" {
		t.Errorf("event in Paris time:\n%s", d)
	}
}

func (s *suite) roundTripEmpty(t *testing.T) {
	st := s.open(t)
	e := event(1, "empty")
	e.SessionID, e.CIName, e.OSVersion, e.Arch, e.RuntimeVersion, e.ProductVersion = "", "", "", "", "", ""
	e.Build, e.Properties = nil, nil
	e.CPUs, e.MemoryMB = 0, 0
	f := event(2, "empty")
	f.Build, f.Properties = map[string]any{}, map[string]any{}
	mustInsert(t, st, []store.Event{e, f}, 2)
	expectEvents(t, st, []store.Event{e, f})
}

func (s *suite) dupWithinCall(t *testing.T) {
	st := s.open(t)
	a, b := event(1, "dup"), event(2, "dup")
	mustInsert(t, st, []store.Event{a, b, a, a, b}, 2)
	expectEvents(t, st, []store.Event{a, b})
	wantCount(t, st, 2)
}

func (s *suite) dupAcrossCalls(t *testing.T) {
	st := s.open(t)
	first := events(0, 100, "dup")
	mustInsert(t, st, first, 100)
	mustInsert(t, st, first, 0)
	// Overlapping: 50 old, 50 new. A replayed event that differs in any other
	// field is still the event already stored.
	next := events(50, 100, "dup")
	next[0].Name = "changedOnReplay"
	mustInsert(t, st, next, 50)
	wantCount(t, st, 150)
	want := events(0, 150, "dup")
	expectEvents(t, st, want)
}

func (s *suite) dupConcurrent(t *testing.T) {
	st := s.open(t)
	const workers, perBatch, batches = 8, 500, 3
	// Worker w inserts events [w*250, w*250+500) three times in shuffled
	// batches: neighbours overlap by half, so every ID but the ends is offered
	// by two workers, six times over.
	var wg sync.WaitGroup
	counts := make([]int, workers)
	errs := make([]error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			evs := events(w*perBatch/2, perBatch, "concurrent")
			for b := range batches {
				batch := slices.Clone(evs)
				// A different order on each round.
				for i := range batch {
					j := (i*7 + b*13 + w) % len(batch)
					batch[i], batch[j] = batch[j], batch[i]
				}
				n, err := st.Insert(context.Background(), batch)
				if err != nil {
					errs[w] = err
					return
				}
				counts[w] += n
			}
		}()
	}
	wg.Wait()
	for w, err := range errs {
		if err != nil {
			t.Fatalf("worker %d: Insert: %v", w, err)
		}
	}
	distinct := (workers + 1) * perBatch / 2 // [0, 4500)
	sum := 0
	for _, n := range counts {
		sum += n
	}
	if sum != distinct {
		t.Errorf("inserted counts sum to %d, want %d distinct IDs", sum, distinct)
	}
	wantCount(t, st, int64(distinct))
	got := exportEverything(t, st)
	seen := make(map[string]bool, len(got))
	for _, e := range got {
		if seen[e.ID] {
			t.Fatalf("ID %s exported twice", e.ID)
		}
		seen[e.ID] = true
	}
	if len(seen) != distinct {
		t.Fatalf("Export returned %d distinct IDs, want %d", len(seen), distinct)
	}
}

func (s *suite) dupAfterDelete(t *testing.T) {
	st := s.open(t)
	evs := events(0, 10, "erased")
	mustInsert(t, st, evs, 10)
	if n, err := st.DeleteProject(context.Background(), evs[0].ProjectID); err != nil || n != 10 {
		t.Fatalf("DeleteProject = %d, %v; want 10, nil", n, err)
	}
	mustInsert(t, st, evs, 10)
	wantCount(t, st, 10)
}

func (s *suite) existing(t *testing.T) {
	st := s.open(t)
	stored := events(0, 20, "existing")
	mustInsert(t, st, stored, 20)
	missing := events(100, 5, "existing")
	ask := append(ids(stored[5:15]), ids(missing)...)
	ask = append(ask, stored[5].ID) // asked twice
	got, err := st.Existing(context.Background(), ask)
	if err != nil {
		t.Fatalf("Existing: %v", err)
	}
	for _, e := range stored[5:15] {
		if !got[e.ID] {
			t.Errorf("Existing says %s is not stored", e.ID)
		}
	}
	for _, e := range missing {
		if got[e.ID] {
			t.Errorf("Existing says %s is stored", e.ID)
		}
	}
	for id, ok := range got {
		if ok && !slices.Contains(ask, id) {
			t.Errorf("Existing reports %s, which was not asked", id)
		}
	}
}

func (s *suite) existingSizes(t *testing.T) {
	st := s.open(t)
	got, err := st.Existing(context.Background(), nil)
	if err != nil {
		t.Fatalf("Existing(nil): %v", err)
	}
	if len(got) != 0 {
		t.Fatalf("Existing(nil) = %v, want nothing", got)
	}
	stored := events(0, 5000, "existing")
	mustInsert(t, st, stored, 5000)
	ask := ids(events(2500, 5000, "existing")) // half stored
	got, err = st.Existing(context.Background(), ask)
	if err != nil {
		t.Fatalf("Existing(5000 IDs): %v", err)
	}
	n := 0
	for _, id := range ask {
		if got[id] {
			n++
		}
	}
	if n != 2500 {
		t.Fatalf("Existing found %d of 5000 IDs, want 2500", n)
	}
}

func (s *suite) idsSince(t *testing.T) {
	st := s.open(t)
	since := base.Add(time.Hour)
	var evs []store.Event
	for i, d := range []time.Duration{-time.Hour, -time.Millisecond, 0, time.Millisecond, time.Hour} {
		e := event(i, "ids")
		e.ReceivedAt = since.Add(d)
		e.Time = base // Time does not matter to IDs
		evs = append(evs, e)
	}
	mustInsert(t, st, evs, len(evs))
	want := ids(evs[2:])
	slices.Sort(want)
	if got := allIDs(t, st, since); !slices.Equal(got, want) {
		t.Fatalf("IDs(since) = %v, want %v", got, want)
	}
	if got := allIDs(t, st, farPast); len(got) != len(evs) {
		t.Fatalf("IDs(far past) returned %d IDs, want %d", len(got), len(evs))
	}
	if got := allIDs(t, st, farFuture); len(got) != 0 {
		t.Fatalf("IDs(far future) = %v, want none", got)
	}
}

var errStop = errors.New("stop here")

func (s *suite) idsStop(t *testing.T) {
	st := s.open(t)
	mustInsert(t, st, events(0, 100, "ids"), 100)
	calls := 0
	err := st.IDs(context.Background(), farPast, func(string) error {
		calls++
		return errStop
	})
	if !errors.Is(err, errStop) {
		t.Fatalf("IDs = %v, want the callback's error", err)
	}
	if calls != 1 {
		t.Fatalf("callback called %d times after returning an error, want 1", calls)
	}
}

func (s *suite) exportWindow(t *testing.T) {
	st := s.open(t)
	from, to := base.Add(time.Hour), base.Add(2*time.Hour)
	var evs []store.Event
	for i, tm := range []time.Time{from.Add(-time.Millisecond), from, from.Add(30 * time.Minute), to.Add(-time.Millisecond), to, to.Add(time.Millisecond)} {
		e := event(i, "window")
		e.Time = tm
		e.ReceivedAt = base // ReceivedAt does not matter to Export
		evs = append(evs, e)
	}
	mustInsert(t, st, evs, len(evs))
	got := exportAll(t, st, from, to)
	if len(got) != 3 {
		t.Fatalf("Export returned %d events, want 3 (from, middle, to-1ms)", len(got))
	}
	for i, want := range evs[1:4] {
		if d := Diff(want, got[i]); d != "" {
			t.Errorf("event %d:\n%s", i, d)
		}
	}
}

func (s *suite) exportOrder(t *testing.T) {
	st := s.open(t)
	// Three events share a millisecond; their IDs, not their insertion order or
	// their times' sub-millisecond parts, decide the order.
	tm := base.Add(time.Minute)
	a, b, c := event(1, "order"), event(2, "order"), event(3, "order")
	a.ID, b.ID, c.ID = "00000000-0000-7000-8000-00000000000c", "00000000-0000-7000-8000-00000000000a", "ffffffff-0000-7000-8000-00000000000b"
	a.Time, b.Time, c.Time = tm, tm, tm
	early, late := event(4, "order"), event(5, "order")
	early.Time, late.Time = tm.Add(-time.Second), tm.Add(time.Second)
	early.ID = "ffffffff-ffff-7fff-bfff-ffffffffffff" // largest ID, earliest time
	late.ID = "00000000-0000-7000-8000-000000000000"  // smallest ID, latest time
	mustInsert(t, st, []store.Event{late, a, c, early, b}, 5)
	got := exportEverything(t, st)
	want := []string{early.ID, b.ID, a.ID, c.ID, late.ID}
	if g := ids(got); !slices.Equal(g, want) {
		t.Fatalf("Export order = %v, want %v", g, want)
	}
	// Many events: the order holds across a large result too.
	st2 := s.open(t)
	many := events(0, 3000, "order")
	for i := range many {
		many[i].Time = base.Add(time.Duration((i*7919)%1000) * time.Millisecond)
	}
	mustInsert(t, st2, slices.Clone(many), len(many))
	sortEvents(many)
	if g, w := ids(exportEverything(t, st2)), ids(many); !slices.Equal(g, w) {
		t.Fatalf("Export of 3000 events is not in time, ID order")
	}
}

func (s *suite) exportEmpty(t *testing.T) {
	st := s.open(t)
	mustInsert(t, st, events(0, 10, "empty"), 10)
	if got := exportAll(t, st, base.Add(time.Hour), base.Add(2*time.Hour)); len(got) != 0 {
		t.Fatalf("Export of a window without events returned %d", len(got))
	}
	if got := exportAll(t, st, base, base); len(got) != 0 {
		t.Fatalf("Export(from == to) returned %d events", len(got))
	}
	if got := exportAll(t, st, base.Add(time.Second), base); len(got) != 0 {
		t.Fatalf("Export(from > to) returned %d events", len(got))
	}
}

func (s *suite) exportStop(t *testing.T) {
	st := s.open(t)
	mustInsert(t, st, events(0, 100, "stop"), 100)
	calls := 0
	err := st.Export(context.Background(), farPast, farFuture, func(*store.Event) error {
		calls++
		return errStop
	})
	if !errors.Is(err, errStop) {
		t.Fatalf("Export = %v, want the callback's error", err)
	}
	if calls != 1 {
		t.Fatalf("callback called %d times after returning an error, want 1", calls)
	}
}

func (s *suite) deleteProject(t *testing.T) {
	st := s.open(t)
	a := events(0, 30, "a")
	b := events(30, 20, "b")
	c := events(50, 10, "c")
	// Project b shares machines and sessions with a and c.
	mustInsert(t, st, append(append(slices.Clone(a), b...), c...), 60)
	n, err := st.DeleteProject(context.Background(), b[0].ProjectID)
	if err != nil || n != 20 {
		t.Fatalf("DeleteProject(b) = %d, %v; want 20, nil", n, err)
	}
	expectEvents(t, st, append(slices.Clone(a), c...))
	wantCount(t, st, 40)
	got, err := st.Existing(context.Background(), ids(b))
	if err != nil {
		t.Fatal(err)
	}
	for id, ok := range got {
		if ok {
			t.Fatalf("Existing reports erased event %s", id)
		}
	}
	if n, err := st.DeleteProject(context.Background(), b[0].ProjectID); err != nil || n != 0 {
		t.Fatalf("DeleteProject(b) again = %d, %v; want 0, nil", n, err)
	}
}

func (s *suite) deleteProjectUnknown(t *testing.T) {
	st := s.open(t)
	mustInsert(t, st, events(0, 10, "a"), 10)
	n, err := st.DeleteProject(context.Background(), hex32("nobody"))
	if err != nil || n != 0 {
		t.Fatalf("DeleteProject(unknown) = %d, %v; want 0, nil", n, err)
	}
	wantCount(t, st, 10)
}

func (s *suite) deleteBefore(t *testing.T) {
	st := s.open(t)
	cut := base.Add(time.Hour)
	var evs []store.Event
	for i, d := range []time.Duration{-48 * time.Hour, -time.Second, -time.Millisecond, 0, time.Millisecond, time.Hour} {
		e := event(i, "retention")
		e.Time = cut.Add(d)
		e.ReceivedAt = farFuture.Add(-time.Hour) // ReceivedAt does not matter
		evs = append(evs, e)
	}
	mustInsert(t, st, evs, len(evs))
	n, err := st.DeleteBefore(context.Background(), cut)
	if err != nil || n != 3 {
		t.Fatalf("DeleteBefore = %d, %v; want 3, nil", n, err)
	}
	expectEvents(t, st, evs[3:])
	if n, err := st.DeleteBefore(context.Background(), cut); err != nil || n != 0 {
		t.Fatalf("DeleteBefore again = %d, %v; want 0, nil", n, err)
	}
}

func (s *suite) stats(t *testing.T) {
	st := s.open(t)
	if got := stats(t, st); got.Events != 0 || got.Bytes < 0 {
		t.Fatalf("Stats of an empty store = %+v", got)
	}
	mustInsert(t, st, events(0, 1000, "stats"), 1000)
	got := stats(t, st)
	if got.Events != 1000 {
		t.Fatalf("Stats().Events = %d, want 1000", got.Events)
	}
	if got.Bytes <= 0 {
		t.Fatalf("Stats().Bytes = %d after 1000 events, want > 0", got.Bytes)
	}
	if _, err := st.DeleteBefore(context.Background(), base.Add(400*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	wantCount(t, st, 600)
}

func cancelled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func (s *suite) ctxCancelled(t *testing.T) {
	st := s.open(t)
	mustInsert(t, st, events(0, 10, "ctx"), 10)
	ctx := cancelled()
	check := func(method string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context = %v, want context.Canceled", method, err)
		}
	}
	n, err := st.Insert(ctx, events(100, 10, "ctx"))
	check("Insert", err)
	if n != 0 {
		t.Errorf("cancelled Insert reported %d new events", n)
	}
	_, err = st.Existing(ctx, []string{event(0, "ctx").ID})
	check("Existing", err)
	err = st.IDs(ctx, farPast, func(string) error { return nil })
	check("IDs", err)
	err = st.Export(ctx, farPast, farFuture, func(*store.Event) error { return nil })
	check("Export", err)
	_, err = st.DeleteProject(ctx, event(0, "ctx").ProjectID)
	check("DeleteProject", err)
	_, err = st.DeleteBefore(ctx, farFuture)
	check("DeleteBefore", err)
	_, err = st.Stats(ctx)
	check("Stats", err)
	wantCount(t, st, 10) // nothing inserted, nothing deleted
}

func (s *suite) ctxCancelledMidway(t *testing.T) {
	st := s.open(t)
	mustInsert(t, st, events(0, 5000, "midway"), 5000)
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := st.Export(ctx, farPast, farFuture, func(*store.Event) error {
		calls++
		if calls == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Export cancelled after 10 events = %v (after %d calls), want context.Canceled", err, calls)
	}
	ctx, cancel = context.WithCancel(context.Background())
	calls = 0
	err = st.IDs(ctx, farPast, func(string) error {
		calls++
		if calls == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("IDs cancelled after 10 IDs = %v (after %d calls), want context.Canceled", err, calls)
	}
}

// atomicCancel cancels large Inserts after growing delays: whatever the moment,
// an Insert that returns an error has stored none of its events, and one that
// succeeds has stored them all.
func (s *suite) atomicCancel(t *testing.T) {
	st := s.open(t)
	const n = 20000
	base := 0
	sawError, sawSuccess := false, false
	for _, delay := range []time.Duration{0, 100 * time.Microsecond, time.Millisecond, 5 * time.Millisecond, 20 * time.Millisecond, 80 * time.Millisecond, time.Second} {
		evs := events(base, n, "atomic")
		base += n
		ctx, cancel := context.WithCancel(context.Background())
		timer := time.AfterFunc(delay, cancel)
		got, err := st.Insert(ctx, evs)
		timer.Stop()
		cancel()
		found, xerr := st.Existing(context.Background(), ids(evs))
		if xerr != nil {
			t.Fatalf("Existing: %v", xerr)
		}
		stored := 0
		for _, ok := range found {
			if ok {
				stored++
			}
		}
		switch {
		case err != nil:
			sawError = true
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Insert cancelled after %v = %v, want context.Canceled", delay, err)
			}
			if stored != 0 {
				t.Fatalf("Insert cancelled after %v failed but stored %d of %d events", delay, stored, n)
			}
		default:
			sawSuccess = true
			if got != n || stored != n {
				t.Fatalf("Insert cancelled after %v succeeded with %d new, %d stored; want %d", delay, got, stored, n)
			}
		}
	}
	t.Logf("saw a cancelled Insert: %v, a completed one: %v", sawError, sawSuccess)
	if !sawError {
		t.Errorf("no Insert was cancelled, not even with an already-cancelled context")
	}
}

// atomicBadEvent offers batches with one event a backend may refuse: a value
// that has no JSON form (NaN), an ID that is not a UUID. A backend may store
// them; if its Insert fails instead, it stores nothing of the batch.
func (s *suite) atomicBadEvent(t *testing.T) {
	st := s.open(t)
	cases := []struct {
		name string
		bad  func(*store.Event)
	}{
		{"NaN property", func(e *store.Event) { e.Properties = map[string]any{"ratio": math.NaN()} }},
		{"infinite build value", func(e *store.Event) { e.Build = map[string]any{"x": math.Inf(1)} }},
		{"ID that is not a UUID", func(e *store.Event) { e.ID = "not-a-uuid" }},
		{"unsupported property type", func(e *store.Event) { e.Properties = map[string]any{"ch": make(chan int)} }},
	}
	failures := 0
	for i, c := range cases {
		evs := events(i*1000, 1000, "bad")
		c.bad(&evs[700])
		n, err := st.Insert(context.Background(), evs)
		found, xerr := st.Existing(context.Background(), ids(evs))
		if xerr != nil {
			t.Fatalf("Existing: %v", xerr)
		}
		stored := 0
		for _, ok := range found {
			if ok {
				stored++
			}
		}
		if err != nil {
			failures++
			t.Logf("%s: Insert refused the batch: %v", c.name, err)
			if n != 0 || stored != 0 {
				t.Errorf("%s: failed Insert reported %d new and stored %d of %d events; want none", c.name, n, stored, len(evs))
			}
			continue
		}
		t.Logf("%s: Insert accepted the batch", c.name)
		if n != len(evs) || stored < len(evs)-1 {
			t.Errorf("%s: Insert succeeded with %d new and %d stored, want %d", c.name, n, stored, len(evs))
		}
	}
	if failures == 0 {
		t.Log("the backend accepted every batch; atomicity on failure is then shown only by the cancelled Inserts")
	}
}

func (s *suite) concurrentMixed(t *testing.T) {
	st := s.open(t)
	doomed := events(0, 500, "doomed")
	mustInsert(t, st, doomed, 500)
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errc := make(chan error, 16)
	reader := func(name string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := f(); err != nil {
					errc <- fmt.Errorf("%s: %w", name, err)
					return
				}
			}
		}()
	}
	reader("Existing", func() error { _, err := st.Existing(ctx, ids(doomed[:50])); return err })
	reader("Export", func() error {
		return st.Export(ctx, base, base.Add(time.Hour), func(*store.Event) error { return nil })
	})
	reader("IDs", func() error { return st.IDs(ctx, base, func(string) error { return nil }) })
	reader("Stats", func() error { _, err := st.Stats(ctx); return err })

	inserted := 0
	for b := range 10 {
		n, err := st.Insert(ctx, events(1000+b*200, 200, "live"))
		if err != nil {
			t.Fatalf("Insert: %v", err)
		}
		inserted += n
		if b == 5 {
			if n, err := st.DeleteProject(ctx, doomed[0].ProjectID); err != nil || n != 500 {
				t.Fatalf("DeleteProject = %d, %v; want 500, nil", n, err)
			}
		}
	}
	close(stop)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if inserted != 2000 {
		t.Fatalf("inserted %d, want 2000", inserted)
	}
	wantCount(t, st, 2000)
}

func (s *suite) afterClose(t *testing.T) {
	st := s.open(t)
	mustInsert(t, st, events(0, 10, "closed"), 10)
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := context.Background()
	check := func(method string, err error) {
		t.Helper()
		if !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", method, err)
		}
	}
	_, err := st.Insert(ctx, events(10, 1, "closed"))
	check("Insert", err)
	_, err = st.Existing(ctx, []string{event(0, "closed").ID})
	check("Existing", err)
	called := false
	err = st.IDs(ctx, farPast, func(string) error { called = true; return nil })
	check("IDs", err)
	err = st.Export(ctx, farPast, farFuture, func(*store.Event) error { called = true; return nil })
	check("Export", err)
	if called {
		t.Error("a callback ran after Close")
	}
	_, err = st.DeleteProject(ctx, event(0, "closed").ProjectID)
	check("DeleteProject", err)
	_, err = st.DeleteBefore(ctx, farFuture)
	check("DeleteBefore", err)
	_, err = st.Stats(ctx)
	check("Stats", err)
	if err := st.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
		t.Errorf("second Close = %v, want nil or ErrClosed", err)
	}
}

func (s *suite) reopenable(t *testing.T) func(t *testing.T) store.Store {
	open := s.cfg.place(t)
	return func(t *testing.T) store.Store {
		t.Helper()
		st := open(t)
		t.Cleanup(func() { closeQuietly(t, st) })
		return st
	}
}

func (s *suite) persist(t *testing.T) {
	open := s.reopenable(t)
	st := open(t)
	evs := events(0, 2000, "persist")
	evs[1999].Build = map[string]any{"plugins": []any{"i18n"}, "typescript": true, "ratio": 0.25}
	evs[1999].Properties = map[string]any{"note": "日本語", "n": int64(7)}
	mustInsert(t, st, evs, 2000)
	if _, err := st.DeleteBefore(context.Background(), base.Add(100*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	st = open(t)
	expectEvents(t, st, evs[100:])
	wantCount(t, st, 1900)
	if err := st.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// And once more, with nothing done in between.
	st = open(t)
	wantCount(t, st, 1900)
}

func (s *suite) persistIdempotent(t *testing.T) {
	open := s.reopenable(t)
	st := open(t)
	evs := events(0, 1000, "persist")
	mustInsert(t, st, evs, 1000)
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	st = open(t)
	mustInsert(t, st, evs, 0)
	mustInsert(t, st, events(500, 1000, "persist"), 500)
	wantCount(t, st, 1500)
}
