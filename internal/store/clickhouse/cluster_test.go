package clickhouse

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/abacushq/abacus/internal/store"
	"github.com/abacushq/abacus/internal/store/clickhouse/chtest"
	"github.com/abacushq/abacus/internal/store/storetest"
	"github.com/abacushq/abacus/telemetry/wire"
)

const testCluster = "abacus_shards"

// TestCluster runs the store contract and the tests below on two real
// clickhouse-server processes, the two shards of one cluster: Distributed
// tables over local ReplacingMergeTrees, sharded by the project.
func TestCluster(t *testing.T) {
	srvs := chtest.StartCluster(t, testCluster, 2)
	t.Run("Contract", func(t *testing.T) {
		// Stores enter the cluster by either server.
		open := func(db string, n int64) func(t *testing.T) store.Store {
			return func(t *testing.T) store.Store {
				t.Helper()
				s, err := Open(srvs[n%2].URL(db)+"?cluster="+testCluster, Options{})
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
		}
		storetest.Run(t, func(t *testing.T) store.Store {
			n := dbs.Add(1)
			return open(fmt.Sprintf("contract_%d", n), n)(t)
		}, storetest.Reopenable(func(t *testing.T) func(t *testing.T) store.Store {
			n := dbs.Add(1)
			return open(fmt.Sprintf("reopen_%d", n), n)
		}))
	})
	t.Run("ProjectsStayOnOneShard", func(t *testing.T) { testProjectsStayOnOneShard(t, srvs) })
	t.Run("UnknownCluster", func(t *testing.T) {
		s, err := Open(srvs[0].URL("nocluster")+"?cluster=no_such_cluster", Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		_, err = s.Stats(context.Background())
		if err == nil || !strings.Contains(err.Error(), `"no_such_cluster"`) || !strings.Contains(err.Error(), "remote_servers") {
			t.Fatalf("Stats on an unknown cluster: %v; want an error naming the cluster and remote_servers", err)
		}
	})
}

// queryAt runs a query over the HTTP interface of srv with settings.
func queryAt(t *testing.T, srv *chtest.Server, settings url.Values, query string) string {
	t.Helper()
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/?%s", srv.HTTPPort, settings.Encode()), "text/plain", strings.NewReader(query))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: ClickHouse answered %s: %s", query, resp.Status, body)
	}
	return strings.TrimSpace(string(body))
}

