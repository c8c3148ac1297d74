// Command ingest measures the collector's ingest over loopback against two
// floors that run the collector's own code in their own processes:
//
//   - decode: the request path up to wire events (read, gunzip, UTF-8, scan,
//     decode), nothing checked, nothing kept;
//   - pipeline: the whole ingest pipeline (decode, tracking plan, time
//     window, re-keying), nothing durable;
//   - abacus serve: the real collector (dedup, write-ahead log with fsync
//     before every 202, store writer into DuckDB), at the defaults users get
//     apart from the rate limits, which are off.
//
// The three are loaded in turn by the same 16 closed-loop senders, in
// -rounds rounds of -duration each (decode, pipeline, serve, then again), so
// that a noisy neighbour weighs on all alike; each round reports events/s,
// the server's CPU and the senders' CPU (from /proc/PID/stat) and µs of
// server CPU per event. After each serve round the harness waits until every
// acknowledged event is stored, and counts that wait's CPU in serve's cost.
// The run fails if the senders use more than half a core in any round: it
// would then measure the harness. Then: ack latency in an open loop at half
// serve's rate, peak RSS, bytes on disk per event once -events are stored.
//
// Usage (from bench/): go run ./ingest [-duration 15s] [-rounds 4] [-events 1000000]
//
// With -profile FILE it also writes a CPU profile of abacus serve over its
// second round. With -sustained it runs instead the long open-loop run of
// sustained.go; with -compat it measures the PostHog, Segment and Strapi
// routes against /v1/batch on one abacus serve (see compat.go); with -store
// clickhouse, ingest into ClickHouse against DuckDB (see chstore.go).
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/abacushq/abacus/telemetry/wire"
)

func main() {
	if len(os.Args) > 3 && os.Args[1] == "floor" {
		floor(os.Args[2], os.Args[3])
		return
	}
	duration := flag.Duration("duration", 15*time.Second, "length of each measured round")
	rounds := flag.Int("rounds", 4, "alternating rounds of each server")
	senders := flag.Int("senders", 16, "concurrent senders")
	total := flag.Int("events", 1_000_000, "events to store before measuring bytes per event (with -sustained: events to store)")
	root := flag.String("root", "..", "repository root (to build cmd/abacus)")
	target := flag.String("target", "", "only load this running collector for -duration (for profiling)")
	rate := flag.Float64("rate", 0, "with -target or -sustained: send this many events/s in an open loop")
	profile := flag.String("profile", "", "write a CPU profile of abacus serve over its second round to this file")
	sustained := flag.Bool("sustained", false, "run the sustained open-loop run instead (see sustained.go)")
	fraction := flag.Float64("fraction", 0.7, "with -sustained and no -rate: the open loop's rate as a fraction of a closed-loop measurement")
	out := flag.String("out", "", "with -sustained: write the samples to this CSV file and a chart beside it (.svg)")
	compat := flag.Bool("compat", false, "measure the PostHog, Segment and Strapi routes against /v1/batch instead")
	storeKind := flag.String("store", "", "clickhouse: measure ingest into ClickHouse against DuckDB through one collector instead (see chstore.go)")
	flag.Parse()
	if *storeKind != "" {
		if *storeKind != "clickhouse" {
			fmt.Fprintf(os.Stderr, "ingest: cannot use -store %q: expected clickhouse\n", *storeKind)
			os.Exit(2)
		}
		if err := runStore(*duration, *rounds, *senders, *root); err != nil {
			fmt.Fprintln(os.Stderr, "ingest:", err)
			os.Exit(1)
		}
		return
	}
	if *compat {
		if err := runCompat(*duration, *senders, *root); err != nil {
			fmt.Fprintln(os.Stderr, "ingest:", err)
			os.Exit(1)
		}
		return
	}
	if *sustained {
		if err := runSustained(*root, *senders, *rate, *fraction, int64(*total), *out); err != nil {
			fmt.Fprintln(os.Stderr, "ingest:", err)
			os.Exit(1)
		}
		return
	}
	if *target != "" {
		g := newGenerator()
		var r result
		if *rate > 0 {
			r = openLoop(*target, g, *senders, *rate, *duration)
		} else {
			r = closedLoop(*target, g.take(int(duration.Seconds()*1500)), false, *senders, *duration)
		}
		fmt.Printf("%.0f events/s, p50 %v, p99 %v, %d errors\n", r.rate(), r.pct(0.5), r.pct(0.99), r.errors)
		return
	}
	if err := run(*duration, *rounds, *senders, *total, *root, *profile); err != nil {
		fmt.Fprintln(os.Stderr, "ingest:", err)
		os.Exit(1)
	}
}

