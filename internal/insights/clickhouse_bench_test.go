//go:build !race

package insights_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/insights"
	"github.com/abacushq/abacus/internal/plan"
	"github.com/abacushq/abacus/internal/store"
	"github.com/abacushq/abacus/internal/store/clickhouse"
	"github.com/abacushq/abacus/internal/store/clickhouse/chtest"
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
	duck := insights.OpenBenchSet(b, insights.AtScale)
	defer duck.Close()
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
	st, err := ch.Stats(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("copied %d events into ClickHouse in %v (%.0f events/s); ClickHouse holds %d events in %d bytes (%.1f B/event)",
		copied, elapsed.Round(time.Second), float64(copied)/elapsed.Seconds(), st.Events, st.Bytes, float64(st.Bytes)/float64(st.Events))
	if want, err := duck.Stats(ctx); err != nil || st.Events != want.Events {
		b.Fatalf("ClickHouse holds %d events, the DuckDB file %d (%v)", st.Events, want.Events, err)
	}

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
