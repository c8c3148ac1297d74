package insights

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// answers are the numbers of a report or of its reference query, by key
// ("day:2026-01-05:events" → 1234): what sameAnswers compares.
type answers map[string]float64

// sameAnswers runs the reference query of a report and compares its numbers
// with those of the report computed with k = 1 (nothing suppressed or
// folded): every number both compute must be equal (quantiles to the
// millisecond, shares to 1e-9), and each side must have every key of the
// other. It returns the differences, at most 10, and how many numbers agreed.
func sameAnswers(ctx context.Context, db *sql.DB, name string, r *Report, args []any) (diffs []string, agreed int, err error) {
	var ref [][]any
	for _, q := range referenceSQL[name] {
		rows, err := queryAll(ctx, db, q, args)
		if err != nil {
			return nil, 0, err
		}
		ref = append(ref, rows...)
	}
	got, want := reportAnswers(r), referenceAnswers(name, ref, r)
	keys := map[string]bool{}
	for k := range got {
		keys[k] = true
	}
	for k := range want {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		g, okG := got[k]
		w, okW := want[k]
		tol := 1e-9
		if strings.HasSuffix(k, "Ms") {
			tol = 1
		}
		switch {
		case !okG:
			diffs = append(diffs, fmt.Sprintf("%s: report has none, reference %v", k, w))
		case !okW:
			diffs = append(diffs, fmt.Sprintf("%s: report %v, reference has none", k, g))
		case math.Abs(g-w) > tol:
			diffs = append(diffs, fmt.Sprintf("%s: report %v, reference %v", k, g, w))
		default:
			agreed++
		}
		if len(diffs) == 10 {
			break
		}
	}
	return diffs, agreed, nil
}

func queryAll(ctx context.Context, db *sql.DB, query string, args []any) ([][]any, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]any
	for rows.Next() {
		dest := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range dest {
			ptrs[i] = &dest[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out = append(out, dest)
	}
	return out, rows.Err()
}

// str and num read a reference query's value; str of NULL is "".
func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case time.Time:
		return x.UTC().Format(dateLayout)
	case []byte:
		return string(x)
	case string:
		if len(x) >= 10 && x[4] == '-' && x[7] == '-' {
			return x[:10] // a date_trunc'd timestamp
		}
		return x
	}
	return fmt.Sprint(v)
}

func num(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	case float64:
		return x
	case nil:
		return math.NaN()
	}
	var f float64
	fmt.Sscan(fmt.Sprint(v), &f)
	return f
}

// orZero is *p, 0 for a number not published.
func orZero[T int | int64 | float64](p *T) float64 {
	if p == nil {
		return 0
	}
	return float64(*p)
}

// reportAnswers picks the numbers of a report that its reference query
// computes too.
func reportAnswers(r *Report) answers {
	a := answers{"activeProjects": float64(r.ActiveProjects)}
	switch s := r.Summary.(type) {
	case OverviewSummary:
		a["machines"], a["events"], a["ciProjects"] = float64(s.Machines), float64(s.Events), math.Round(s.CIShare*float64(r.ActiveProjects))
	case CohortSummary:
		a["cohort"], a["rest"] = orZero(s.Cohort), orZero(s.Rest)
		delete(a, "activeProjects")
	case SetupSummary:
		a["started"], a["completed"] = float64(s.Started), float64(s.Completed)
		a["p50Ms"], a["p75Ms"], a["p90Ms"] = orZero(s.P50Ms), orZero(s.P75Ms), orZero(s.P90Ms)
	case PluginsSummary:
		a["previousActiveProjects"] = float64(s.PreviousActiveProjects)
	}
	switch rows := r.Rows.(type) {
	case []OverviewRow:
		for _, x := range rows {
			a["row:"+x.Dimension+":"+x.Value] = float64(x.Projects)
		}
	case []FeatureRow:
		for _, x := range rows {
			a["row:"+x.Feature] = float64(x.Projects)
		}
	case []CohortRow:
		for _, x := range rows {
			a["row:"+x.Attribute+":"+x.Value+":cohort"] = float64(x.CohortProjects)
			a["row:"+x.Attribute+":"+x.Value+":rest"] = float64(x.RestProjects)
		}
	case []SetupRow:
		for _, x := range rows {
			k := "row:" + x.Dimension + ":" + x.Value
			a[k+":started"], a[k+":p50Ms"], a[k+":p90Ms"] = float64(x.Projects), orZero(x.P50Ms), orZero(x.P90Ms)
		}
	case []ErrorRow:
		for _, x := range rows {
			a["row:"+x.Code+":events"], a["row:"+x.Code+":projects"] = float64(x.Events), float64(x.Projects)
		}
	case []PluginRow:
		for _, x := range rows {
			a["row:"+x.Plugin+":projects"], a["row:"+x.Plugin+":previous"] = float64(x.Projects), orZero(x.PreviousProjects)
		}
	case []RuntimeRow:
		delete(a, "activeProjects") // counted by the reference's () grouping below
		for _, x := range rows {
			a["row:"+x.Runtime+":"+x.Major+":"+x.Version] = float64(x.Projects)
		}
	}
	switch pts := r.Series.(type) {
	case []OverviewPoint:
		for _, x := range pts {
			a["day:"+x.Date+":events"], a["day:"+x.Date+":projects"] = float64(x.Events), float64(x.ActiveProjects)
		}
	case []FeaturePoint:
		for _, x := range pts {
			a["week:"+x.Week+":"+x.Feature] = float64(x.Projects)
		}
	case []SetupPoint:
		for _, x := range pts {
			a["week:"+x.Week+":started"], a["week:"+x.Week+":completed"] = float64(x.Started), float64(x.Completed)
		}
	case []ErrorPoint:
		for _, x := range pts {
			a["week:"+x.Week+":"+x.Code+":events"], a["week:"+x.Week+":"+x.Code+":projects"] = float64(x.Events), float64(x.Projects)
		}
	case []RuntimePoint:
		for _, x := range pts {
			a["week:"+x.Week+":"+x.Runtime+":"+x.Major] = x.Share
		}
	}
	return a
}

