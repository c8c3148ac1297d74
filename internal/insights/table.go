package insights

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"time"
)

// Table returns the report's rows as a grid for `abacus report` (an aligned
// table or CSV): a header and one line per row, numbers formatted for people
// (shares as 12.3%, durations as 1m23s, p-values as 0.0012). The summary and
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
				percent(x.CohortShare), percent(x.RestShare), strconv.FormatFloat(x.Lift, 'f', 2, 64), pValue(x.PValue), x.Direction})
		}
	case []SetupRow:
		header = []string{"dimension", "value", "projects", "p50", "p90", "completion"}
		for _, x := range rs {
			rows = append(rows, []string{x.Dimension, x.Value, count(x.Projects), duration(x.P50Ms), duration(x.P90Ms), percent(x.CompletionRate)})
		}
	case []ErrorRow:
		header = []string{"code", "events", "projects", "first seen", "last seen", "top version", "top os", "top runtime"}
		for _, x := range rs {
			rows = append(rows, []string{x.Code, strconv.FormatInt(x.Events, 10), count(x.Projects), x.FirstSeen, x.LastSeen,
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

func count(n int) string { return strconv.Itoa(n) }

// percent formats a share: 12.3%, 0.05%, 100%.
func percent(f float64) string {
	p := f * 100
	switch {
	case p == 0 || p >= 99.95:
		return strconv.FormatFloat(p, 'f', 0, 64) + "%"
	case p < 0.1:
		return strconv.FormatFloat(p, 'f', 2, 64) + "%"
	}
	return strconv.FormatFloat(p, 'f', 1, 64) + "%"
}

// pValue formats a p-value with four decimals, or as <0.0001.
func pValue(p float64) string {
	if p < 0.0001 {
		return "<0.0001"
	}
	return strconv.FormatFloat(p, 'f', 4, 64)
}

// duration formats milliseconds readably: 850ms, 45s, 1m23s, 2h05m, 3d04h;
// "-" for 0 (not published).
func duration(msec int64) string {
	d := time.Duration(msec) * time.Millisecond
	switch {
	case msec <= 0:
		return "-"
	case d < time.Second:
		return fmt.Sprintf("%dms", msec)
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Round(time.Second)/time.Second))
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	case d < 24*time.Hour:
		d = d.Round(time.Minute)
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	d = d.Round(time.Hour)
	return fmt.Sprintf("%dd%02dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
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
