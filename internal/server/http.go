package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/abacushq/abacus/internal/ingest"
	"github.com/abacushq/abacus/internal/store"
	"github.com/abacushq/abacus/internal/wal"
	"github.com/abacushq/abacus/internal/wal/walrec"
	"github.com/abacushq/abacus/internal/web"
	"github.com/abacushq/abacus/telemetry/wire"
)

// httpError is an error with the status to answer. Handlers return it; the
// adapter writes it as {"error": msg}.
type httpError struct {
	status     int
	msg        string
	retryAfter time.Duration
}

func (e *httpError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) *httpError {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

// handlerFunc is a handler that returns its error instead of writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// Handler returns the collector's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	route := func(pattern string, h handlerFunc) {
		name := pattern[strings.IndexByte(pattern, ' ')+1:]
		mux.Handle(pattern, s.adapt(name, h))
		s.patterns = append(s.patterns, pattern)
	}
	route("POST "+wire.BatchPath, s.ingest(false))
	route("POST "+wire.TrackPath, s.ingest(true))
	route("GET "+wire.PlanPath, s.planJSON)
	route("GET /privacy", s.privacy)
	route("GET /healthz", s.healthz)
	route("GET /readyz", s.readyz)
	route("GET /metrics", s.metricsText)
	route("GET /openapi.json", s.openAPI)
	route("GET /api/v1/export", s.admin(s.export))
	route("GET /api/v1/reports/{name}", s.admin(s.report))
	route("DELETE /api/v1/projects/{projectId}", s.admin(s.deleteProject))
	s.compatRoutes(route)
	for _, pattern := range web.Routes {
		route(pattern, s.dashboard)
	}
	route("/", s.noRoute(mux))
	return mux
}

// statusWriter remembers the status code for the request metrics.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// adapt turns a handlerFunc into an http.Handler: it writes returned errors as
// JSON, recovers panics as 500s, and counts requests by route and status.
func (s *Server) adapt(route string, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w := &statusWriter{ResponseWriter: rw}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.logger.Error("handler panicked", "route", route, "panic", fmt.Sprint(p))
				if w.code == 0 {
					writeError(w, errorf(http.StatusInternalServerError, "internal error"))
				}
			}
			code := w.code
			if code == 0 {
				code = http.StatusOK
			}
			s.metrics.requests.Inc(route, strconv.Itoa(code))
		}()
		if err := h(w, r); err != nil {
			var he *httpError
			if !errors.As(err, &he) {
				s.logger.Error("request failed", "route", route, "err", err)
				he = errorf(http.StatusInternalServerError, "internal error")
			} else if he.status >= 500 {
				s.logRefusal(route, he)
			}
			if w.code == 0 {
				writeError(w, he)
			}
		}
	})
}