// testProjectsStayOnOneShard stores 40 projects' events through the cluster,
// then a second copy of every event (time +3 ms, received +2 s, as another
// collector draining a client's retry stores it) through the other server's
// Distributed table. Both shards hold events; each project, with both
// copies of each of its events, is on one shard only; every read through
// the cluster counts each event once; distinct projects per shard add up
// to the cluster's; and the shards' merges (OPTIMIZE … FINAL) leave one row
// per event, which they could not if a copy were on the other shard.
func testProjectsStayOnOneShard(t *testing.T, srvs []*chtest.Server) {
	ctx := context.Background()
	s, err := Open(srvs[0].URL("sharded")+"?cluster="+testCluster, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	const projects, per = 40, 25
	var evs []store.Event
	var ids []string
	for p := range projects {
		for i := range per {
			e := sample(p*per+i, "")
			e.ProjectID = fmt.Sprintf("%032x", 0xabc000+p)
			evs = append(evs, e)
			ids = append(ids, e.ID)
		}
	}
	if n, err := s.Insert(ctx, evs); err != nil || n != len(evs) {
		t.Fatalf("Insert = %d, %v; want %d", n, err, len(evs))
	}
	sync := url.Values{"insert_distributed_sync": {"1"}}
	queryAt(t, srvs[1], sync, `INSERT INTO sharded.events SELECT id, name, time + 3, received + 2000, day,
		project, machine, session, environment, product, product_version, os, os_version, arch, cpus, memory_mb,
		runtime, runtime_version, ci, ci_name, docker, wsl, sdk, build, properties FROM sharded.events`)

	var projectsSum int
	onShard := map[string]int{}
	for i, srv := range srvs {
		rows := queryAt(t, srv, nil, "SELECT count(), uniqExact(id), uniqExact(project) FROM sharded.events_local")
		var n, distinct, ps int
		if _, err := fmt.Sscan(rows, &n, &distinct, &ps); err != nil {
			t.Fatalf("shard %d: %q: %v", i+1, rows, err)
		}
		t.Logf("shard %d: %d rows, %d events, %d projects", i+1, n, distinct, ps)
		if n == 0 || n != 2*distinct {
			t.Errorf("shard %d holds %d rows of %d events; want both copies of each event, and some events", i+1, n, distinct)
		}
		projectsSum += ps
		for _, p := range strings.Fields(queryAt(t, srv, nil, "SELECT DISTINCT project FROM sharded.events_local")) {
			onShard[p]++
		}
	}
	for p, n := range onShard {
		if n != 1 {
			t.Errorf("project %s is on %d shards; want 1", p, n)
		}
	}
	if projectsSum != projects || len(onShard) != projects {
		t.Errorf("distinct projects per shard add up to %d (%d seen); want %d", projectsSum, len(onShard), projects)
	}
	if got := queryAt(t, srvs[1], nil, "SELECT uniqExact(project) FROM sharded.events"); got != fmt.Sprint(projects) {
		t.Errorf("distinct projects through the Distributed table: %s; want %d", got, projects)
	}
	export, idsN, existing, stats := countReads(t, s, ids)
	if export != len(evs) || idsN != len(evs) || existing != len(evs) || stats != int64(len(evs)) {
		t.Fatalf("with two copies of %d events on two shards: Export %d, IDs %d, Existing %d, Stats %d; want %d each", len(evs), export, idsN, existing, stats, len(evs))
	}
	for i, srv := range srvs {
		queryAt(t, srv, nil, "OPTIMIZE TABLE sharded.events_local FINAL")
		rows := queryAt(t, srv, nil, "SELECT count() = uniqExact(id) FROM sharded.events_local")
		if rows != "1" {
			t.Errorf("shard %d: after its merge, events_local still holds copies", i+1)
		}
	}
	if n, err := s.DeleteProject(ctx, evs[0].ProjectID); err != nil || n != per {
		t.Fatalf("DeleteProject = %d, %v; want %d (each event once)", n, err, per)
	}
	if got := queryAt(t, srvs[1], nil, "SELECT count() FROM sharded.events WHERE project = '"+evs[0].ProjectID+"'"); got != "0" {
		t.Fatalf("after DeleteProject the cluster still holds %s rows of the project", got)
	}
	if export, _, _, stats = countReads(t, s, ids); export != len(evs)-per || stats != int64(len(evs)-per) {
		t.Fatalf("after DeleteProject: Export %d, Stats %d; want %d", export, stats, len(evs)-per)
	}
}

func TestParseURLCluster(t *testing.T) {
	if _, _, err := ParseURL("clickhouse://127.0.0.1:9000/x?cluster=bad-name"); err == nil || !strings.Contains(err.Error(), `cluster name "bad-name"`) {
		t.Fatalf("ParseURL with cluster=bad-name: %v; want an error naming the cluster", err)
	}
	o, db, cluster, err := parseURL("clickhouse://127.0.0.1:9000/x?cluster=shards&dial_timeout=2s")
	if err != nil || db != "x" || cluster != "shards" || o.DialTimeout.String() != "2s" {
		t.Fatalf("parseURL = %v, %q, %q, %v; want database x, cluster shards, dial_timeout 2s", o, db, cluster, err)
	}
}

// existingUsesKey runs the store's Existing query on srv with the ID of
// stored as the external table asked and force_primary_key=1, which
// ClickHouse refuses when the query would read the ID index without its
// primary key (a full read of the index for every request's check).
// It reports whether the query found the ID on srv.
func existingUsesKey(t *testing.T, srv *chtest.Server, s *Store, stored store.Event) bool {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("asked", "asked.tsv")
	if err != nil {
		t.Fatal(err)
	}
	// The ID's 16 bytes in TabSeparated: its text's hex digits, escaped.
	u, _ := wire.ParseUUID(stored.ID)
	for _, b := range u {
		fmt.Fprintf(fw, "\\x%02x", b)
	}
	fmt.Fprintln(fw)
	mw.Close()
	q := url.Values{"asked_structure": {"id FixedString(16)"}, "asked_format": {"TSV"}, "force_primary_key": {"1"}, "query": {s.existingQuery() + " FORMAT TSV"}}
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/?%s", srv.HTTPPort, q.Encode()), mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("Existing's query without the primary key: %s: %s", resp.Status, out)
	}
	return len(bytes.TrimSpace(out)) > 0
}

func TestExistingUsesPrimaryKey(t *testing.T) {
	t.Run("Server", func(t *testing.T) {
		srv := chtest.Start(t)
		s, e := openDB(t, srv, "pk"), sample(1, "p")
		if _, err := s.Insert(context.Background(), []store.Event{e}); err != nil {
			t.Fatal(err)
		}
		if !existingUsesKey(t, srv, s, e) {
			t.Fatal("Existing's query found nothing; want the stored ID")
		}
	})
	t.Run("Cluster", func(t *testing.T) {
		srvs := chtest.StartCluster(t, testCluster, 2)
		s, err := Open(srvs[0].URL("pk")+"?cluster="+testCluster, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		e := sample(1, "p")
		if _, err := s.Insert(context.Background(), []store.Event{e}); err != nil {
			t.Fatal(err)
		}
		found := 0
		for _, srv := range srvs {
			if existingUsesKey(t, srv, s, e) {
				found++
			}
		}
		if found != 1 {
			t.Fatalf("Existing's query found the ID on %d servers; want 1 (its project's shard)", found)
		}
	})
}
