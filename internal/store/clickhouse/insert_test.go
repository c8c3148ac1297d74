package clickhouse

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

// sameAsMarshal fails unless appendMap writes m as json.Marshal does.
func sameAsMarshal(t *testing.T, m map[string]any) {
	t.Helper()
	got, err := appendMap([]byte("prefix"), m)
	if err != nil {
		t.Fatalf("appendMap(%#v): %v", m, err)
	}
	if !bytes.HasPrefix(got, []byte("prefix")) {
		t.Fatalf("appendMap(%#v) did not append: %q", m, got)
	}
	got = got[len("prefix"):]
	if len(m) == 0 {
		if len(got) != 0 {
			t.Fatalf("appendMap of an empty map wrote %q; want nothing", got)
		}
		return
	}
	want, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("json.Marshal(%#v): %v", m, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("appendMap(%#v) = %s; json.Marshal writes %s", m, got, want)
	}
	if _, err := decodeMap(string(got)); err != nil {
		t.Fatalf("decodeMap(%s): %v", got, err)
	}
}

func TestAppendMap(t *testing.T) {
	for _, m := range []map[string]any{
		nil,
		{},
		{"plugins": []any{"i18n", "graphql"}, "typescript": true, "database": "postgres"},
		{"durationMs": int64(1234), "ratio": 0.25, "n": -7, "u": uint64(math.MaxUint64), "i8": int8(-8), "u16": uint16(9)},
		{"tiny": 1e-7, "huge": 1e21, "edge": 1e-6, "big": 1e20, "neg": -3.5e-10, "zero": 0.0, "f32": float32(0.1), "f32e": float32(1e-9)},
		{"html": "<a href=\"x\">&</a>", "ctl": "\x00\x01\b\f\n\r\t\x1f\x7f", "sep": "a\u2028b\u2029c", "bad": "\xff\xfe ok \xc3", "uni": "é漢字🙂"},
		{"k<>&\"\\": "v", "": "", "list": []any{nil, 1.5, "x", false, []any{int32(3)}}, "nil": nil, "nilList": []any(nil)},
	} {
		sameAsMarshal(t, m)
	}
	for _, bad := range []map[string]any{
		{"x": math.NaN()},
		{"x": math.Inf(1)},
		{"x": []any{math.Inf(-1)}},
		{"x": map[string]any{"nested": 1}},
		{"x": struct{}{}},
	} {
		if _, err := appendMap(nil, bad); err == nil {
			t.Errorf("appendMap(%#v) succeeded; want an error", bad)
		}
	}
}

// FuzzAppendMap: for any strings and numbers, appendMap writes the bytes
// json.Marshal writes.
func FuzzAppendMap(f *testing.F) {
	f.Add("key", "value", 1.5, int64(7), true)
	f.Add("<&>", "\u2028\xff\x00", 1e-7, int64(-1), false)
	f.Add("", "", 1e21, int64(math.MinInt64), true)
	f.Fuzz(func(t *testing.T, k, v string, x float64, n int64, ok bool) {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			if _, err := appendMap(nil, map[string]any{k: x}); err == nil {
				t.Fatalf("appendMap of %v succeeded", x)
			}
			return
		}
		sameAsMarshal(t, map[string]any{k: v, k + "1": x, k + "2": n, k + "3": ok, k + "4": []any{v, x, n, ok, nil}, v: float32(x)})
	})
}
