package e2e

import (
	"bufio"
	"bytes"
	"context"
	encbin "encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/abacushq/abacus/telemetry/wire"
)

// The attacks of a single client (or a few) on the collector, run against the
// real binary on loopback: slow bodies, unfinished headers, large batches,
// fake projects. The tests below check each defence; BenchmarkAbuse runs them
// all longer and reports what a normal client sees meanwhile.
//
// Attackers connect from their own loopback addresses (127.0.1.x, 127.0.2.x),
// as distinct hosts would; the normal client comes from 127.0.0.1.

// defaultLimits are serve's documented per-address and per-project limits
// (the harness turns them off for the other tests).
var defaultLimits = []string{"--rate-ip", "50", "--rate-project", "100", "--rate-ip-events", "5000", "--rate-ip-new-projects", "1000"}

var (
	plainOnce sync.Once
	plainBin  string
	plainErr  error
)

// plainBinary is abacus built without the race detector, for the tests that
// measure memory (the race detector's shadow memory would be measured too)
// and those that load a large population, where it is a tenth of the speed.
func plainBinary(t testing.TB) string {
	t.Helper()
	if !raceEnabled {
		return binary
	}
	plainOnce.Do(func() {
		plainBin = filepath.Join(filepath.Dir(binary), "abacus-norace")
		build := exec.Command("go", "build", "-o", plainBin, "./cmd/abacus")
		build.Dir = ".."
		if out, err := build.CombinedOutput(); err != nil {
			plainErr = fmt.Errorf("cannot build abacus without -race: %v\n%s", err, out)
		}
	})
	if plainErr != nil {
		t.Fatal(plainErr)
	}
	return plainBin
}

// peakRSS is the collector's peak resident memory (VmHWM), in bytes.
func peakRSS(t testing.TB, p *proc) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Fatalf("cannot read the collector's memory: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/<pid>/status")
	return 0
}

// attackerAddr is the loopback address of attacker i of a group.
func attackerAddr(group, i int) *net.TCPAddr {
	return &net.TCPAddr{IP: net.IPv4(127, byte(group), byte(i/250), byte(i%250+1))}
}

func dialerFrom(src *net.TCPAddr) *net.Dialer {
	return &net.Dialer{LocalAddr: src, Timeout: 5 * time.Second}
}

// clientFrom is an HTTP client whose connections come from src.
func clientFrom(src *net.TCPAddr, timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DialContext: dialerFrom(src).DialContext, MaxIdleConnsPerHost: 4}}
}

// normalResult is what the normal client saw.
type normalResult struct {
	lat      []time.Duration // of every request, answered or not
	ok, fail int
	failures map[string]int // by status or error
}

func (r normalResult) p99() time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	s := slices.Clone(r.lat)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*99/100)]
}

func (r normalResult) success() float64 {
	if r.ok+r.fail == 0 {
		return 0
	}
	return float64(r.ok) / float64(r.ok+r.fail)
}

func (r normalResult) String() string {
	return fmt.Sprintf("%d requests, %.2f%% 202, p99 %v, failures %v", r.ok+r.fail, 100*r.success(), r.p99().Round(time.Millisecond), r.failures)
}

// normalClient posts a batch of 10 events of five projects every period, like
// one SDK, until ctx ends. Each request has timeout to get its 202.
func normalClient(ctx context.Context, url string, period, timeout time.Duration) normalResult {
	client := clientFrom(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, timeout)
	projects := []string{newUUID(), newUUID(), newUUID(), newUUID(), newUUID()}
	res := normalResult{failures: map[string]int{}}
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return res
		case <-tick.C:
		}
		events := make([]wire.Event, 10)
		for i := range events {
			events[i] = event(projects[i%len(projects)], "didStartServer", map[string]any{"durationMs": 1200 + i})
		}
		body, _ := json.Marshal(wire.Batch{SentAt: time.Now().UTC(), Events: events})
		req, _ := http.NewRequest(http.MethodPost, url+wire.BatchPath, strings.NewReader(string(gz(body))))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Content-Encoding", "gzip")
		start := time.Now()
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		res.lat = append(res.lat, time.Since(start))
		switch {
		case err != nil:
			res.fail++
			res.failures["error"]++
		case resp.StatusCode != http.StatusAccepted:
			res.fail++
			res.failures[strconv.Itoa(resp.StatusCode)]++
		default:
			res.ok++
		}
	}
}

