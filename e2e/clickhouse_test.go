package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/store/clickhouse/chtest"
	"github.com/abacushq/abacus/telemetry/wire"
)

// fleet is collectors sharing one ClickHouse database and one secret.
type fleet struct {
	t      *testing.T
	ch     *chtest.Server
	secret string
	procs  []*proc
	urls   []string
}

func startFleet(t *testing.T, ch *chtest.Server, db string, n int, extra ...string) *fleet {
	t.Helper()
	f := &fleet{t: t, ch: ch, secret: filepath.Join(t.TempDir(), "secret")}
	// One secret for all: they re-key project and machine IDs alike.
	if err := os.WriteFile(f.secret, []byte(strings.Repeat("5e", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for range n {
		p := startServer(t, serveOpts{args: append([]string{"--store", ch.URL(db), "--secret-file", f.secret, "--min-free", "0"}, extra...)})
		f.procs = append(f.procs, p)
		f.urls = append(f.urls, p.URL)
	}
	return f
}

// startBackground starts p again without waiting until it is ready (it may
// wait for ClickHouse).
func (p *proc) startBackground() {
	p.t.Helper()
	args := append([]string{"serve", "--addr", p.addr, "--data", p.dir, "--rate-ip", "-1", "--rate-project", "-1",
		"--rate-ip-events", "-1", "--rate-ip-new-projects", "-1"}, p.args...)
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "ABACUS_TOKEN="+testToken)
	cmd.Stdout = syncWriter{&p.mu, &p.stdout}
	cmd.Stderr = syncWriter{&p.mu, &p.stderr}
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.cmd = cmd
	p.exited = make(chan struct{})
	go func() { cmd.Wait(); close(p.exited) }()
}

// chTally counts what the senders saw.
type chTally struct {
	mu        sync.Mutex
	acked     map[string]bool
	sent      int
	accepted  atomic.Int64 // 202 answers
	refused   atomic.Int64 // 503 answers with Retry-After
	noRetry   atomic.Int64 // 503 answers without Retry-After
	other     atomic.Int64 // other answers
	unreached atomic.Int64 // no answer
	crossed   atomic.Int64 // batches sent again to another collector
}

func newCHTally() *chTally { return &chTally{acked: map[string]bool{}} }

// send posts one batch to url; it reports whether the batch was acknowledged.
func (tl *chTally) send(client *http.Client, url string, body []byte, events []wire.Event) bool {
	req, _ := http.NewRequest(http.MethodPost, url+wire.BatchPath, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := client.Do(req)
	if err != nil {
		tl.unreached.Add(1)
		return false
	}
	defer resp.Body.Close()
	var ans wire.Response
	switch {
	case resp.StatusCode == http.StatusAccepted && json.NewDecoder(resp.Body).Decode(&ans) == nil && len(ans.Rejected) == 0:
		tl.accepted.Add(1)
		tl.mu.Lock()
		for _, e := range events {
			tl.acked[e.ID] = true
		}
		tl.mu.Unlock()
		return true
	case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "":
		io.Copy(io.Discard, resp.Body)
		tl.refused.Add(1)
	case resp.StatusCode == http.StatusServiceUnavailable:
		tl.noRetry.Add(1)
	default:
		b, _ := io.ReadAll(resp.Body)
		tl.other.Add(1)
		_ = b
	}
	return false
}

// load sends batches of 20 events from g goroutines until stop is closed.
// A batch that is not acknowledged is sent again to the next collector, as
// an SDK behind a load balancer retries; one in ten acknowledged batches is
// sent once more to another collector (a retry after a lost answer).
func (tl *chTally) load(t *testing.T, urls []string, projects []string, g int, stop chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for w := range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 11))
			for {
				select {
				case <-stop:
					return
				default:
				}
				events := make([]wire.Event, 20)
				for i := range events {
					events[i] = event(projects[r.IntN(len(projects))], "didStartServer", map[string]any{"durationMs": r.IntN(5000)})
				}
				body, _ := json.Marshal(wire.Batch{SentAt: time.Now().UTC(), Events: events})
				body = gz(body)
				tl.mu.Lock()
				tl.sent += len(events)
				tl.mu.Unlock()
				at := r.IntN(len(urls))
				for try := 0; ; try++ {
					ok := tl.send(client, urls[(at+try)%len(urls)], body, events)
					if try > 0 {
						tl.crossed.Add(1)
					}
					if ok {
						if r.IntN(10) == 0 {
							tl.send(client, urls[(at+try+1)%len(urls)], body, events)
							tl.crossed.Add(1)
						}
						break
					}
					select {
					case <-stop:
						return
					case <-time.After(100 * time.Millisecond):
					}
				}
			}
		}()
	}
	return &wg
}

