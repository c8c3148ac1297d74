package wire

import (
	"time"
)

// Paths of the public ingest routes, relative to the collector's base URL.
const (
	BatchPath = "/v1/batch"
	TrackPath = "/v1/track"
	PlanPath  = "/v1/plan"
)

// Limits a v1 collector enforces by default. Clients keep their batches within them.
const (
	MaxBodyBytes          = 1 << 20 // request body as sent (possibly gzip)
	MaxDecodedBytes       = 8 << 20 // request body after gunzip
	MaxEventsPerBatch     = 1000
	MaxEventBytes         = 32 << 10 // one event, encoded
	MaxPropertiesPerEvent = 64
	MaxStringLen          = 256 // characters in one string value
)

// The environments an event can carry. Anything else is normalised to Other by the SDK
// and rejected by the collector.
const (
	Development = "development"
	Staging     = "staging"
	Production  = "production"
	Test        = "test"
	Other       = "other"
)

// Environments lists the valid environment values in display order.
var Environments = []string{Development, Staging, Production, Test, Other}

// Batch is the body of POST /v1/batch.
type Batch struct {
	// SentAt is the client's clock when the request was sent. The collector corrects
	// event timestamps by the difference between its own clock and SentAt.
	SentAt time.Time `json:"sentAt,omitzero"`
	Events []Event   `json:"events"`
}

// Event is one tracked event; it is also the body of POST /v1/track.
type Event struct {
	ID          string         `json:"id"`
	Event       string         `json:"event"`
	Timestamp   time.Time      `json:"timestamp"`
	ProjectID   string         `json:"projectId"`
	MachineID   string         `json:"machineId"`
	SessionID   string         `json:"sessionId,omitempty"`
	Environment string         `json:"environment"`
	Product     Product        `json:"product"`
	Context     Context        `json:"context"`
	Build       map[string]any `json:"build,omitempty"`
	Properties  map[string]any `json:"properties,omitempty"`
}

// Product names the instrumented product and its version.
type Product struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Context describes the machine and runtime the product runs on. It carries no
// host name, user name, path or address.
type Context struct {
	OS             string `json:"os"`
	OSVersion      string `json:"osVersion"`
	Arch           string `json:"arch"`
	CPUs           int    `json:"cpus"`
	MemoryMB       int64  `json:"memoryMB"`
	Runtime        string `json:"runtime"`
	RuntimeVersion string `json:"runtimeVersion"`
	CI             bool   `json:"ci"`
	CIName         string `json:"ciName"`
	Docker         bool   `json:"docker"`
	WSL            bool   `json:"wsl"`
	SDK            string `json:"sdk"`
}

// Response is the body of a 202 answer.
type Response struct {
	Accepted   int         `json:"accepted"`
	Duplicates int         `json:"duplicates"`
	Rejected   []Rejection `json:"rejected"`
}

// Rejection says why the event at Index of the batch was not stored.
type Rejection struct {
	Index int    `json:"index"`
	Error string `json:"error"`
}

// Error is the body of every non-2xx answer.
type Error struct {
	Error string `json:"error"`
}