// tally counts outcomes by status (or "error"), safe for concurrent use.
type tally struct {
	mu sync.Mutex
	m  map[string]int
}

func (t *tally) add(k string) {
	t.mu.Lock()
	if t.m == nil {
		t.m = map[string]int{}
	}
	t.m[k]++
	t.mu.Unlock()
}

func (t *tally) get(k string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[k]
}

func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return fmt.Sprint(t.m)
}

// slowBodies: n connections each announce a 100,000-byte body, send 20 bytes
// and stall; when the collector cuts one off, it comes back.
func slowBodies(ctx context.Context, addr string, n int, out *tally) {
	var wg sync.WaitGroup
	deadline, _ := ctx.Deadline()
	for i := range n {
		wg.Go(func() {
			for ctx.Err() == nil {
				c, err := dialerFrom(attackerAddr(1, i)).DialContext(ctx, "tcp", addr)
				if err != nil {
					out.add("dial error")
					time.Sleep(50 * time.Millisecond)
					continue
				}
				c.SetDeadline(deadline)
				fmt.Fprintf(c, "POST /v1/batch HTTP/1.1\r\nHost: abacus\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n%s", `{"events":[{"id":"01`)
				b, _ := io.ReadAll(c) // until the collector gives up on us
				c.Close()
				if status, _, ok := strings.Cut(string(b), "\r\n"); ok {
					out.add(status)
				} else {
					out.add("closed")
				}
			}
		})
	}
	wg.Wait()
}

// unfinishedHeaders: n connections each send a request line and a header
// line of 1 MB that never ends, and hold on; cut off, they come back a
// second later.
func unfinishedHeaders(ctx context.Context, addr string, n int, out *tally) {
	chunk := []byte(strings.Repeat("a", 64<<10))
	var wg sync.WaitGroup
	deadline, _ := ctx.Deadline()
	for i := range n {
		wg.Go(func() {
			for ctx.Err() == nil {
				c, err := dialerFrom(attackerAddr(2, i)).DialContext(ctx, "tcp", addr)
				if err != nil {
					out.add("dial error")
					time.Sleep(100 * time.Millisecond)
					continue
				}
				c.SetDeadline(deadline)
				fmt.Fprintf(c, "POST /v1/batch HTTP/1.1\r\nHost: abacus\r\nX-Pad: ")
				sent := 0
				for sent < 1<<20 {
					k, err := c.Write(chunk)
					sent += k
					if err != nil {
						break
					}
				}
				b, _ := io.ReadAll(c)
				c.Close()
				if status, _, ok := strings.Cut(string(b), "\r\n"); ok {
					out.add(status)
				} else {
					out.add("closed")
				}
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
		})
	}
	wg.Wait()
}

// bigBatch is a valid batch of 1,000 events whose JSON is just under 8 MiB
// (each event carries an undeclared property of padding, which the plan
// drops), gzipped.
func bigBatch() []byte {
	project := newUUID()
	events := make([]wire.Event, 1000)
	for i := range events {
		events[i] = event(project, "willCreateProject", map[string]any{"quickstart": true, "padding": ""})
	}
	body, _ := json.Marshal(wire.Batch{SentAt: time.Now().UTC(), Events: events})
	pad := (wire.MaxDecodedBytes - 16<<10 - len(body)) / len(events)
	for i := range events {
		events[i].Properties["padding"] = strings.Repeat("x", pad)
	}
	body, _ = json.Marshal(wire.Batch{SentAt: time.Now().UTC(), Events: events})
	return gz(body)
}

// largeBatches: n senders post 8 MiB-after-gunzip batches back to back.
func largeBatches(ctx context.Context, url string, n int, out *tally) {
	body := bigBatch()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			client := clientFrom(attackerAddr(3, i), 30*time.Second)
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+wire.BatchPath, strings.NewReader(string(body)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Content-Encoding", "gzip")
				resp, err := client.Do(req)
				if err != nil {
					out.add("error")
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				k := strconv.Itoa(resp.StatusCode)
				if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
					k += " without Retry-After"
				}
				out.add(k)
			}
		})
	}
	wg.Wait()
}

