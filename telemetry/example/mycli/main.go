// Command mycli shows how a product embeds the Abacus SDK: it tracks one event
// per run, and offers the commands a user needs to see and control telemetry:
//
//	mycli telemetry status    # on or off, the rule that decided, where the files are
//	mycli telemetry show      # the last events sent, exactly as they were sent
//	mycli telemetry disable   # opt out (every product using Abacus, this user)
//	mycli telemetry enable    # undo disable
//	mycli init [dir]          # create a project: adds "mycli": {"uuid": …} to package.json
//	mycli run [dir]           # a run of the product that tracks one event
//
// The collector's URL comes from MYCLI_ENDPOINT here; a real product compiles
// its own in.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/abacushq/abacus/telemetry"
)

const product = "mycli"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// config is the product's telemetry configuration for the project in dir.
func config(dir string) telemetry.Config {
	return telemetry.Config{
		Product:  product,
		Version:  "1.0.0",
		Endpoint: os.Getenv("MYCLI_ENDPOINT"),
		Dir:      dir,
	}
}

func run(args []string, stdout, stderr io.Writer) int {
	dir := "."
	if len(args) >= 2 {
		dir = args[1]
	}
	switch {
	case len(args) >= 2 && args[0] == "telemetry":
		return telemetryCommand(args[1], stdout, stderr)
	case len(args) >= 1 && args[0] == "init":
		id, err := telemetry.CreateProject(dir, product)
		if err != nil {
			fmt.Fprintln(stderr, "mycli:", err)
			return 1
		}
		fmt.Fprintln(stdout, "project", id)
		return 0
	case len(args) >= 1 && args[0] == "run":
		start := time.Now()
		c, err := telemetry.New(config(dir))
		if err != nil {
			// Telemetry never stops the product: say why, and go on.
			fmt.Fprintln(stderr, "mycli: telemetry:", err)
		}
		defer c.Close(context.Background())
		c.Track("didRun", map[string]any{"durationMs": time.Since(start).Milliseconds()})
		fmt.Fprintln(stdout, "ran")
		return 0
	}
	fmt.Fprintln(stderr, "usage: mycli init [dir] | run [dir] | telemetry status|show|enable|disable")
	return 2
}

func telemetryCommand(cmd string, stdout, stderr io.Writer) int {
	switch cmd {
	case "status":
		c, err := telemetry.New(config("."))
		if err != nil {
			fmt.Fprintln(stderr, "mycli: telemetry:", err)
			return 1
		}
		defer c.Close(context.Background())
		st := c.Status()
		state := "disabled"
		if st.Enabled {
			state = "enabled"
		}
		fmt.Fprintf(stdout, "Telemetry is %s: %s\n", state, st.Reason)
		fmt.Fprintf(stdout, "Opt-out file: %s\n", st.OptOutFile)
		fmt.Fprintf(stdout, "State:        %s\n", st.StateDir)
		fmt.Fprintf(stdout, "Sent events:  %s (mycli telemetry show)\n", st.RecentFile)
		return 0
	case "show":
		events, err := telemetry.Recent(product)
		if err != nil {
			fmt.Fprintln(stderr, "mycli: telemetry:", err)
			return 1
		}
		if len(events) == 0 {
			fmt.Fprintln(stdout, "No events sent from this machine yet.")
		}
		for _, ev := range events {
			fmt.Fprintf(stdout, "%s\n", ev)
		}
		return 0
	case "disable":
		if err := telemetry.Disable(); err != nil {
			fmt.Fprintln(stderr, "mycli: telemetry:", err)
			return 1
		}
		fmt.Fprintln(stdout, "Telemetry disabled for every product using Abacus, for this user.")
		return 0
	case "enable":
		if err := telemetry.Enable(); err != nil {
			fmt.Fprintln(stderr, "mycli: telemetry:", err)
			return 1
		}
		fmt.Fprintln(stdout, "Telemetry enabled (DO_NOT_TRACK and MYCLI_TELEMETRY_DISABLED still apply).")
		return 0
	}
	fmt.Fprintln(stderr, "usage: mycli telemetry status|show|enable|disable")
	return 2
}
