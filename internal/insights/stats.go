package insights

import "math"

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
