package server

import (
	"net/http"
	"slices"
	"strings"
)

// dashboard serves the dashboard's routes. A sign-in is throttled like any
// admin authentication: past the address's budget of failures it gets 429,
// and a refused token counts as a failure.
func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) error {
	signIn := r.Method == http.MethodPost && r.URL.Path == "/signin"
	if signIn {
		if err := s.authThrottled(r); err != nil {
			return err
		}
	}
	s.dash.ServeHTTP(w, r)
	if sw, ok := w.(*statusWriter); ok && signIn && sw.code == http.StatusUnauthorized {
		s.authFailed(r)
	}
	return nil
}

// methods are the methods noRoute tries a path with.
var methods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}

// noRoute answers a request no route took: 405 with an Allow header when
// the path has routes for other methods (GET /v1/batch, POST
// /api/v1/projects/x), else 404.
func (s *Server) noRoute(mux *http.ServeMux) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var allow []string
		for _, m := range methods {
			if m == r.Method {
				continue
			}
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/" {
				allow = append(allow, m)
			}
		}
		if len(allow) == 0 {
			return errorf(http.StatusNotFound, "no route for %s %s", r.Method, r.URL.Path)
		}
		if slices.Contains(allow, http.MethodGet) && !slices.Contains(allow, http.MethodHead) {
			allow = append(allow, http.MethodHead)
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		return errorf(http.StatusMethodNotAllowed, "%s %s: expected one of %s", r.Method, r.URL.Path, strings.Join(allow, ", "))
	}
}
