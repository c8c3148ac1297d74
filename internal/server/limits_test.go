package server

import (
	"crypto/rand"
	"testing"
	"time"
)

func TestLimiterTokenBucket(t *testing.T) {
	l := newLimiter(10, 20) // 10/s, burst 20
	now := time.Unix(1000, 0)
	for i := range 20 {
		if ok, _ := l.allow("a", 1, now); !ok {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	ok, wait := l.allow("a", 1, now)
	if ok || wait != 100*time.Millisecond {
		t.Fatalf("21st request: ok=%v wait=%v, want refused with 100ms", ok, wait)
	}
	if ok, _ := l.allow("b", 1, now); !ok {
		t.Error("another key shares the bucket")
	}
	if ok, _ := l.allow("a", 1, now.Add(100*time.Millisecond)); !ok {
		t.Error("a token did not refill after 100ms")
	}
	if ok, _ := l.allow("a", 50, now.Add(time.Hour)); !ok {
		t.Error("a request larger than the burst must pass on a full bucket")
	}
	later := now.Add(2 * time.Hour)
	l.allow("c", 1, later)
	l.allow("d", 1, later.Add(2*time.Minute)) // sweeps the refilled buckets
	if _, ok := l.buckets["c"]; ok {
		t.Error("an idle, refilled bucket was kept")
	}
	var none *limiter
	if ok, _ := none.allow("x", 1e9, now); !ok || newLimiter(-1, 0) != nil {
		t.Error("a nil limiter must allow everything")
	}
}

func TestBloomHasNoFalseNegativesAndFewFalsePositives(t *testing.T) {
	b := newBloom(20, 7) // 1 Mbit
	var added [][16]byte
	for range 50000 {
		var k [16]byte
		rand.Read(k[:])
		b.add(k)
		added = append(added, k)
	}
	for _, k := range added {
		if !b.has(k) {
			t.Fatal("an added ID is reported absent")
		}
	}
	fp := 0
	for range 100000 {
		var k [16]byte
		rand.Read(k[:])
		if b.has(k) {
			fp++
		}
	}
	// 50k keys in 1 Mbit with 7 probes: about 0.2% false positives.
	if fp > 1000 {
		t.Errorf("%d false positives in 100000, want under 1%%", fp)
	}
}

func TestIDKey(t *testing.T) {
	a, ok1 := idKey("7b581c0d-89b7-479e-b379-a76ab90b8754")
	b, ok2 := idKey("7B581C0D-89B7-479E-B379-A76AB90B8754")
	if !ok1 || !ok2 || a != b {
		t.Error("case must not matter")
	}
	if _, ok := idKey("not-a-uuid"); ok {
		t.Error("a non-UUID parsed")
	}
}

func TestTokenMatches(t *testing.T) {
	if !tokenMatches("abc", "abc") || tokenMatches("abd", "abc") || tokenMatches("", "") || tokenMatches("abcd", "abc") {
		t.Error("tokenMatches")
	}
}