// maxSenderCores is the most CPU the senders may use: past it the run
// measures the harness as much as the server.
const maxSenderCores = 0.5

// server is one of the servers a run loads, and its rounds.
type server struct {
	name   string
	url    string
	pid    int
	rounds []round
}

// round is one closed-loop round against one server.
type round struct {
	res    result
	cpu    time.Duration // the server's CPU over the round (and, for serve, the drain after it)
	sender time.Duration // the senders' CPU over the round
	drain  time.Duration // serve: the wait until every acknowledged event was stored
	shed   int64         // requests not answered 202
}

func (r round) rate() float64        { return r.res.rate() }
func (r round) cores() float64       { return r.cpu.Seconds() / (r.res.elapsed + r.drain).Seconds() }
func (r round) senderCores() float64 { return r.sender.Seconds() / r.res.elapsed.Seconds() }
func (r round) usPerEvent() float64 {
	return float64(r.cpu.Microseconds()) / float64(max(r.res.events, 1))
}

// stats returns the minimum, median and maximum of f over rounds.
func stats(rs []round, f func(round) float64) (lo, med, hi float64) {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	return spread(v)
}

// spread returns the minimum, median and maximum of v.
func spread(v []float64) (lo, med, hi float64) {
	v = slices.Clone(v)
	slices.Sort(v)
	n := len(v)
	med = v[n/2]
	if n%2 == 0 {
		med = (v[n/2-1] + v[n/2]) / 2
	}
	return v[0], med, v[n-1]
}

