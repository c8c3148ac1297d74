package insights

import (
	"cmp"
	"math"
	"slices"
)

// twoProportionZ is the pooled two-proportion z-test of x1 of n1 against x2
// of n2: the z statistic and its two-sided p-value. With no variance (both
// shares 0 or both 1) or an empty side it returns z 0 and p 1.
func twoProportionZ(x1, n1, x2, n2 int) (z, p float64) {
	if n1 <= 0 || n2 <= 0 {
		return 0, 1
	}
	p1, p2 := float64(x1)/float64(n1), float64(x2)/float64(n2)
	pool := float64(x1+x2) / float64(n1+n2)
	se := math.Sqrt(pool * (1 - pool) * (1/float64(n1) + 1/float64(n2)))
	if se == 0 || math.IsNaN(se) {
		return 0, 1
	}
	z = (p1 - p2) / se
	return z, math.Erfc(math.Abs(z) / math.Sqrt2)
}

// mannWhitneyGreater is the one-sided Mann-Whitney U test that the first
// sample tends to be larger than the second, by the normal approximation with
// tie and continuity corrections. r1 is the sum of the first sample's ranks
// in the pooled sample (ties get their average rank), ties the sum over the
// groups of tied values of t³−t. It returns the p-value, 1 when a sample is
// empty or every value ties.
func mannWhitneyGreater(n1, n2 int, r1, ties float64) float64 {
	if n1 <= 0 || n2 <= 0 {
		return 1
	}
	a, b := float64(n1), float64(n2)
	n := a + b
	u := r1 - a*(a+1)/2
	v := a * b / 12 * ((n + 1) - ties/(n*(n-1)))
	if v <= 0 || math.IsNaN(v) {
		return 1
	}
	z := (u - a*b/2 - 0.5) / math.Sqrt(v)
	return clampP(0.5 * math.Erfc(z/math.Sqrt2))
}

// binomialAtLeast is P(X ≥ x) for X binomial with n trials of probability p:
// the one-sided p-value of seeing x or more successes. Exact (a sum of the
// probabilities of x…n, in logarithms), 1 when x ≤ 0.
func binomialAtLeast(x, n int, p float64) float64 {
	if x <= 0 {
		return 1
	}
	if x > n {
		return 0
	}
	lp, lq := math.Log(p), math.Log1p(-p)
	ln, _ := math.Lgamma(float64(n + 1))
	sum := 0.0
	for i := x; i <= n; i++ {
		a, _ := math.Lgamma(float64(i + 1))
		b, _ := math.Lgamma(float64(n - i + 1))
		term := math.Exp(ln - a - b + float64(i)*lp + float64(n-i)*lq)
		sum += term
		if term < sum*1e-17 && float64(i) > float64(n)*p {
			break // past the mode the terms only shrink
		}
	}
	return clampP(sum)
}

func clampP(p float64) float64 {
	switch {
	case math.IsNaN(p):
		return 1
	case p < 0:
		return 0
	case p > 1:
		return 1
	}
	return p
}

// z90 is the 0.9 quantile of the standard normal distribution.
const z90 = 1.2815515655446004

// tailStretchGreater is the one-sided rank test that a's upper tail is
// stretched against b's: a linear rank statistic whose scores weigh the
// pooled ranks by how much a stretch of the upper half moves them. The
// value of pooled normal score z (the standard normal quantile of its
// rank/(N+1)) scores 0 at or below the median, (z²−1)/z90 between the median
// and the p90, and z above: the locally most powerful rank test against
// durations whose part above the median is multiplied by a factor growing
// from 1 at the median to its full size at the p90 (a slower p90 with the
// median unchanged). Values just above the median score below zero, since
// such a stretch thins them out. Being a rank test it assumes nothing about
// the durations' distribution: under no change every arrangement of the
// pooled ranks is as likely, and the statistic's mean and variance are the
// exact permutation ones (ties share their scores' average); the p-value is
// the normal approximation. 1 when a side is empty.
func tailStretchGreater(a, b []float64) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 1
	}
	type v struct {
		x float64
		a bool
	}
	pool := make([]v, 0, len(a)+len(b))
	for _, x := range a {
		pool = append(pool, v{x, true})
	}
	for _, x := range b {
		pool = append(pool, v{x, false})
	}
	slices.SortFunc(pool, func(p, q v) int { return cmp.Compare(p.x, q.x) })
	n := len(pool)
	score := func(rank int) float64 {
		z := math.Sqrt2 * math.Erfinv(2*float64(rank)/float64(n+1)-1)
		switch {
		case z <= 0:
			return 0
		case z < z90:
			return (z*z - 1) / z90
		}
		return z
	}
	var t, sum, sumSq float64
	for j := 0; j < n; {
		e := j
		for e < n && pool[e].x == pool[j].x {
			e++
		}
		s := 0.0
		for i := j; i < e; i++ {
			s += score(i + 1)
		}
		s /= float64(e - j)
		for _, p := range pool[j:e] {
			if p.a {
				t += s
			}
			sum += s
			sumSq += s * s
		}
		j = e
	}
	n1, nf := float64(len(a)), float64(n)
	mean := sum / nf
	ss := sumSq - nf*mean*mean
	vt := n1 * (nf - n1) / (nf * (nf - 1)) * ss
	if vt <= 0 || math.IsNaN(vt) {
		return 1
	}
	return clampP(0.5 * math.Erfc((t-n1*mean)/math.Sqrt(vt)/math.Sqrt2))
}
