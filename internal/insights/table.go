package insights

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/abacushq/abacus/internal/human"
)

// Table returns the report's rows as a grid for `abacus report` (an aligned
// table or CSV): a header and one line per row, numbers formatted for people
// by package human, as on the dashboard (shares as 12.3%, durations as
// 1 min 23 s, p-values as 0.012 or < 0.001, counts as 1,234). The summary and
// the series are not part of it.
func (r *Report) Table() (header []string, rows [][]string, err error) {
	switch rs := r.Rows.(type) {
	case []OverviewRow:
		header = []string{"dimension", "value", "projects", "share"}
		for _, x := range rs {
			rows = append(rows, []string{x.Dimension, x.Value, count(x.Projects), percent(x.Share)})
		}
	case []FeatureRow:
		header = []string{"feature", "projects", "adoption"}
		for _, x := range rs {
			rows = append(rows, []string{x.Feature, count(x.Projects), percent(x.Adoption)})
		}
	case []CohortRow:
		header = []string{"attribute", "value", "cohort", "rest", "cohort share", "rest share", "lift", "p-value", "direction"}
		for _, x := range rs {
			rows = append(rows, []string{x.Attribute, x.Value, count(x.CohortProjects), count(x.RestProjects),
				percent(x.CohortShare), percent(x.RestShare), lift(x.Lift), pValue(x.PValue), x.Direction})
		}
	case []SetupRow:
		header = []string{"dimension", "value", "projects", "p50", "p90", "completion"}
		for _, x := range rs {
			rows = append(rows, []string{x.Dimension, x.Value, count(x.Projects), duration(x.P50Ms), duration(x.P90Ms), percent(x.CompletionRate)})
		}
	case []ErrorRow:
		header = []string{"code", "events", "projects", "first seen", "last seen", "top version", "top os", "top runtime"}
		for _, x := range rs {
			rows = append(rows, []string{x.Code, human.Count(float64(x.Events)), count(x.Projects), x.FirstSeen, x.LastSeen,
				x.TopVersion, x.TopOS, x.TopRuntimeMajor})
		}
	case []PluginRow:
		header = []string{"plugin", "projects", "share", "previous", "change"}
		for _, x := range rs {
			rows = append(rows, []string{x.Plugin, count(x.Projects), percent(x.Share), count(x.PreviousProjects), fmt.Sprintf("%+d", x.Change)})
		}
	case []RuntimeRow:
		header = []string{"runtime", "major", "version", "projects", "share", "production", "other"}
		for _, x := range rs {
			rows = append(rows, []string{x.Runtime, x.Major, x.Version, count(x.Projects), percent(x.Share),
				percent(x.ProductionShare), percent(x.OtherShare)})
		}
	default:
		return nil, nil, fmt.Errorf("insights: no table for the rows of report %q (%T)", r.Report, r.Rows)
	}
	if rows == nil {
		rows = [][]string{}
	}
	return header, rows, nil
}

// The cells use package human, as the dashboard does.

func count(n int) string       { return human.Count(float64(n)) }
func percent(f float64) string { return human.Percent(f) }
func pValue(p float64) string  { return human.PValue(p) }
func lift(v float64) string    { return human.Lift(v) }

// duration formats milliseconds; 0 is a quantile not published (fewer than
// k setups): "–".
func duration(msec int64) string {
	if msec <= 0 {
		return human.NA
	}
	return human.Duration(float64(msec))
}

// UnmarshalJSON decodes a report from its JSON (as the HTTP API serves it)
// into the report's own types, so that a client such as `abacus report
// --server` can print its Table. A report name it does not know keeps the
// generic JSON values.
func (r *Report) UnmarshalJSON(data []byte) error {
	type plain Report // without this method
	var raw struct {
		plain
		Summary json.RawMessage `json:"summary"`
		Rows    json.RawMessage `json:"rows"`
		Series  json.RawMessage `json:"series"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*r = Report(raw.plain)
	var sum, rows, series any
	switch r.Report {
	case "overview":
		sum, rows, series = &OverviewSummary{}, &[]OverviewRow{}, &[]OverviewPoint{}
	case "features":
		sum, rows, series = &FeaturesSummary{}, &[]FeatureRow{}, &[]FeaturePoint{}
	case "cohort":
		sum, rows, series = &CohortSummary{}, &[]CohortRow{}, &[]CohortPoint{}
	case "setup":
		sum, rows, series = &SetupSummary{}, &[]SetupRow{}, &[]SetupPoint{}
	case "errors":
		sum, rows, series = &ErrorsSummary{}, &[]ErrorRow{}, &[]ErrorPoint{}
	case "plugins":
		sum, rows, series = &PluginsSummary{}, &[]PluginRow{}, &[]PluginPoint{}
	case "runtimes":
		sum, rows, series = &RuntimesSummary{}, &[]RuntimeRow{}, &[]RuntimePoint{}
	default:
		sum, rows, series = new(any), new(any), new(any)
	}
	for _, f := range []struct {
		raw json.RawMessage
		v   any
	}{{raw.Summary, sum}, {raw.Rows, rows}, {raw.Series, series}} {
		if len(f.raw) == 0 || string(f.raw) == "null" {
			continue
		}
		if err := json.Unmarshal(f.raw, f.v); err != nil {
			return fmt.Errorf("insights: cannot decode the %s report: %w", r.Report, err)
		}
	}
	r.Summary, r.Rows, r.Series = deref(sum), deref(rows), deref(series)
	return nil
}

// deref returns the value a pointer made by UnmarshalJSON points to.
func deref(p any) any {
	return reflect.ValueOf(p).Elem().Interface()
}