func run(duration time.Duration, rounds, senders, total int, root, profile string) error {
	work, bin, err := buildAbacus(root, "abacus-ingest-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	self, err := os.Executable()
	if err != nil {
		return err
	}

	fmt.Printf("generating bodies (100 events each, gzip)...\n")
	gen := newGenerator()
	// The floors keep nothing, so they may see the same bodies again: a pool
	// they cycle through. abacus serve gets fresh bodies every round (a
	// repeat would take the dedup path), made before the round, enough for
	// 100,000 events/s (a round that runs out ends early; its rate stands).
	floorBodies := gen.bodies(4000)
	perRound := int(duration.Seconds() * 1000)

	var servers []*server
	for _, kind := range []string{"decode", "pipeline"} {
		addr := freeAddr()
		cmd := exec.Command(self, "floor", kind, addr)
		cmd.Stderr = os.Stderr
		if err := startAndWait(cmd, "http://"+addr+"/readyz"); err != nil {
			return err
		}
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		servers = append(servers, &server{name: kind + " floor", url: "http://" + addr, pid: cmd.Process.Pid})
	}
	data := filepath.Join(work, "data")
	addr, debugAddr := freeAddr(), freeAddr()
	srv := exec.Command(bin, "serve", "--addr", addr, "--data", data, "--rate-ip", "-1", "--rate-project", "-1",
		"--rate-ip-events", "-1", "--rate-ip-new-projects", "-1", "--log-level", "warn", "--debug-addr", debugAddr)
	srv.Env = append(os.Environ(), "ABACUS_TOKEN=bench-admin-token-0123456789abcdefghij")
	srv.Stderr = os.Stderr
	if err := startAndWait(srv, "http://"+addr+"/readyz"); err != nil {
		return err
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	serve := &server{name: "abacus serve", url: "http://" + addr, pid: srv.Process.Pid}
	servers = append(servers, serve)

	for i := range rounds {
		for _, s := range servers {
			bodies, cycle := floorBodies, true
			if s == serve {
				bodies, cycle = gen.take(perRound), false
			}
			var prof chan error
			if s == serve && i == 1 && profile != "" {
				prof = make(chan error, 1)
				go func() { prof <- fetchProfile(debugAddr, duration, profile) }()
			}
			cpu0, snd0 := cpuTime(s.pid), cpuTime(0)
			res := closedLoop(s.url, bodies, cycle, senders, duration)
			snd := cpuTime(0) - snd0
			var drain time.Duration
			if s == serve {
				if drain, err = waitStored(s.url); err != nil {
					return err
				}
			}
			r := round{res: res, cpu: cpuTime(s.pid) - cpu0, sender: snd, drain: drain, shed: res.errors}
			if prof != nil {
				if err := <-prof; err != nil {
					return err
				}
			}
			s.rounds = append(s.rounds, r)
			fmt.Printf("round %d %-14s %8.0f events/s  server %.2f cores, %5.1f µs/event  senders %.2f cores  drain %v  errors %d\n",
				i+1, s.name, r.rate(), r.cores(), r.usPerEvent(), r.senderCores(), drain.Round(time.Millisecond), r.res.errors)
			if r.senderCores() > maxSenderCores {
				return fmt.Errorf("the senders used %.2f cores in round %d against %s (at most %.1f): the run would measure the harness",
					r.senderCores(), i+1, s.name, maxSenderCores)
			}
		}
	}

	_, half, _ := stats(serve.rounds, round.rate)
	half /= 2
	latRes := openLoop(serve.url, gen, senders, half, duration)
	var sent int64
	for _, r := range serve.rounds {
		sent += r.res.events
	}
	sent += latRes.events
	for sent < int64(total) { // fill up to the target, fast
		n := min(2000, (int(int64(total)-sent)+99)/100)
		r := closedLoop(serve.url, gen.take(n), false, senders, time.Hour)
		sent += r.events
	}
	_, peak := rss(srv.Process.Pid)
	srv.Process.Signal(syscall.SIGTERM)
	srv.Wait()
	size := dirSize(data, ".duckdb") + dirSize(data, ".wal")
	stored := countExport(bin, data)

	fmt.Printf("\n%d rounds of %v per server, %d senders, gzip batches of 100 fresh events:\n\n", rounds, duration, senders)
	fmt.Printf("| server | events/s (min / median / max) | server cores | µs of server CPU per event (min / median / max) | sender cores (max) |\n|---|---|---|---|---|\n")
	for _, s := range servers {
		lo, med, hi := stats(s.rounds, round.rate)
		clo, _, chi := stats(s.rounds, round.cores)
		ulo, umed, uhi := stats(s.rounds, round.usPerEvent)
		_, _, shi := stats(s.rounds, round.senderCores)
		fmt.Printf("| %s | %.0f k / %.0f k / %.0f k | %.2f–%.2f | %.1f / %.1f / %.1f | %.2f |\n",
			s.name, lo/1000, med/1000, hi/1000, clo, chi, ulo, umed, uhi, shi)
	}
	fmt.Printf("\n| round | serve / decode floor | serve / pipeline floor | serve's drain after the round |\n|---|---|---|---|\n")
	var toDecode, toPipe []float64
	for i := range rounds {
		d, p, s := servers[0].rounds[i], servers[1].rounds[i], serve.rounds[i]
		fmt.Printf("| %d | %.0f%% | %.0f%% | %v |\n", i+1, 100*s.rate()/d.rate(), 100*s.rate()/p.rate(), s.drain.Round(10*time.Millisecond))
		toDecode = append(toDecode, 100*s.rate()/d.rate())
		toPipe = append(toPipe, 100*s.rate()/p.rate())
	}
	dlo, dmed, dhi := spread(toDecode)
	plo, pmed, phi := spread(toPipe)
	fmt.Printf("| min / median / max | %.0f / %.0f / %.0f%% | %.0f / %.0f / %.0f%% (target ≥ 80%%) | |\n",
		dlo, dmed, dhi, plo, pmed, phi)
	var srvErrs int64
	for _, r := range serve.rounds {
		srvErrs += r.res.errors
	}
	fmt.Printf("\n| measure | abacus serve | target |\n|---|---|---|\n")
	fmt.Printf("| ack latency p50 / p99, open loop at half the median rate (%.0f events/s) | %v / %v | p99 ≤ 25 ms |\n",
		half, latRes.pct(0.50).Round(10*time.Microsecond), latRes.pct(0.99).Round(10*time.Microsecond))
	fmt.Printf("| peak RSS (VmHWM) | %.0f MiB | ≤ 300 MiB |\n", float64(peak)/(1<<20))
	if stored > 0 {
		fmt.Printf("| bytes on disk per event, %d events stored | %.1f | ≤ 40 |\n", stored, float64(size)/float64(stored))
	}
	fmt.Printf("| requests not answered 202 (closed loop / open loop) | %d / %d | 0 |\n", srvErrs, latRes.errors)
	return nil
}

// fetchProfile writes a CPU profile of d from a collector's --debug-addr.
func fetchProfile(debugAddr string, d time.Duration, path string) error {
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", debugAddr, int(d.Seconds())))
	if err != nil {
		return fmt.Errorf("cannot fetch the CPU profile: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("cannot fetch the CPU profile: %w", err)
	}
	return os.WriteFile(path, b, 0o644)
}

type result struct {
	events    int64
	elapsed   time.Duration
	latencies []time.Duration
	errors    int64
}

func (r result) rate() float64 { return float64(r.events) / r.elapsed.Seconds() }

func (r *result) add(o result) {
	r.events += o.events
	r.elapsed += o.elapsed
	r.errors += o.errors
	r.latencies = append(r.latencies, o.latencies...)
}

func (r result) pct(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	s := slices.Clone(r.latencies)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// buildAbacus builds the collector of the repository at root into a new
// temporary directory, which the caller removes.
func buildAbacus(root, prefix string) (work, bin string, err error) {
	work, err = os.MkdirTemp("", prefix)
	if err != nil {
		return "", "", err
	}
	bin = filepath.Join(work, "abacus")
	build := exec.Command("go", "build", "-o", bin, "./cmd/abacus")
	build.Dir = root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(work)
		return "", "", fmt.Errorf("cannot build abacus: %w", err)
	}
	return work, bin, nil
}

// waitStored waits until the collector's store has every acknowledged event
// (its abacus_store_lag_events gauge is 0) and says how long that took.
func waitStored(url string) (time.Duration, error) {
	start := time.Now()
	for time.Since(start) < time.Minute {
		resp, err := http.Get(url + "/metrics")
		if err != nil {
			return 0, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return 0, err
		}
		if bytes.Contains(body, []byte("\nabacus_store_lag_events 0\n")) {
			return time.Since(start), nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return 0, fmt.Errorf("the store still lags a minute after the load stopped")
}

// generator makes batch bodies of fresh, valid events of the default plan.
type generator struct {
	projects []string
	machines []string
	sessions []string // one session per machine: events of one run share it
	n        atomic.Uint64

	mu     sync.Mutex // protects fresh
	fresh  [][]byte   // bodies of never-sent events, generated before the phases
	cursor int
}

func newGenerator() *generator {
	g := &generator{}
	for range 5000 {
		g.projects = append(g.projects, uuid())
	}
	for range 12000 {
		var b [32]byte
		rand.Read(b[:])
		g.machines = append(g.machines, hex.EncodeToString(b[:]))
		g.sessions = append(g.sessions, uuid())
	}
	return g
}

// take returns n bodies of events never sent before, generating more first if
// the pool runs short (outside the measured phases).
func (g *generator) take(n int) [][]byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.fresh)-g.cursor < n {
		g.fresh = append(g.fresh[g.cursor:], g.bodies(n-(len(g.fresh)-g.cursor))...)
		g.cursor = 0
	}
	out := g.fresh[g.cursor : g.cursor+n]
	g.cursor += n
	return out
}

var plugins = []string{"i18n", "graphql", "users-permissions", "upload", "email", "documentation", "sentry", "seo", "color-picker", "config-sync"}
var names = []string{"didStartServer", "didUseFeature", "didInstallPlugin", "didFailWithError", "ping", "didBuildAdmin"}

func (g *generator) body() []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(g.plain())
	zw.Close()
	return buf.Bytes()
}

// plain returns a batch body of 100 fresh events, before gzip.
func (g *generator) plain() []byte {
	r := mrand.New(mrand.NewPCG(g.n.Add(1), 42))
	now := time.Now().UTC()
	events := make([]wire.Event, 100)
	for i := range events {
		p := r.IntN(len(g.projects))
		m := (p*2 + r.IntN(3)) % len(g.machines) // a project runs on two or three machines
		name := names[r.IntN(len(names))]
		props := map[string]any{}
		switch name {
		case "didStartServer", "didBuildAdmin":
			props["durationMs"] = r.IntN(20000)
		case "didUseFeature":
			props["feature"] = []string{"content-history", "review-workflows", "releases", "preview"}[r.IntN(4)]
		case "didInstallPlugin":
			props["plugin"] = plugins[r.IntN(len(plugins))]
		case "didFailWithError":
			props["code"] = []string{"E_DB_CONNECT", "E_PLUGIN_LOAD", "E_BUILD"}[r.IntN(3)]
		}
		at := now.Add(-time.Duration(r.IntN(3600)) * time.Second)
		events[i] = wire.Event{
			ID: uuidAt(at), Event: name, Timestamp: at,
			ProjectID: g.projects[p], MachineID: g.machines[m], SessionID: g.sessions[m],
			Environment: []string{"development", "development", "production", "staging"}[p%4],
			Product:     wire.Product{Name: "strapi", Version: []string{"5.3.1", "5.2.0", "4.25.1"}[p%3]},
			Context: wire.Context{OS: []string{"linux", "darwin", "windows"}[p%3], OSVersion: "6.1.0", Arch: "amd64", CPUs: 8,
				MemoryMB: 16384, Runtime: "node", RuntimeVersion: []string{"18.19.0", "20.11.1", "22.3.0"}[p%3],
				CI: p%5 == 0, SDK: "abacus-go/0.1.0"},
			Build:      map[string]any{"plugins": plugins[:p%6], "typescript": p%2 == 0, "database": "postgres"},
			Properties: props,
		}
	}
	b, _ := json.Marshal(wire.Batch{SentAt: now, Events: events})
	return b
}

// uuid returns a version-7 UUID, time-ordered like the ones the SDK makes.
func uuid() string { return uuidAt(time.Now()) }

func uuidAt(t time.Time) string {
	var b [16]byte
	rand.Read(b[6:])
	ms := uint64(t.UnixMilli())
	for i := range 6 {
		b[i] = byte(ms >> (40 - 8*i))
	}
	b[6] = b[6]&0x0f | 0x70
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// bodies pre-generates enough bodies for a phase so generation is not measured.
func (g *generator) bodies(n int) [][]byte {
	out := make([][]byte, n)
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 2 {
				out[i] = g.body()
			}
		}()
	}
	wg.Wait()
	return out
}

func send(client *http.Client, url string, body []byte) (int, error) {
	req, _ := http.NewRequest(http.MethodPost, url+wire.BatchPath, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	var r wire.Response
	json.NewDecoder(resp.Body).Decode(&r)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return 0, fmt.Errorf("status %d", resp.StatusCode)
	}
	return r.Accepted, nil
}

func newClient(senders int) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: senders * 2}}
}

