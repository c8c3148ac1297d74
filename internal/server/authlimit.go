package server

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Failed admin authentications (a wrong Bearer token on the admin API, a
// wrong token on the dashboard's sign-in) are throttled per client address,
// by the keyed hash of the address and in memory only: authBurst failures,
// then one every authEvery. Past that budget, the address gets 429 with
// Retry-After whatever token it sends, so guessing the token costs days per
// million tries even from many addresses of one host.
const (
	authBurst = 10
	authEvery = 6 * time.Second
)

// minTokenLen is the shortest admin token Open accepts: 32 characters of a
// generated token carry about 190 bits.
const minTokenLen = 32

func newAuthLimiter() *limiter {
	return newLimiter(float64(time.Second)/float64(authEvery), authBurst)
}

// checkToken refuses an admin token too short to resist guessing.
func checkToken(token, where string) error {
	if n := len(token); n < minTokenLen {
		return fmt.Errorf("cannot use the admin token from %s: expected at least %d characters, got %d "+
			"(make one with `openssl rand -base64 33`, or unset it to have one generated in the data directory)", where, minTokenLen, n)
	}
	return nil
}

// peek reports whether key's bucket holds n tokens, taking none.
func (l *limiter) peek(key string, n float64, now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		return true, 0
	}
	tokens := min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	if tokens >= n {
		return true, 0
	}
	return false, time.Duration((n - tokens) / l.rate * float64(time.Second))
}

// authThrottled answers 429 when the request's address has used up its
// failed authentications.
func (s *Server) authThrottled(r *http.Request) *httpError {
	if ok, wait := s.authFails.peek(s.clientKey(r), 1, time.Now()); !ok {
		s.metrics.limited.Inc("auth")
		return &httpError{http.StatusTooManyRequests, "too many failed admin authentications from this address", wait}
	}
	return nil
}

// authFailed counts a failed authentication of the request's address.
func (s *Server) authFailed(r *http.Request) {
	s.authFails.allow(s.clientKey(r), 1, time.Now())
}

// bearerToken returns the token of an "Authorization: Bearer <token>" header;
// the scheme is case-insensitive (RFC 7235).
func bearerToken(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}
