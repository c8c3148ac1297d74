package telemetry

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/abacushq/abacus/telemetry/wire"
)

func TestSenderRetriesThenDelivers(t *testing.T) {
	col := newCollector(t, func(n int, b wire.Batch, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		accept(w, len(b.Events), nil)
	})
	s, err := NewSender(col.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	ev := wire.Event{ID: "0193723e-6f1a-7cc2-9c5e-3a1f0e4b2d10", Event: "ping", Timestamp: time.Now().Add(-48 * time.Hour).UTC()}
	resp, err := s.Send(context.Background(), []wire.Event{ev})
	if err != nil || resp.Accepted != 1 {
		t.Fatalf("Send = %+v, %v", resp, err)
	}
	got := col.events()
	if len(got) != 2 || got[1].ID != ev.ID || !got[1].Timestamp.Equal(ev.Timestamp) {
		t.Errorf("collector got %+v", got)
	}
}

func TestSenderReturnsClientErrors(t *testing.T) {
	col := newCollector(t, func(n int, b wire.Batch, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"events: expected an array"}`))
	})
	s, _ := NewSender(col.URL, nil)
	_, err := s.Send(context.Background(), []wire.Event{{ID: "x"}})
	if err == nil || !strings.Contains(err.Error(), "expected an array") {
		t.Errorf("err = %v", err)
	}
	if _, err := NewSender("not a url", nil); err == nil {
		t.Error("a bad endpoint was accepted")
	}
}
