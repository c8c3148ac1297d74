package clickhouse

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/store"
	"github.com/abacushq/abacus/internal/store/clickhouse/chtest"
	"github.com/abacushq/abacus/internal/store/storetest"
)

var dbs atomic.Int64

// TestServer runs the store contract and the tests below on one real
// clickhouse-server, a fresh database for every store.
func TestServer(t *testing.T) {
	srv := chtest.Start(t)
	for _, c := range []struct {
		name string
		test func(*testing.T, *chtest.Server)
	}{
		{"Contract", testContract},
		{"CopiesReadOnce", testCopiesReadOnce},
		{"TwoStoresAtOnce", testTwoStoresAtOnce},
		{"ErasureReachesOtherCollectors", testErasureReachesOtherCollectors},
		{"ExistingAsksOnlyForSeenIDs", testExistingAsksOnlyForSeenIDs},
		{"Migrate", testMigrate},
		{"DeleteBeforeDropsMonths", testDeleteBeforeDropsMonths},
	} {
		t.Run(c.name, func(t *testing.T) { c.test(t, srv) })
	}
}

func testContract(t *testing.T, srv *chtest.Server) {
	open := func(db string) func(t *testing.T) store.Store {
		return func(t *testing.T) store.Store {
			t.Helper()
			s, err := Open(srv.URL(db), Options{})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(fmt.Sprintf("contract_%d", dbs.Add(1)))(t)
	}, storetest.Reopenable(func(t *testing.T) func(t *testing.T) store.Store {
		return open(fmt.Sprintf("reopen_%d", dbs.Add(1)))
	}))
}

