package walrec

import (
	"fmt"
	"math"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/store"
)

func sampleEvents() []store.Event {
	t := time.Date(2026, 11, 28, 10, 0, 0, 123e6, time.UTC)
	return []store.Event{{
		ID: "0193723e-6f1a-7cc2-9c5e-3a1f0e4b2d10", Name: "didStartServer", Time: t, ReceivedAt: t.Add(time.Second),
		ProjectID: "340636ebd4108111e258dd92c10a2e0d", MachineID: "8688fe6689afecbb23d6084c1086ddfd", SessionID: "",
		Environment: "production", Product: "strapi", ProductVersion: "5.3.1", OS: "linux", OSVersion: "6.1.0",
		Arch: "amd64", CPUs: 8, MemoryMB: 16384, Runtime: "node", RuntimeVersion: "20.11.1", CI: true, CIName: "gitlab",
		Docker: true, SDK: "abacus-go/0.1.0",
		Build:      map[string]any{"plugins": []any{"i18n", "graphql"}, "typescript": true, "database": "postgres"},
		Properties: map[string]any{"durationMs": int64(1234), "ratio": 0.25, "neg": int64(-7), "big": math.MaxFloat64, "é": "ünïcode"},
	}, {
		ID: "0193723e-6f1a-7cc2-9c5e-3a1f0e4b2d11", Name: "ping", Time: t, ReceivedAt: t, WSL: true,
	}}
}

func TestRoundTrip(t *testing.T) {
	in := sampleEvents()
	rec, err := Append(nil, in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Decode(rec)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip:\n in %+v\nout %+v", in, out)
	}
	for cut := range len(rec) {
		if _, err := Decode(rec[:cut]); err == nil {
			t.Fatalf("a record cut at %d of %d decoded", cut, len(rec))
		}
	}
	if _, err := Append(nil, []store.Event{{Properties: map[string]any{"x": struct{}{}}}}); err == nil {
		t.Error("an unsupported value type was encoded")
	}
}

// FuzzWALRecord: any bytes either fail to decode or decode to events that
// encode and decode again to the same events, field by field; decoding never
// allocates more than a bounded amount per input byte, whatever counts and
// lengths the bytes claim.
func FuzzWALRecord(f *testing.F) {
	rec, _ := Append(nil, sampleEvents())
	f.Add(rec)
	f.Add([]byte{'E', 0})
	f.Add([]byte{'E', 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		before := ms.TotalAlloc
		events, err := Decode(b)
		runtime.ReadMemStats(&ms)
		if alloc := ms.TotalAlloc - before; alloc > maxDecodeAlloc(len(b)) {
			t.Fatalf("decoding %d bytes allocated %d bytes (budget %d)", len(b), alloc, maxDecodeAlloc(len(b)))
		}
		if err != nil {
			return
		}
		again, err := Append(nil, events)
		if err != nil {
			t.Fatalf("decoded events do not encode: %v", err)
		}
		back, err := Decode(again)
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if d := diffEvents(events, back); d != "" {
			t.Fatalf("decode-encode-decode changed the events: %s", d)
		}
	})
}

// maxDecodeAlloc is the most decoding n bytes may allocate: the record's copy,
// an Event (about 400 bytes) per 20 bytes, a map entry or list element per
// two bytes, with room to spare; plus a constant for the fuzzing machinery's
// own allocations between the two readings.
func maxDecodeAlloc(n int) uint64 { return 64*uint64(n) + 64<<10 }

// diffEvents compares two event lists field by field and describes the first
// difference ("" when equal). Floats compare by their bits, so that a NaN
// that survived the round trip counts as equal.
func diffEvents(a, b []store.Event) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d events, then %d", len(a), len(b))
	}
	for i := range a {
		va, vb := reflect.ValueOf(a[i]), reflect.ValueOf(b[i])
		for f := range va.NumField() {
			name := va.Type().Field(f).Name
			if !sameValue(va.Field(f).Interface(), vb.Field(f).Interface()) {
				return fmt.Sprintf("event %d: %s: %#v, then %#v", i, name, va.Field(f).Interface(), vb.Field(f).Interface())
			}
		}
	}
	return ""
}

func sameValue(x, y any) bool {
	switch a := x.(type) {
	case float64:
		b, ok := y.(float64)
		return ok && math.Float64bits(a) == math.Float64bits(b)
	case time.Time:
		b, ok := y.(time.Time)
		return ok && a.Equal(b) && a.Location() == b.Location()
	case []any:
		b, ok := y.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !sameValue(a[i], b[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		b, ok := y.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, v := range a {
			w, ok := b[k]
			if !ok || !sameValue(v, w) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(x, y)
}

// Events of one record with equal builds share one decoded map; different
// builds do not, and every event still decodes to what was encoded.
func TestSharedBuilds(t *testing.T) {
	in := sampleEvents()[:1]
	for i := range 6 {
		e := in[0]
		e.ID = fmt.Sprintf("0193723e-6f1a-7cc2-9c5e-3a1f0e4b2d2%d", i)
		e.Build = map[string]any{"plugins": []any{"i18n", "graphql"}, "typescript": true, "database": "postgres"}
		if i%2 == 1 {
			e.Build["database"] = "mysql"
		}
		in = append(in, e)
	}
	rec, err := Append(nil, in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Decode(rec)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip:\n in %+v\nout %+v", in, out)
	}
	same := func(a, b map[string]any) bool {
		return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
	}
	if !same(out[0].Build, out[1].Build) || !same(out[1].Build, out[3].Build) || !same(out[2].Build, out[6].Build) {
		t.Error("equal builds of one record were decoded into separate maps")
	}
	if same(out[1].Build, out[2].Build) {
		t.Error("different builds share a map")
	}
}

// Events that share one Build map (as ingest hands them over) encode to the
// same record as events with equal maps of their own.
func TestSharedBuildEncoding(t *testing.T) {
	shared := map[string]any{"plugins": []any{"i18n"}, "typescript": true, "database": "postgres", "packageManager": "npm"}
	other := map[string]any{"database": "mysql"}
	var a, b []store.Event
	for i, m := range []map[string]any{shared, shared, other, shared, nil, shared} {
		e := store.Event{ID: fmt.Sprintf("0193723e-6f1a-7cc2-9c5e-3a1f0e4b2d3%d", i), Name: "ping", Build: m}
		a = append(a, e)
		if m != nil {
			e.Build = map[string]any{}
			for k, v := range m {
				e.Build[k] = v
			}
		}
		b = append(b, e)
	}
	ra, err := Append(nil, a)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := Append(nil, b)
	if err != nil {
		t.Fatal(err)
	}
	if string(ra) != string(rb) {
		t.Fatal("a shared build map encodes differently from equal maps")
	}
	out, err := Decode(ra)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, b) {
		t.Errorf("round trip:\n in %+v\nout %+v", b, out)
	}
}
