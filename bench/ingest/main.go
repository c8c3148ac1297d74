// Command ingest measures the collector's ingest against a floor server over
// loopback, in one run:
//
//  1. the floor (this program, "floor" mode, in its own process) only reads,
//     gunzips and decodes each batch into wire types, and answers 202;
//  2. the real `abacus serve` (WAL with fsync, plan check, re-keying, DuckDB)
//     gets the same bodies from the same 16 concurrent senders;
//  3. the real server again, open loop at half its measured rate, for the ack
//     latency percentiles;
//  4. the server's peak RSS, and the bytes on disk per stored event once at
//     least -events events are in (after a clean stop).
//
// Usage (from bench/): go run ./ingest [-duration 15s] [-events 1000000]
//
// With -compat it measures instead the PostHog, Segment and Strapi routes
// against /v1/batch on one abacus serve (see compat.go).
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
	if len(os.Args) > 2 && os.Args[1] == "floor" {
		floor(os.Args[2])
		return
	}
	duration := flag.Duration("duration", 15*time.Second, "length of each measured phase")
	senders := flag.Int("senders", 16, "concurrent senders")
	total := flag.Int("events", 1_000_000, "events to store before measuring bytes per event")
	root := flag.String("root", "..", "repository root (to build cmd/abacus)")
	target := flag.String("target", "", "only load this running collector for -duration (for profiling)")
	rate := flag.Float64("rate", 0, "with -target: send this many events/s in an open loop instead of a closed one")
	compat := flag.Bool("compat", false, "measure the PostHog, Segment and Strapi routes against /v1/batch instead")
	flag.Parse()
	if *compat {
		if err := runCompat(*duration, *senders, *root); err != nil {
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
			r = closedLoop(*target, g.take(int(duration.Seconds()*1500)), *senders, *duration)
		}
		fmt.Printf("%.0f events/s, p50 %v, p99 %v, %d errors\n", r.rate(), r.pct(0.5), r.pct(0.99), r.errors)
		return
	}
	if err := run(*duration, *senders, *total, *root); err != nil {
		fmt.Fprintln(os.Stderr, "ingest:", err)
		os.Exit(1)
	}
}

