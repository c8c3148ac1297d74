package insights

import (
	"context"
	"time"
)

// Backend is a store's side of the reports. The reports' logic — k-anonymity,
// statistics, ordering, shaping — is written once, in this package, over the
// typed aggregations of Queries; each store answers them in its own dialect
// (DuckDB's in duckdb.go, ClickHouse's in internal/store/clickhouse).
// Backends must give the same answers for the same events: the equivalence
// test in internal/store/clickhouse holds them to it.
type Backend interface {
	// Snapshot opens a consistent read of the store for one report; the
	// caller closes it.
	Snapshot(ctx context.Context) (Queries, error)
}

// Queries are the aggregations the reports are made of, over one snapshot.
//
// Every count of projects is of distinct project IDs, over the events whose
// time is in the window [Lo, Hi). A value that is missing (NULL in DuckDB,
// the empty string in ClickHouse) is "" in the answers and never counted as
// a value. Where a query takes k, it folds the values that fewer than k
// projects have into one row of value "other" (counting the distinct
// projects of the folded values together, which only the store can do) and
// says how many values it folded. Answers come in no particular order: the
// reports sort them.
type Queries interface {
	Close() error
	// ActiveProjects counts the projects with an event in w.
	ActiveProjects(ctx context.Context, w Window) (int, error)
	// Daily counts the events and the projects of w, and of each of its
	// days that has events.
	Daily(ctx context.Context, w Window) (total DayCount, days []DayCount, err error)
	// Dimensions counts the projects with an event in w of each environment,
	// OS and product version (dimensions "environment", "os",
	// "productVersion"), folding under k; and the distinct machines and the
	// projects with an event from CI.
	Dimensions(ctx context.Context, w Window, k int) ([]ValueCount, OverviewFacts, error)
	// Features counts the projects that used each feature in w (folding
	// under k) and in each week of w, and the projects active in each week.
	Features(ctx context.Context, w Window, k int, fs []FeatureEvent) (FeatureCounts, error)
	// FeatureSeen says whether any event, at any time, used feature.
	FeatureSeen(ctx context.Context, feature string, fs []FeatureEvent) (bool, error)
	// KnownFeatures lists the features that at least k projects used, at any
	// time.
	KnownFeatures(ctx context.Context, k int, fs []FeatureEvent) ([]string, error)
	// Cohort takes each project active in w by its latest event in w (its
	// environment, and the facts of the machine and product that sent it)
	// and counts, per attribute value, the projects in the cohort (those
	// with an event in w matching c) and the rest.
	Cohort(ctx context.Context, w Window, c CohortSpec) (CohortCounts, error)
	// Setup finds each project's first setup start in s's range and its
	// setup duration, and counts the error codes of the uncompleted setups.
	Setup(ctx context.Context, s SetupSpec) (SetupFacts, error)
	// Errors counts the events of the error events names in w by code,
	// folding codes under k.
	Errors(ctx context.Context, w Window, k int, names []string) (ErrorCounts, error)
	// ErrorBase counts the projects active in w on each product version, OS
	// and runtime major (Dimension "productVersion", "os", "runtimeMajor").
	ErrorBase(ctx context.Context, w Window) ([]ValueCount, error)
	// Plugins takes each project active in cur and in prev by its latest
	// event there and counts the projects listing each plugin, folding the
	// plugins that fewer than k projects of cur list.
	Plugins(ctx context.Context, prev, cur Window, k int) (PluginCounts, error)
	// Runtimes counts the projects with an event in w per runtime major
	// (folding under k) and per major.minor of the majors not folded, each
	// also among production events and among the others.
	Runtimes(ctx context.Context, w Window, k int) (RuntimeCounts, error)
	// RuntimeWeeks counts the projects active in each week of w, and per
	// runtime major.
	RuntimeWeeks(ctx context.Context, w Window) ([]RuntimeWeek, error)
}

// Window is the time range [Lo, Hi) of a query.
type Window struct{ Lo, Hi time.Time }

