package main

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/abacushq/abacus/internal/ingest"
	"github.com/abacushq/abacus/internal/plan"
	"github.com/abacushq/abacus/telemetry/wire"
)

// floor serves POST /v1/batch with the collector's own request path and
// nothing durable, in its own process, so that `abacus serve` is measured
// against the same code minus what it adds:
//
//   - "decode": the read (paced, against the same memory budget), gunzip,
//     UTF-8 check, scan, and the decoding of each event into wire values
//     (ingest's Body.Decode); no plan, no re-keying;
//   - "pipeline": the whole of ingest's Body.Process: decode, the tracking
//     plan, the time window, re-keying; no dedup, no log, no store.
//
// Both run under the Go heap's soft limit that abacus serve sets (144 MiB).
func floor(kind, addr string) {
	if kind != "decode" && kind != "pipeline" {
		fmt.Fprintf(os.Stderr, "ingest: cannot run floor %q: expected decode or pipeline\n", kind)
		os.Exit(2)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(144 << 20)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	pipe := ingest.New(ingest.Config{Plan: plan.Default(), Keyer: ingest.NewKeyer(secret)})
	budget := ingest.NewBudget(64<<20, runtime.GOMAXPROCS(0))
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+wire.BatchPath, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now().UTC()
		body, e := pipe.Read(w, r, budget)
		if e != nil {
			http.Error(w, e.Msg, e.Status)
			return
		}
		defer body.Close()
		resp := wire.Response{Rejected: []wire.Rejection{}}
		if kind == "decode" {
			n, e := body.Decode()
			if e != nil {
				http.Error(w, e.Msg, e.Status)
				return
			}
			resp.Accepted = n
		} else {
			b, e := body.Process(false, start)
			if e != nil {
				http.Error(w, e.Msg, e.Status)
				return
			}
			resp.Accepted = len(b.Events)
			if b.Rejected != nil {
				resp.Rejected = b.Rejected
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		json.NewEncoder(w).Encode(resp)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {})
	fmt.Fprintln(os.Stderr, (&http.Server{Addr: addr, Handler: mux}).ListenAndServe())
	os.Exit(1)
}
