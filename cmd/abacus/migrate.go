package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/abacushq/abacus/internal/store"
	"github.com/abacushq/abacus/internal/store/clickhouse"
	"github.com/abacushq/abacus/internal/store/duckdb"
)

// migrateBatch is how many events go to ClickHouse per Insert.
const migrateBatch = 20000

// migrate copies every event of a stopped collector's DuckDB file into a
// ClickHouse database. Inserts are idempotent by event ID, so a migration
// that stopped half-way is run again from the start.
func migrate(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", "migrate --from DIR --to clickhouse://host:9000/db", stderr)
	from := fs.String("from", "./abacus-data", "data directory of a stopped collector (its events.duckdb is read)")
	to := fs.String("to", "", "ClickHouse store URL, as for serve --store (created and migrated if needed)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if !strings.HasPrefix(*to, "clickhouse://") {
		return fmt.Errorf("%w: --to: expected a clickhouse:// URL, got %q", errUsage, *to)
	}
	path := filepath.Join(*from, "events.duckdb")
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("%w: --from: no events.duckdb in %s: %v", errUsage, *from, err)
	}
	src, err := duckdb.Open(path, duckdb.Options{})
	if err != nil {
		return fmt.Errorf("cannot open %s (is its collector still running?): %w", path, err)
	}
	defer src.Close()
	dst, err := clickhouse.Open(*to, clickhouse.Options{})
	if err != nil {
		return fmt.Errorf("%w: --to: %v", errUsage, err)
	}
	defer dst.Close()
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := dst.Migrate(ctx); err != nil {
		return err
	}
	total, err := src.Stats(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "copying %d events from %s to ClickHouse…\n", total.Events, path)
	start := time.Now()
	var batch []store.Event
	read, inserted := 0, 0
	flush := func() error {
		n, err := dst.Insert(ctx, batch)
		if err != nil {
			return fmt.Errorf("cannot copy events to ClickHouse after %d of %d (run migrate again: events already copied are skipped): %w", read-len(batch), total.Events, err)
		}
		inserted += n
		batch = batch[:0]
		return nil
	}
	err = src.Export(ctx, time.Unix(0, 0), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), func(e *store.Event) error {
		batch = append(batch, e.Clone())
		read++
		if len(batch) >= migrateBatch {
			if err := flush(); err != nil {
				return err
			}
			if read%(10*migrateBatch) == 0 {
				fmt.Fprintf(stdout, "  %d of %d\n", read, total.Events)
			}
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		err = flush()
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "copied %d events in %v: %d new, %d already in ClickHouse\n", read, time.Since(start).Round(time.Millisecond), inserted, read-inserted)
	fmt.Fprintf(stdout, "Start the collectors with --store %s --secret-file %s so that they re-key IDs as this data directory did.\n",
		*to, filepath.Join(*from, "secret"))
	return nil
}