// Days are numbered since 1970-01-01 (UTC), and weeks since the Monday
// 1969-12-29: week w starts on day 7w−3.
func dayNumber(t time.Time) int64  { return floorDiv(t.UnixMilli(), 86400000) }
func weekNumber(t time.Time) int64 { return floorDiv(dayNumber(t)+3, 7) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// DayCount counts events and projects on one day (Day: see dayNumber).
type DayCount struct {
	Day      int64
	Events   int64
	Projects int
}

// ValueCount counts the projects with a value of a dimension. Folded is the
// number of values folded into the row "other".
type ValueCount struct {
	Dimension, Value string
	Projects, Folded int
}

// OverviewFacts are the overview's counts that are not by dimension.
type OverviewFacts struct {
	Machines   int // distinct machines
	CIProjects int // projects with an event from CI
}

// FeatureEvent is a feature event of the plan: its feature is its property
// Property, or its name when Property is "".
type FeatureEvent struct{ Name, Property string }

// FeatureCounts is the answer of Features. Rows holds the features that k
// projects used in the window, and "other" (with Folded) when any were
// folded; Points the projects of each feature and week, unfolded.
type FeatureCounts struct {
	Active     int
	WeekActive map[int64]int // by week number
	Rows       []ValueCount  // Dimension "feature"
	Points     []WeekCount
}

// WeekCount counts the projects (and events) of a value in a week.
type WeekCount struct {
	Week     int64
	Value    string
	Events   int64
	Projects int
}

// CohortSpec says which events put a project in a cohort: events named
// Event, or those of the feature events Features whose feature is Feature.
// BuildKeys are the plan's build settings to compare (bool and enum), as
// attributes "build.<key>".
type CohortSpec struct {
	Event, Feature string
	Features       []FeatureEvent
	BuildKeys      []string
}

// CohortCounts is the answer of Cohort.
type CohortCounts struct {
	Cohort, Rest int
	Rows         []AttributeCount
}

// AttributeCount counts the cohort's and the rest's projects with an
// attribute value. Attributes: plugin, os, runtimeMajor, environment,
// productMinor, ci, docker ("true"/"false"), build.<key>.
type AttributeCount struct {
	Attribute, Value string
	Cohort, Rest     int
}

// SetupSpec is what Setup reads: each project's first event named Start in
// [From, Hi), and its first event named Done at or after that start and
// before Hi+Within; the setup completed when Done came within Within. Error
// codes count the projects whose first start is in [Lo, Hi) and did not
// complete, with an event of ErrorNames in [Lo, Hi+Within) no later than
// Within after the start.
type SetupSpec struct {
	Start, Done  string
	From, Lo, Hi time.Time
	Within       time.Duration
	ErrorNames   []string
}

// SetupFacts is the answer of Setup.
type SetupFacts struct {
	Starts []SetupStart
	Errors []CodeCount
}

// SetupStart is a project's first setup start: its time, the OS, runtime
// major and product version of the machine and product that sent it, and
// the duration when it completed.
type SetupStart struct {
	T0         int64 // ms since the epoch
	OS, RM, PV string
	DurMs      int64
	Completed  bool
}

// CodeCount counts the projects of an error code.
type CodeCount struct {
	Code     string
	Projects int
}

// ErrorCounts is the answer of Errors. Codes and Values fold codes under k
// into "other"; Points do not.
type ErrorCounts struct {
	Codes  []ErrorCodeCount
	Values []ErrorValueCount
	Points []WeekCount // Value is the code
	Folded int         // the codes folded into "other"
	// FirstBefore is, per code (unfolded), its first event before the
	// window, ms since the epoch.
	FirstBefore map[string]int64
}

// ErrorCodeCount counts an error code's events and projects in the window,
// with its first and last event (ms since the epoch).
type ErrorCodeCount struct {
	Code        string
	Events      int64
	Projects    int
	First, Last int64
}

// ErrorValueCount counts the projects that reported a code (or "other") on
// a value of a dimension: "productVersion", "os" or "runtimeMajor".
type ErrorValueCount struct {
	Code, Dimension, Value string
	Projects               int
}

// PluginCounts is the answer of Plugins.
type PluginCounts struct {
	Active, PreviousActive int
	Rows                   []PluginCount
}

// PluginCount counts the projects whose latest build lists a plugin in each
// window; Folded is the number of plugins folded into "other".
type PluginCount struct {
	Plugin             string
	Projects, Previous int
	Folded             int
}

// RuntimeCounts is the answer of Runtimes.
type RuntimeCounts struct {
	Total RuntimeCount // Projects, Prod, NonProd of all active projects
	Rows  []RuntimeCount
}

// RuntimeCount counts the projects of a runtime major (Version "") or
// major.minor, among all events, production events and the others.
type RuntimeCount struct {
	Runtime, Major, Version string
	Projects, Prod, NonProd int
	Folded                  int
}

// RuntimeWeek counts the projects of a week (Runtime and Major "": all
// active projects) or of a runtime major in it.
type RuntimeWeek struct {
	Week           int64
	Runtime, Major string
	Projects       int
}
