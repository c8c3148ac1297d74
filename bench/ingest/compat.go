package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/abacushq/abacus/telemetry/wire"
)

// route is one ingest route and the bodies of its own protocol.
type route struct {
	name, path string
	perBody    int64 // events per body
	status     int   // the success status
	bodies     [][]byte
	gzip       bool
	cycle      bool // bodies carry no event ID, so they may be sent again as new events
}

// compatRounds is how many alternating rounds -compat runs.
var compatRounds = flag.Int("compat-rounds", 5, "with -compat: alternating rounds of every route (each -duration long per route)")

// runCompat measures the PostHog, Segment and Strapi routes against the
// native routes on one abacus serve, in alternating rounds of phase each per
// route: the same kind of events, each in its protocol's own shape. The
// batch protocols are compared with native batches of the same size, and
// Strapi (one event a request by protocol) with native /v1/track requests
// of one event as well as with native batches.
func runCompat(phase time.Duration, senders int, root string) error {
	rounds := max(1, *compatRounds)
	work, bin, err := buildAbacus(root, "abacus-compat-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	fmt.Printf("generating bodies...\n")
	gen := newGenerator()
	// Enough fresh bodies for 70,000 events/s in every phase of every round
	// (a phase that runs out ends early; its rate is still what was sent).
	n := int(phase.Seconds()*float64(rounds)*700) + rounds
	native := gen.take(n)
	routes := []*route{
		{name: "native /v1/batch (gzip, 100 events)", path: wire.BatchPath, perBody: 100, status: 202, bodies: native, gzip: true},
		{name: "PostHog /posthog/batch/ (gzip, 100 events)", path: "/posthog/batch/", perBody: 100, status: 200, bodies: convert(gen.take(n), posthogBody, true), gzip: true},
		{name: "Segment /segment/v1/batch (gzip, 100 events)", path: "/segment/v1/batch", perBody: 100, status: 200, bodies: convert(gen.take(n), segmentBody, true), gzip: true},
		{name: "native /v1/track (JSON, 1 event)", path: wire.TrackPath, perBody: 1, status: 202, bodies: trackBodies(gen.take(int(phase.Seconds()*float64(rounds)*80) + rounds))},
		{name: "Strapi /api/v2/track (JSON, 1 event)", path: "/api/v2/track", perBody: 1, status: 200, bodies: strapiBodies(gen.take(50)), cycle: true},
	}
	const nativeBatch, nativeTrack, strapi = 0, 3, 4
	addr := freeAddr()
	srv := exec.Command(bin, "serve", "--addr", addr, "--data", filepath.Join(work, "data"), "--rate-ip", "-1", "--rate-project", "-1",
		"--rate-ip-events", "-1", "--rate-ip-new-projects", "-1", "--log-level", "warn")
	srv.Env = append(os.Environ(), "ABACUS_TOKEN=bench-admin-token-0123456789abcdefghij")
	srv.Stderr = os.Stderr
	if err := startAndWait(srv, "http://"+addr+"/readyz"); err != nil {
		return err
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	url := "http://" + addr
	res := make([]result, len(routes))
	perRound := make([][]float64, len(routes)) // events/s by route, by round
	for i := range rounds {
		for j, r := range routes {
			part := len(r.bodies) / rounds
			bodies := r.bodies[i*part : (i+1)*part]
			if r.cycle {
				bodies = r.bodies
			}
			rr := routeLoop(url, r, bodies, senders, phase)
			res[j].add(rr)
			perRound[j] = append(perRound[j], rr.rate())
			if _, err := waitStored(url); err != nil {
				return err
			}
		}
		fmt.Printf("round %d:", i+1)
		for j := range routes {
			fmt.Printf(" %.0f", perRound[j][i])
		}
		fmt.Println(" events/s")
	}
	ratios := func(j, base int) (lo, med float64) {
		rs := make([]float64, rounds)
		for i := range rounds {
			rs[i] = perRound[j][i] / perRound[base][i]
		}
		slices.Sort(rs)
		return rs[0], rs[rounds/2]
	}
	fmt.Printf("\n%d rounds of %s per route, 16 senders; ratios are per round, to the native route of the same round\n", rounds, phase)
	fmt.Printf("\n| route | events/s (all rounds) | ratio to native /v1/batch, min / median | errors |\n|---|---|---|---|\n")
	for j, r := range routes {
		lo, med := ratios(j, nativeBatch)
		fmt.Printf("| %s | %.0f | %.0f%% / %.0f%% | %d |\n", r.name, res[j].rate(), 100*lo, 100*med, res[j].errors)
	}
	lo, med := ratios(strapi, nativeTrack)
	fmt.Printf("\nStrapi against native /v1/track of one event a request: min %.0f%%, median %.0f%%\n", 100*lo, 100*med)
	return nil
}

// routeLoop is the closed loop for any route: each sender posts its next body
// as soon as the last was answered; with cycle, bodies are sent round and
// round. A body is counted when the answer has the route's success status.
func routeLoop(url string, r *route, bodies [][]byte, senders int, d time.Duration) result {
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
				if r.cycle {
					i %= len(bodies)
				} else if i >= len(bodies) {
					break
				}
				req, _ := http.NewRequest(http.MethodPost, url+r.path, bytes.NewReader(bodies[i]))
				req.Header.Set("Content-Type", "application/json")
				if r.gzip {
					req.Header.Set("Content-Encoding", "gzip")
				}
				t := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					errs++
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != r.status {
					errs++
					continue
				}
				lat = append(lat, time.Since(t))
				n += r.perBody
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

func decodeBatch(gz []byte) wire.Batch {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		panic(err)
	}
	var b wire.Batch
	if err := json.NewDecoder(zr).Decode(&b); err != nil {
		panic(err)
	}
	return b
}

func convert(native [][]byte, f func(wire.Batch) any, gz bool) [][]byte {
	out := make([][]byte, len(native))
	for i, n := range native {
		b, _ := json.Marshal(f(decodeBatch(n)))
		if gz {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(b)
			zw.Close()
			b = buf.Bytes()
		}
		out[i] = b
	}
	return out
}

// posthogBody is what posthog-node sends to /batch/ for the same events.
func posthogBody(b wire.Batch) any {
	batch := make([]map[string]any, len(b.Events))
	for i, e := range b.Events {
		props := map[string]any{"$groups": map[string]string{"project": e.ProjectID}, "$os": e.Context.OS, "$os_version": e.Context.OSVersion,
			"$lib": "posthog-node", "$lib_version": "5.74.0", "$app_version": e.Product.Version, "environment": e.Environment, "$geoip_disable": true}
		for k, v := range e.Properties {
			props[k] = v
		}
		batch[i] = map[string]any{"event": e.Event, "distinct_id": e.MachineID, "uuid": e.ID, "timestamp": e.Timestamp,
			"type": "capture", "library": "posthog-node", "library_version": "5.74.0", "properties": props}
	}
	return map[string]any{"api_key": "phc_bench", "batch": batch, "sent_at": b.SentAt}
}

// segmentBody is what @segment/analytics-node sends to /v1/batch for the same events.
func segmentBody(b wire.Batch) any {
	batch := make([]map[string]any, len(b.Events))
	for i, e := range b.Events {
		props := map[string]any{"projectId": e.ProjectID, "environment": e.Environment}
		for k, v := range e.Properties {
			props[k] = v
		}
		batch[i] = map[string]any{"type": "track", "event": e.Event, "messageId": "node-next-" + e.ID, "anonymousId": e.MachineID,
			"timestamp": e.Timestamp, "properties": props, "integrations": map[string]any{}, "_metadata": map[string]any{"jsRuntime": "node"},
			"context": map[string]any{"library": map[string]string{"name": "@segment/analytics-node", "version": "3.1.0"},
				"os": map[string]string{"name": e.Context.OS, "version": e.Context.OSVersion}, "app": map[string]string{"version": e.Product.Version}}}
	}
	return map[string]any{"batch": batch, "sentAt": b.SentAt, "writeKey": "wk_bench"}
}

// trackBodies are native POST /v1/track bodies of one event each, uncompressed:
// the native request that does what one Strapi request does.
func trackBodies(native [][]byte) [][]byte {
	var out [][]byte
	for _, n := range native {
		for _, e := range decodeBatch(n).Events {
			b, _ := json.Marshal(e)
			out = append(out, b)
		}
	}
	return out
}

// strapiBodies are what @strapi/core's sender posts for the same events, one
// event per request, uncompressed.
func strapiBodies(native [][]byte) [][]byte {
	var out [][]byte
	for _, n := range native {
		for _, e := range decodeBatch(n).Events {
			b, _ := json.Marshal(map[string]any{"event": e.Event, "userId": "", "installId": e.MachineID, "eventProperties": e.Properties,
				"userProperties": map[string]any{"environment": e.Environment, "os": "Linux", "osPlatform": e.Context.OS, "osArch": "x64",
					"osRelease": e.Context.OSVersion, "nodeVersion": "v" + e.Context.RuntimeVersion},
				"groupProperties": map[string]any{"projectId": e.ProjectID, "version": e.Product.Version, "docker": false, "isCI": e.Context.CI,
					"useTypescriptOnServer": true, "useTypescriptOnAdmin": true, "isHostedOnStrapiCloud": false, "projectType": "Community",
					"typescript": e.Build["typescript"], "database": "postgres"}})
			out = append(out, b)
		}
	}
	return out
}
