package telemetry

import (
	"os"
	"runtime"
	"strings"

	"github.com/abacushq/abacus/telemetry/wire"
)

// SDKVersion is the version of this SDK, sent as context.sdk ("abacus-go/<version>").
const SDKVersion = "0.1.0"

// detectEnvironment picks the environment: <PRODUCT>_ENV, then NODE_ENV, then
// APP_ENV, else development.
func detectEnvironment(product string) string {
	for _, k := range []string{envPrefix(product) + "_ENV", "NODE_ENV", "APP_ENV"} {
		if v := os.Getenv(k); v != "" {
			return normalizeEnvironment(v)
		}
	}
	return wire.Development
}

// normalizeEnvironment maps the many spellings of an environment onto the five
// values of the protocol.
func normalizeEnvironment(v string) string {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "development", "dev", "develop", "local":
		return wire.Development
	case "staging", "stage", "preprod", "pre-production", "preview", "uat":
		return wire.Staging
	case "production", "prod", "live":
		return wire.Production
	case "test", "testing":
		return wire.Test
	}
	return wire.Other
}

// ciProviders maps an environment variable each CI sets to the name sent as
// context.ciName. The first match wins, so specific providers come before the
// generic CI variable.
var ciProviders = []struct{ env, name string }{
	{"GITHUB_ACTIONS", "github-actions"},
	{"GITLAB_CI", "gitlab"},
	{"CIRCLECI", "circleci"},
	{"TRAVIS", "travis"},
	{"BUILDKITE", "buildkite"},
	{"TF_BUILD", "azure-pipelines"},
	{"BITBUCKET_BUILD_NUMBER", "bitbucket"},
	{"JENKINS_URL", "jenkins"},
	{"TEAMCITY_VERSION", "teamcity"},
	{"APPVEYOR", "appveyor"},
	{"DRONE", "drone"},
	{"CODEBUILD_BUILD_ID", "aws-codebuild"},
	{"SEMAPHORE", "semaphore"},
	{"BUDDY", "buddy"},
	{"NETLIFY", "netlify"},
	{"VERCEL", "vercel"},
	{"CF_PAGES", "cloudflare-pages"},
	{"RENDER", "render"},
	{"HEROKU_TEST_RUN_ID", "heroku"},
	{"WOODPECKER", "woodpecker"},
	{"CI", "other"},
}

// detectCI reports whether the process runs in CI, and which provider.
func detectCI() (bool, string) {
	for _, p := range ciProviders {
		v, ok := os.LookupEnv(p.env)
		if !ok || v == "" || strings.EqualFold(v, "false") || v == "0" {
			continue
		}
		return true, p.name
	}
	return false, ""
}

// detectContext describes the machine. It reads a few small system files, so it
// runs on the client's own goroutine, never the caller's.
func detectContext() wire.Context {
	ci, ciName := detectCI()
	return wire.Context{
		OS:             runtime.GOOS,
		OSVersion:      osVersion(),
		Arch:           runtime.GOARCH,
		CPUs:           runtime.NumCPU(),
		MemoryMB:       memoryMB(),
		Runtime:        "go",
		RuntimeVersion: strings.TrimPrefix(runtime.Version(), "go"),
		CI:             ci,
		CIName:         ciName,
		Docker:         inContainer(),
		WSL:            inWSL(),
		SDK:            "abacus-go/" + SDKVersion,
	}
}