// fakeProjects: n senders from one address post batches of 1,000 events of
// 1,000 projects never seen before, back to back. It returns the events (and
// so projects) acknowledged.
func fakeProjects(ctx context.Context, url string, n int, out *tally) int64 {
	var accepted atomic.Int64
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			client := clientFrom(attackerAddr(4, 0), 30*time.Second)
			for ctx.Err() == nil {
				body, _ := fastBatch(1000, "", "didCreateProject", nil)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+wire.BatchPath, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					out.add("error")
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				k := strconv.Itoa(resp.StatusCode)
				switch resp.StatusCode {
				case http.StatusAccepted:
					var r wire.Response
					json.Unmarshal(b, &r)
					accepted.Add(int64(r.Accepted))
				case http.StatusTooManyRequests:
					if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 {
						k += " without Retry-After"
					}
				}
				out.add(k)
			}
		})
	}
	wg.Wait()
	return accepted.Load()
}

var (
	templateOnce sync.Once
	templateCuts []string // the template event's JSON around its five fields
)

// fastBatch is a batch of n valid events (plain JSON), each with a new ID,
// machine and session, all of project (or, when project is "", each of a new
// project), and their IDs. It is built from a template and not compressed, so
// that a client under -race still sends thousands of events a second.
func fastBatch(n int, project, name string, props map[string]any) (body []byte, ids []string) {
	templateOnce.Do(func() {
		e := event("@F@", "@F@", nil)
		e.ID, e.MachineID, e.SessionID = "@F@", "@F@", "@F@"
		b, _ := json.Marshal(e)
		templateCuts = strings.Split(strings.Replace(string(b), `"properties":null`, `"properties":@P@`, 1), `"@F@"`)
	})
	p, _ := json.Marshal(props)
	var sb strings.Builder
	sb.WriteString(`{"sentAt":"` + time.Now().UTC().Format(time.RFC3339Nano) + `","events":[`)
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		prj := project
		if prj == "" {
			prj = fastUUID()
		}
		id := fastUUID()
		ids = append(ids, id)
		// Fields in wire.Event order: id, event, projectId, machineId, sessionId.
		for j, v := range []string{id, name, prj, fastHex(32), fastUUID()} {
			sb.WriteString(templateCuts[j])
			sb.WriteString(`"` + v + `"`)
		}
		sb.WriteString(strings.Replace(templateCuts[5], "@P@", string(p), 1))
	}
	sb.WriteString("]}")
	return []byte(sb.String()), ids
}

// fastUUID and fastHex are random enough for test IDs, and cheap.
func fastUUID() string {
	h := fastHex(16)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:]
}

func fastHex(bytes int) string {
	b := make([]byte, bytes)
	for i := 0; i < bytes; i += 8 {
		encbin.LittleEndian.PutUint64(b[i:], mrand.Uint64())
	}
	return hex.EncodeToString(b)
}

// underAttack runs attack for d while a normal client posts every period.
func underAttack(d, period, timeout time.Duration, url string, attack func(ctx context.Context)) normalResult {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var res normalResult
	var wg sync.WaitGroup
	wg.Go(func() { attack(ctx) })
	time.Sleep(300 * time.Millisecond) // let the attack take hold
	wg.Go(func() { res = normalClient(ctx, url, period, timeout) })
	wg.Wait()
	return res
}

// 96 clients that announce a body and stall must not take ingest's turns: a
// normal client still gets its 202 within a second, all along, including
// after the stalled bodies are cut off and their senders come back.
func TestSlowBodiesDoNotStarveIngest(t *testing.T) {
	srv := startServer(t, serveOpts{})
	var stalls tally
	res := underAttack(7*time.Second, 100*time.Millisecond, time.Second, srv.URL, func(ctx context.Context) {
		slowBodies(ctx, srv.addr, 96, &stalls)
	})
	t.Logf("normal client: %v; stalled senders: %v", res, stalls.String())
	if res.ok == 0 || res.fail > 0 {
		t.Errorf("a normal client during 96 stalled bodies: %v, want every request answered 202 within 1s", res)
	}
	if stalls.get("HTTP/1.1 408 Request Timeout") == 0 {
		t.Errorf("no stalled body was cut off with 408 in 7s: %v", stalls.String())
	}
}

