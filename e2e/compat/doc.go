// Package compat tests the collector's PostHog, Segment and Strapi routes with
// the real clients: posthog-go and analytics-go from the Go module proxy, and
// posthog-node, @segment/analytics-node and @strapi/core's metrics sender from
// npm (clients.mjs), all against the real abacus binary on loopback.
//
// It is its own module, so that the peers' SDKs never enter the collector's
// go.mod. Before running it, install the npm packages:
//
//	cd e2e/compat && npm ci --ignore-scripts && go test -v .
//
// ABACUS_BIN names a built abacus binary to use instead of building one.
package compat
