package main

import (
	"fmt"
	"io"

	"github.com/abacushq/abacus/internal/plan"
)

// planCmd runs `abacus plan check|doc FILE`.
func planCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("plan", "plan check|doc FILE\n\n  check  validate FILE; errors name the file, line and field\n  doc    print the \"What data is collected?\" page of FILE as Markdown\n  FILE may be \"default\" for the built-in plan", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 || (fs.Arg(0) != "check" && fs.Arg(0) != "doc") {
		fs.Usage()
		return fmt.Errorf("%w: expected check or doc and a FILE", errUsage)
	}
	p, err := loadPlan(fs.Arg(1))
	if err != nil {
		return err
	}
	switch fs.Arg(0) {
	case "check":
		fmt.Fprintf(stdout, "%s: ok: product %q, %d events, %d build keys, k=%d\n", fs.Arg(1), p.Product, len(p.Events), len(p.Build), p.K)
	case "doc":
		stdout.Write(p.Markdown())
	}
	return nil
}

// loadPlan loads a plan file; "" and "default" mean the built-in plan.
func loadPlan(path string) (*plan.Plan, error) {
	if path == "" || path == "default" {
		return plan.Default(), nil
	}
	return plan.Load(path)
}
