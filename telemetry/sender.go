package telemetry

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/abacushq/abacus/telemetry/wire"
)

// Sender posts events that are already built to a collector: the transport of
// Client — gzip batches, retries with backoff and jitter, Retry-After — without
// its consent rules, context, queue or spool. It is for tools that relay or
// synthesize events (a load generator, the Abacus simulator), not for
// products: a product uses Client, so that its users' choices apply.
type Sender struct {
	s *sender
}

// NewSender returns a Sender for the collector at endpoint (its base URL).
// client nil means the SDK's default client (proxy from the environment).
func NewSender(endpoint string, client *http.Client) (*Sender, error) {
	cfg, err := Config{Product: "sender", Endpoint: endpoint, HTTPClient: client, Dir: ".", StateDir: "."}.resolve()
	if err != nil {
		return nil, err
	}
	return &Sender{s: newSender(cfg)}, nil
}

// Send posts events as one batch (at most wire.MaxEventsPerBatch) and returns
// the collector's answer. It retries network errors, 408, 429 and 5xx until
// ctx ends; a 4xx answer is returned as an error at once.
func (s *Sender) Send(ctx context.Context, events []wire.Event) (resp wire.Response, err error) {
	defer recoverInto(&err)
	if len(events) > wire.MaxEventsPerBatch {
		return resp, fmt.Errorf("telemetry: Send: %d events, at most %d a batch", len(events), wire.MaxEventsPerBatch)
	}
	batch := make([]queued, len(events))
	for i := range events {
		raw, err := json.Marshal(&events[i])
		if err != nil {
			return resp, fmt.Errorf("telemetry: Send: events[%d]: %w", i, err)
		}
		batch[i] = queued{id: events[i].ID, raw: raw}
	}
	for attempt := 1; ; attempt++ {
		res := s.s.post(ctx, batch)
		switch res.verdict {
		case delivered:
			return res.resp, nil
		case retry:
			wait := res.retryAfter
			if wait <= 0 {
				wait = backoff(attempt)
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return resp, fmt.Errorf("telemetry: Send: %w (last: %v)", ctx.Err(), res.err)
			case <-t.C:
			}
		default:
			return resp, fmt.Errorf("telemetry: Send: %w", res.err)
		}
	}
}
