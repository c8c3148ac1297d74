package compat

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/plan"
	"github.com/abacushq/abacus/telemetry/wire"
)

const project = "7b581c0d-89b7-479e-b379-a76ab90b8754"

var received = time.Date(2026, 11, 28, 10, 0, 5, 0, time.UTC)

func native(t *testing.T, r Result) []wire.Event {
	t.Helper()
	if r.Native == nil {
		return nil
	}
	var b wire.Batch
	if err := json.Unmarshal(r.Native, &b); err != nil {
		t.Fatalf("native batch does not decode: %v", err)
	}
	if len(b.Events) != r.Events {
		t.Fatalf("Events = %d, native batch holds %d", r.Events, len(b.Events))
	}
	if !b.SentAt.IsZero() {
		t.Fatalf("native batch has sentAt %v; times must be corrected already", b.SentAt)
	}
	return b.Events
}

func TestStrapiMapping(t *testing.T) {
	m := New(plan.Default())
	body := `{"event":"didStartServer","userId":"admin-hash-4242","installId":"install-secret-1",
	"eventProperties":{"durationMs":1500,"email":"a@b.c"},
	"userProperties":{"environment":"production","os":"Linux","osPlatform":"linux","osArch":"x64","osRelease":"6.1.0","nodeVersion":"v20.11.1"},
	"groupProperties":{"projectId":"` + project + `","version":"5.13.0","docker":"podman","isCI":true,"typescript":true,"useTypescriptOnServer":true,"projectType":"Community","environment":"development"}}`
	r, err := m.Strapi([]byte(body), received)
	if err != nil {
		t.Fatal(err)
	}
	evs := native(t, r)
	if len(evs) != 1 || r.Counts != nil {
		t.Fatalf("got %d events, counts %v; want 1 event", len(evs), r.Counts)
	}
	e := evs[0]
	if e.Event != "didStartServer" || e.ProjectID != project || e.Environment != "production" ||
		!e.Timestamp.Equal(received) || e.Product.Name != "strapi" || e.Product.Version != "5.13.0" {
		t.Errorf("event = %+v", e)
	}
	want := wire.Context{OS: "linux", OSVersion: "6.1.0", Arch: "amd64", Runtime: "node", RuntimeVersion: "20.11.1", CI: true, Docker: true, SDK: "strapi-telemetry"}
	if e.Context != want {
		t.Errorf("context = %+v, want %+v", e.Context, want)
	}
	if len(e.Build) != 1 || e.Build["typescript"] != true {
		t.Errorf("build = %v, want only the plan's typescript key", e.Build)
	}
	if !wire.IsUUID(e.ID) || !wire.IsMachineID(e.MachineID) {
		t.Errorf("id %q or machine %q malformed", e.ID, e.MachineID)
	}
	for _, raw := range []string{"admin-hash-4242", "install-secret-1", "Community"} {
		if strings.Contains(string(r.Native), raw) {
			t.Errorf("native batch holds %q", raw)
		}
	}
	// The older deviceId names the same machine as the same installId.
	r2, _ := m.Strapi([]byte(`{"event":"ping","deviceId":"install-secret-1","groupProperties":{"projectId":"`+project+`"}}`), received)
	e2 := native(t, r2)[0]
	if e2.MachineID != e.MachineID || e2.Environment != DefaultEnvironment || e2.ID == e.ID {
		t.Errorf("deviceId event = %+v; want machine %s, environment %s, a new id", e2, e.MachineID, DefaultEnvironment)
	}
	// groupProperties.environment when userProperties has none.
	r3, _ := m.Strapi([]byte(`{"event":"ping","installId":"x","userProperties":{},"groupProperties":{"projectId":"`+project+`","environment":"staging"}}`), received)
	if env := native(t, r3)[0].Environment; env != "staging" {
		t.Errorf("environment = %q, want staging from groupProperties", env)
	}
}

func TestStrapiRefusals(t *testing.T) {
	m := New(plan.Default())
	for body, want := range map[string]string{
		`{"event":"ping","installId":"i","groupProperties":{"projectId":"not-a-uuid"}}`:              Invalid,
		`{"event":"ping","installId":"i","groupProperties":{}}`:                                      Invalid,
		`{"event":"ping","groupProperties":{"projectId":"` + project + `"}}`:                         Invalid,
		`{"event":"didOpenAdmin","installId":"i","groupProperties":{"projectId":"` + project + `"}}`: Undeclared,
	} {
		r, err := m.Strapi([]byte(body), received)
		if err != nil || r.Native != nil || r.Counts[want] != 1 {
			t.Errorf("%s: result %+v, err %v; want one %s", body, r, err, want)
		}
	}
	for _, body := range []string{`{"event":`, `[]`, `{"installId":"i"}`, `{"event":"ping"} {}`} {
		if _, err := m.Strapi([]byte(body), received); err == nil || !strings.HasPrefix(err.Msg, "body") && !strings.HasPrefix(err.Msg, "event") {
			t.Errorf("%s: err %v, want a body or event error", body, err)
		}
	}
}

