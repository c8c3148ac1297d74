package human

import (
	"math"
	"testing"
)

func TestFormats(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	for _, c := range []struct{ got, want string }{
		{Count(0), "0"}, {Count(999), "999"}, {Count(1000), "1,000"}, {Count(-1234567), "-1,234,567"}, {Count(12.6), "13"}, {Count(nan), "–"},
		{Plural(0, "bucket"), "0 buckets"}, {Plural(1, "bucket"), "1 bucket"}, {Plural(2, "event"), "2 events"},
		{Plural(1204, "event"), "1,204 events"}, {Plural(1, "query", "queries"), "1 query"}, {Plural(3, "query", "queries"), "3 queries"},
		{Percent(0), "0%"}, {Percent(0.16962524654832348), "17.0%"}, {Percent(0.0002), "<0.1%"}, {Percent(0.0005), "0.1%"},
		{Percent(0.9996), ">99.9%"}, {Percent(1), "100.0%"}, {Percent(inf), "–"},
		{Duration(0), "0"}, {Duration(850), "850 ms"}, {Duration(4500), "4.5 s"}, {Duration(12400), "12 s"},
		{Duration(59600), "1 min"}, {Duration(83000), "1 min 23 s"}, {Duration(397089), "6 min 37 s"},
		{Duration(3599700), "1 h"}, {Duration(7500000), "2 h 5 min"}, {Duration(86400000 + 4*3600000), "1 d 4 h"},
		{Duration(-1500), "-1.5 s"}, {Duration(9980), "10 s"}, {Duration(3599000), "59 min 59 s"}, {Duration(86399000), "1 d"},
		{Duration(86369000), "23 h 59 min"}, {Duration(nan), "–"},
		{PValue(0), "< 0.001"}, {PValue(0.0004), "< 0.001"}, {PValue(0.001), "0.001"}, {PValue(0.01234), "0.012"}, {PValue(1), "1.000"}, {PValue(nan), "–"},
		{P(0.0004), "p < 0.001"}, {P(0.0123), "p = 0.012"},
		{Lift(3.0217), "3.02×"}, {Lift(inf), "∞"}, {Lift(nan), "–"},
		{Signed(12), "+12"}, {Signed(-3), "−3"}, {Signed(0), "0"}, {Signed(1500), "+1,500"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
