//go:build !race

package insights

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/simulate"
)

// TestRegressionWherePower measures regressionWhere's false-positive rate
// and power on generated populations (about a minute; not under the race
// detector, which makes it many: make test-norace runs it):
//
//	go test -count=1 -run TestRegressionWherePower -v ./internal/insights/
//
// Setup durations are drawn independently from internal/simulate's setup
// distribution (its floor plus a log-normal part with its median and p90;
// the simulator itself stratifies the quantiles, which would understate the
// noise). Each population has 300 to 3000 setups a week over ten weeks (the
// eight weeks before and the two compared, as the setup report reads them),
// machines split by OS as the simulator's laptops (darwin 62%, windows 26%,
// linux 12%), runtime major 18/20/22 (25/45/30%) and product version
// 5.2.0/5.3.0/5.4.0 (20/40/40%), drawn independently. 200 populations have
// no regression; in 200 others one segment with at least 200 setups a week
// gets a p90 ×1.5 in the last two weeks — the simulator's shape (the upper
// half of the log-normal part stretched up to ×1.5 at the p90, the median
// unchanged) — and in 200 more the whole log-normal part ×1.5. A false
// positive is any segment listed where nothing was planted (the "all"
// segment counts as a hit when the planted one is also found). It fails
// when the false-positive rate passes 1% or either power is under 90%.
func TestRegressionWherePower(t *testing.T) {
	truth, err := simulate.TruthsFor(simulate.Config{})
	if err != nil {
		t.Fatal(err)
	}
	floor := float64(truth.SetupFloor.Milliseconds())
	med := float64(truth.SetupMedian.Milliseconds()) - floor
	sigma := math.Log((float64(truth.SetupP90.Milliseconds())-floor)/med) / z90
	type weighted struct {
		v string
		w float64
	}
	dims := []struct {
		by     string
		values []weighted
	}{
		{"os", []weighted{{"darwin", 0.62}, {"windows", 0.26}, {"linux", 0.12}}},
		{"runtimeMajor", []weighted{{"18", 0.25}, {"20", 0.45}, {"22", 0.30}}},
		{"productVersion", []weighted{{"5.2.0", 0.2}, {"5.3.0", 0.4}, {"5.4.0", 0.4}}},
	}
	pick := func(r *rand.Rand, vs []weighted) string {
		x := r.Float64()
		for _, v := range vs {
			if x -= v.w; x < 0 {
				return v.v
			}
		}
		return vs[len(vs)-1].v
	}
	const week = int64(7 * 24 * time.Hour / time.Millisecond)
	prior, recent, end := int64(0), whereBefore/7*week, (whereBefore+whereDays)/7*week
	// run generates one population and returns whether the detector listed
	// the planted segment and whether it listed any other.
	run := func(seed uint64, shape string) (hit, other bool) {
		r := rand.New(rand.NewPCG(seed, 0x5e7))
		perWeek := 300 + r.IntN(2701)
		di, vi := -1, -1
		if shape != "" {
			for di < 0 || float64(perWeek)*dims[di].values[vi].w < 200 {
				di, vi = r.IntN(3), r.IntN(3)
			}
		}
		n := int(int64(perWeek) * end / week)
		ss := make([]setupSample, n)
		for i := range ss {
			vals := make([]string, 3)
			for d := range dims {
				vals[d] = pick(r, dims[d].values)
			}
			t0 := r.Int64N(end)
			z := r.NormFloat64()
			stretch := 1.0
			if di >= 0 && t0 >= recent && vals[di] == dims[di].values[vi].v {
				switch shape {
				case "tail":
					if z > 0 {
						stretch = math.Pow(1.5, min(1, z/z90))
					}
				case "whole":
					stretch = 1.5
				}
			}
			ss[i] = setupSample{T0: t0, Dur: math.Round(floor + med*math.Exp(sigma*z)*stretch), OS: vals[0], RM: vals[1], PV: vals[2]}
		}
		where, _ := regressionWhere(ss, recent, end, prior, 5)
		for _, w := range where {
			switch {
			case di >= 0 && w.By == dims[di].by && w.Value == dims[di].values[vi].v:
				hit = true
			case w.By == "all" && di >= 0:
			default:
				other = true
			}
		}
		return hit, other
	}
	const populations = 200
	falseNull := 0
	for i := range populations {
		if _, f := run(uint64(i), ""); f {
			falseNull++
		}
	}
	fpr := float64(falseNull) / populations
	power := map[string]float64{}
	for _, shape := range []string{"tail", "whole"} {
		hits := 0
		for i := range populations {
			if h, _ := run(uint64(1000+i), shape); h {
				hits++
			}
		}
		power[shape] = float64(hits) / populations
	}
	fmt.Printf("regressionWhere on %d populations each: false-positive rate %.1f%% (%d of %d); power for p90 ×1.5 in a segment of ≥ 200 setups a week: %.1f%% (upper-half stretch, the simulator's shape), %.1f%% (whole distribution ×1.5)\n",
		populations, 100*fpr, falseNull, populations, 100*power["tail"], 100*power["whole"])
	if fpr > 0.01 {
		t.Errorf("false-positive rate %.1f%%, want ≤ 1%%", 100*fpr)
	}
	for _, shape := range []string{"tail", "whole"} {
		if power[shape] < 0.9 {
			t.Errorf("power for a p90 ×1.5 (%s) %.1f%%, want ≥ 90%%", shape, 100*power[shape])
		}
	}
}