// exportIDs returns how often each ID is in the export of one collector.
func exportIDs(t *testing.T, p *proc) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, e := range export(t, p) {
		out[e.ID]++
	}
	return out
}

// settle waits until every acknowledged ID is exported, then checks that no
// ID is exported twice; it returns the counts (acknowledged, lost,
// duplicated).
func settle(t *testing.T, p *proc, tl *chTally, within time.Duration) (acked, lost, dups int) {
	t.Helper()
	tl.mu.Lock()
	defer tl.mu.Unlock()
	var got map[string]int
	deadline := time.Now().Add(within)
	for {
		got = exportIDs(t, p)
		lost = 0
		for id := range tl.acked {
			if got[id] == 0 {
				lost++
			}
		}
		if lost == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	for _, n := range got {
		if n > 1 {
			dups += n - 1
		}
	}
	return len(tl.acked), lost, dups
}

var replayedRE = regexp.MustCompile(`msg="write-ahead log replayed" events=(\d+)`)

// replayed returns the events each start of p replayed, in order.
func replayed(p *proc) []int {
	var out []int
	for _, m := range replayedRE.FindAllStringSubmatch(p.logs(), -1) {
		n, _ := strconv.Atoi(m[1])
		out = append(out, n)
	}
	return out
}

// Three collectors on one ClickHouse: senders spread batches over them and
// send a batch that gets no answer to the next collector (and one in ten
// acknowledged batches once more to another); one collector is SIGKILLed
// mid-load and restarted. Every acknowledged event is exported once.
func TestClickHouseThreeCollectors(t *testing.T) {
	ch := chtest.Start(t)
	f := startFleet(t, ch, "three", 3)
	projects := []string{newUUID(), newUUID(), newUUID(), newUUID(), newUUID(), newUUID()}
	tl := newCHTally()
	stop := make(chan struct{})
	wg := tl.load(t, f.urls, projects, 6, stop)
	time.Sleep(3 * time.Second)
	victim := f.procs[1]
	victim.kill()
	tl.mu.Lock()
	t.Logf("collector 1 SIGKILLed with %d events acknowledged in all", len(tl.acked))
	tl.mu.Unlock()
	time.Sleep(2 * time.Second)
	victim.restart()
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()
	acked, lost, dups := settle(t, f.procs[0], tl, 60*time.Second)
	t.Logf("sent %d events: %d acknowledged, %d lost, %d duplicated in the export; %d batches sent to a second collector; answers: %d 202, %d 503, %d unreached; collector 1 replayed %v",
		tl.sent, acked, lost, dups, tl.crossed.Load(), tl.accepted.Load(), tl.refused.Load()+tl.noRetry.Load(), tl.unreached.Load(), replayed(victim))
	rows, err := ch.Query(context.Background(), "SELECT count(), uniqExact(id) FROM three.events")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rows in the events table, and distinct IDs among them: %s", strings.Fields(rows))
	if acked < 1000 {
		t.Fatalf("only %d events acknowledged; the test did not load the collectors", acked)
	}
	if lost != 0 || dups != 0 {
		t.Fatalf("%d acknowledged events lost, %d duplicated", lost, dups)
	}
	// The same answer from every collector: they read one database. The
	// overview counts each event once, copies stored by two collectors
	// included.
	stored := len(exportIDs(t, f.procs[0]))
	for i, p := range f.procs {
		if n := len(exportIDs(t, p)); n != stored {
			t.Errorf("collector %d exports %d events, collector 0 %d", i, n, stored)
		}
		a := adminGet(t, p.URL+"/api/v1/reports/overview?last=2d")
		var rep struct {
			ActiveProjects int
			Suppressed     int
			Summary        struct{ Events int }
			Series         []struct{ Events int }
		}
		if a.status != http.StatusOK || json.Unmarshal(a.body, &rep) != nil {
			t.Fatalf("collector %d: overview: %d %s", i, a.status, a.body)
		}
		days := 0
		for _, d := range rep.Series {
			days += d.Events
		}
		if rep.Suppressed == 0 && days != stored { // a day of fewer than k projects, past midnight, is hidden
			t.Errorf("collector %d: the overview's days count %d events; the export has %d", i, days, stored)
		}
		if rep.Summary.Events != stored || rep.ActiveProjects != len(projects) {
			t.Errorf("collector %d: the overview counts %d events of %d projects; the export has %d events of %d projects",
				i, rep.Summary.Events, rep.ActiveProjects, stored, len(projects))
		}
	}
	t.Logf("every collector's overview counts the %d stored events once", stored)
}

// An erasure on one collector erases the project's events still in another
// collector's write-ahead log: collector B acknowledges them and is killed
// before it stores them; collector A erases the project; B, restarted,
// replays its log and drops them. Another project's events, acknowledged
// with them, are kept.
func TestClickHouseErasureReachesOtherCollectors(t *testing.T) {
	ch := chtest.Start(t)
	f := startFleet(t, ch, "erasure", 2)
	a, b := f.procs[0], f.procs[1]
	erased, kept := newUUID(), newUUID()
	// Stored before the erasure, through A.
	stored := []wire.Event{event(erased, "ping", nil), event(kept, "ping", nil)}
	if ans := postBatch(t, a.URL, stored); ans.status != http.StatusAccepted {
		t.Fatalf("POST to A: %d %s", ans.status, ans.body)
	}
	waitFor(t, "A to store its events", func() bool { return len(exportIDs(t, a)) == 2 })
	// Acknowledged by B (in its log), B killed at once: the writer waits up
	// to 250 ms to fill a batch, so they are not stored yet.
	inLog := []wire.Event{event(erased, "ping", nil), event(erased, "didUseFeature", map[string]any{"feature": "i18n"}), event(kept, "ping", nil)}
	if ans := postBatch(t, b.URL, inLog); ans.status != http.StatusAccepted {
		t.Fatalf("POST to B: %d %s", ans.status, ans.body)
	}
	b.kill()
	if out := eraseNow(t, a, erased); out["deleted"] != float64(1) {
		t.Fatalf("DELETE on A = %v, want 1 event deleted (the one A stored)", out)
	}
	b.restart()
	if got := replayed(b); len(got) != 2 || got[1] != 3 {
		t.Fatalf("B's starts replayed %v events; want the 3 events of its log replayed at the second start", got)
	}
	got := exportIDs(t, a)
	want := map[string]int{stored[1].ID: 1, inLog[2].ID: 1}
	if len(got) != len(want) || got[stored[1].ID] != 1 || got[inLog[2].ID] != 1 {
		t.Fatalf("export after the erasure = %v, want only the kept project's two events %v", got, want)
	}
}

// outage is how long TestClickHouseAway stops ClickHouse:
// ABACUS_CLICKHOUSE_OUTAGE (a duration; 60s for the full test), else 12s.
func outage(t *testing.T) time.Duration {
	if v := os.Getenv("ABACUS_CLICKHOUSE_OUTAGE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("ABACUS_CLICKHOUSE_OUTAGE: expected a duration such as 60s, got %q", v)
		}
		return d
	}
	return 12 * time.Second
}

