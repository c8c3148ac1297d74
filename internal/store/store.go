package store

import (
	"context"
	"errors"
	"time"
)

// Event is one stored event: a wire event after the tracking plan, re-keying and
// clock-skew correction. It holds nothing the plan does not allow.
type Event struct {
	// ID is the client-chosen event UUID, lowercase; the idempotency key.
	ID string
	// Name is the event name, declared in the tracking plan.
	Name string
	// Time is when the event happened, corrected for the client's clock skew, UTC.
	Time time.Time
	// ReceivedAt is when the collector accepted it, UTC.
	ReceivedAt time.Time
	// ProjectID and MachineID are re-keyed with the server secret: 32 lowercase
	// hex characters each, never the values the client sent.
	ProjectID string
	MachineID string
	// SessionID is re-keyed like the IDs above ("" when the client sent none).
	SessionID   string
	Environment string

	Product        string
	ProductVersion string

	OS             string
	OSVersion      string
	Arch           string
	CPUs           int
	MemoryMB       int64
	Runtime        string
	RuntimeVersion string
	CI             bool
	CIName         string
	Docker         bool
	WSL            bool
	SDK            string

	// Build and Properties hold the plan-checked values: string, float64 or
	// int64, bool, or []any of those. A backend may return JSON numbers as
	// float64.
	Build      map[string]any
	Properties map[string]any
}

// Clone copies e with its maps, which the stores' Export reuses after each
// callback.
func (e *Event) Clone() Event {
	c := *e
	c.Build = cloneAny(c.Build).(map[string]any)
	c.Properties = cloneAny(c.Properties).(map[string]any)
	return c
}

func cloneAny(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if v == nil {
			return map[string]any(nil)
		}
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = cloneAny(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = cloneAny(x)
		}
		return out
	}
	return v
}

// Stats describes what a store holds.
type Stats struct {
	Events int64 // stored events
	Bytes  int64 // bytes on disk (or as reported by the server)
}

// Store keeps events. DuckDB (embedded, the default) and ClickHouse implement it;
// the storetest package is the contract every implementation passes.
//
// Rules every implementation keeps:
//
//   - Safe for concurrent use. The collector calls Insert from one writer
//     goroutine while Export, Existing and the deletes run from request handlers.
//   - Insert is idempotent by ID: an ID already stored, or repeated within the
//     call, is stored once; Insert reports how many events were new. An Insert
//     that returns an error stored none of its events (the collector keeps the
//     write-ahead log until an Insert succeeds, then releases it).
//   - Times are stored to at least millisecond precision and returned in UTC.
//   - ctx bounds the call; a cancelled call returns ctx's error.
//   - Methods after Close return ErrClosed.
type Store interface {
	// Insert stores the events whose IDs are not stored yet.
	Insert(ctx context.Context, events []Event) (inserted int, err error)
	// Existing reports which of ids are stored. It serves the collector's
	// duplicate answer (202's "duplicates") and is not what keeps an event
	// from being stored twice (Insert is): a store shared by several
	// collectors may answer from what it has seen itself, and miss an ID
	// that another collector stored (ClickHouse's does; its doc says why).
	Existing(ctx context.Context, ids []string) (map[string]bool, error)
	// IDs calls fn with the ID of every event received at or after since.
	IDs(ctx context.Context, since time.Time, fn func(id string) error) error
	// Export calls fn for each event with from <= Time < to, in Time order (ties
	// by ID). The Event passed to fn is only valid during the call.
	Export(ctx context.Context, from, to time.Time, fn func(*Event) error) error
	// DeleteProject removes every event of the (re-keyed) project ID and reports
	// how many it removed.
	DeleteProject(ctx context.Context, projectID string) (int64, error)
	// DeleteBefore removes every event with Time < t (retention) and reports how
	// many it removed.
	DeleteBefore(ctx context.Context, t time.Time) (int64, error)
	// Stats reports the number of events and the bytes they take.
	Stats(ctx context.Context) (Stats, error)
	// Close flushes and releases the store.
	Close() error
}

// ErrClosed is returned by the methods of a closed Store.
var ErrClosed = errors.New("store: closed")
