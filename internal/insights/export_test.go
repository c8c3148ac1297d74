package insights

// For the tests of package insights_test (clickhouse_bench_test.go), which
// import the ClickHouse store: it imports this package, so they cannot be
// in it.
var (
	OpenBenchSet = openBenchSet
	AtScale      = atScale
	AtScalePath  = atScale.path()
	BenchEnd     = benchEnd
	ServeOptions = serveDefaults
)

const BenchDays = benchDays
