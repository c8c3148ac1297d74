package simulate

import (
	"math"
	"math/rand/v2"
)

// rng is a seeded PCG generator with the few distributions the population needs. Every
// random value of a simulation comes from one of these, derived from Config.Seed.
type rng struct {
	*rand.Rand
}

// newRNG returns the generator of stream (seed, stream); distinct streams are independent.
func newRNG(seed, stream uint64) *rng {
	return &rng{rand.New(rand.NewPCG(splitmix(seed^0x6a09e667f3bcc909), splitmix(stream+0x9e3779b97f4a7c15)))}
}

// splitmix is the SplitMix64 finalizer: it spreads nearby integers over the whole range.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// chance reports true with probability p.
func (r *rng) chance(p float64) bool { return r.Float64() < p }

// between returns a uniform value in [lo, hi).
func (r *rng) between(lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

// logNormal returns median·e^(sigma·Z) for a standard normal Z.
func (r *rng) logNormal(median, sigma float64) float64 {
	return median * math.Exp(sigma*r.NormFloat64())
}

// ms returns a log-normal duration in milliseconds, at least 1.
func (r *rng) ms(medianMs, sigma float64) int64 {
	return max(1, int64(r.logNormal(medianMs, sigma)))
}

const hexDigits = "0123456789abcdef"

// uuid formats two random words as a version 4 UUID (lowercase, 8-4-4-4-12).
func uuid(hi, lo uint64) string {
	hi = hi&^(0xf<<12) | 0x4<<12 // version 4
	lo = lo&^(0x3<<62) | 0x2<<62 // variant 10
	var b [36]byte
	j := 0
	for i := 0; i < 32; i++ {
		if i == 8 || i == 12 || i == 16 || i == 20 {
			b[j] = '-'
			j++
		}
		w, shift := hi, uint(60-4*i)
		if i >= 16 {
			w, shift = lo, uint(60-4*(i-16))
		}
		b[j] = hexDigits[w>>shift&0xf]
		j++
	}
	return string(b[:])
}

// newUUID draws a version 4 UUID.
func (r *rng) newUUID() string { return uuid(r.Uint64(), r.Uint64()) }

// machineID draws 64 lowercase hex characters, the shape of an HMAC-SHA256 machine ID.
func (r *rng) machineID() string {
	var b [64]byte
	for i := 0; i < 4; i++ {
		w := r.Uint64()
		for k := 0; k < 16; k++ {
			b[i*16+k] = hexDigits[w>>uint(60-4*k)&0xf]
		}
	}
	return string(b[:])
}

// golden is the fractional part of the golden ratio: the sequence frac(a + n·golden) covers
// [0, 1) evenly in every run of consecutive n, which is how the planted effects are
// stratified (see population).
const golden = 0.6180339887498949

// normalQuantile returns the standard normal quantile of q in (0, 1).
func normalQuantile(q float64) float64 {
	q = min(max(q, 1e-9), 1-1e-9)
	return math.Sqrt2 * math.Erfinv(2*q-1)
}
