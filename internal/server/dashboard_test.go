package server

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// A browser signed in to the dashboard may read the admin API (the pages'
// JSON links) but not change anything; a new admin token ends its session.
func TestDashboardSession(t *testing.T) {
	s, hs := startTestServer(t, Config{Store: &memStore{faultyStore{stored: map[string]bool{}}}})
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(hs.URL+"/signin", url.Values{"token": {testAdminToken}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 {
		t.Fatalf("sign in: %d with cookies %v", resp.StatusCode, resp.Cookies())
	}
	cookie := resp.Cookies()[0]
	do := func(base, method, path string) int {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, nil)
		req.AddCookie(cookie)
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/", http.StatusNotFound},                        // past the sign-in: "this store offers no reports"
		{"GET", "/api/v1/reports/overview", http.StatusNotFound}, // past the guard: this store has no reports
		{"DELETE", "/api/v1/projects/" + projectA, http.StatusUnauthorized},
	} {
		if got := do(hs.URL, c.method, c.path); got != c.want {
			t.Errorf("%s %s with the session cookie: %d, want %d", c.method, c.path, got, c.want)
		}
	}

	// The same data directory with another token: the cookie is worthless.
	hs.Close()
	s.Close()
	s2, err := Open(Config{DataDir: s.cfg.DataDir, Plan: s.cfg.Plan, Store: s.cfg.Store, Token: "another-token-0123456789abcdef0123456789", Logger: s.logger})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	h := s2.Handler()
	for path, want := range map[string]int{"/": http.StatusSeeOther, "/api/v1/reports/overview": http.StatusUnauthorized} {
		req := httptest.NewRequest("GET", path, nil)
		req.AddCookie(cookie)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != want {
			t.Errorf("GET %s with a session of the old token: %d, want %d", path, w.Code, want)
		}
	}
}

// A session cookie copied before sign-out no longer reads the admin API after
// it; a cross-site form cannot sign the browser out.
func TestSignOutEndsAPISession(t *testing.T) {
	_, hs := startTestServer(t, Config{Store: &memStore{faultyStore{stored: map[string]bool{}}}})
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(hs.URL+"/signin", url.Values{"token": {testAdminToken}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookie := resp.Cookies()[0]
	do := func(method, path string, headers map[string]string) int {
		t.Helper()
		req, _ := http.NewRequest(method, hs.URL+path, nil)
		req.AddCookie(cookie)
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	const api = "/api/v1/reports/overview" // 404 past the guard: this store has no reports
	if got := do("GET", api, nil); got != http.StatusNotFound {
		t.Fatalf("signed in, the API answered %d", got)
	}
	if got := do("POST", "/signout", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}); got != http.StatusForbidden {
		t.Errorf("cross-site sign-out: %d, want 403", got)
	}
	if got := do("GET", api, nil); got != http.StatusNotFound {
		t.Fatalf("after a refused cross-site sign-out the API answered %d", got)
	}
	if got := do("POST", "/signout", map[string]string{"Sec-Fetch-Site": "same-origin"}); got != http.StatusSeeOther {
		t.Fatalf("sign out: %d", got)
	}
	if got := do("GET", api, nil); got != http.StatusUnauthorized {
		t.Errorf("a cookie copied before sign-out read the API after it: %d, want 401", got)
	}
}
