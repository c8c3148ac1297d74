package compat

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/plan"
	"github.com/abacushq/abacus/telemetry/wire"
)

// checkResult holds the invariants of any mapped request: the native batch
// decodes and holds Events events, each with a UUID id, a project ID, a
// 64-hex machine, a native environment, the plan's product and declared
// event, context strings the native protocol accepts, no '$' property and
// no sentAt; and every input call is stored or counted exactly once.
func checkResult(t *testing.T, m *Mapper, r Result, calls int) {
	t.Helper()
	counted := r.Events
	for o, n := range r.Counts {
		if n <= 0 || o != Undeclared && o != NotTrack && o != Invalid {
			t.Fatalf("count %s = %d", o, n)
		}
		counted += n
	}
	if calls >= 0 && counted != calls {
		t.Fatalf("%d calls, %d stored or counted (%+v)", calls, counted, r.Counts)
	}
	if r.Native == nil {
		if r.Events != 0 {
			t.Fatalf("Events = %d without a native batch", r.Events)
		}
		return
	}
	var b wire.Batch
	if err := json.Unmarshal(r.Native, &b); err != nil {
		t.Fatalf("native batch: %v", err)
	}
	if len(b.Events) != r.Events || len(b.Events) == 0 || !b.SentAt.IsZero() {
		t.Fatalf("native batch: %d events, Events %d, sentAt %v", len(b.Events), r.Events, b.SentAt)
	}
	for _, e := range b.Events {
		if !wire.IsUUID(e.ID) || !wire.IsProjectID(e.ProjectID) || !wire.IsMachineID(e.MachineID) ||
			!wire.IsEnvironment(e.Environment) || e.Product.Name != m.plan.Product || m.plan.Event(e.Event) == nil {
			t.Fatalf("bad event %+v", e)
		}
		c := e.Context
		for _, s := range []string{c.OS, c.OSVersion, c.Arch, c.Runtime, c.RuntimeVersion, e.Product.Version} {
			if shape(s) != s {
				t.Fatalf("context string %q out of shape", s)
			}
		}
		if name, ver, _ := strings.Cut(c.SDK, "/"); shape(name) != name || shape(ver) != ver {
			t.Fatalf("sdk %q out of shape", c.SDK)
		}
		for k := range e.Properties {
			if strings.HasPrefix(k, "$") {
				t.Fatalf("property %q kept", k)
			}
		}
		for k := range e.Build {
			if m.plan.BuildKey(k) == nil {
				t.Fatalf("undeclared build key %q kept", k)
			}
		}
	}
}

// calls counts the elements of the "batch" array of body (its key matched
// as encoding/json matches it, in any case), or -1 when it has none.
func calls(body []byte) int {
	var v struct {
		Batch []json.RawMessage `json:"batch"`
	}
	if json.Unmarshal(body, &v) != nil || v.Batch == nil {
		return -1
	}
	return len(v.Batch)
}

var at = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

func FuzzStrapi(f *testing.F) {
	f.Add([]byte(`{"event":"didStartServer","userId":"","installId":"x","eventProperties":{"durationMs":5},"userProperties":{"osPlatform":"linux","nodeVersion":"v20.1.0"},"groupProperties":{"projectId":"` + project + `","version":"5.13.0","docker":true,"typescript":true,"plugins":["i18n"]}}`))
	f.Add([]byte(`{"event":"ping","deviceId":"x","groupProperties":{"projectId":"getstarted-` + project + `"}}`))
	f.Add([]byte(`{"event":"ping","installId":7}`))
	m := New(plan.Default())
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := m.Strapi(body, at)
		if err != nil {
			if r.Native != nil || err.Msg == "" {
				t.Fatalf("error %v with a result", err)
			}
			return
		}
		checkResult(t, m, r, 1)
	})
}

func FuzzPostHog(f *testing.F) {
	f.Add([]byte(`{"api_key":"k","sent_at":"2026-11-28T10:00:01Z","batch":[{"event":"ping","distinct_id":"d","uuid":"","timestamp":"2026-11-28T10:00:00Z","properties":{"$groups":{"project":"` + project + `"},"$lib":"posthog-go","$lib_version":"1.5.2","$set":{"a":1}}},{"event":"$identify","distinct_id":"d"}]}`))
	f.Add([]byte(`[{"event":"didUseFeature","distinct_id":12,"properties":{"token":"k","projectId":"` + project + `","feature":"x"}}]`))
	f.Add([]byte(`{"event":"ping","distinct_id":"d","uuid":"not-a-uuid","properties":{"projectId":"` + project + `"}}`))
	m := New(plan.Default())
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := m.PostHog(body, at)
		if err != nil {
			if r.Native != nil || err.Msg == "" {
				t.Fatalf("error %v with a result", err)
			}
			return
		}
		n := calls(body)
		if n < 0 && strings.HasPrefix(strings.TrimSpace(string(body)), "{") {
			n = 1
		}
		checkResult(t, m, r, n)
	})
}

func FuzzSegment(f *testing.F) {
	f.Add([]byte(`{"writeKey":"w","sentAt":"2026-11-28T10:00:01Z","context":{"library":{"name":"analytics-go","version":"3.0.0"}},"batch":[{"type":"track","event":"ping","messageId":"m","anonymousId":"a","timestamp":"2026-11-28T10:00:00Z","properties":{"projectId":"`+project+`"},"context":{"groupId":"`+project+`","os":{"name":"Linux"}}},{"type":"identify","userId":"u"}]}`), false)
	f.Add([]byte(`{"event":"ping","userId":5,"properties":{"projectId":"`+project+`"}}`), true)
	m := New(plan.Default())
	f.Fuzz(func(t *testing.T, body []byte, single bool) {
		r, err := m.Segment(body, single, "", at)
		if err != nil {
			if r.Native != nil || err.Msg == "" {
				t.Fatalf("error %v with a result", err)
			}
			return
		}
		n := 1
		if !single {
			n = calls(body)
		}
		checkResult(t, m, r, n)
	})
}
