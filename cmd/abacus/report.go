package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/abacushq/abacus/internal/human"
	"github.com/abacushq/abacus/internal/insights"
	"github.com/abacushq/abacus/internal/store/duckdb"
)

// report runs `abacus report NAME`: against a running collector (--server,
// token from ABACUS_TOKEN) or straight from the data directory of a stopped
// one (--data).
func report(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("report", "report NAME [--server URL | --data DIR] [--last 30d | --from D --to D] [--format table|json|csv]\n\n  NAME: "+strings.Join(insights.Names, ", "), stderr)
	server := fs.String("server", defaultServer, "the collector's base URL (token from ABACUS_TOKEN; http:// assumed without a scheme)")
	data := fs.String("data", "", "read the data directory of a stopped collector instead of asking a server")
	planFile := fs.String("plan", "", "with --data: the tracking plan the collector used (default: built-in)")
	last := fs.String("last", "", "window ending today, as 30d or 12w (default 30d)")
	from := fs.String("from", "", "first day of the window, YYYY-MM-DD (UTC)")
	to := fs.String("to", "", "last day of the window, YYYY-MM-DD (UTC)")
	feature := fs.String("feature", "", "cohort: the feature whose users form the cohort")
	event := fs.String("event", "", "cohort: the event whose senders form the cohort")
	format := fs.String("format", "table", "table (numbers for people), json, or csv (raw numbers, as in the JSON)")
	// Accept NAME before or after the flags.
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	rest := fs.Args()
	if name == "" && len(rest) > 0 {
		name, rest = rest[0], rest[1:]
	}
	if name == "" {
		fs.Usage()
		return fmt.Errorf("%w: expected a report NAME: %s", errUsage, strings.Join(insights.Names, ", "))
	}
	if len(rest) > 0 {
		return fmt.Errorf("%w: unexpected argument %q after the report NAME %q (flags start with --)", errUsage, rest[0], name)
	}
	if *data != "" && isSet(fs, "server") {
		return fmt.Errorf("%w: --data and --server: expected one of them (--data reads a stopped collector's directory, --server asks a running one)", errUsage)
	}
	if *planFile != "" && *data == "" {
		return fmt.Errorf("%w: --plan: expected only with --data (a running collector uses its own plan)", errUsage)
	}
	if *format != "table" && *format != "json" && *format != "csv" {
		return fmt.Errorf("%w: --format: expected table, json or csv, got %q", errUsage, *format)
	}
	q := url.Values{}
	for k, v := range map[string]string{"last": *last, "from": *from, "to": *to, "feature": *feature, "event": *event} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var rep *insights.Report
	var err error
	if *data != "" {
		rep, err = localReport(*data, *planFile, name, q)
	} else {
		rep = new(insights.Report)
		err = adminRequest("GET", *server, "/api/v1/reports/"+url.PathEscape(name)+"?"+q.Encode(), rep)
	}
	if err != nil {
		return err
	}
	return printReport(stdout, rep, *format)
}

// localReport computes a report from a data directory.
func localReport(dir, planFile, name string, q url.Values) (*insights.Report, error) {
	path := filepath.Join(dir, "events.duckdb")
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("--data: no events.duckdb in %s: %w", dir, err)
	}
	p, err := loadPlan(planFile)
	if err != nil {
		return nil, err
	}
	st, err := duckdb.Open(path, duckdb.Options{})
	if err != nil {
		return nil, fmt.Errorf("cannot open %s (is its collector still running?): %w", path, err)
	}
	defer st.Close()
	params, err := insights.ParseParams(q, time.Now().UTC())
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	return insights.New(insights.DuckDB(st.DB()), p).Run(context.Background(), name, params)
}