// 1,000 connections that each send an unfinished header line of 1 MB keep
// the collector's memory under 400 MiB, and a normal client is answered.
func TestUnfinishedHeadersKeepMemory(t *testing.T) {
	srv := startServer(t, serveOpts{bin: plainBinary(t)})
	var conns tally
	res := underAttack(6*time.Second, 200*time.Millisecond, 5*time.Second, srv.URL, func(ctx context.Context) {
		unfinishedHeaders(ctx, srv.addr, 1000, &conns)
	})
	rss := peakRSS(t, srv)
	t.Logf("peak RSS %d MiB; normal client: %v; attackers: %v", rss>>20, res, conns.String())
	if rss > 400<<20 {
		t.Errorf("peak RSS %d MiB under 1,000 unfinished 1 MB headers, want at most 400 MiB", rss>>20)
	}
	if res.ok == 0 || res.success() < 0.95 {
		t.Errorf("a normal client during the attack: %v, want its requests answered", res)
	}
}

// 64 senders of batches that are 8 MiB after gunzip keep the collector's
// memory under 400 MiB: past the budget of bodies in memory, 503 with
// Retry-After. A normal client is still answered.
func TestLargeBatchesStayWithinMemoryBudget(t *testing.T) {
	srv := startServer(t, serveOpts{bin: plainBinary(t)})
	var big tally
	res := underAttack(8*time.Second, 200*time.Millisecond, 5*time.Second, srv.URL, func(ctx context.Context) {
		largeBatches(ctx, srv.URL, 64, &big)
	})
	rss := peakRSS(t, srv)
	t.Logf("peak RSS %d MiB; normal client: %v; large batches: %v", rss>>20, res, big.String())
	if rss > 400<<20 {
		t.Errorf("peak RSS %d MiB under 64 concurrent 8 MiB batches, want at most 400 MiB", rss>>20)
	}
	if n := big.get("503 without Retry-After"); n > 0 {
		t.Errorf("%d answers 503 without Retry-After", n)
	}
	if res.ok == 0 || res.success() < 0.95 {
		t.Errorf("a normal client during the attack: %v, want its requests answered", res)
	}
}

// One address sending batches of 1,000 new projects is held to the
// documented 1,000 new projects an hour (a burst of 5,000), with 429 and
// Retry-After; another address is not affected. The events-per-second limit
// holds a flood of events of known projects the same way.
func TestFakeProjectFloodIsLimited(t *testing.T) {
	srv := startServer(t, serveOpts{bin: plainBinary(t), args: defaultLimits})
	var flood tally
	var accepted int64
	res := underAttack(4*time.Second, 100*time.Millisecond, 5*time.Second, srv.URL, func(ctx context.Context) {
		accepted = fakeProjects(ctx, srv.URL, 2, &flood)
	})
	t.Logf("new projects accepted: %d; flood: %v; normal client: %v", accepted, flood.String(), res)
	// A burst of 5,000, then 1,000 an hour: under a second's worth (0.3)
	// more in the few seconds of the test.
	if accepted > 5000 {
		t.Errorf("%d new projects accepted from one address in 4s, want at most the burst of 5,000", accepted)
	}
	if flood.get("429") == 0 || flood.get("429 without Retry-After") > 0 {
		t.Errorf("the flood was not answered 429 with Retry-After: %v", flood.String())
	}
	if res.fail > 0 {
		t.Errorf("a normal client from another address during the flood: %v, want every request 202", res)
	}
}

