package server

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/abacushq/abacus/internal/ingest"
	"github.com/abacushq/abacus/internal/insights"
	"github.com/abacushq/abacus/internal/store"
	"github.com/abacushq/abacus/internal/web"
	"github.com/abacushq/abacus/telemetry/wire"
)

// admin guards a handler with the admin token: Authorization: Bearer <token>
// (the scheme in any case). Failed attempts are throttled per address (see
// authlimit.go).
// A GET without that header may also come from a browser signed in to the
// dashboard (its "as JSON" links); the session cookie is SameSite=Strict, so
// another site cannot make the browser send it, and nothing that changes data
// is a GET.
func (s *Server) admin(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if r.Method == http.MethodGet && r.Header.Get("Authorization") == "" && s.dash.SignedIn(r) {
			return h(w, r)
		}
		if err := s.authThrottled(r); err != nil {
			return err
		}
		token, ok := bearerToken(r.Header.Get("Authorization"))
		if !ok || !tokenMatches(token, s.token) {
			s.authFailed(r)
			w.Header().Set("WWW-Authenticate", `Bearer realm="abacus"`)
			return errorf(http.StatusUnauthorized, "Authorization: expected Bearer and the admin token")
		}
		return h(w, r)
	}
}

// exportEvent is one line of GET /api/v1/export.
type exportEvent struct {
	ID          string         `json:"id"`
	Event       string         `json:"event"`
	Time        time.Time      `json:"time"`
	ReceivedAt  time.Time      `json:"receivedAt"`
	ProjectID   string         `json:"projectId"`
	MachineID   string         `json:"machineId"`
	SessionID   string         `json:"sessionId,omitempty"`
	Environment string         `json:"environment"`
	Product     wire.Product   `json:"product"`
	Context     wire.Context   `json:"context"`
	Build       map[string]any `json:"build,omitempty"`
	Properties  map[string]any `json:"properties,omitempty"`
}

// parseTime reads a from/to parameter: an RFC 3339 time or a date (UTC).
// A date is a whole day, as in the reports: from=D starts at D's midnight,
// to=D ends at the next one (endOfDay), so from=D&to=D is the day D.
func parseTime(name, v string, def time.Time, endOfDay bool) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		if endOfDay {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	return time.Time{}, errorf(http.StatusBadRequest, "%s: expected an RFC 3339 time or a YYYY-MM-DD date, got %q", name, v)
}