// printReport prints a report as indented JSON, as CSV of its rows (raw
// numbers, the JSON's field names as header), or as a header line, the
// summary's figures and an aligned table of its rows (numbers for people). The
// rows hold values clients sent: CSV cells a spreadsheet would evaluate are
// neutralised (csvCell), and the table escapes control characters (termCell).
func printReport(w io.Writer, rep *insights.Report, format string) error {
	if format == "json" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	}
	if format == "csv" {
		// For machines: raw numbers (1179, 0.25, ms), never "1,179".
		header, rows, err := rep.Records()
		if err != nil {
			return err
		}
		cw := csv.NewWriter(w)
		for _, r := range append([][]string{header}, rows...) {
			cells := make([]string, len(r))
			for i, c := range r {
				cells[i] = csvCell(c)
			}
			cw.Write(cells)
		}
		cw.Flush()
		return cw.Error()
	}
	header, rows, err := rep.Table()
	if err != nil {
		return err
	}
	hidden := human.Plural(rep.Suppressed, "group")
	if rep.Suppressed == 0 {
		hidden = "no groups"
	}
	fmt.Fprintf(w, "%s, %s to %s: %s (%s under %d projects hidden)\n",
		termCell(rep.Report), termCell(rep.From), termCell(rep.To), human.Plural(rep.ActiveProjects, "active project"),
		hidden, rep.K)
	for _, line := range summaryLines(rep.Summary, rep.K) {
		fmt.Fprintln(w, termCell(line))
	}
	fmt.Fprintln(w)
	if len(rows) == 0 {
		// Say why, as the dashboard's empty state does.
		switch {
		case rep.ActiveProjects < rep.K:
			fmt.Fprintf(w, "(no rows: at least %d projects must have sent events in the window before a row can be shown, for privacy; %s did)\n",
				rep.K, human.Count(float64(rep.ActiveProjects)))
		case rep.Suppressed > 0:
			fmt.Fprintf(w, "(no rows: every group covered fewer than %d projects and is hidden)\n", rep.K)
		default:
			fmt.Fprintln(w, "(no rows)")
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, r := range append([][]string{header}, rows...) {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = termCell(c)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	return tw.Flush()
}

// summaryLines describes the summary for people: its scalar figures in
// field order on one line, formatted by package format as on the dashboard
// (p50Ms 397089 reads p50 6 min 37 s, ciShare 0.1696 reads ci share 17.0%),
// and the setup report's verdict on whether setup got slower. A figure not
// published (null: fewer than k projects) reads "hidden (fewer than k
// projects)".
func summaryLines(summary any, minK int) []string {
	b, err := json.Marshal(summary)
	if err != nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var parts, lines []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		k, _ := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil
		}
		if k == "regression" {
			lines = append(lines, regressionVerdict(raw))
			continue
		}
		var v any
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if d.Decode(&v) != nil {
			continue
		}
		switch x := v.(type) {
		case json.Number:
			parts = append(parts, label(k)+" "+figure(k, x))
		case string:
			if d, err := time.ParseDuration(x); err == nil && d > 0 {
				x = human.Duration(float64(d.Milliseconds())) // within 168h reads within 7 d
			}
			if x != "" {
				parts = append(parts, label(k)+" "+x)
			}
		case bool:
			parts = append(parts, label(k)+" "+map[bool]string{true: "yes", false: "no"}[x])
		case nil:
			parts = append(parts, fmt.Sprintf("%s hidden (fewer than %d projects)", label(k), minK))
		}
	}
	if len(parts) > 0 {
		lines = append([]string{strings.Join(parts, ", ")}, lines...)
	}
	return lines
}

// label turns a JSON name into words: completionRate is "completion rate",
// p50Ms is "p50".
func label(k string) string {
	k = strings.TrimSuffix(k, "Ms")
	var b strings.Builder
	for i, r := range k {
		if i > 0 && unicode.IsUpper(r) {
			b.WriteByte(' ')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// figure formats a summary number by what its name says it is.
func figure(k string, n json.Number) string {
	f, err := n.Float64()
	if err != nil {
		return n.String()
	}
	lk := strings.ToLower(k)
	switch {
	case strings.HasSuffix(k, "Ms"):
		return human.Duration(f)
	case strings.HasSuffix(lk, "pvalue") || k == "p":
		return human.PValue(f)
	case strings.HasSuffix(lk, "share") || strings.HasSuffix(lk, "rate") || strings.HasSuffix(lk, "adoption"):
		return human.Percent(f)
	case strings.HasSuffix(lk, "lift"):
		return human.Lift(f)
	}
	return human.Count(f)
}

// regressionVerdict answers "Slower than before?" from the setup report's
// regression, as the dashboard's setup page does.
func regressionVerdict(raw json.RawMessage) string {
	var r struct {
		Flag, Tested           bool
		Metric, LastWeek, Test string
		LastP50Ms, PriorP50Ms  float64
		LastP90Ms, PriorP90Ms  float64
		P50PValue, P90PValue   float64
		Where                  []struct {
			By, Value, Quantile string
			Before, After, P    float64
		}
	}
	if json.Unmarshal(raw, &r) != nil {
		return ""
	}
	if !r.Tested {
		return "Slower than before? Not known yet: it needs enough completed setups in the last full week and in the four weeks before it"
	}
	week := fmt.Sprintf("week of %s against the four before; p50: %s, p90: %s",
		r.LastWeek, human.P(r.P50PValue), human.P(r.P90PValue))
	var where []string
	for _, w := range r.Where {
		where = append(where, fmt.Sprintf("%s %s: %s %s, was %s (%s)", label(w.By), w.Value, w.Quantile,
			human.Duration(w.After), human.Duration(w.Before), human.P(w.P)))
	}
	overall := fmt.Sprintf("p50 %s (was %s), p90 %s (was %s); %s",
		human.Duration(r.LastP50Ms), human.Duration(r.PriorP50Ms), human.Duration(r.LastP90Ms), human.Duration(r.PriorP90Ms), week)
	// As the dashboard: where setups got slower first, then all setups.
	switch {
	case len(where) > 0:
		return "Slower than before? Yes, on " + strings.Join(where, "; ") + "; all setups: " + overall
	case r.Flag:
		return fmt.Sprintf("Slower than before? Yes, %s rose: %s", r.Metric, overall)
	}
	return "Slower than before? No (" + week + ")"
}
