//go:build !race

package insights

import (
	"context"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/plan"
	"github.com/abacushq/abacus/internal/simulate"
)

// TestDemoSlowdownEveryHour loads serve --demo's population (simulate.Demo)
// ending at six hours of a day, four hours apart, each with another seed,
// and requires the setup report of the last 30 days to list the planted
// windows slowdown, and nothing else, at every one: the demo ends at the
// current hour, and users open it at any. About a minute; not under the
// race detector (make test-norace runs it):
//
//	go test -count=1 -run TestDemoSlowdownEveryHour -v ./internal/insights/
func TestDemoSlowdownEveryHour(t *testing.T) {
	for h := 1; h < 24; h += 4 {
		cfg := simulate.Demo
		cfg.Seed, cfg.End = uint64(h), time.Date(2026, 12, 3, h, 0, 0, 0, time.UTC)
		st, sum := loadSimulated(t, cfg)
		in := New(DuckDB(st.DB()), plan.Default())
		in.now = func() time.Time { return cfg.End }
		r, err := in.Run(context.Background(), "setup", Params{From: cfg.End.AddDate(0, 0, -29), To: cfg.End})
		if err != nil {
			t.Fatal(err)
		}
		reg := r.Summary.(SetupSummary).Regression
		t.Logf("ending %s: %+v", cfg.End.Format(time.DateTime), reg.Where)
		if len(reg.Where) != 1 || reg.Where[0].By != "os" || reg.Where[0].Value != sum.Truths.SlowOS {
			t.Errorf("ending %s: where %+v; want %s alone", cfg.End.Format(time.DateTime), reg.Where, sum.Truths.SlowOS)
		}
		st.Close()
	}
}