// The events-per-second limit of one address: a flood of 1,000-event batches
// of one known project gets the burst (60 seconds' worth) and then the rate,
// with 429 and Retry-After.
func TestEventFloodFromOneAddressIsLimited(t *testing.T) {
	const rate = 100 // --rate-ip-events: a burst of 6,000
	srv := startServer(t, serveOpts{bin: plainBinary(t), args: []string{"--rate-ip-events", strconv.Itoa(rate)}})
	project := newUUID()
	client := clientFrom(attackerAddr(5, 0), 10*time.Second)
	var accepted, limited int
	start := time.Now()
	for time.Since(start) < 4*time.Second {
		body, _ := fastBatch(1000, project, "didStartServer", map[string]any{"durationMs": 1500})
		req, _ := http.NewRequest(http.MethodPost, srv.URL+wire.BatchPath, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusAccepted:
			var r wire.Response
			json.Unmarshal(b, &r)
			accepted += r.Accepted
		case http.StatusTooManyRequests:
			limited++
			if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 {
				t.Fatalf("429 with Retry-After %q", resp.Header.Get("Retry-After"))
			}
		default:
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
	}
	elapsed := time.Since(start)
	limit := 60*rate + int(elapsed.Seconds()*rate) + 1000
	t.Logf("%d events accepted, %d requests refused in %v", accepted, limited, elapsed.Round(time.Millisecond))
	if accepted > limit || limited == 0 {
		t.Errorf("%d events accepted and %d requests refused in %v, want at most %d accepted and some 429s", accepted, limited, elapsed, limit)
	}
}

// The simulator's population (2,000 projects, 90 days, about 215,000 events,
// sent as fast as the collector takes them) goes through the default limits
// without one 429.
func TestSimulatorPassesDefaultLimits(t *testing.T) {
	bin := plainBinary(t) // the limits are under test here, not data races: full speed
	srv := startServer(t, serveOpts{bin: bin, args: defaultLimits})
	cmd := exec.Command(bin, "simulate", "--server", srv.URL)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("simulate: %v\n%s", err, out)
	}
	a := adminGet(t, srv.URL+"/metrics")
	for line := range strings.SplitSeq(string(a.body), "\n") {
		if strings.HasPrefix(line, "abacus_rate_limited_total{") && !strings.HasSuffix(line, " 0") {
			t.Errorf("the simulator was rate limited: %s", line)
		}
	}
	if !strings.Contains(string(out), " 0 rejected") {
		t.Errorf("simulate summary:\n%s", out)
	}
}

// BenchmarkAbuse runs each attack for 10 seconds against a collector with
// its default limits while a normal client posts a batch every 50 ms, and
// reports the normal client's p99 latency and success rate and the
// collector's peak RSS; then the disk-full scenario (root: it mounts a tmpfs).
// Run it with:
//
//	cd e2e && go test -run '^$' -bench Abuse -benchtime 1x -v .
func BenchmarkAbuse(b *testing.B) {
	const d = 10 * time.Second
	cases := []struct {
		name   string
		attack func(ctx context.Context, srv *proc, out *tally)
	}{
		{"slow-bodies-128", func(ctx context.Context, srv *proc, out *tally) { slowBodies(ctx, srv.addr, 128, out) }},
		{"unfinished-headers-1000", func(ctx context.Context, srv *proc, out *tally) { unfinishedHeaders(ctx, srv.addr, 1000, out) }},
		{"large-batches-64", func(ctx context.Context, srv *proc, out *tally) { largeBatches(ctx, srv.URL, 64, out) }},
		{"fake-projects", func(ctx context.Context, srv *proc, out *tally) { fakeProjects(ctx, srv.URL, 4, out) }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				srv := startServer(b, serveOpts{bin: plainBinary(b), args: defaultLimits})
				var out tally
				res := underAttack(d, 50*time.Millisecond, 5*time.Second, srv.URL, func(ctx context.Context) { c.attack(ctx, srv, &out) })
				rss := peakRSS(b, srv)
				b.ReportMetric(100*res.success(), "%ok")
				b.ReportMetric(float64(res.p99().Microseconds())/1000, "p99-ms")
				b.ReportMetric(float64(rss>>20), "peak-RSS-MiB")
				b.Logf("%s: normal client %v; peak RSS %d MiB; attackers: %v", c.name, res, rss>>20, out.String())
				srv.kill()
			}
		})
	}
	// The disk fills under heavy ingest (16 senders), then 22 MB are freed:
	// how long until the collector acknowledges again, with every event it
	// acknowledged stored (the run fails otherwise).
	b.Run("disk-full-then-freed", func(b *testing.B) {
		for range b.N {
			r := diskFullThenFreed(b)
			b.ReportMetric(float64(r.acked), "acked-events")
			b.ReportMetric(float64(r.recovery.Milliseconds()), "recovery-ms")
			b.ReportMetric(float64(r.peakRSS>>20), "peak-RSS-MiB")
			b.Logf("disk-full-then-freed: %d events acknowledged, every one stored and kept across a restart; 202 again %v after space was freed; peak RSS %d MiB",
				r.acked, r.recovery.Round(time.Millisecond), r.peakRSS>>20)
		}
	})
}
