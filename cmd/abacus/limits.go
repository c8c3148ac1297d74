package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxHeaderBytes bounds the request line and headers of one request.
const maxHeaderBytes = 16 << 10

// parseSize reads a size in bytes: a number with an optional unit B, KB, MB,
// GB (powers of 1000) or KiB, MiB, GiB (powers of 1024).
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(strings.ToUpper(t), strings.ToUpper(u.suffix)) {
			t, mult = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n < 0 || n*float64(mult) > 1<<62 {
		return 0, fmt.Errorf("cannot read size %q: expected a number of bytes such as 512MiB or 2GB", s)
	}
	return int64(n * float64(mult)), nil
}

// parseMinFree reads --min-free: "" is the default (both zero), "0" no floor
// (negative bytes), "5%" a share of the volume, else a size.
func parseMinFree(s string) (bytes int64, percent float64, err error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return 0, 0, nil
	case strings.HasSuffix(s, "%"):
		p, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s, "%")), 64)
		if err != nil || p <= 0 || p >= 100 {
			return 0, 0, fmt.Errorf("expected a size such as 256MiB or a share of the volume such as 5%%, got %q", s)
		}
		return 0, p, nil
	}
	n, err := parseSize(s)
	if err != nil {
		return 0, 0, errors.New("expected a size such as 256MiB or a share of the volume such as 5%, got " + strconv.Quote(s))
	}
	if n == 0 {
		return -1, 0, nil
	}
	return n, 0, nil
}

// days is a flag holding a length of time in whole days: 400d. A Go duration
// (9600h) is also read, and shown in days when it is a whole number of them.
type days time.Duration

func (d *days) String() string {
	v := time.Duration(*d)
	if v%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(v/(24*time.Hour)), 10) + "d"
	}
	return v.String()
}

func (d *days) Set(s string) error {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		v, err := strconv.Atoi(n)
		if err != nil || v < 1 || v > 100*366 || n[0] == '+' {
			return fmt.Errorf("expected a number of days such as 400d, got %q", s)
		}
		*d = days(time.Duration(v) * 24 * time.Hour)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		return fmt.Errorf("expected a number of days such as 400d, got %q", s)
	}
	*d = days(v)
	return nil
}
