// Command gosdk runs the Go SDK for the Node.js SDK's cross-SDK tests: it
// tracks the events named on its command line with one client and prints the
// client's Status as JSON, so that a test can have a spool written by one SDK
// delivered by the other, compare their machine IDs (in debug mode, where each
// event is printed) and check that both honour the same opt-out file.
//
//	gosdk -product demo -endpoint URL -dir DIR -state DIR [-budget 300ms] [event…]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/abacushq/abacus/telemetry"
)

func main() {
	product := flag.String("product", "demo", "product name")
	endpoint := flag.String("endpoint", "", "collector base URL")
	dir := flag.String("dir", ".", "project directory")
	state := flag.String("state", "", "state directory")
	budget := flag.Duration("budget", 300*time.Millisecond, "close budget")
	flag.Parse()
	c, err := telemetry.New(telemetry.Config{
		Product: *product, Version: "1.0.0", Endpoint: *endpoint, Dir: *dir, StateDir: *state,
		CloseBudget: *budget, Debug: os.Stdout,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for _, name := range flag.Args() {
		c.Track(name, map[string]any{"sdk": "go"})
	}
	closeErr := c.Close(context.Background())
	out, _ := json.Marshal(struct {
		telemetry.Status
		CloseError string
	}{c.Status(), fmt.Sprint(closeErr)})
	fmt.Fprintln(os.Stderr, string(out))
}
