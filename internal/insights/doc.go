// Package insights answers the product questions of the design (is feature X
// used, and what do its users have in common; how long setup takes and
// whether it is getting longer; which errors, plugins and runtime versions)
// as seven k-anonymous reports over the events of a store.
//
//	in := insights.New(insights.DuckDB(st.DB()), plan) // or chStore.Reports()
//	p, err := insights.ParseParams(r.URL.Query(), time.Now()) // last=30d, from/to, feature, event
//	rep, err := in.Run(ctx, "plugins", p)
//	header, rows, err := rep.Table() // for `abacus report`
//
// api.md in this directory is the JSON contract of the answers.
//
// # The reports
//
//   - overview: events, machines and active projects in the window, the share
//     of projects seen from CI, projects per environment, OS and product
//     version, and events and active projects per day.
//   - features: per feature (events of kind feature; the feature property or
//     the event name), the projects that used it and their share of the
//     active projects, over the window and per week.
//   - cohort (feature=NAME or event=NAME): the projects that used the feature
//     against the other active projects, for each attribute value of their
//     latest event in the window (plugins, OS, runtime major, environment,
//     product minor version, CI, Docker, the plan's bool and enum build
//     keys), with the lift and a two-proportion z-test, most significant
//     first. It finds, for example, that users of "releases" have the seo
//     plugin three times as often.
//   - setup: per project, the time from its first setup start (the plan's
//     setup.start event) to the first setup done at or after it, counted when
//     within setup.within: completion rate, quantiles, a log-scale histogram,
//     the error codes of the projects that did not complete, per week, per
//     OS and runtime major, and a regression flag (the last full week against
//     the four before it: the p50 by a one-sided Mann-Whitney U test, the
//     p90 by a binomial test of the setups above the prior p90, each at
//     p < 0.005, with that quantile at least 20% higher), raised too when a
//     segment got slower: the last 14 complete days against the 8 weeks
//     before them, for all setups and each OS, runtime major and product
//     version (a rank test of a stretched upper tail and Mann-Whitney U,
//     the level split 80/20, Holm-adjusted over the segments, p < 0.01, p90
//     at least 20% higher). On 200 generated populations without a
//     regression none listed a segment (0.0%); a p90 ×1.5 in a segment of
//     200 setups a week was found in 92.0% (a slower upper half) and 99.5%
//     (all setups ×1.5) of 200 each (TestRegressionWherePower;
//     BENCHMARKS.md). The demo's windows ×2.5 since 14 days is found, on
//     windows only (TestSimulatedEffects).
//   - errors: per error code (events of kind error, by their code property),
//     events, projects, first day (in the store) and last, and the product
//     version, OS and runtime major over-represented among its projects
//     against all active projects (lift, one-sided two-proportion z-test,
//     Holm over the code's values, p < 0.01); per week.
//   - plugins: per plugin, the projects whose latest build in the window
//     lists it, against the window of the same length before.
//   - runtimes: per runtime major and major.minor, the projects that ran it,
//     overall, in production and elsewhere; each major's weekly share.
//
// Counts are distinct projects unless a field says events. Days and weeks
// are UTC; weeks are named by their Monday.
//
// # k-anonymity
//
// Every row, series point, histogram bucket and error code that covers fewer
// than k projects (the plan's k) is removed and counted in Suppressed; where a
// report has an "other" row (overview per dimension, features, errors,
// plugins, runtime majors, setup per OS and runtime), the removed buckets'
// projects are folded into it, and "other" itself is shown only when it
// covers k projects. A quantile is published only over at least k setups (0
// otherwise), a top value of an error code only when k of its projects share
// it, a previous-window plugin count only when it is k or more, and a cohort
// comparison only when the cohort and the rest have k projects each (or
// none).
//
// What the reports never do: output anything per project or per machine
// (no identifier ever leaves the store), publish a bucket of fewer than k
// projects, write to the database, or hold NaN or Inf in a result (so the
// answer always marshals to JSON).
//
// # How they are computed
//
// The reports' logic — k-anonymity, statistics, ordering and shaping — is
// written once, here, over the typed aggregations of a Backend's Queries
// (backend.go): counts of distinct projects per day, value or week, each
// project's latest facts, setup starts and durations, error codes. Each
// store answers them in its own SQL: DuckDB's below (duckdb.go), ClickHouse's
// in internal/store/clickhouse, held to the same JSON by a test there.
//
// On DuckDB each report is a few SQL queries in one read transaction, so all
// its numbers come from the same snapshot. They read the store's tables
// rather than the events view (internal/store/duckdb documents both):
//
//   - For a window of whole UTC days, as every report's is, they read the
//     store's rollups (duckdb_rollup.go): per day, and per week for the
//     weeks the store has sealed, the events and first and last times of
//     each (source, environment) and each (source, name, feature, code),
//     and each project's events by its permanent number. The store keeps
//     them exact in the same transaction as the events, so they answer as
//     the events do (TestRollupsAnswerAsEvents), without JSON to parse and
//     with projects counted by number.
//   - Otherwise (a window starting or ending inside a day, a feature
//     property other than "feature", a setup.within under a day) they read
//     event_rows, filtered by time and name and grouped by integer keys
//     (source_id, day, week), with the facts of machines and projects joined
//     from sources afterwards, on the groups, not on every event.
//   - Distinct projects per day or week are counted by setting the bits of
//     the projects' numbers with bitstring_agg: one bit operation a row
//     instead of a hash table of 32-character strings. When a query's
//     bitstrings would pass 32 MB (years of days × a million projects), it
//     counts (bucket, project) pairs instead: same answers, more time.
//   - "Latest event in the window" is max(time) per source, then the latest
//     source per project (arg_max over integers), never arg_max over strings
//     or lists on event rows, which copies a value on every newer row.
//
// # Measurements
//
// At abacus serve's defaults (64 MB, one thread), 10M events of 50k projects
// over 180 days generated like internal/simulate's population, each report
// over the whole 180 days, fastest of three on the project's 2-core machine
// at load 4.6–4.9 (TestReportsAtServeDefaults, which fails at a second;
// BENCHMARKS.md has the runs and the times before the rollups, 0.6–3.5 s):
//
//	overview   0.44 s
//	features   0.23 s
//	cohort     0.36 s
//	setup      0.68 s
//	errors     0.53 s
//	plugins    0.15 s
//	runtimes   0.45 s
package insights