func writeError(w http.ResponseWriter, e *httpError) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int((e.retryAfter+time.Second-1)/time.Second))))
	}
	writeJSON(w, e.status, wire.Error{Error: e.msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// ingest serves POST /v1/batch (single=false) and POST /v1/track.
func (s *Server) ingest(single bool) handlerFunc {
	return s.ingestVia(func(body *ingest.Body, at time.Time) (*ingest.Batch, *ingest.Error) {
		return body.Process(single, at)
	}, nil)
}

// processFunc turns a read body into a checked batch.
type processFunc func(body *ingest.Body, receivedAt time.Time) (*ingest.Batch, *ingest.Error)

// replyFunc answers an ingested request: fresh events were logged, dups were
// duplicates.
type replyFunc func(w http.ResponseWriter, b *ingest.Batch, fresh, dups int)

// ingestVia is the ingest path of every protocol: readiness, rate limits,
// the body read against the memory budget, admission, process, the
// per-address and per-project limits, dedup and the write-ahead log. A nil
// reply answers natively (202 with wire.Response).
func (s *Server) ingestVia(process processFunc, reply replyFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		start := time.Now()
		if !s.ready.Load() {
			return &httpError{http.StatusServiceUnavailable, "not ready: replaying the write-ahead log", time.Second}
		}
		key := s.clientKey(r)
		if ok, wait := s.ipLimit.allow(key, 1, start); !ok {
			s.metrics.limited.Inc("ip")
			return &httpError{http.StatusTooManyRequests, "too many requests from this address", wait}
		}
		if ok, wait := s.ipEvents.ready(key, start); !ok {
			s.metrics.limited.Inc("ip-events")
			return &httpError{http.StatusTooManyRequests,
				fmt.Sprintf("too many events from this address (at most %g a second)", s.cfg.RateIPEvents), wait}
		}
		if err := s.backlog(0); err != nil {
			return err
		}
		// The body is read before admission, paced (a sender slower than a
		// few KB/s is cut off in seconds) and held against the memory
		// budget: a slow client holds a connection, never a turn.
		body, perr := s.pipeline.Read(w, r, s.budget)
		if perr != nil {
			return s.pipelineError(perr)
		}
		defer body.Close()
		// Admission: at most MaxInflight requests are decoded at once; the
		// others wait their turn, and after a second are told to come back.
		// Under overload the collector keeps its memory and answers quickly
		// instead of queueing without bound.
		select {
		case s.inflight <- struct{}{}:
			defer func() { <-s.inflight }()
		default:
			t := time.NewTimer(time.Second)
			select {
			case s.inflight <- struct{}{}:
				t.Stop()
				defer func() { <-s.inflight }()
			case <-t.C:
				s.metrics.shed.Inc("busy")
				return &httpError{http.StatusServiceUnavailable, "the collector is busy", time.Second}
			case <-r.Context().Done():
				t.Stop()
				return &httpError{http.StatusServiceUnavailable, "request cancelled while waiting", time.Second}
			}
		}
		b, perr := process(body, start.UTC())
		body.Close() // the events are copies: give the memory back now
		if perr != nil {
			return s.pipelineError(perr)
		}
		for reason, n := range b.RejectReasons {
			s.metrics.rejected.Add(uint64(n), reason)
		}
		for where, n := range b.Dropped {
			s.metrics.dropped.Add(uint64(n), where)
		}
		newProjects, err := s.limitAddress(key, b.Events, b.Received(), start)
		if err != nil {
			return err
		}
		if err := s.limitProjects(b.Events, start); err != nil {
			return err
		}
		fresh, dups, err := s.dedup.claim(r.Context(), b.Events)
		if err != nil {
			return &httpError{http.StatusServiceUnavailable, "cannot check event ids: the store is unavailable", 5 * time.Second}
		}
		if len(fresh) > 0 {
			rec, err := walrec.Append(walrec.Get(), fresh)
			if err != nil {
				s.dedup.done(fresh)
				return err
			}
			if err := s.backlog(len(rec)); err != nil {
				s.dedup.done(fresh)
				walrec.Put(rec)
				return err
			}
			ticket := s.writer.enter()
			end, err := s.log.Append(r.Context(), rec)
			if err != nil {
				s.writer.leave(ticket)
				s.dedup.done(fresh)
				walrec.Put(rec)
				switch {
				case errors.Is(err, wal.ErrFull):
					return &httpError{http.StatusServiceUnavailable, "the write-ahead log is full: the store is behind", 10 * time.Second}
				case errors.Is(err, r.Context().Err()):
					return &httpError{http.StatusServiceUnavailable, "request cancelled before it was durable", time.Second}
				default:
					s.logger.Error("cannot write the write-ahead log", "err", err)
					return &httpError{http.StatusServiceUnavailable, "cannot write the write-ahead log", 5 * time.Second}
				}
			}
			s.writer.add(ticket, rec, len(fresh), end)
		}
		s.seen.addAll(newProjects)
		dups += b.DuplicatesInBatch
		s.metrics.accepted.Add(uint64(len(fresh)))
		s.metrics.duplicates.Add(uint64(dups))
		if reply != nil {
			reply(w, b, len(fresh), dups)
			s.metrics.ack.Observe(time.Since(start).Seconds())
			return nil
		}
		rejected := b.Rejected
		if rejected == nil {
			rejected = []wire.Rejection{}
		}
		writeJSON(w, http.StatusAccepted, wire.Response{Accepted: len(fresh), Duplicates: dups, Rejected: rejected})
		s.metrics.ack.Observe(time.Since(start).Seconds())
		return nil
	}
}

// pipelineError turns an ingest error into the answer; a busy collector
// (the memory budget) says when to come back.
func (s *Server) pipelineError(e *ingest.Error) error {
	he := &httpError{status: e.Status, msg: e.Msg}
	if e.Status == http.StatusServiceUnavailable {
		s.metrics.shed.Inc("memory")
		he.retryAfter = time.Second
	}
	return he
}

// limitProjects applies the per-project event rate to a batch.
func (s *Server) limitProjects(events []store.Event, now time.Time) error {
	if s.prjLimit == nil || len(events) == 0 {
		return nil
	}
	counts := map[string]int{}
	for i := range events {
		counts[events[i].ProjectID]++
	}
	for p, n := range counts {
		if ok, wait := s.prjLimit.allow(p, float64(n), now); !ok {
			s.metrics.limited.Inc("project")
			return &httpError{http.StatusTooManyRequests, "too many events from this project", wait}
		}
	}
	return nil
}

func (s *Server) planJSON(w http.ResponseWriter, r *http.Request) error {
	b, err := s.cfg.Plan.MarshalJSON()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
	return nil
}

func (s *Server) privacy(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(s.cfg.Plan.HTML())
	return nil
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if !s.ready.Load() {
		msg := "not ready: replaying the write-ahead log"
		if why := s.storeWait.Load(); why != nil {
			msg += "; waiting for the store: " + *why
		}
		return &httpError{http.StatusServiceUnavailable, msg, time.Second}
	}
	if s.writer.failing.Load() {
		why := "its last write failed"
		if p, ok := s.cfg.Store.(pinger); ok {
			ctx, cancel := context.WithTimeout(r.Context(), time.Second)
			if err := p.Ping(ctx); err != nil {
				why = err.Error()
			}
			cancel()
		}
		waiting := s.writer.lagBytes()
		if waiting > failingLagBytes {
			return &httpError{http.StatusServiceUnavailable, fmt.Sprintf("not ready: the store does not take events (%s); "+
				"%d KiB of acknowledged events wait in the write-ahead log, past the %d KiB it takes while the store is down: ingest answers 503",
				why, waiting>>10, failingLagBytes>>10), 5 * time.Second}
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready",
			"store": fmt.Sprintf("the store does not take events (%s); %d KiB of acknowledged events wait in the write-ahead log (up to %d KiB)",
				why, waiting>>10, failingLagBytes>>10)})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

func (s *Server) metricsText(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	s.metrics.reg.Write(w)
	return nil
}

func (s *Server) registerGauges() {
	m := &s.metrics.reg
	m.Gauge("abacus_wal_bytes", "Bytes in live write-ahead log segments.", func() float64 { return float64(s.log.Size()) })
	m.CounterFunc("abacus_wal_fsyncs_total", "fsync calls on the write-ahead log.", func() float64 { return float64(s.log.Stats().Fsyncs) })
	m.CounterFunc("abacus_wal_fsync_seconds_total", "Time spent in write-ahead log fsyncs.", func() float64 { return s.log.Stats().FsyncTotal.Seconds() })
	m.Gauge("abacus_wal_fsync_last_seconds", "Duration of the last write-ahead log fsync.", func() float64 { return s.log.Stats().FsyncLast.Seconds() })
	m.CounterFunc("abacus_wal_appends_total", "Write-ahead log appends (one per accepted request).", func() float64 { return float64(s.log.Stats().Appends) })
	m.Gauge("abacus_store_lag_events", "Acknowledged events not yet in the store.", func() float64 { n, _ := s.writer.lag(); return float64(n) })
	m.Gauge("abacus_store_lag_seconds", "Age of the oldest acknowledged event not yet in the store.", func() float64 { _, d := s.writer.lag(); return d.Seconds() })
	m.Gauge("abacus_store_lag_bytes", "Bytes of write-ahead log records not yet in the store.", func() float64 { return float64(s.writer.lagBytes()) })
	m.Gauge("abacus_store_failing", "1 while the store refuses events (they wait in the write-ahead log).", func() float64 {
		if s.writer.failing.Load() || s.storeWait.Load() != nil {
			return 1
		}
		return 0
	})
	m.Gauge("abacus_ready", "1 once the write-ahead log is replayed and ingest is open.", func() float64 {
		if s.ready.Load() {
			return 1
		}
		return 0
	})
}