func openDB(t *testing.T, srv *chtest.Server, db string) *Store {
	t.Helper()
	s, err := Open(srv.URL(db), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func sample(n int, project string) store.Event {
	tm := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Second)
	return store.Event{
		ID:         fmt.Sprintf("0193723e-6f1a-7cc2-9c5e-%012x", n),
		Name:       "didStartServer",
		Time:       tm,
		ReceivedAt: tm.Add(time.Second),
		ProjectID:  fmt.Sprintf("%032x", len(project)),
		MachineID:  fmt.Sprintf("%032x", 100+n%2),
		OS:         "linux",
		Properties: map[string]any{"durationMs": int64(1000 + n)},
	}
}

// countReads reads the store every way there is and returns what each says.
func countReads(t *testing.T, s *Store, ids []string) (export, idsN, existing int, stats int64) {
	t.Helper()
	ctx := context.Background()
	seen := map[string]int{}
	if err := s.Export(ctx, time.Time{}, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), func(e *store.Event) error {
		seen[e.ID]++
		export++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("Export returned %s %d times", id, n)
		}
	}
	if err := s.IDs(ctx, time.Time{}, func(string) error { idsN++; return nil }); err != nil {
		t.Fatal(err)
	}
	got, err := s.Existing(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return export, idsN, len(got), st.Events
}

// testCopiesReadOnce stores every event twice, as two collectors draining a
// client's retry at the same moment do (the second copy received later, its
// time corrected a little differently), and requires every read to count
// each event once, before any merge.
func testCopiesReadOnce(t *testing.T, srv *chtest.Server) {
	s := openDB(t, srv, "copies")
	var evs []store.Event
	var ids []string
	for i := range 100 {
		e := sample(i, "p")
		evs = append(evs, e)
		ids = append(ids, e.ID)
	}
	if n, err := s.Insert(context.Background(), evs); err != nil || n != 100 {
		t.Fatalf("Insert = %d, %v; want 100", n, err)
	}
	// The copies go in as separate parts, as another collector's insert
	// would, with time +3 ms and received +2 s.
	if _, err := srv.Query(context.Background(), `INSERT INTO copies.events SELECT id, name, time + 3, received + 2000, day,
		project, machine, session, environment, product, product_version, os, os_version, arch, cpus, memory_mb,
		runtime, runtime_version, ci, ci_name, docker, wsl, sdk, build, properties FROM copies.events`); err != nil {
		t.Fatal(err)
	}
	rows, err := srv.Query(context.Background(), "SELECT count() FROM copies.events")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(rows) != "200" {
		t.Fatalf("the events table holds %s rows, want 200 (two copies of each event)", strings.TrimSpace(rows))
	}
	export, idsN, existing, stats := countReads(t, s, ids)
	if export != 100 || idsN != 100 || existing != 100 || stats != 100 {
		t.Fatalf("with two copies of 100 events: Export %d, IDs %d, Existing %d, Stats %d; want 100 each", export, idsN, existing, stats)
	}
	// A second collector's store sending the same batch stores nothing new.
	other := openDB(t, srv, "copies")
	if n, err := other.Insert(context.Background(), evs); err != nil || n != 0 {
		t.Fatalf("the same batch through a second store: Insert = %d, %v; want 0", n, err)
	}
	if n, err := s.DeleteProject(context.Background(), evs[0].ProjectID); err != nil || n != 100 {
		t.Fatalf("DeleteProject = %d, %v; want 100 (each event once)", n, err)
	}
	if export, idsN, existing, stats = countReads(t, s, ids); export+idsN+existing+int(stats) != 0 {
		t.Fatalf("after DeleteProject: Export %d, IDs %d, Existing %d, Stats %d; want none", export, idsN, existing, stats)
	}
}

// testTwoStoresAtOnce sends the same batches through two stores on one
// database at the same time, many times: whatever reaches the tables, every
// read counts each event once.
func testTwoStoresAtOnce(t *testing.T, srv *chtest.Server) {
	a, b := openDB(t, srv, "race"), openDB(t, srv, "race")
	var ids []string
	var wg sync.WaitGroup
	for round := range 20 {
		var evs []store.Event
		for i := range 50 {
			e := sample(round*50+i, "p")
			evs = append(evs, e)
			ids = append(ids, e.ID)
		}
		for _, s := range []*Store{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.Insert(context.Background(), evs); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	rows, err := srv.Query(context.Background(), "SELECT count() FROM race.events")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("1000 events sent through two stores at once: %s rows in the table", strings.TrimSpace(rows))
	export, idsN, existing, stats := countReads(t, a, ids)
	if export != 1000 || idsN != 1000 || existing != 1000 || stats != 1000 {
		t.Fatalf("Export %d, IDs %d, Existing %d, Stats %d; want 1000 each", export, idsN, existing, stats)
	}
}

// testErasureReachesOtherCollectors: an erasure recorded through one store
// stops another store from inserting the project's events received up to
// the erasure (still in that collector's log), not those received after.
func testErasureReachesOtherCollectors(t *testing.T, srv *chtest.Server) {
	a, b := openDB(t, srv, "erase"), openDB(t, srv, "erase")
	at := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	before, after, other := sample(1, "p"), sample(2, "p"), sample(3, "other")
	before.ReceivedAt, after.ReceivedAt, other.ReceivedAt = at, at.Add(time.Millisecond), at.Add(-time.Hour)
	if err := a.RecordErasure(context.Background(), before.ProjectID, at); err != nil {
		t.Fatal(err)
	}
	n, err := b.Insert(context.Background(), []store.Event{before, after, other})
	if err != nil || n != 2 {
		t.Fatalf("Insert after the erasure = %d, %v; want 2 (the event received after it, and another project's)", n, err)
	}
	got := map[string]bool{}
	if err := a.Export(context.Background(), time.Time{}, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), func(e *store.Event) error {
		got[e.ID] = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[before.ID] || !got[after.ID] || !got[other.ID] {
		t.Fatalf("stored: %v; want the event received after the erasure and the other project's, not the one received before", got)
	}
}

// selects returns how many SELECT queries the server has started (the
// query that reads the counter among them).
func selects(t *testing.T, srv *chtest.Server) int {
	t.Helper()
	out, err := srv.Query(context.Background(), "SELECT value FROM system.events WHERE event = 'SelectQuery'")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if _, err := fmt.Sscan(out, &n); err != nil {
		t.Fatalf("SelectQuery counter %q: %v", out, err)
	}
	return n
}

// testExistingAsksOnlyForSeenIDs: Existing answers IDs its store has not
// seen stored without a query, and asks the table about the others; an ID
// that only another collector stored is reported as not stored, and the
// Insert that follows still stores nothing, after which Existing knows it.
// A deleted ID is asked about and reported gone.
func testExistingAsksOnlyForSeenIDs(t *testing.T, srv *chtest.Server) {
	ctx := context.Background()
	a, b := openDB(t, srv, "seen"), openDB(t, srv, "seen")
	var mine, theirs, fresh []store.Event
	for i := range 300 {
		e := sample(i, "p")
		switch i % 3 {
		case 0:
			mine = append(mine, e)
		case 1:
			e.ProjectID = fmt.Sprintf("%032x", 7)
			theirs = append(theirs, e)
		default:
			fresh = append(fresh, e)
		}
	}
	if n, err := a.Insert(ctx, mine); err != nil || n != 100 {
		t.Fatalf("a.Insert = %d, %v; want 100", n, err)
	}
	if n, err := b.Insert(ctx, theirs); err != nil || n != 100 {
		t.Fatalf("b.Insert = %d, %v; want 100", n, err)
	}

	before := selects(t, srv)
	got, err := a.Existing(ctx, ids(fresh))
	if err != nil {
		t.Fatal(err)
	}
	if q := selects(t, srv) - before - 1; len(got) != 0 || q != 0 {
		t.Fatalf("Existing of 100 IDs never stored: %d reported stored, %d queries; want none and none", len(got), q)
	}

	before = selects(t, srv)
	got, err = a.Existing(ctx, append(ids(mine), ids(fresh)...))
	if err != nil {
		t.Fatal(err)
	}
	if q := selects(t, srv) - before - 1; len(got) != 100 || q != 1 {
		t.Fatalf("Existing of its own 100 stored IDs and 100 new: %d reported stored, %d queries; want 100 and 1", len(got), q)
	}
	for _, e := range mine {
		if !got[e.ID] {
			t.Fatalf("Existing says %s, which this store stored, is not stored", e.ID)
		}
	}

	if got, err = a.Existing(ctx, ids(theirs)); err != nil || len(got) != 0 {
		t.Fatalf("Existing of IDs only another store stored = %d reported stored, %v; want none (not seen)", len(got), err)
	}
	if n, err := a.Insert(ctx, theirs); err != nil || n != 0 {
		t.Fatalf("Insert of IDs another store stored = %d, %v; want 0: Insert asks the table", n, err)
	}
	if got, err = a.Existing(ctx, ids(theirs)); err != nil || len(got) != 100 {
		t.Fatalf("Existing once Insert found them stored = %d, %v; want 100", len(got), err)
	}

	if n, err := b.DeleteProject(ctx, mine[0].ProjectID); err != nil || n != 100 {
		t.Fatalf("DeleteProject = %d, %v; want 100", n, err)
	}
	if got, err = a.Existing(ctx, ids(mine)); err != nil || len(got) != 0 {
		t.Fatalf("Existing of deleted IDs = %d reported stored, %v; want none", len(got), err)
	}
}

func ids(evs []store.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

// testMigrate: stores opening one new database at once migrate it once,
// to SchemaVersion; a schema newer than this code is refused with a clear
// error.
func testMigrate(t *testing.T, srv *chtest.Server) {
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(srv.URL("migrate"), Options{})
			if err != nil {
				errs[i] = err
				return
			}
			defer s.Close()
			errs[i] = s.Migrate(context.Background())
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	v, err := srv.Query(context.Background(), "SELECT max(version) FROM migrate.schema_version")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(v) != fmt.Sprint(SchemaVersion) {
		t.Fatalf("schema version %s, want %d", strings.TrimSpace(v), SchemaVersion)
	}
	tables, err := srv.Query(context.Background(), "SELECT name FROM system.tables WHERE database = 'migrate' ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(tables); !slices.Equal(got, []string{"erasures", "event_ids", "event_ids_mv", "events", "schema_version"}) {
		t.Fatalf("tables after migration: %v", got)
	}
	if _, err := srv.Query(context.Background(), "INSERT INTO migrate.schema_version VALUES (99, now())"); err != nil {
		t.Fatal(err)
	}
	s := openDB(t, srv, "migrate")
	err = s.Migrate(context.Background())
	if err == nil || !strings.Contains(err.Error(), "newer than this abacus knows") {
		t.Fatalf("Migrate of a schema at version 99 = %v, want an error saying it is newer", err)
	}
}

// TestServerAway: a store opened while the server is down answers with an
// error, and works once the server is back, without reopening.
func TestServerAway(t *testing.T) {
	srv := chtest.Start(t)
	srv.Kill()
	s := openDB(t, srv, "away")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.Insert(ctx, []store.Event{sample(1, "p")}); err == nil {
		t.Fatal("Insert with the server down succeeded")
	}
	srv.Restart()
	if n, err := s.Insert(context.Background(), []store.Event{sample(1, "p")}); err != nil || n != 1 {
		t.Fatalf("Insert once the server is back = %d, %v; want 1", n, err)
	}
}

func TestParseURL(t *testing.T) {
	for _, c := range []struct{ url, want string }{
		{"http://127.0.0.1:9000/abacus", "expected the scheme clickhouse://"},
		{"clickhouse:///abacus", "expected a host:port"},
		{"clickhouse://127.0.0.1:9000", "expected a database name"},
		{"clickhouse://127.0.0.1:9000/ab-cd", `cannot use the database name "ab-cd"`},
		{"clickhouse://127.0.0.1:9000/abacus?pool=3", `parameter "pool"`},
		{"clickhouse://127.0.0.1:9000/abacus?dial_timeout=soon", "dial_timeout"},
		{"clickhouse://user:secret@127.0.0.1:9000", "clickhouse://user@127.0.0.1:9000"},
	} {
		_, _, err := ParseURL(c.url)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseURL(%q) = %v, want an error containing %q", c.url, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("ParseURL(%q) error shows the password: %v", c.url, err)
		}
	}
	o, db, err := ParseURL("clickhouse://u:p@127.0.0.1:9440,127.0.0.2:9440/events_1?secure=true&dial_timeout=2s&max_open_conns=7&read_timeout=30s")
	if err != nil {
		t.Fatal(err)
	}
	if db != "events_1" || len(o.Addr) != 2 || o.TLS == nil || o.DialTimeout != 2*time.Second || o.MaxOpenConns != 7 ||
		o.ReadTimeout != 30*time.Second || o.Auth.Username != "u" || o.Auth.Password != "p" {
		t.Fatalf("ParseURL = %+v, %q", o, db)
	}
}

// TestExistingFailsFast: against a server that accepts connections and never
// answers, Existing fails after the dial timeout once, then at once for a
// second: ingest asks it on every request.
func TestExistingFailsFast(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // silent until the test ends
		}
	}()
	s, err := Open("clickhouse://"+ln.Addr().String()+"/silent?dial_timeout=300ms&read_timeout=300ms", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ids := []string{sample(1, "p").ID}
	start := time.Now()
	if _, err := s.Existing(context.Background(), ids); err == nil {
		t.Fatal("Existing against a silent server succeeded")
	}
	first := time.Since(start)
	start = time.Now()
	if _, err := s.Existing(context.Background(), ids); err == nil {
		t.Fatal("second Existing against a silent server succeeded")
	}
	second := time.Since(start)
	t.Logf("first Existing failed after %v, the second after %v", first, second)
	if second > 50*time.Millisecond || second*5 > first {
		t.Fatalf("the second Existing took %v (the first %v); want an immediate failure", second, first)
	}
}

// TestTLS: the native protocol over TLS, trusting the server's certificate
// through ca_file; without it the certificate is refused, and skip_verify
// takes it unchecked.
func TestTLS(t *testing.T) {
	srv := chtest.StartTLS(t)
	base := fmt.Sprintf("clickhouse://127.0.0.1:%d/tls?secure=true&dial_timeout=3s", srv.SecurePort)
	s, err := Open(base+"&ca_file="+url.QueryEscape(srv.CAFile), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := s.Insert(context.Background(), []store.Event{sample(1, "p")}); err != nil || n != 1 {
		t.Fatalf("Insert over TLS = %d, %v; want 1", n, err)
	}
	untrusted, err := Open(base, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer untrusted.Close()
	if _, err := untrusted.Stats(context.Background()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Stats with a certificate the system does not trust = %v, want a certificate error", err)
	}
	unchecked, err := Open(base+"&skip_verify=true", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer unchecked.Close()
	if st, err := unchecked.Stats(context.Background()); err != nil || st.Events != 1 {
		t.Fatalf("Stats with skip_verify = %+v, %v; want 1 event", st, err)
	}
	if _, _, err := ParseURL("clickhouse://127.0.0.1:9000/x?ca_file=" + url.QueryEscape(srv.CAFile)); err == nil || !strings.Contains(err.Error(), "needs secure=true") {
		t.Fatalf("ca_file without secure = %v", err)
	}
}

// testDeleteBeforeDropsMonths: retention drops the months wholly before the
// cut as partitions and deletes the rest of the cut's month row by row.
func testDeleteBeforeDropsMonths(t *testing.T, srv *chtest.Server) {
	s := openDB(t, srv, "retention")
	var evs []store.Event
	for i, day := range []string{"2026-09-30", "2026-10-01", "2026-10-31", "2026-11-01", "2026-11-14", "2026-11-15", "2026-12-01"} {
		e := sample(i, "p")
		e.Time, _ = time.Parse("2006-01-02", day)
		e.Time = e.Time.Add(12 * time.Hour)
		evs = append(evs, e)
	}
	if n, err := s.Insert(context.Background(), evs); err != nil || n != len(evs) {
		t.Fatalf("Insert = %d, %v", n, err)
	}
	partitions := func() string {
		out, err := srv.Query(context.Background(), "SELECT groupUniqArray(partition) FROM (SELECT partition FROM system.parts WHERE database = 'retention' AND table = 'events' AND active ORDER BY partition)")
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}
	before := partitions()
	cut := time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)
	n, err := s.DeleteBefore(context.Background(), cut)
	if err != nil || n != 5 {
		t.Fatalf("DeleteBefore(%v) = %d, %v; want 5", cut, n, err)
	}
	after := partitions()
	t.Logf("partitions before: %s, after: %s", before, after)
	if strings.Contains(after, "202609") || strings.Contains(after, "202610") || !strings.Contains(after, "202611") || !strings.Contains(after, "202612") {
		t.Fatalf("partitions after DeleteBefore(%v): %s; want 202609 and 202610 dropped, 202611 and 202612 kept", cut, after)
	}
	var left []string
	if err := s.Export(context.Background(), time.Time{}, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), func(e *store.Event) error {
		left = append(left, e.Time.Format("2006-01-02"))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(left, []string{"2026-11-15", "2026-12-01"}) {
		t.Fatalf("left after DeleteBefore: %v", left)
	}
}
