package insights

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestRegressionWhereExplainsAway plants a slower p90 on windows only, where
// most windows machines run runtime major 20: the setups of major 20 get
// slower too, through their windows setups alone. The detector must say
// windows, and not major 20 (nor "all"), which it listed before it tested
// each listed segment again without the others' setups. With 99% of the
// windows setups on major 20, windows without them is too small to test,
// and the more significant of the two explains the other.
func TestRegressionWhereExplainsAway(t *testing.T) {
	for _, on20 := range []float64{0.9, 0.99} {
		testExplainsAway(t, on20)
	}
}

func testExplainsAway(t *testing.T, on20 float64) {
	r := rand.New(rand.NewPCG(3, 14))
	const week = int64(7 * 24 * time.Hour / time.Millisecond)
	prior, recent, end := int64(0), 8*week, 10*week
	var ss []setupSample
	for range 20000 {
		s := setupSample{T0: r.Int64N(end), OS: "darwin", RM: "18", PV: "5.4.0"}
		windows := r.Float64() < 0.3
		switch {
		case windows:
			s.OS = "windows"
			if r.Float64() < on20 {
				s.RM = "20"
			}
		case r.Float64() < 0.3:
			s.RM = "20"
		}
		z := r.NormFloat64()
		stretch := 1.0
		if windows && s.T0 >= recent && z > 0 {
			stretch = math.Pow(2, min(1, z/z90))
		}
		s.Dur = math.Round(40000 + 360000*math.Exp(1.3*z)*stretch)
		ss = append(ss, s)
	}
	where, tested := regressionWhere(ss, recent, end, prior, 5)
	if tested < 5 {
		t.Fatalf("%d segments tested, want every OS, runtime major and product version and all", tested)
	}
	if len(where) != 1 || where[0].By != "os" || where[0].Value != "windows" {
		t.Fatalf("%.0f%% of windows on major 20: listed %+v; want windows alone", 100*on20, where)
	}
	if where[0].After < 3*where[0].Before/2 {
		t.Errorf("windows p90 %d ms, before %d: the planted ×2 is not what it reports", where[0].After, where[0].Before)
	}
}
