// Package bench measures Abacus against its peers. It is a module of its own so
// that the peers it imports never enter the product's go.mod.
//
// The SDK benchmarks (sdk_test.go) run Track and Close of the Abacus SDK against
// the Enqueue and Close of github.com/posthog/posthog-go and
// gopkg.in/segmentio/analytics-go.v3 in one run; size_test.go measures what the
// SDK adds to a binary. BENCHMARKS.md at the repository root records the results
// and the commands.
package bench
