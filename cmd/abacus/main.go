// Command abacus is the Abacus collector and its tools: serve ingests and
// stores telemetry, plan checks and documents tracking plans, erase removes a
// project's events, version prints the version.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

const usage = `abacus — self-hosted, privacy-first product telemetry

Usage:
  abacus serve    [--addr 127.0.0.1:8080] [--data ./abacus-data] [--plan plan.yaml] [--demo] [flags]
  abacus plan     check|doc|show FILE
  abacus report   NAME [--server URL | --data DIR] [--last 30d | --from D --to D] [--format table|json|csv]
  abacus simulate [--server URL] [--projects N] [--days D] [--seed S]
  abacus erase    --project UUID [--now] [--server URL]
  abacus migrate  --from ./abacus-data --to clickhouse://host:9000/db
  abacus version

Commands:
  serve     run the collector: ingest (POST /v1/batch, /v1/track; PostHog SDKs
            under /posthog, Segment under /segment, Strapi's sender at
            /api/v2/track), write-ahead log, DuckDB store in <data>/events.duckdb
            (or a ClickHouse database shared by many collectors: --store
            clickhouse://host:9000/db, see 'abacus serve --help'),
            the dashboard at / (sign in with the admin token), reports and admin
            API, /privacy, /metrics, /openapi.json; --demo loads 90 days of a
            simulated population on first run
  plan      check a tracking plan (errors give file and line), print its
            "What data is collected?" page as Markdown, or show it as YAML
            ("abacus plan show default > plan.yaml" starts a plan of your own)
  report    answer a product question: overview, features, cohort, setup, errors,
            plugins, runtimes (from a running collector, or a stopped one's --data)
  simulate  send a synthetic population with planted, known effects to a collector
            (through the SDK's transport), with a progress bar and a summary
  erase     delete every event of one project (by the uuid in its package.json);
            gone from disk within 24 hours, or at once with --now
  migrate   copy a stopped collector's DuckDB events into a ClickHouse database
            (idempotent: run it again after an interruption)
  version   print the version

Run 'abacus COMMAND --help' for a command's flags. --server takes the
collector's base URL; without a scheme, http:// is assumed.
Environment: ABACUS_TOKEN sets the admin token (serve) and authenticates the
client commands; without it serve creates <data>/token on first start, and
every start says where the token is kept.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// errUsage marks an error the user can fix by reading the help.
var errUsage = errors.New("usage")

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(args[1:], stdout, stderr)
	case "plan":
		err = planCmd(args[1:], stdout, stderr)
	case "erase":
		err = erase(args[1:], stdout, stderr)
	case "report":
		err = report(args[1:], stdout, stderr)
	case "simulate":
		err = simulateCmd(args[1:], stdout, stderr)
	case "migrate":
		err = migrate(args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "abacus %s\n", version)
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "abacus: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "abacus %s: %v\n", args[0], err)
		return 2
	default:
		fmt.Fprintf(stderr, "abacus %s: %v\n", args[0], err)
		return 1
	}
}

// newFlags makes a flag set whose help names the command.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: abacus %s\n", synopsis)
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 { // a command without flags gets no empty "Flags:"
			fmt.Fprint(stderr, "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}
