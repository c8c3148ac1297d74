package main

import (
	"bytes"
	"strings"
	"testing"
)

func runArgs(args ...string) (code int, stdout, stderr string) {
	var out, errw bytes.Buffer
	code = run(args, &out, &errw)
	return code, out.String(), errw.String()
}

func TestCommands(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		code     int
		out, err string // substrings expected in stdout and stderr
	}{
		{nil, 2, "", "Usage:"},
		{[]string{"help"}, 0, "abacus serve", ""},
		{[]string{"version"}, 0, "abacus " + version, ""},
		{[]string{"fly"}, 2, "", `unknown command "fly"`},
		{[]string{"plan", "check", "default"}, 0, `ok: product "strapi"`, ""},
		{[]string{"plan", "doc", "default"}, 0, "What data is collected", ""},
		{[]string{"plan", "check", "testdata/bad-plan.yaml"}, 1, "", "bad-plan.yaml:6: events.didStartServer.properties.durationMs"},
		{[]string{"plan", "check", "testdata/missing.yaml"}, 1, "", "missing.yaml"},
		{[]string{"plan", "lint", "x"}, 2, "", "expected check, doc or show"},
		{[]string{"serve", "--log-level", "loud"}, 2, "", "--log-level"},
		{[]string{"serve", "--tls-cert", "c.pem"}, 2, "", "--tls-cert and --tls-key go together"},
		{[]string{"serve", "--help"}, 0, "", "-retention days"},
		{[]string{"erase"}, 2, "", "--project is required"},
		{[]string{"simulate", "--projects", "0"}, 2, "", "--projects: expected 1"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Setenv("ABACUS_TOKEN", "")
			code, out, errOut := runArgs(tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			if !strings.Contains(out, tc.out) {
				t.Errorf("stdout lacks %q:\n%s", tc.out, out)
			}
			if !strings.Contains(errOut, tc.err) {
				t.Errorf("stderr lacks %q:\n%s", tc.err, errOut)
			}
		})
	}
}

func TestEraseNeedsTheToken(t *testing.T) {
	t.Setenv("ABACUS_TOKEN", "")
	code, _, errOut := runArgs("erase", "--project", "7b581c0d-89b7-479e-b379-a76ab90b8754")
	if code != 2 || !strings.Contains(errOut, "ABACUS_TOKEN") {
		t.Errorf("exit %d: %s", code, errOut)
	}
}
