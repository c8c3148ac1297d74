package server

import (
	"crypto/subtle"
	"net/http"
	"strconv"
	"time"

	"github.com/abacushq/abacus/internal/compat"
	"github.com/abacushq/abacus/internal/ingest"
)

// CompatRoutes are the routes of the PostHog, Segment and Strapi protocols.
var CompatRoutes = []string{
	"POST /api/v2/track",
	"POST /posthog/batch/{$}", "POST /posthog/batch",
	"POST /posthog/capture/{$}", "POST /posthog/capture",
	"POST /posthog/e/{$}", "POST /posthog/e",
	"POST /posthog/i/v0/e/{$}", "POST /posthog/i/v0/e",
	"POST /segment/v1/batch", "POST /segment/v1/track",
}

// compatOptions returns the mapping options of one foreign request: the
// receive time, and for Segment the route and the HTTP Basic user name.
type compatOptions func(r *http.Request, at time.Time) compat.Options

// compatRoutes registers the routes of the other protocols. Each maps its
// body to a native batch (package compat) and takes the native path from
// there: same limits, admission, plan, re-keying, dedup and log.
func (s *Server) compatRoutes(route func(string, handlerFunc)) {
	m := compat.New(s.cfg.Plan)
	plain := func(r *http.Request, at time.Time) compat.Options { return compat.Options{ReceivedAt: at} }
	segment := func(single bool) compatOptions {
		return func(r *http.Request, at time.Time) compat.Options {
			user, _, _ := r.BasicAuth()
			return compat.Options{ReceivedAt: at, Single: single, BasicUser: user}
		}
	}
	for _, p := range CompatRoutes {
		switch {
		case p == "POST /api/v2/track":
			route(p, s.compatHandler(m, compat.Strapi, plain))
		case p == "POST /segment/v1/batch":
			route(p, s.compatHandler(m, compat.Segment, segment(false)))
		case p == "POST /segment/v1/track":
			route(p, s.compatHandler(m, compat.Segment, segment(true)))
		default:
			route(p, s.compatHandler(m, compat.PostHog, plain))
		}
	}
}

// keyAccepted reports whether one of keys is among the plan's ingest keys,
// or the plan lists none.
func (s *Server) keyAccepted(keys []string) bool {
	allowed := s.cfg.Plan.IngestKeys
	if len(allowed) == 0 {
		return true
	}
	for _, k := range keys {
		for _, a := range allowed {
			if subtle.ConstantTimeCompare([]byte(k), []byte(a)) == 1 {
				return true
			}
		}
	}
	return false
}

func (s *Server) compatHandler(m *compat.Mapper, protocol string, options compatOptions) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		count := func(outcome string, n int) {
			if n > 0 {
				s.metrics.compat.Add(uint64(n), protocol, outcome)
			}
		}
		process := func(body *ingest.Body, at time.Time) (*ingest.Batch, *ingest.Error) {
			raw, e := body.Decoded()
			if e != nil {
				return nil, e
			}
			// The native batch is held against the body memory budget
			// with the body it is made from.
			var busy *ingest.Error
			o := options(r, at)
			o.Cover = func(n int) bool {
				busy = body.Cover(n)
				return busy == nil
			}
			res, me := m.Map(protocol, raw, o)
			if me == compat.ErrBusy && busy != nil {
				return nil, busy
			}
			if me != nil {
				return nil, &ingest.Error{Status: http.StatusBadRequest, Msg: me.Msg}
			}
			defer res.Release()
			if protocol != compat.Strapi && !s.keyAccepted(res.Keys) {
				return nil, &ingest.Error{Status: http.StatusUnauthorized, Msg: "api key: missing or not accepted, expected one of the plan's ingestKeys"}
			}
			for outcome, n := range res.Counts {
				count(outcome, n)
			}
			if res.Native == nil {
				return &ingest.Batch{}, nil
			}
			b, e := body.ProcessNative(res.Native, at)
			if b != nil {
				count(compat.Invalid, len(b.Rejected))
			}
			return b, e
		}
		reply := func(w http.ResponseWriter, b *ingest.Batch, fresh, dups int) {
			count(compat.Stored, fresh)
			count(compat.Duplicate, dups)
			compatSuccess(w, protocol)
		}
		err := s.ingestVia(process, reply)(w, r)
		if err == nil {
			return nil
		}
		he, ok := err.(*httpError)
		if !ok {
			return err
		}
		if he.status >= 500 {
			s.logRefusal(r.URL.Path, he)
		}
		compatError(w, protocol, he)
		return nil
	}
}

// compatSuccess writes each protocol's success answer.
func compatSuccess(w http.ResponseWriter, protocol string) {
	switch protocol {
	case compat.PostHog:
		writeJSON(w, http.StatusOK, map[string]int{"status": 1})
	case compat.Segment:
		writeJSON(w, http.StatusOK, map[string]bool{"success": true})
	default:
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}
}

// compatError writes e in the protocol's own error shape, with Retry-After
// when e has one.
func compatError(w http.ResponseWriter, protocol string, e *httpError) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", retryAfterSeconds(e.retryAfter))
	}
	switch protocol {
	case compat.PostHog:
		typ, code := "validation_error", "invalid_payload"
		switch {
		case e.status == http.StatusUnauthorized:
			typ, code = "authentication_error", "invalid_api_key"
		case e.status == http.StatusTooManyRequests:
			typ, code = "throttled", "rate_limited"
		case e.status >= 500:
			typ, code = "server_error", "unavailable"
		}
		writeJSON(w, e.status, map[string]any{"type": typ, "code": code, "detail": e.msg, "attr": nil})
	case compat.Segment:
		writeJSON(w, e.status, map[string]any{"success": false, "message": e.msg})
	default:
		writeError(w, &httpError{status: e.status, msg: e.msg})
	}
}

func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int((d+time.Second-1)/time.Second)))
}