// referenceAnswers reads the same numbers from the rows of a reference
// query (see referenceSQL for their columns). r is the report, for the keys
// the reference has no rows for (a cohort value only one side has).
func referenceAnswers(name string, ref [][]any, r *Report) answers {
	a := answers{}
	switch name {
	case "overview":
		for _, row := range ref {
			switch {
			case len(row) == 3 && str(row[0]) != "" && !strings.ContainsAny(str(row[0]), "abcdefghijklmnopqrstuvwxyz"):
				a["day:"+str(row[0])+":events"], a["day:"+str(row[0])+":projects"] = num(row[1]), num(row[2])
			case len(row) == 3:
				if str(row[1]) != "" {
					a["row:"+str(row[0])+":"+str(row[1])] = num(row[2])
				}
			case len(row) == 4:
				a["events"], a["activeProjects"], a["machines"], a["ciProjects"] = num(row[0]), num(row[1]), num(row[2]), num(row[3])
			}
		}
	case "features":
		for _, row := range ref {
			switch str(row[0]) {
			case "total":
				a["activeProjects"] = num(row[3])
			case "point":
				if str(row[2]) != "" {
					a["week:"+str(row[1])+":"+str(row[2])] = num(row[3])
				}
			case "row":
				if str(row[2]) != "" {
					a["row:"+str(row[2])] = num(row[3])
				}
			}
		}
	case "cohort":
		for _, row := range ref {
			if str(row[0]) == "" {
				a["cohort"], a["rest"] = num(row[2]), num(row[3])
				continue
			}
			// With k = 1 the report lists a value only when both sides have it.
			if num(row[2]) >= 1 && num(row[3]) >= 1 {
				k := "row:" + str(row[0]) + ":" + str(row[1])
				a[k+":cohort"], a[k+":rest"] = num(row[2]), num(row[3])
			}
		}
	case "setup":
		for _, row := range ref {
			if len(row) == 1 {
				a["activeProjects"] = num(row[0])
				continue
			}
			part, key := str(row[0]), str(row[1])
			switch part {
			case "total":
				a["started"], a["completed"] = num(row[2]), num(row[3])
				a["p50Ms"], a["p75Ms"], a["p90Ms"] = math.Round(num(row[4])), math.Round(num(row[5])), math.Round(num(row[6]))
			case "week":
				a["week:"+key+":started"], a["week:"+key+":completed"] = num(row[2]), num(row[3])
			case "os", "runtimeMajor":
				if key != "" {
					k := "row:" + part + ":" + key
					a[k+":started"], a[k+":p50Ms"], a[k+":p90Ms"] = num(row[2]), math.Round(num(row[4])), math.Round(num(row[6]))
				}
			}
		}
	case "errors":
		for _, row := range ref {
			if len(row) == 1 {
				a["activeProjects"] = num(row[0])
				continue
			}
			code := str(row[1])
			switch str(row[0]) {
			case "row":
				a["row:"+code+":events"], a["row:"+code+":projects"] = num(row[3]), num(row[4])
			case "point":
				a["week:"+str(row[2])+":"+code+":events"], a["week:"+str(row[2])+":"+code+":projects"] = num(row[3]), num(row[4])
			}
		}
	case "plugins":
		for _, row := range ref {
			if row[0] == nil {
				a["activeProjects"], a["previousActiveProjects"] = num(row[1]), num(row[2])
				continue
			}
			if num(row[1]) >= 1 { // with k = 1 the report lists the plugins of this window
				a["row:"+str(row[0])+":projects"], a["row:"+str(row[0])+":previous"] = num(row[1]), num(row[2])
			}
		}
	case "runtimes":
		weekTotal := map[string]float64{}
		for _, row := range ref {
			if str(row[0]) == "point" && row[2] == nil {
				weekTotal[str(row[1])] = num(row[5])
			}
		}
		for _, row := range ref {
			switch {
			case str(row[0]) == "row" && row[2] != nil:
				a["row:"+str(row[2])+":"+str(row[3])+":"+str(row[4])] = num(row[5])
			case str(row[0]) == "point" && row[2] != nil:
				a["week:"+str(row[1])+":"+str(row[2])+":"+str(row[3])] = num(row[5]) / weekTotal[str(row[1])]
			}
		}
	}
	return a
}
