package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/abacushq/abacus/internal/store"
)

// clientAddr is the address the per-address limits key on: the TCP peer, or,
// with TrustProxy, the X-Forwarded-For entry TrustedHops from the right — the
// one the outermost trusted proxy added; the entries left of it are written by
// the client and prove nothing. When that entry is missing or is not an IP
// address, the peer counts.
func clientAddr(r *http.Request, trustProxy bool, hops int) string {
	peer := r.RemoteAddr
	if host, _, err := net.SplitHostPort(peer); err == nil {
		peer = host
	}
	if !trustProxy {
		return peer
	}
	var entries []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		for e := range strings.SplitSeq(v, ",") {
			entries = append(entries, strings.TrimSpace(e))
		}
	}
	if hops < 1 {
		hops = 1
	}
	if len(entries) < hops {
		return peer
	}
	if ip, ok := parseIP(entries[len(entries)-hops]); ok {
		return ip.String()
	}
	return peer
}

// parseIP reads an address as proxies write it: "192.0.2.7", "2001:db8::1",
// "[2001:db8::1]", with or without a port.
func parseIP(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return a.Unmap(), true
	}
	return netip.Addr{}, false
}

// clientKey is a keyed hash of the client's address, for the limits only: the
// address itself is never stored, logged or kept.
func (s *Server) clientKey(r *http.Request) string {
	m := hmac.New(sha256.New, s.ipKey)
	m.Write([]byte("ip\x00" + clientAddr(r, s.cfg.TrustProxy, s.cfg.TrustedHops)))
	return hex.EncodeToString(m.Sum(nil)[:12])
}

// projectsSeen remembers the (re-keyed) projects the collector has stored or
// accepted, in a Bloom filter: a project it has not seen is new, and new
// projects count against the per-address limit. A false positive lets a new
// project pass as known (about 1% at a million projects); a known project is
// never taken for new.
type projectsSeen struct {
	mu sync.Mutex
	f  *bloom
}

func newProjectsSeen() *projectsSeen { return &projectsSeen{f: newBloom(24, 7)} } // 2 MiB

func projectKey(id string) ([16]byte, bool) {
	var k [16]byte
	if len(id) != 32 {
		return k, false
	}
	_, err := hex.Decode(k[:], []byte(id))
	return k, err == nil
}

func (p *projectsSeen) add(id string) {
	if k, ok := projectKey(id); ok {
		p.mu.Lock()
		p.f.add(k)
		p.mu.Unlock()
	}
}

// fresh returns the distinct projects of events the collector has not seen.
func (p *projectsSeen) fresh(events []store.Event) []string {
	var out []string
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range events {
		id := events[i].ProjectID
		if i > 0 && id == events[i-1].ProjectID {
			continue
		}
		k, ok := projectKey(id)
		if !ok || p.f.has(k) {
			continue
		}
		dup := false
		for _, o := range out {
			if o == id {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, id)
		}
	}
	return out
}

func (p *projectsSeen) addAll(ids []string) {
	for _, id := range ids {
		p.add(id)
	}
}

// projectLister is a store that can list its projects (the DuckDB store); the
// filter of seen projects is filled from it at start, so that a restart does
// not make every project new again.
type projectLister interface {
	Projects(ctx context.Context, fn func(id string) error) error
}

// limitAddress applies the per-address limits to a processed batch: events a
// second, and new projects an hour. It returns the batch's new projects (to be
// marked seen once the batch is acknowledged).
func (s *Server) limitAddress(key string, events []store.Event, received int, now time.Time) ([]string, error) {
	var fresh []string
	if s.newPrjLimit != nil && len(events) > 0 {
		fresh = s.seen.fresh(events)
		if len(fresh) > 0 {
			if ok, wait := s.newPrjLimit.allow(key, float64(len(fresh)), now); !ok {
				s.metrics.limited.Inc("new-projects")
				return nil, &httpError{http.StatusTooManyRequests,
					fmt.Sprintf("too many new projects from this address (at most %g an hour)", s.cfg.RateIPNewProjects), wait}
			}
		}
	}
	if ok, wait := s.ipEvents.allow(key, float64(received), now); !ok {
		if len(fresh) > 0 {
			s.newPrjLimit.refund(key, float64(len(fresh)))
		}
		s.metrics.limited.Inc("ip-events")
		return nil, &httpError{http.StatusTooManyRequests,
			fmt.Sprintf("too many events from this address (at most %g a second)", s.cfg.RateIPEvents), wait}
	}
	return fresh, nil
}

// refund gives n tokens back to key's bucket (a request refused by a later
// limit does not spend them).
func (l *limiter) refund(key string, n float64) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.buckets[key]; b != nil {
		b.tokens = min(l.burst, b.tokens+n)
	}
}

// ready says whether key's bucket holds a token at all, taking none: a client
// whose budget is spent is refused before its body is read.
func (l *limiter) ready(key string, now time.Time) (bool, time.Duration) {
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
	if tokens >= 1 {
		return true, 0
	}
	return false, time.Duration((1 - tokens) / l.rate * float64(time.Second))
}

// logRefusal logs a 5xx refusal at warning level, at most one a second: under
// overload or attack the log would otherwise take the processor and the disk.
// The line says how many refusals since the last one went unlogged; the
// metrics count every one.
func (s *Server) logRefusal(route string, he *httpError) {
	now := time.Now().UnixNano()
	last := s.refusalLogged.Load()
	if now-last < int64(time.Second) || !s.refusalLogged.CompareAndSwap(last, now) {
		s.refusalsQuiet.Add(1)
		return
	}
	s.logger.Warn("request refused", "route", route, "status", he.status, "err", he.msg,
		"unlogged_since_last", s.refusalsQuiet.Swap(0))
}
