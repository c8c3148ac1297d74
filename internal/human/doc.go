// Package human writes numbers as people read them, in one style for every
// place Abacus shows them to people: the dashboard's pages and the tables of
// `abacus report`. JSON answers keep the raw numbers.
//
//	Count(12345)         12,345
//	Plural(1, "bucket")  1 bucket      Plural(3, "bucket")  3 buckets
//	Percent(0.423)       42.3%         Percent(0.0002)      <0.1%
//	Duration(83000)      1 min 23 s    Duration(850)        850 ms
//	PValue(0.0004)       < 0.001       PValue(0.0123)       0.012
//	P(0.0004)            p < 0.001     P(0.0123)            p = 0.012
//	Lift(3.0217)         3.02×
//	Signed(-3)           −3
//
// Values that are not numbers (NaN, ±Inf) read "–".
package human
