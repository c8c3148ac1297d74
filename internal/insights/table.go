package insights

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"

	"github.com/abacushq/abacus/internal/human"
)

// Table returns the report's rows as a grid for `abacus report`'s aligned
// table: a header and one line per row, numbers formatted for people by
// package human, as on the dashboard (shares as 12.3%, durations as
// 1 min 23 s, p-values as 0.012 or < 0.001, counts as 1,234). The summary
// and the series are not part of it.
func (r *Report) Table() (header []string, rows [][]string, err error) { return r.grid(false) }

// Records returns the same rows as Table for machines (`abacus report
// --format csv`): the header holds the JSON field names and the cells the
// numbers as the JSON has them (1179, 0.1234 for 12.34%, durations in ms,
// p-values as they are), never formatted for people; a quantile not
// published (fewer than k setups) is an empty cell.
func (r *Report) Records() (header []string, rows [][]string, err error) { return r.grid(true) }

// grid builds Table (raw false) or Records (raw true).
func (r *Report) grid(raw bool) (header []string, rows [][]string, err error) {
	c := cells(raw)
	// h picks the header of a column: for people, or the JSON name.
	h := func(names ...string) []string {
		out := make([]string, 0, len(names)/2)
		for i := 0; i < len(names); i += 2 {
			out = append(out, names[i+btoi(raw)])
		}
		return out
	}
	switch rs := r.Rows.(type) {
	case []OverviewRow:
		header = h("dimension", "dimension", "value", "value", "projects", "projects", "share", "share")
		for _, x := range rs {
			rows = append(rows, []string{x.Dimension, x.Value, c.count(int64(x.Projects)), c.percent(x.Share)})
		}
	case []FeatureRow:
		header = h("feature", "feature", "projects", "projects", "adoption", "adoption")
		for _, x := range rs {
			rows = append(rows, []string{x.Feature, c.count(int64(x.Projects)), c.percent(x.Adoption)})
		}
	case []CohortRow:
		header = h("attribute", "attribute", "value", "value", "cohort", "cohortProjects", "rest", "restProjects",
			"cohort share", "cohortShare", "rest share", "restShare", "lift", "lift", "p-value", "pValue", "direction", "direction")
		for _, x := range rs {
			rows = append(rows, []string{x.Attribute, x.Value, c.count(int64(x.CohortProjects)), c.count(int64(x.RestProjects)),
				c.percent(x.CohortShare), c.percent(x.RestShare), c.lift(x.Lift), c.pValue(x.PValue), x.Direction})
		}
	case []SetupRow:
		header = h("dimension", "dimension", "value", "value", "projects", "projects", "p50", "p50Ms", "p90", "p90Ms",
			"completion", "completionRate")
		for _, x := range rs {
			rows = append(rows, []string{x.Dimension, x.Value, c.count(int64(x.Projects)), c.duration(x.P50Ms), c.duration(x.P90Ms),
				c.percent(x.CompletionRate)})
		}
	case []ErrorRow:
		header = h("code", "code", "events", "events", "projects", "projects", "first seen", "firstSeen", "last seen", "lastSeen",
			"top version", "topVersion", "top os", "topOS", "top runtime", "topRuntimeMajor")
		for _, x := range rs {
			rows = append(rows, []string{x.Code, c.count(x.Events), c.count(int64(x.Projects)), x.FirstSeen, x.LastSeen,
				x.TopVersion, x.TopOS, x.TopRuntimeMajor})
		}
	case []PluginRow:
		header = h("plugin", "plugin", "projects", "projects", "share", "share", "previous", "previousProjects", "change", "change")
		for _, x := range rs {
			previous, change := c.hiddenCount(x.PreviousProjects), c.hiddenCount(x.Change)
			if x.Change != nil && !raw {
				change = fmt.Sprintf("%+d", *x.Change)
			}
			rows = append(rows, []string{x.Plugin, c.count(int64(x.Projects)), c.percent(x.Share), previous, change})
		}
	case []RuntimeRow:
		header = h("runtime", "runtime", "major", "major", "version", "version", "projects", "projects", "share", "share",
			"production", "productionShare", "other", "otherShare")
		for _, x := range rs {
			rows = append(rows, []string{x.Runtime, x.Major, x.Version, c.count(int64(x.Projects)), c.percent(x.Share),
				c.hiddenPercent(x.ProductionShare), c.hiddenPercent(x.OtherShare)})
		}
	default:
		return nil, nil, fmt.Errorf("insights: no table for the rows of report %q (%T)", r.Report, r.Rows)
	}
	if rows == nil {
		rows = [][]string{}
	}
	return header, rows, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// cells formats the numbers of a grid: for people by package human, as the
// dashboard does (false), or raw, as the JSON has them (true).
type cells bool

func (c cells) count(n int64) string {
	if c {
		return strconv.FormatInt(n, 10)
	}
	return human.Count(float64(n))
}

func (c cells) float(f float64, forPeople func(float64) string) string {
	if c {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return forPeople(f)
}

func (c cells) percent(f float64) string { return c.float(f, human.Percent) }
func (c cells) pValue(p float64) string  { return c.float(p, human.PValue) }
func (c cells) lift(v float64) string    { return c.float(v, human.Lift) }

// Hidden is the cell, for people, of a number not published because it
// covers fewer than k projects; raw, such a cell is empty.
const Hidden = "hidden"

// duration formats milliseconds; nil is a quantile not published (fewer
// than k setups).
func (c cells) duration(msec *int64) string {
	raw := bool(c)
	switch {
	case msec == nil && raw:
		return ""
	case msec == nil:
		return Hidden
	case raw:
		return strconv.FormatInt(*msec, 10)
	}
	return human.Duration(float64(*msec))
}

// hiddenCount formats a count that is nil when not published.
func (c cells) hiddenCount(n *int) string {
	switch {
	case n == nil && bool(c):
		return ""
	case n == nil:
		return Hidden
	}
	return c.count(int64(*n))
}

// hiddenPercent formats a share that is nil when not published.
func (c cells) hiddenPercent(f *float64) string {
	switch {
	case f == nil && bool(c):
		return ""
	case f == nil:
		return Hidden
	}
	return c.percent(*f)
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