// ClickHouse is stopped under load. The collectors keep acknowledging into
// their logs up to the budget the log may take while the store is down, then
// answer 503 with Retry-After; /readyz and /metrics say why; a collector
// restarted meanwhile waits for ClickHouse and replays its log when it is
// back; every acknowledged event is then exported, once.
func TestClickHouseAway(t *testing.T) {
	ch := chtest.Start(t)
	f := startFleet(t, ch, "away", 2)
	projects := []string{newUUID(), newUUID()}
	tl := newCHTally()
	stop := make(chan struct{})
	wg := tl.load(t, f.urls, projects, 4, stop)
	time.Sleep(2 * time.Second)
	down := outage(t)
	ch.Kill()
	start := time.Now()
	t.Logf("ClickHouse stopped (SIGKILL) for %v", down)

	// /readyz names the store; /metrics shows the backlog.
	var ready answer
	waitForLong(t, "/readyz to name the store", 30*time.Second, func() bool {
		ready = adminGet(t, f.procs[0].URL+"/readyz")
		return strings.Contains(string(ready.body), "store")
	})
	t.Logf("/readyz during the outage: %d %s", ready.status, ready.body)
	// From here the collectors know the store is away: what they acknowledge
	// now goes to their logs only.
	before := tl.accepted.Load()
	metrics := string(adminGet(t, f.procs[0].URL+"/metrics").body)
	if !strings.Contains(metrics, "abacus_store_failing 1") || !regexp.MustCompile(`abacus_store_lag_bytes [1-9]`).MatchString(metrics) {
		t.Errorf("/metrics during the outage lacks abacus_store_failing 1 or a backlog:\n%s", grepLines(metrics, "abacus_store"))
	}

	// Collector 1 is killed and started again while ClickHouse is down.
	time.Sleep(down / 3)
	restarted := f.procs[1]
	restarted.kill()
	restarted.startBackground()
	waitForLong(t, "the restarted collector to say it waits for the store", 30*time.Second, func() bool {
		a := adminGetQuiet(restarted.URL + "/readyz")
		return a.status == http.StatusServiceUnavailable && strings.Contains(string(a.body), "waiting for the store")
	})
	a := adminGetQuiet(restarted.URL + "/readyz")
	t.Logf("/readyz of the collector restarted during the outage: %d %s", a.status, a.body)

	time.Sleep(time.Until(start.Add(down)))
	during := tl.accepted.Load() - before
	refusedDuring := tl.refused.Load()
	ch.Restart()
	t.Logf("ClickHouse back after %v; %d batches acknowledged after /readyz named the store, and %d refused with 503 + Retry-After since the start", time.Since(start).Round(time.Second), during, refusedDuring)
	waitForLong(t, "the restarted collector to be ready", 60*time.Second, func() bool {
		return adminGetQuiet(restarted.URL+"/readyz").status == http.StatusOK
	})
	time.Sleep(3 * time.Second) // load after the return
	close(stop)
	wg.Wait()
	acked, lost, dups := settle(t, f.procs[0], tl, 120*time.Second)
	t.Logf("outage %v: sent %d events, %d acknowledged, %d lost, %d duplicated; answers %d 202, %d 503 with Retry-After, %d 503 without, %d other, %d unreached; the restarted collector replayed %v",
		down, tl.sent, acked, lost, dups, tl.accepted.Load(), tl.refused.Load(), tl.noRetry.Load(), tl.other.Load(), tl.unreached.Load(), replayed(restarted))
	if during == 0 {
		t.Errorf("no batch was acknowledged while the collectors knew ClickHouse was down")
	}
	if tl.noRetry.Load() != 0 {
		t.Errorf("%d answers were 503 without Retry-After", tl.noRetry.Load())
	}
	if lost != 0 || dups != 0 {
		t.Fatalf("%d acknowledged events lost, %d duplicated", lost, dups)
	}
	if r := replayed(restarted); len(r) != 2 || r[1] == 0 {
		t.Errorf("the collector restarted during the outage replayed %v events; want its log replayed at the second start", r)
	}
}

func waitForLong(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func adminGetQuiet(url string) answer {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return answer{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, b, resp.Header}
}

func grepLines(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return fmt.Sprint(strings.Join(out, "\n"))
}