// floor serves POST /v1/batch doing only what any server must: read, gunzip,
// decode into the wire types, answer 202.
func floor(addr string) {
	http.HandleFunc("POST /v1/batch", func(w http.ResponseWriter, r *http.Request) {
		zr, err := gzip.NewReader(http.MaxBytesReader(w, r.Body, wire.MaxBodyBytes))
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		var b wire.Batch
		if err := json.NewDecoder(io.LimitReader(zr, wire.MaxDecodedBytes)).Decode(&b); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		json.NewEncoder(w).Encode(wire.Response{Accepted: len(b.Events), Rejected: []wire.Rejection{}})
	})
	fmt.Println("ready")
	http.ListenAndServe(addr, nil)
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

func run(duration time.Duration, senders, total int, root string) error {
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
	// Enough bodies for 150,000 events/s on either side, so that no round
	// runs out of bodies before its time.
	perPhase := int(duration.Seconds() * 1500)
	floorBodies := gen.bodies(perPhase) // the floor may see the same bodies as the server
	serverBodies := gen.take(perPhase)

	// Both servers run side by side, idle when not measured; the closed-loop
	// phases alternate between them in rounds, so that a noisy neighbour on a
	// shared machine weighs on both sides alike.
	floorAddr := freeAddr()
	floorCmd := exec.Command(self, "floor", floorAddr)
	if err := startAndWait(floorCmd, "http://"+floorAddr+"/v1/batch"); err != nil {
		return err
	}
	defer func() { floorCmd.Process.Kill(); floorCmd.Wait() }()
	data := filepath.Join(work, "data")
	addr := freeAddr()
	srv := exec.Command(bin, "serve", "--addr", addr, "--data", data, "--rate-ip", "-1", "--rate-project", "-1",
		"--rate-ip-events", "-1", "--rate-ip-new-projects", "-1", "--log-level", "warn")
	srv.Env = append(os.Environ(), "ABACUS_TOKEN=bench-admin-token-0123456789abcdefghij")
	srv.Stderr = os.Stderr
	if err := startAndWait(srv, "http://"+addr+"/readyz"); err != nil {
		return err
	}
	url := "http://" + addr
	const rounds = 3
	var floorRes, realRes result
	var drain time.Duration
	for i := range rounds {
		part := len(floorBodies) / rounds
		floorRes.add(closedLoop("http://"+floorAddr, floorBodies[i*part:(i+1)*part], senders, duration/rounds))
		realRes.add(closedLoop(url, serverBodies[i*part:(i+1)*part], senders, duration/rounds))
		// The collector stores what it acknowledged in the background; the
		// next floor round starts once that is done, so that it does not
		// share the machine with the collector's backlog.
		d, err := waitStored(url)
		if err != nil {
			return err
		}
		drain = max(drain, d)
	}
	half := realRes.rate() / 2
	latRes := openLoop(url, gen, senders, half, duration)
	sent := realRes.events + latRes.events
	for sent < int64(total) { // fill up to the target, fast
		n := min(2000, (int(int64(total)-sent)+99)/100)
		r := closedLoop(url, gen.take(n), senders, time.Hour)
		sent += r.events
	}
	rss := peakRSS(srv.Process.Pid)
	srv.Process.Signal(syscall.SIGTERM)
	srv.Wait()
	size := dirSize(data, ".duckdb") + dirSize(data, ".wal")
	stored := countExport(bin, data)

	fmt.Printf("\n| measure | floor | abacus serve | ratio / target |\n|---|---|---|---|\n")
	fmt.Printf("| events/s, %d senders, batches of 100, gzip | %.0f | %.0f | %.0f%% (target >= 60%%) |\n",
		senders, floorRes.rate(), realRes.rate(), 100*realRes.rate()/floorRes.rate())
	fmt.Printf("| ack latency p50 / p99 at %.0f events/s (half the max) | | %v / %v | p99 target <= 25ms |\n",
		half, latRes.pct(0.50).Round(10*time.Microsecond), latRes.pct(0.99).Round(10*time.Microsecond))
	fmt.Printf("| ack latency p99 at full load | %v | %v | |\n", floorRes.pct(0.99).Round(10*time.Microsecond), realRes.pct(0.99).Round(10*time.Microsecond))
	fmt.Printf("| longest wait, after a closed-loop round, until every acknowledged event was stored | | %v | |\n", drain.Round(10*time.Millisecond))
	fmt.Printf("| peak RSS of abacus serve | | %.0f MiB | target <= 300 MiB |\n", float64(rss)/(1<<20))
	if stored > 0 {
		fmt.Printf("| bytes on disk per event, %d events stored | | %.1f | target <= 40 |\n", stored, float64(size)/float64(stored))
	}
	fmt.Printf("| request errors (floor / abacus) | %d | %d | |\n", floorRes.errors, realRes.errors+latRes.errors)
	return nil
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
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
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
// Every body is sent once: a repeat would be a duplicate, which the collector
// answers from its dedup path instead of storing.
func closedLoop(url string, bodies [][]byte, senders int, d time.Duration) result {
	client := newClient(senders)
	var res result
	var mu sync.Mutex
	var next atomic.Int64
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			var n, errs int64
			for time.Now().Before(deadline) {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) {
					break
				}
				body := bodies[i]
				t := time.Now()
				if _, err := send(client, url, body); err != nil {
					errs++
					continue
				}
				lat = append(lat, time.Since(t))
				n += 100
			}
			mu.Lock()
			res.events += n
			res.errors += errs
			res.latencies = append(res.latencies, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
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

// peakRSS reads VmHWM of a process.
func peakRSS(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return kb << 10
		}
	}
	return 0
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