func TestPostHogMapping(t *testing.T) {
	m := New(plan.Default())
	body := `{"api_key":"phc_key","sent_at":"2026-11-28T10:00:10Z","batch":[
	{"event":"didUseFeature","distinct_id":"user@example.com","uuid":"0193723E-6F1A-7CC2-9C5E-3A1F0E4B2D10","timestamp":"2026-11-28T10:00:00Z",
	 "properties":{"feature":"graphql","$groups":{"project":"` + project + `"},"$ip":"10.1.2.3","$set":{"email":"user@example.com"},"$os":"Linux","$os_version":"6.1","$lib":"posthog-node","$lib_version":"4.2.1","$current_url":"https://x.example/secret"}},
	{"event":"didUseFeature","distinct_id":"user@example.com","uuid":"","timestamp":"2026-11-28T10:00:00Z","properties":{"projectId":"` + project + `","feature":"i18n"}},
	{"event":"$identify","distinct_id":"user@example.com","properties":{"$set":{"name":"Ann"}}},
	{"event":"$pageview","distinct_id":"user@example.com","properties":{}},
	{"event":"somethingElse","distinct_id":"user@example.com","properties":{"projectId":"` + project + `"}}]}`
	r, err := m.PostHog([]byte(body), received)
	if err != nil {
		t.Fatal(err)
	}
	evs := native(t, r)
	if len(evs) != 2 || r.Counts[NotTrack] != 2 || r.Counts[Undeclared] != 1 {
		t.Fatalf("events %d, counts %v; want 2 stored, 2 not_track, 1 undeclared", len(evs), r.Counts)
	}
	if len(r.Keys) != 1 || r.Keys[0] != "phc_key" {
		t.Errorf("keys = %v", r.Keys)
	}
	e := evs[0]
	// sent 5 s after its timestamp, received at 10:00:05: happened at 10:00:00 − 5 s of skew.
	if want := time.Date(2026, 11, 28, 9, 59, 55, 0, time.UTC); !e.Timestamp.Equal(want) {
		t.Errorf("time = %v, want %v", e.Timestamp, want)
	}
	if e.ID != "0193723e-6f1a-7cc2-9c5e-3a1f0e4b2d10" || e.ProjectID != project || e.Context.OS != "linux" ||
		e.Context.OSVersion != "6.1" || e.Context.SDK != "posthog-node/4.2.1" || e.Properties["feature"] != "graphql" || len(e.Properties) != 1 {
		t.Errorf("event = %+v", e)
	}
	if evs[1].ProjectID != project || !wire.IsUUID(evs[1].ID) || evs[1].ID == e.ID || evs[1].MachineID != e.MachineID {
		t.Errorf("second event = %+v", evs[1])
	}
	for _, raw := range []string{"example.com", "10.1.2.3", "Ann", "secret"} {
		if strings.Contains(string(r.Native), raw) {
			t.Errorf("native batch holds %q", raw)
		}
	}
	// Single event, and an array of events with the key in properties.token.
	for _, b := range []string{
		`{"api_key":"k2","event":"ping","distinct_id":"d","properties":{"projectId":"` + project + `"}}`,
		`[{"event":"ping","distinct_id":"d","properties":{"token":"k2","projectId":"` + project + `"}}]`,
	} {
		r, err := m.PostHog([]byte(b), received)
		if err != nil || r.Events != 1 || len(r.Keys) != 1 || r.Keys[0] != "k2" {
			t.Errorf("%s: %+v %v", b, r, err)
		}
		if ev := native(t, r)[0]; !ev.Timestamp.Equal(received) {
			t.Errorf("%s: time %v, want the receive time", b, ev.Timestamp)
		}
	}
	if _, err := m.PostHog([]byte(`{"api_key":"k"}`), received); err == nil || !strings.HasPrefix(err.Msg, "batch") {
		t.Errorf("no events: err %v, want one naming batch", err)
	}
}