// export serves GET /api/v1/export?from=&to=: stored events as JSON lines, with
// re-keyed IDs, oldest first. Dates are inclusive (both days are in); times
// are instants, to excluded.
func (s *Server) export(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	for k := range q {
		if k != "from" && k != "to" {
			return errorf(http.StatusBadRequest, "%s: unknown parameter; expected from, to", k)
		}
	}
	from, err := parseTime("from", q.Get("from"), time.Unix(0, 0).UTC(), false)
	if err != nil {
		return err
	}
	to, err := parseTime("to", q.Get("to"), time.Now().UTC().Add(48*time.Hour), true)
	if err != nil {
		return err
	}
	if !from.Before(to) {
		return errorf(http.StatusBadRequest, "to: expected a date on or after from, or a time after it; got from=%s, to=%s", q.Get("from"), q.Get("to"))
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	n := 0
	err = s.cfg.Store.Export(r.Context(), from, to, func(e *store.Event) error {
		n++
		return enc.Encode(exportEvent{
			ID: e.ID, Event: e.Name, Time: e.Time, ReceivedAt: e.ReceivedAt,
			ProjectID: e.ProjectID, MachineID: e.MachineID, SessionID: e.SessionID, Environment: e.Environment,
			Product: wire.Product{Name: e.Product, Version: e.ProductVersion},
			Context: wire.Context{OS: e.OS, OSVersion: e.OSVersion, Arch: e.Arch, CPUs: e.CPUs, MemoryMB: e.MemoryMB,
				Runtime: e.Runtime, RuntimeVersion: e.RuntimeVersion, CI: e.CI, CIName: e.CIName,
				Docker: e.Docker, WSL: e.WSL, SDK: e.SDK},
			Build: e.Build, Properties: e.Properties,
		})
	})
	if err != nil {
		if n == 0 {
			return err
		}
		// Lines are out already: end the stream short; the client sees no final newline.
		s.logger.Error("export ended early", "err", err, "events", n)
		return nil
	}
	return bw.Flush()
}

// erasureRecorder is a store that keeps the erasures for every collector
// sharing it (ClickHouse).
type erasureRecorder interface {
	RecordErasure(ctx context.Context, projectID string, at time.Time) error
}

// deleteProject serves DELETE /api/v1/projects/{projectId}[?compact=1]. The ID
// is the raw project UUID from package.json (re-keyed here) or an already
// re-keyed ID (32 hex characters, as in the export). Events still in the
// write-ahead log are stored first, so the deletion covers everything
// acknowledged before it. The events' bytes leave the disk at the next
// compaction (within 24 hours, see compact.go), or before the answer with
// compact=1.
func (s *Server) deleteProject(w http.ResponseWriter, r *http.Request) error {
	compact := false
	if v := r.URL.Query().Get("compact"); v != "" {
		var err error
		if compact, err = strconv.ParseBool(v); err != nil {
			return errorf(http.StatusBadRequest, "compact: expected 1 or 0, got %q", v)
		}
	}
	raw := r.PathValue("projectId")
	var id string
	switch {
	case wire.IsProjectID(raw):
		id = s.keyer.Project(raw)
	case wire.IsLowerHex(raw, ingest.KeyLen):
		id = raw
	default:
		return errorf(http.StatusBadRequest, "projectId: expected the project UUID from package.json or a re-keyed ID of 32 hex characters")
	}
	// Record the erasure first: if the process dies before the log is released,
	// replay must not bring the project's events back.
	now := time.Now()
	if err := s.erased.add(id, now); err != nil {
		return err
	}
	// A store shared by many collectors records it too: their logs may hold
	// the project's events, and they drop them when they drain.
	if er, ok := s.cfg.Store.(erasureRecorder); ok {
		if err := er.RecordErasure(r.Context(), id, now); err != nil {
			return &httpError{http.StatusServiceUnavailable, "cannot record the erasure in the store: " + err.Error(), 5 * time.Second}
		}
	}
	if err := s.markPending(); err != nil {
		return err
	}
	if err := s.writer.flush(r.Context()); err != nil {
		return &httpError{http.StatusServiceUnavailable, "cannot store pending events before the deletion: " + err.Error(), 5 * time.Second}
	}
	n, err := s.cfg.Store.DeleteProject(r.Context(), id)
	if err != nil {
		return err
	}
	s.logger.Info("project erased", "events", n)
	if compact {
		if err := s.compactNow(r.Context()); err != nil {
			return &httpError{http.StatusServiceUnavailable, fmt.Sprintf("the project's %d events are deleted, but removing them from disk failed "+
				"(the collector tries again within the hour): %v", n, err), time.Minute}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"deleted": n, "projectId": id, "compacted": compact})
	return nil
}

// report serves GET /api/v1/reports/{name}: one of the product questions, for
// the window and options in the query string (see internal/insights/api.md).
func (s *Server) report(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Insights == nil {
		return errorf(http.StatusNotFound, "reports are not available with this store")
	}
	p, err := insights.ParseParams(r.URL.Query(), time.Now().UTC())
	if err != nil {
		return errorf(http.StatusBadRequest, "%v", err)
	}
	rep, err := s.cfg.Insights.Run(r.Context(), r.PathValue("name"), p)
	switch {
	case errors.Is(err, insights.ErrUnknownReport):
		return errorf(http.StatusNotFound, "%v", err)
	case errors.Is(err, insights.ErrBadParams):
		return errorf(http.StatusBadRequest, "%v", err)
	case err != nil:
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

// newDashboard returns the dashboard's handler. Its session cookies are signed
// with a key derived from the server secret and the admin token, so a new
// token ends the sessions made with the old one.
func newDashboard(cfg Config, secret []byte, token string) (*web.Handler, error) {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("abacus dashboard sessions\x00" + token))
	var reports web.Reporter
	if cfg.Insights != nil {
		reports = cfg.Insights
	}
	return web.New(web.Config{
		Reports:   reports,
		Plan:      cfg.Plan,
		Authorize: func(t string) bool { return tokenMatches(t, token) },
		Key:       m.Sum(nil),
		Logger:    cfg.Logger.With("component", "dashboard"),
	})
}
