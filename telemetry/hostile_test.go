//go:build !race

package telemetry

// The hostile-environment suite: the public API driven in a separate process (this
// test binary, re-executed: TestHostileChild) against FIFOs, sockets and devices,
// a spool of 100,000 files and one of a 2 GiB file, root- and user-owned
// manifests, 20 processes creating one project, ten processes spooling at once,
// and a local collector that redirects, stalls and floods, with the figures the
// SDK promises as assertions. The race detector distorts times and memory, so
// the suite runs without it (make test-norace); CI runs it as root.

import (
	"os"
	"testing"
)

func TestHostile(t *testing.T) {
	if os.Getenv("ABACUS_HOSTILE") != "" {
		return // a child of the suite
	}
	hostileSuite(t)
}