func TestSegmentMapping(t *testing.T) {
	m := New(plan.Default())
	body := `{"writeKey":"wk_body","sentAt":"2026-11-28T10:00:05Z","context":{"library":{"name":"@segment/analytics-node","version":"2.1.0"}},"batch":[
	{"type":"track","event":"didInstallPlugin","messageId":"node-next-1700000000-abc","anonymousId":"anon-1","userId":"jane@example.com","timestamp":"2026-11-28T10:00:01Z",
	 "properties":{"plugin":"graphql","projectId":"` + project + `","url":"https://x.example/p"},
	 "context":{"ip":"10.9.9.9","userAgent":"Mozilla/5.0 secret","traits":{"email":"jane@example.com"},"os":{"name":"macOS","version":"14.1"},"groupId":"` + project + `"}},
	{"type":"identify","userId":"jane@example.com","traits":{"email":"jane@example.com"}},
	{"type":"page","name":"Home","anonymousId":"anon-1"},
	{"type":"track","event":"didInstallPlugin","messageId":"m2","userId":"jane@example.com","properties":{"plugin":"x","projectId":"` + project + `"}}]}`
	r, err := m.Segment([]byte(body), false, "wk_basic", received)
	if err != nil {
		t.Fatal(err)
	}
	evs := native(t, r)
	if len(evs) != 2 || r.Counts[NotTrack] != 2 {
		t.Fatalf("events %d, counts %v", len(evs), r.Counts)
	}
	if strings.Join(r.Keys, ",") != "wk_basic,wk_body" {
		t.Errorf("keys = %v", r.Keys)
	}
	e := evs[0]
	if !e.Timestamp.Equal(received.Add(-4*time.Second)) || e.Context.SDK != "segment-analytics-node/2.1.0" ||
		e.Context.OS != "macos" || e.ProjectID != project || len(e.Properties) != 2 {
		t.Errorf("event = %+v", e)
	}
	// anonymousId wins over userId; userId alone names another machine.
	if e.MachineID != m.MachineID("anon-1") || evs[1].MachineID != m.MachineID("jane@example.com") || e.MachineID == evs[1].MachineID {
		t.Errorf("machines %s %s", e.MachineID, evs[1].MachineID)
	}
	if e.ID != m.EventID(Segment, "node-next-1700000000-abc") || !wire.IsUUID(e.ID) || e.ID[14] != '8' {
		t.Errorf("id %q: want a version-8 UUID derived from the messageId", e.ID)
	}
	for _, raw := range []string{"example.com", "10.9.9.9", "Mozilla", "anon-1", "node-next"} {
		if strings.Contains(string(r.Native), raw) {
			t.Errorf("native batch holds %q", raw)
		}
	}
	// A retried message gets the same id.
	r2, _ := m.Segment([]byte(body), false, "", received.Add(time.Minute))
	if native(t, r2)[0].ID != e.ID {
		t.Error("a retried messageId got another id")
	}
	// /v1/track: one call, type optional.
	r3, err := m.Segment([]byte(`{"event":"ping","anonymousId":"a","properties":{"projectId":"`+project+`"}}`), true, "", received)
	if err != nil || r3.Events != 1 {
		t.Errorf("track: %+v %v", r3, err)
	}
	if _, err := m.Segment([]byte(`{"events":[]}`), false, "", received); err == nil || !strings.HasPrefix(err.Msg, "batch") {
		t.Errorf("no batch: err %v", err)
	}
}

func TestIDs(t *testing.T) {
	m := New(plan.Default())
	other := New(&plan.Plan{Product: "other"})
	if m.MachineID("a") != m.MachineID("a") || m.MachineID("a") == m.MachineID("b") || m.MachineID("a") == other.MachineID("a") {
		t.Error("machine ids: want stable per client and product, distinct across them")
	}
	if !wire.IsMachineID(m.MachineID("")) {
		t.Error("machine id not 64 lowercase hex")
	}
	if m.EventID(Segment, "x") == m.EventID(PostHog, "x") || m.EventID(Segment, "x") != m.EventID(Segment, "x") {
		t.Error("event ids: want stable per protocol and id, distinct across protocols")
	}
	if id := randomID(); !wire.IsUUID(id) || id == randomID() {
		t.Error("random ids")
	}
}

func TestEnvironmentAndShape(t *testing.T) {
	for in, want := range map[string]string{"": wire.Other, "Production": "production", "prod": "production", "dev": "development", "staging": "staging", "test": "test", "qa": "other"} {
		if got := environment(in); got != want {
			t.Errorf("environment(%q) = %q, want %q", in, got, want)
		}
	}
	if shape("a/b") != "" || shape(strings.Repeat("a", 65)) != "" || shape("Ubuntu 22.04") != "Ubuntu 22.04" {
		t.Error("shape")
	}
	if sdk("@segment/analytics-node", "2.1.0") != "segment-analytics-node/2.1.0" || sdk("posthog-go", "1.5/2") != "posthog-go" || sdk("@@", "1") != "" {
		t.Error("sdk")
	}
}
