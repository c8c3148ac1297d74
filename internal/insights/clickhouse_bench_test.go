//go:build !race

package insights_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/insights"
	"github.com/abacushq/abacus/internal/plan"
	"github.com/abacushq/abacus/internal/store"
	"github.com/abacushq/abacus/internal/store/clickhouse"
	"github.com/abacushq/abacus/internal/store/clickhouse/chtest"
	"github.com/abacushq/abacus/internal/store/duckdb"
)

// BenchmarkReportsAtScale times every report over 50M events (atScale: 250k
// projects, 180 days, the population of BenchmarkReports five times over)
// on DuckDB at abacus serve's defaults and on a clickhouse-server started for
// the run, the same events in both: it copies the DuckDB file's events into
// ClickHouse first, as abacus migrate does (Export, then Insert in batches),
// and reports the rate. Before timing, each report's JSON must be the same on
// both stores. Not in CI: the DuckDB file takes minutes to generate (it is
// kept under the temporary directory) and the copy minutes more.
//
//	go test -run '^$' -bench ReportsAtScale -benchtime 1x -timeout 60m ./internal/insights
func BenchmarkReportsAtScale(b *testing.B) {
	if testing.Short() {
		b.Skip("generates 50M events")
	}
	ctx := context.Background()
	if _, err := os.Stat(insights.AtScalePath); err != nil {
		insights.OpenBenchSet(b, insights.AtScale).Close() // generated once, kept
	}
	// The copy reads with DuckDB's default memory (as abacus migrate does):
	// exporting 50M events in time order does not fit in serve's 64 MB.
	// Opening it so also brings a file of an older schema to this one.
	duck, err := duckdb.Open(insights.AtScalePath, duckdb.Options{})
	if err != nil {
		b.Fatal(err)
	}
	srv := chtest.Start(b)
	ch, err := clickhouse.Open(srv.URL("scale"), clickhouse.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer ch.Close()

	start := time.Now()
	var (
		batch  []store.Event
		copied int
	)
	flush := func() error {
		_, err := ch.Insert(ctx, batch)
		copied += len(batch)
		batch = batch[:0]
		return err
	}
	err = duck.Export(ctx, time.Unix(0, 0), insights.BenchEnd.AddDate(1, 0, 0), func(e *store.Event) error {
		batch = append(batch, e.Clone())
		if len(batch) == 100_000 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	// Rows, not Stats: Stats' uniqExact over 50M IDs passes the test
	// server's memory limit; the copy stores no event twice.
	rows, err := srv.Query(ctx, "SELECT count() FROM scale.events")
	if err != nil {
		b.Fatal(err)
	}
	want, err := duck.Stats(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("copied %d events into ClickHouse in %v (%.0f events/s); ClickHouse holds %s rows",
		copied, elapsed.Round(time.Second), float64(copied)/elapsed.Seconds(), strings.TrimSpace(rows))
	if strings.TrimSpace(rows) != fmt.Sprint(want.Events) {
		b.Fatalf("ClickHouse holds %s rows, the DuckDB file %d events", strings.TrimSpace(rows), want.Events)
	}
	duck.Close()
	if duck, err = duckdb.Open(insights.AtScalePath, insights.ServeOptions); err != nil {
		b.Fatal(err)
	}
	defer duck.Close()

	p := insights.Params{From: insights.BenchEnd.AddDate(0, 0, -insights.BenchDays), To: insights.BenchEnd.AddDate(0, 0, -1), Feature: "releases"}
	stores := []struct {
		name string
		in   *insights.Insights
	}{
		{"duckdb", insights.New(insights.DuckDB(duck.DB()), plan.Default())},
		{"clickhouse", insights.New(ch.Reports(), plan.Default())},
	}
	for _, name := range insights.Names {
		var answers [][]byte
		for _, s := range stores {
			r, err := s.in.Run(ctx, name, p)
			if err != nil {
				b.Fatalf("%s on %s: %v", name, s.name, err)
			}
			j, _ := json.Marshal(r)
			answers = append(answers, j)
		}
		if !bytes.Equal(answers[0], answers[1]) {
			b.Fatalf("%s: DuckDB and ClickHouse differ over the same events:\n%s\n%s", name, answers[0], answers[1])
		}
		for _, s := range stores {
			b.Run(fmt.Sprintf("%s/%s", name, s.name), func(b *testing.B) {
				for b.Loop() {
					if _, err := s.in.Run(ctx, name, p); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
