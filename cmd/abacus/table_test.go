package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/abacushq/abacus/internal/insights"
)

// The table speaks as the dashboard does: human units, correct plurals, no
// raw floats or milliseconds, and the setup report's verdict. (The summaries
// are given as their JSON shapes, as a client of the API decodes them; a
// map's keys come sorted.)
func TestTablePrintsHumanUnits(t *testing.T) {
	for _, tc := range []struct {
		name      string
		rep       *insights.Report
		want, bad []string
	}{
		{"overview", &insights.Report{Report: "overview", From: "2026-11-04", To: "2026-12-03", K: 5, ActiveProjects: 1, Suppressed: 1,
			Summary: map[string]any{"machines": 1234, "events": 1, "ciShare": 0.16962524654832348},
			Rows:    []insights.OverviewRow{{Dimension: "os", Value: "linux", Projects: 12345, Share: 0.1234}}},
			[]string{"1 active project (1 group under 5 projects hidden)", "ci share 17.0%, events 1, machines 1,234", "12,345", "12.3%"},
			[]string{"0.1696", "1 groups", "1 active projects", "ciShare"}},
		{"setup slower on windows", &insights.Report{Report: "setup", From: "2026-11-04", To: "2026-12-03", K: 5, ActiveProjects: 300, Suppressed: 0,
			Summary: map[string]any{"started": 250, "completionRate": 0.9, "within": "168h", "p50Ms": 397089, "p90Ms": 1800000,
				"regression": map[string]any{"flag": true, "tested": true, "metric": "", "lastWeek": "2026-11-23", "p50PValue": 0.5, "p90PValue": 0.2,
					"where": []map[string]any{{"by": "os", "value": "windows", "quantile": "p90", "before": 1200000, "after": 3000000, "p": 0.0004}}}},
			Rows: []insights.SetupRow{{Dimension: "os", Value: "windows", Projects: 40, P50Ms: ptr[int64](83000), P90Ms: ptr[int64](5400000), CompletionRate: 0.925}}},
			[]string{"300 active projects (no groups under 5 projects hidden)", "p50 6 min 37 s", "p90 30 min", "completion rate 90.0%,", "started 250, within 7 d",
				"Slower than before? Yes, on os windows: p90 50 min, was 20 min (p < 0.001); all setups: p50", "1 min 23 s", "1 h 30 min", "92.5%"},
			[]string{"397089", "p50Ms", "1m23s", "0.9,", "168h"}},
		{"setup with hidden quantiles", &insights.Report{Report: "setup", From: "2026-11-04", To: "2026-12-03", K: 5, ActiveProjects: 2, Suppressed: 3,
			Summary: map[string]any{"started": 1, "p50Ms": nil, "p90Ms": nil}, Rows: []insights.SetupRow{}},
			[]string{"p50 hidden (fewer than 5 projects)", "p90 hidden (fewer than 5 projects)", "3 groups under 5 projects hidden",
				"(no rows: at least 5 projects must have sent events in the window before a row can be shown, for privacy; 2 did)"},
			[]string{"p50 0", "p50 –"}},
		{"setup not slower", &insights.Report{Report: "setup", From: "2026-11-04", To: "2026-12-03", K: 5,
			Summary: map[string]any{"regression": map[string]any{"flag": false, "tested": true, "lastWeek": "2026-11-23", "p50PValue": 0.41, "p90PValue": 0.0771}},
			Rows:    []insights.SetupRow{}},
			[]string{"Slower than before? No (week of 2026-11-23 against the four before; p50: p = 0.410, p90: p = 0.077)"}, nil},
		{"setup not tested", &insights.Report{Report: "setup", From: "2026-11-04", To: "2026-12-03", K: 5,
			Summary: map[string]any{"regression": map[string]any{"flag": false, "tested": false, "lastWeek": "2026-11-23", "p50PValue": 1, "p90PValue": 1}},
			Rows:    []insights.SetupRow{}},
			[]string{"Slower than before? Not known yet: it needs enough completed setups"}, []string{"Slower than before? No ("}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := printReport(&out, tc.rep, "table"); err != nil {
				t.Fatal(err)
			}
			s := out.String()
			for _, w := range tc.want {
				if !strings.Contains(s, w) {
					t.Errorf("the table lacks %q:\n%s", w, s)
				}
			}
			for _, b := range tc.bad {
				if strings.Contains(s, b) {
					t.Errorf("the table holds %q:\n%s", b, s)
				}
			}
			if raw := regexp.MustCompile(`\d\.\d{4,}`).FindString(s); raw != "" {
				t.Errorf("the table holds the raw number %s:\n%s", raw, s)
			}
		})
	}
}
