package server

import (
	"sync"
	"time"
)

// limiter is a set of token buckets, one per key: Rate tokens a second, up to
// Burst. Keys are keyed hashes (of an IP address) or re-keyed project IDs, never
// raw client data. Idle buckets are forgotten.
type limiter struct {
	rate, burst float64

	mu      sync.Mutex // protects buckets and swept
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// newLimiter returns nil (no limit) for a rate <= 0.
func newLimiter(rate, burst float64) *limiter {
	if rate <= 0 {
		return nil
	}
	return &limiter{rate: rate, burst: max(burst, rate), buckets: map[string]*bucket{}}
}

// allow takes n tokens from key's bucket. When there are not enough it takes
// none and says how long until there would be.
func (l *limiter) allow(key string, n float64, now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		l.sweepLocked(now)
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if n > l.burst {
		n = l.burst // a request larger than the burst passes only on a full bucket
	}
	if b.tokens >= n {
		b.tokens -= n
		return true, 0
	}
	wait := time.Duration((n - b.tokens) / l.rate * float64(time.Second))
	return false, wait
}

// sweepLocked forgets buckets that have refilled: they hold no information.
func (l *limiter) sweepLocked(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
	l.swept = now
}