// closedLoop: each sender posts its next body as soon as the last was answered.
// Unless cycle, every body is sent once: a repeat would be a duplicate, which
// the collector answers from its dedup path instead of storing. With cycle
// (for servers that keep nothing), the bodies are sent again in turn.
func closedLoop(url string, bodies [][]byte, cycle bool, senders int, d time.Duration) result {
	native := &route{path: wire.BatchPath, perBody: 100, status: http.StatusAccepted, gzip: true, cycle: cycle}
	return routeLoop(url, native, bodies, senders, d)
}

// openLoop posts at a fixed rate (events/s) whatever the answers take, so
// latency is measured without coordinated omission.
func openLoop(url string, g *generator, senders int, rate float64, d time.Duration) result {
	perSec := rate / 100 // requests
	n := int(perSec * d.Seconds())
	bodies := g.take(n)
	client := newClient(senders * 4)
	var res result
	var mu sync.Mutex
	interval := time.Duration(float64(time.Second) / perSec)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		at := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(at))
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := send(client, url, bodies[i])
			lat := time.Since(at)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.errors++
				return
			}
			res.events += 100
			res.latencies = append(res.latencies, lat)
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startAndWait(cmd *exec.Cmd, url string) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not come up", cmd.Path)
}

func dirSize(dir, suffix string) int64 {
	var n int64
	filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() && strings.HasSuffix(path, suffix) {
			n += info.Size()
		}
		return nil
	})
	return n
}

// countExport restarts the server on the data directory and counts the export.
func countExport(bin, data string) int64 {
	addr := freeAddr()
	cmd := exec.Command(bin, "serve", "--addr", addr, "--data", data, "--log-level", "warn")
	cmd.Env = append(os.Environ(), "ABACUS_TOKEN=bench-admin-token-0123456789abcdefghij")
	if err := startAndWait(cmd, "http://"+addr+"/readyz"); err != nil {
		return 0
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://"+addr+"/api/v1/export", nil)
	req.Header.Set("Authorization", "Bearer bench-admin-token-0123456789abcdefghij")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var n int64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		n++
	}
	return n
}
