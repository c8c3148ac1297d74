//go:build !unix && !race

package telemetry

import "testing"

func hostileSuite(t *testing.T) { t.Skip("the hostile-environment suite needs a unix system") }
