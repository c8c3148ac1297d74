package telemetry

import "testing"

func TestKernelVersion(t *testing.T) {
	for in, want := range map[string]string{
		"6.1.0-13-amd64\n":                   "6.1.0",
		"5.15.153.1-microsoft-standard-WSL2": "5.15.153.1",
		"6.8.0":                              "6.8.0",
		"4.19.0+build.host.example.org":      "4.19.0",
		"garbage":                            "",
	} {
		if got := kernelVersion(in); got != want {
			t.Errorf("kernelVersion(%q) = %q, want %q", in, got, want)
		}
	}
}
