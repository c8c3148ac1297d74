package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/abacushq/abacus/internal/simulate"
	"github.com/abacushq/abacus/telemetry"
)

// simulateCmd runs `abacus simulate`: a synthetic population with planted,
// known effects, sent through the SDK's transport to a running collector.
func simulateCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("simulate", "simulate [--server URL] [--projects N] [--days D] [--seed S]", stderr)
	server := fs.String("server", defaultServer, "the collector's base URL (http:// assumed without a scheme)")
	projects := fs.Int("projects", simulate.DefaultProjects, "projects created over the window")
	days := fs.Int("days", simulate.DefaultDays, "length of the window, ending now")
	seed := fs.Uint64("seed", 1, "random seed: the same seed sends the same population (for the same hour)")
	concurrency := fs.Int("concurrency", simulate.DefaultConcurrency, "requests in flight")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	base, err := serverURL(*server)
	if err != nil {
		return err
	}
	if *projects < 1 || *projects > simulate.MaxProjects {
		return fmt.Errorf("%w: --projects: expected 1 to %d, got %d", errUsage, simulate.MaxProjects, *projects)
	}
	if *days < 1 || *days > simulate.MaxDays {
		return fmt.Errorf("%w: --days: expected 1 to %d, got %d", errUsage, simulate.MaxDays, *days)
	}
	sender, err := telemetry.NewSender(base, nil)
	if err != nil {
		return fmt.Errorf("%w: --server: %v", errUsage, err)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	// The sender retries a collector that does not answer for as long as the
	// run lasts; one that is not there at all is said at once.
	if err := reachable(ctx, nil, base); err != nil {
		return err
	}
	cfg := simulate.Config{Projects: *projects, Days: *days, Seed: *seed}
	if _, err := simulate.Run(ctx, cfg, sender, *concurrency, stdout); err != nil {
		return err
	}
	return nil
}
