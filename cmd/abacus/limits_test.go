package main

import "testing"

func TestParseSizeAndMinFree(t *testing.T) {
	sizes := map[string]int64{"64MiB": 64 << 20, "64mib": 64 << 20, "1GB": 1e9, "512KiB": 512 << 10, "1.5GiB": 3 << 29, "4096": 4096, "10B": 10}
	for in, want := range sizes {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "MiB", "-1MiB", "12 parsecs", "1e30GB"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) accepted", bad)
		}
	}
	cases := []struct {
		in    string
		bytes int64
		pct   float64
	}{{"", 0, 0}, {"0", -1, 0}, {"5%", 0, 5}, {"256MiB", 256 << 20, 0}}
	for _, c := range cases {
		b, p, err := parseMinFree(c.in)
		if err != nil || b != c.bytes || p != c.pct {
			t.Errorf("parseMinFree(%q) = %d, %g, %v; want %d, %g", c.in, b, p, err, c.bytes, c.pct)
		}
	}
	for _, bad := range []string{"100%", "0%", "x%", "lots"} {
		if _, _, err := parseMinFree(bad); err == nil {
			t.Errorf("parseMinFree(%q) accepted", bad)
		}
	}
}
