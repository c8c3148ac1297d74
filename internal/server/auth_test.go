package server

import (
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/plan"
)

// An admin token under 32 characters is refused at start, with an error that
// says which token and what is expected; so is a short token file.
func TestShortTokenRefused(t *testing.T) {
	open := func(dir, token string) error {
		s, err := Open(Config{DataDir: dir, Plan: plan.Default(), Store: &memStore{faultyStore{stored: map[string]bool{}}},
			Token: token, Logger: slog.New(slog.DiscardHandler)})
		if err == nil {
			s.Close()
		}
		return err
	}
	for _, tok := range []string{"a", strings.Repeat("x", 31)} {
		err := open(t.TempDir(), tok)
		if err == nil || !strings.Contains(err.Error(), "ABACUS_TOKEN") || !strings.Contains(err.Error(), "at least 32 characters") {
			t.Errorf("token of %d characters: %v; want an error naming ABACUS_TOKEN and 32 characters", len(tok), err)
		}
	}
	if err := open(t.TempDir(), strings.Repeat("x", 32)); err != nil {
		t.Errorf("token of 32 characters: %v", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "token"), []byte("short\n"), 0o600)
	if err := open(dir, ""); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "token")) {
		t.Errorf("short token file: %v; want an error naming the file", err)
	}
	if err := open(t.TempDir(), ""); err != nil {
		t.Errorf("generated token: %v", err)
	}
}

func adminRequest(t *testing.T, method, url, auth, forwardedFor string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if forwardedFor != "" {
		req.Header.Set("X-Forwarded-For", forwardedFor)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// 300 wrong tokens in a row from one address: the first authBurst get 401,
// the rest 429 with Retry-After, even with the right token; another address
// is not affected. Wrong sign-ins on the dashboard count the same way.
func TestFailedAdminAuthThrottled(t *testing.T) {
	_, hs := startTestServer(t, Config{Store: &memStore{faultyStore{stored: map[string]bool{}}}, TrustProxy: true})
	export := hs.URL + "/api/v1/reports/overview" // 404 past the guard: this store has no reports
	codes := map[int]int{}
	for i := range 300 {
		resp := adminRequest(t, "GET", export, "Bearer wrong-token-"+strings.Repeat("x", i%7), "198.51.100.7")
		codes[resp.StatusCode]++
		if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	}
	if codes[http.StatusUnauthorized] != authBurst || codes[http.StatusTooManyRequests] != 300-authBurst {
		t.Fatalf("300 wrong tokens: %v; want %d × 401, the rest 429", codes, authBurst)
	}
	if r := adminRequest(t, "GET", export, "Bearer "+testAdminToken, "198.51.100.7"); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("right token from the throttled address: %d, want 429", r.StatusCode)
	}
	if r := adminRequest(t, "GET", export, "Bearer "+testAdminToken, "198.51.100.8"); r.StatusCode != http.StatusNotFound {
		t.Errorf("right token from another address: %d, want 404 (past the guard)", r.StatusCode)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	signIn := func(token, addr string) int {
		req, _ := http.NewRequest("POST", hs.URL+"/signin", strings.NewReader(url.Values{"token": {token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", addr)
		req.Header.Set("Origin", hs.URL)
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range authBurst {
		if code := signIn("wrong", "203.0.113.9"); code != http.StatusUnauthorized {
			t.Fatalf("wrong sign-in %d: %d, want 401", i, code)
		}
	}
	if code := signIn(testAdminToken, "203.0.113.9"); code != http.StatusTooManyRequests {
		t.Errorf("sign-in past the budget of failures: %d, want 429", code)
	}
	if code := signIn(testAdminToken, "203.0.113.10"); code != http.StatusSeeOther {
		t.Errorf("sign-in from another address: %d, want 303", code)
	}
}

// The budget refills: one failure every authEvery.
func TestAuthLimiterRefills(t *testing.T) {
	l := newAuthLimiter()
	now := time.Now()
	for range authBurst {
		l.allow("k", 1, now)
	}
	if ok, wait := l.peek("k", 1, now); ok || wait <= 0 || wait > authEvery {
		t.Fatalf("after %d failures: ok %v, wait %v", authBurst, ok, wait)
	}
	if ok, _ := l.peek("k", 1, now.Add(authEvery)); !ok {
		t.Fatalf("no new attempt after %v", authEvery)
	}
	if ok, _ := l.peek("other", 1, now); !ok {
		t.Fatal("another key is throttled")
	}
}

// The Bearer scheme is case-insensitive (RFC 7235). (The store has no
// reports: 404 means past the guard.)
func TestBearerSchemeAnyCase(t *testing.T) {
	_, hs := startTestServer(t, Config{Store: &memStore{faultyStore{stored: map[string]bool{}}}})
	for auth, want := range map[string]int{
		"Bearer " + testAdminToken:    http.StatusNotFound,
		"bearer " + testAdminToken:    http.StatusNotFound,
		"BEARER  " + testAdminToken:   http.StatusNotFound,
		"Basic " + testAdminToken:     http.StatusUnauthorized,
		"Bearer" + testAdminToken:     http.StatusUnauthorized,
		"Bearer wrong-" + "token-abc": http.StatusUnauthorized,
	} {
		if r := adminRequest(t, "GET", hs.URL+"/api/v1/reports/overview", auth, ""); r.StatusCode != want {
			t.Errorf("Authorization %q: %d, want %d", auth[:min(len(auth), 12)], r.StatusCode, want)
		}
	}
}

// A known route with another method answers 405 with an Allow header; an
// unknown path 404.
func TestWrongMethodAnswers405(t *testing.T) {
	_, hs := startTestServer(t, Config{Store: &memStore{faultyStore{stored: map[string]bool{}}}})
	for _, c := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/v1/batch", 405, "POST"},
		{"PUT", "/v1/track", 405, "POST"},
		{"POST", "/api/v1/projects/x", 405, "DELETE"},
		{"DELETE", "/v1/plan", 405, "GET, HEAD"},
		{"POST", "/healthz", 405, "GET, HEAD"},
		{"GET", "/no/such/route", 404, ""},
		{"DELETE", "/api/v1/nothing/here", 404, ""},
	} {
		r := adminRequest(t, c.method, hs.URL+c.path, "", "")
		if r.StatusCode != c.status || r.Header.Get("Allow") != c.allow {
			t.Errorf("%s %s: %d, Allow %q; want %d, Allow %q", c.method, c.path, r.StatusCode, r.Header.Get("Allow"), c.status, c.allow)
		}
	}
}
