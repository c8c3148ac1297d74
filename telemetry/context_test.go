package telemetry

import (
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/abacushq/abacus/telemetry/wire"
)

func TestEnvironmentDetection(t *testing.T) {
	for _, tc := range []struct {
		product, nodeEnv, appEnv, want string
	}{
		{"", "", "", wire.Development},
		{"", "production", "", wire.Production},
		{"", "", "staging", wire.Staging},
		{"", "prod", "staging", wire.Production}, // NODE_ENV before APP_ENV
		{"live", "development", "", wire.Production},
		{"TEST", "", "", wire.Test},
		{"qa-7", "", "", wire.Other},
		{"", "dev", "", wire.Development},
	} {
		t.Setenv("STRAPI_ENV", tc.product)
		t.Setenv("NODE_ENV", tc.nodeEnv)
		t.Setenv("APP_ENV", tc.appEnv)
		if got := detectEnvironment("strapi"); got != tc.want {
			t.Errorf("STRAPI_ENV=%q NODE_ENV=%q APP_ENV=%q: got %q, want %q", tc.product, tc.nodeEnv, tc.appEnv, got, tc.want)
		}
	}
}

func TestConfigEnvironmentIsNormalised(t *testing.T) {
	isolate(t)
	cfg, err := Config{Product: "strapi", Environment: "Prod", Dir: t.TempDir(), StateDir: t.TempDir()}.resolve()
	if err != nil || cfg.Environment != wire.Production {
		t.Errorf("Environment = %q, %v", cfg.Environment, err)
	}
}

func TestCIDetection(t *testing.T) {
	clear := func() {
		for _, p := range ciProviders {
			t.Setenv(p.env, "")
			os.Unsetenv(p.env)
		}
	}
	for _, tc := range []struct {
		env, value string
		ci         bool
		name       string
	}{
		{"", "", false, ""},
		{"GITHUB_ACTIONS", "true", true, "github-actions"},
		{"GITLAB_CI", "true", true, "gitlab"},
		{"JENKINS_URL", "https://ci", true, "jenkins"},
		{"TF_BUILD", "True", true, "azure-pipelines"},
		{"CI", "1", true, "other"},
		{"CI", "false", false, ""},
	} {
		clear()
		if tc.env != "" {
			t.Setenv(tc.env, tc.value)
		}
		ci, name := detectCI()
		if ci != tc.ci || name != tc.name {
			t.Errorf("%s=%s: got %v %q, want %v %q", tc.env, tc.value, ci, name, tc.ci, tc.name)
		}
	}
}

func TestContextDescribesThisMachine(t *testing.T) {
	ctx := detectContext()
	if ctx.OS != runtime.GOOS || ctx.Arch != runtime.GOARCH || ctx.CPUs != runtime.NumCPU() {
		t.Errorf("context = %+v", ctx)
	}
	if runtime.GOOS == "linux" {
		if ctx.OSVersion == "" || strings.ContainsAny(ctx.OSVersion, "-+ ") {
			t.Errorf("osVersion %q, want the numeric kernel release", ctx.OSVersion)
		}
		if ctx.MemoryMB <= 0 {
			t.Errorf("memoryMB = %d", ctx.MemoryMB)
		}
	}
	if !strings.HasPrefix(runtime.Version(), "go"+ctx.RuntimeVersion) {
		t.Errorf("runtimeVersion %q vs %q", ctx.RuntimeVersion, runtime.Version())
	}
}

func TestEnvPrefix(t *testing.T) {
	for in, want := range map[string]string{"strapi": "STRAPI", "my-cms": "MY_CMS", "a.b_c9": "A_B_C9"} {
		if got := envPrefix(in); got != want {
			t.Errorf("envPrefix(%q) = %q, want %q", in, got, want)
		}
	}
}
