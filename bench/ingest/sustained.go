package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The sustained run: abacus serve, on a new data directory, driven in an
// open loop at a fixed rate (by default 70% of a closed-loop measurement
// taken first) until -events events are acknowledged, then drained. Every
// 10 s it samples the events acknowledged and stored, the store's lag (in
// events, and in seconds of events at the acknowledged rate), the p99 ack
// latency of the requests sent in those 10 s, requests shed, the server's
// RSS and CPU and the senders' CPU. The samples go to a CSV file and a chart.
//
// Usage (from bench/): go run ./ingest -sustained -events 30000000 -out sustained.csv

// sample is one 10-second sample of a sustained run.
type sample struct {
	at                 time.Duration
	acked, stored      int64
	lagEvents          int64
	lagOldest          float64 // seconds: age of the oldest unstored event
	lagSeconds         float64 // lagEvents at the run's rate
	p99                time.Duration
	rss                int64
	cores, senderCores float64
	shed, errors       int64
}

func runSustained(root string, senders int, rate, fraction float64, total int64, out string) error {
	work, bin, err := buildAbacus(root, "abacus-sustained-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	data := filepath.Join(work, "data")
	addr := freeAddr()
	srv := exec.Command(bin, "serve", "--addr", addr, "--data", data, "--rate-ip", "-1", "--rate-project", "-1",
		"--rate-ip-events", "-1", "--rate-ip-new-projects", "-1", "--log-level", "warn")
	srv.Env = append(os.Environ(), "ABACUS_TOKEN=bench-admin-token-0123456789abcdefghij")
	srv.Stderr = os.Stderr
	if err := startAndWait(srv, "http://"+addr+"/readyz"); err != nil {
		return err
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	url := "http://" + addr
	gen := newGenerator()
	if rate <= 0 {
		fmt.Printf("measuring the closed-loop rate (15 s)...\n")
		r := closedLoop(url, gen.take(22500), false, senders, 15*time.Second)
		if _, err := waitStored(url); err != nil {
			return err
		}
		rate = fraction * r.rate()
		fmt.Printf("closed loop: %.0f events/s; open loop at %.0f events/s\n", r.rate(), rate)
	}
	src := newPatcher(gen, 200)
	base, err := scrape(url)
	if err != nil {
		return err
	}

	perSec := rate / 100
	interval := time.Duration(float64(time.Second) / perSec)
	n := int((total + 99) / 100)
	ready := make(chan []byte, 2000)
	go func() {
		defer close(ready)
		for range n {
			ready <- src.next()
		}
	}()
	client := newClient(senders * 4)
	var (
		mu        sync.Mutex
		lats      []time.Duration // of the current window
		acked     atomic.Int64
		errs      atomic.Int64
		wg        sync.WaitGroup
		samples   []sample
		start     = time.Now()
		stopWatch = make(chan struct{})
		watchDone = make(chan struct{})
	)
	go func() { // the sampler
		defer close(watchDone)
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		cpu0, snd0, last := cpuTime(srv.Process.Pid), cpuTime(0), time.Now()
		for {
			select {
			case <-stopWatch:
				return
			case <-t.C:
			}
			m, err := scrape(url)
			if err != nil {
				fmt.Fprintln(os.Stderr, "ingest: cannot read /metrics:", err)
				continue
			}
			mu.Lock()
			w := lats
			lats = nil
			mu.Unlock()
			cpu, snd, now := cpuTime(srv.Process.Pid), cpuTime(0), time.Now()
			rssNow, _ := rss(srv.Process.Pid)
			s := sample{
				at:          now.Sub(start),
				acked:       acked.Load(),
				stored:      int64(m["abacus_events_stored_total"] - base["abacus_events_stored_total"]),
				lagEvents:   int64(m["abacus_store_lag_events"]),
				lagOldest:   m["abacus_store_lag_seconds"],
				lagSeconds:  m["abacus_store_lag_events"] / rate,
				p99:         pct(w, 0.99),
				rss:         rssNow,
				cores:       (cpu - cpu0).Seconds() / now.Sub(last).Seconds(),
				senderCores: (snd - snd0).Seconds() / now.Sub(last).Seconds(),
				shed:        int64(m["abacus_requests_shed_total"] - base["abacus_requests_shed_total"]),
				errors:      errs.Load(),
			}
			cpu0, snd0, last = cpu, snd, now
			samples = append(samples, s)
			fmt.Printf("%4.0fs acked %9d stored %9d lag %6d (%.2f s of events, oldest %.2f s) p99 %6.1f ms RSS %4d MiB server %.2f cores senders %.2f cores shed %d errors %d\n",
				s.at.Seconds(), s.acked, s.stored, s.lagEvents, s.lagSeconds, s.lagOldest, float64(s.p99.Microseconds())/1000,
				s.rss>>20, s.cores, s.senderCores, s.shed, s.errors)
		}
	}()
	i := 0
	for body := range ready {
		at := start.Add(time.Duration(i) * interval)
		i++
		time.Sleep(time.Until(at))
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := send(client, url, body)
			lat := time.Since(at)
			if err != nil {
				errs.Add(1)
				return
			}
			acked.Add(100)
			mu.Lock()
			lats = append(lats, lat)
			mu.Unlock()
		}()
	}
	wg.Wait()
	loadTime := time.Since(start)
	close(stopWatch)
	<-watchDone
	m, err := scrape(url)
	if err != nil {
		return err
	}
	storedAtEnd := int64(m["abacus_events_stored_total"] - base["abacus_events_stored_total"])
	drain, err := waitStored(url)
	if err != nil {
		return err
	}
	_, peak := rss(srv.Process.Pid)
	srv.Process.Signal(syscall.SIGTERM)
	srv.Wait()

	var maxLag, maxOldest float64
	var maxP99 time.Duration
	var maxRSS int64
	for _, s := range samples {
		maxLag, maxOldest = max(maxLag, s.lagSeconds), max(maxOldest, s.lagOldest)
		maxP99, maxRSS = max(maxP99, s.p99), max(maxRSS, s.rss)
	}
	ackRate := float64(acked.Load()) / loadTime.Seconds()
	storeRate := float64(storedAtEnd) / loadTime.Seconds()
	var shed int64
	if len(samples) > 0 {
		shed = int64(m["abacus_requests_shed_total"] - base["abacus_requests_shed_total"])
	}
	fmt.Printf("\nopen loop at %.0f events/s for %v, %d events acknowledged, %d samples of 10 s:\n\n", rate, loadTime.Round(time.Second), acked.Load(), len(samples))
	fmt.Printf("| measure | value | target |\n|---|---|---|\n")
	fmt.Printf("| largest store lag at a sample, in seconds of events (oldest unstored event's age) | %.2f s (%.2f s) | < 5 s |\n", maxLag, maxOldest)
	fmt.Printf("| requests shed (503) / failed | %d / %d | 0 |\n", shed, errs.Load())
	fmt.Printf("| largest p99 ack latency of a 10 s window | %.1f ms | ≤ 25 ms |\n", float64(maxP99.Microseconds())/1000)
	fmt.Printf("| peak RSS (VmHWM) | %d MiB | ≤ 300 MiB |\n", peak>>20)
	fmt.Printf("| events stored / acknowledged per second over the load | %.0f / %.0f (%.2f%%) | within 2%% |\n", storeRate, ackRate, 100*storeRate/ackRate)
	fmt.Printf("| drain after the load | %v | |\n", drain.Round(time.Millisecond))
	if out != "" {
		if err := writeCSV(out, samples); err != nil {
			return err
		}
		svg := strings.TrimSuffix(out, filepath.Ext(out)) + ".svg"
		if err := os.WriteFile(svg, chart(samples, rate), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func pct(l []time.Duration, p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	slices.Sort(l)
	return l[min(len(l)-1, int(float64(len(l))*p))]
}

// scrape reads the unlabelled series of a collector's /metrics, and the sum
// of each labelled one under its bare name.
func scrape(url string) (map[string]float64, error) {
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if i := strings.IndexByte(name, '{'); i >= 0 {
			name = name[:i]
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err == nil {
			m[name] += v
		}
	}
	return m, sc.Err()
}

// patcher makes fresh bodies fast: templates of 100 events whose IDs it
// replaces with new version-7 UUIDs, then gzips (at the fastest level).
type patcher struct {
	templates [][]byte
	offsets   [][]int // of each ID's first character in its template
	n         atomic.Uint64
}

func newPatcher(g *generator, n int) *patcher {
	p := &patcher{}
	key := []byte(`"id":"`)
	for range n {
		t := g.plain()
		var offs []int
		for i := 0; ; {
			j := bytes.Index(t[i:], key)
			if j < 0 {
				break
			}
			offs = append(offs, i+j+len(key))
			i += j + len(key) + 36
		}
		p.templates = append(p.templates, t)
		p.offsets = append(p.offsets, offs)
	}
	return p
}

func (p *patcher) next() []byte {
	k := int(p.n.Add(1)) % len(p.templates)
	b := slices.Clone(p.templates[k])
	ms := uint64(time.Now().UnixMilli())
	var u [16]byte
	var h [32]byte
	for _, off := range p.offsets[k] {
		rand.Read(u[6:])
		for i := range 6 {
			u[i] = byte(ms >> (40 - 8*i))
		}
		u[6] = u[6]&0x0f | 0x70
		u[8] = u[8]&0x3f | 0x80
		hex.Encode(h[:], u[:])
		d := b[off : off+36]
		copy(d[0:8], h[0:8])
		copy(d[9:13], h[8:12])
		copy(d[14:18], h[12:16])
		copy(d[19:23], h[16:20])
		copy(d[24:36], h[20:32])
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func writeCSV(path string, samples []sample) error {
	var b strings.Builder
	b.WriteString("seconds,events_acked,events_stored,store_lag_events,store_lag_seconds_of_events,oldest_unstored_seconds,p99_ack_ms,rss_mib,server_cores,sender_cores,requests_shed,requests_failed\n")
	for _, s := range samples {
		fmt.Fprintf(&b, "%.0f,%d,%d,%d,%.3f,%.3f,%.2f,%.1f,%.2f,%.2f,%d,%d\n", s.at.Seconds(), s.acked, s.stored, s.lagEvents,
			s.lagSeconds, s.lagOldest, float64(s.p99.Microseconds())/1000, float64(s.rss)/(1<<20), s.cores, s.senderCores, s.shed, s.errors)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// chart draws four small line charts, one above the other, over the run's
// time: events stored (millions), store lag (seconds of events), p99 ack
// latency (ms) and RSS (MiB), each with its target as a dashed line.
func chart(samples []sample, rate float64) []byte {
	const w, h, left, gap = 640.0, 110.0, 60.0, 30.0
	panels := []struct {
		title  string
		target float64
		v      func(sample) float64
	}{
		{"events stored (millions)", 0, func(s sample) float64 { return float64(s.stored) / 1e6 }},
		{"store lag (seconds of events)", 5, func(s sample) float64 { return s.lagSeconds }},
		{"p99 ack latency, 10 s window (ms)", 25, func(s sample) float64 { return float64(s.p99.Microseconds()) / 1000 }},
		{"RSS (MiB)", 300, func(s sample) float64 { return float64(s.rss) / (1 << 20) }},
	}
	var b strings.Builder
	total := float64(len(panels))*(h+gap) + gap
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="11">`+"\n", w+left+20, total)
	fmt.Fprintf(&b, `<text x="%.0f" y="14">abacus serve, open loop at %.0f events/s</text>`+"\n", left, rate)
	tmax := 1.0
	if len(samples) > 0 {
		tmax = samples[len(samples)-1].at.Seconds()
	}
	for i, p := range panels {
		top := gap + float64(i)*(h+gap)
		vmax := p.target * 1.2
		for _, s := range samples {
			vmax = max(vmax, p.v(s))
		}
		if vmax == 0 {
			vmax = 1
		}
		y := func(v float64) float64 { return top + h - v/vmax*h }
		x := func(t float64) float64 { return left + t/tmax*w }
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f">%s</text>`+"\n", left, top-4, p.title)
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="#999"/>`+"\n", left, top, w, h)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="end">%.3g</text>`+"\n", left-4, top+8, vmax)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="end">0</text>`+"\n", left-4, top+h)
		if p.target > 0 {
			fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#c33" stroke-dasharray="4 3"/>`+"\n", left, left+w, y(p.target), y(p.target))
		}
		var pts []string
		for _, s := range samples {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(s.at.Seconds()), y(p.v(s))))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="#236" stroke-width="1.5" points="%s"/>`+"\n", strings.Join(pts, " "))
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="end">%.0f s</text>`+"\n", left+w, total-4, tmax)
	b.WriteString("</svg>\n")
	return []byte(b.String())
}
