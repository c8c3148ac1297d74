package server

import (
	"math"
	"reflect"
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

func TestWALCodecRoundTrip(t *testing.T) {
	in := sampleEvents()
	rec, err := encodeEvents(nil, in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := decodeEvents(rec)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip:\n in %+v\nout %+v", in, out)
	}
	for cut := range len(rec) {
		if _, err := decodeEvents(rec[:cut]); err == nil {
			t.Fatalf("a record cut at %d of %d decoded", cut, len(rec))
		}
	}
	if _, err := encodeEvents(nil, []store.Event{{Properties: map[string]any{"x": struct{}{}}}}); err == nil {
		t.Error("an unsupported value type was encoded")
	}
}

func FuzzWALRecord(f *testing.F) {
	rec, _ := encodeEvents(nil, sampleEvents())
	f.Add(rec)
	f.Add([]byte{'E', 0})
	f.Add([]byte{'E', 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		events, err := decodeEvents(b)
		if err != nil {
			return
		}
		again, err := encodeEvents(nil, events)
		if err != nil {
			t.Fatalf("decoded events do not encode: %v", err)
		}
		back, err := decodeEvents(again)
		if err != nil || len(back) != len(events) {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
	})
}
