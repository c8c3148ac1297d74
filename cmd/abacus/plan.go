package main

import (
	"fmt"
	"io"
	"os"

	"github.com/abacushq/abacus/internal/plan"
)

// planCmd runs `abacus plan check|doc|show FILE`.
func planCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("plan", "plan check|doc|show FILE\n\n  check  validate FILE; errors name the file, line and field\n  doc    print the \"What data is collected?\" page of FILE as Markdown\n  show   print FILE as YAML once it checks; \"abacus plan show default > plan.yaml\"\n         starts a plan of your own from the built-in one\n  FILE may be \"default\" for the built-in plan", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 || (fs.Arg(0) != "check" && fs.Arg(0) != "doc" && fs.Arg(0) != "show") {
		fs.Usage()
		return fmt.Errorf("%w: expected check, doc or show and a FILE", errUsage)
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
	case "show":
		src := plan.DefaultYAML()
		if fs.Arg(1) != "default" {
			// Loaded and checked above; shown as written, comments included.
			if src, err = os.ReadFile(fs.Arg(1)); err != nil {
				return fmt.Errorf("cannot read plan %q: %w", fs.Arg(1), err)
			}
		}
		stdout.Write(src)
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
