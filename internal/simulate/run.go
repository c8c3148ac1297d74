package simulate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/abacushq/abacus/internal/human"
	"github.com/abacushq/abacus/telemetry"
	"github.com/abacushq/abacus/telemetry/wire"
)

// BatchSize is how many events Run sends in one request.
const BatchSize = 500

// DefaultConcurrency is Run's number of parallel requests when it is given 0.
const DefaultConcurrency = 4

// Run generates the population cfg describes and sends it through s in batches of
// BatchSize, with concurrency parallel requests (0 = DefaultConcurrency). It first counts
// the events (a quick pass that builds none), so that progress, if not nil, gets a progress
// bar: one line redrawn with '\r' (percent, events acknowledged, events/s, ETA), then a
// closing summary. It returns when every batch is acknowledged or ctx ends.
//
// The returned Summary has the collector's answers summed (Accepted, Duplicates,
// Rejected) and the time it took. Sending the same population twice is harmless: the
// collector counts the second copy as duplicates. Rejected events do not stop the run, but
// Run then returns an error that says how many and why the first was rejected (with the
// default plan there are none).
func Run(ctx context.Context, cfg Config, s *telemetry.Sender, concurrency int, progress io.Writer) (Summary, error) {
	c, err := cfg.normalize()
	if err != nil {
		return Summary{}, err
	}
	if s == nil {
		return Summary{}, errors.New("simulate: Run: no sender")
	}
	if concurrency <= 0 {
		concurrency = DefaultConcurrency
	}
	began := time.Now()
	planned, err := count(ctx, c)
	if err != nil {
		return Summary{}, fmt.Errorf("simulate: %w", err)
	}
	total := planned.Events

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		acked, accepted, duplicates, rejected atomic.Int64
		mu                                    sync.Mutex
		sendErr                               error
		firstRejection                        string
	)
	fail := func(err error) {
		mu.Lock()
		if sendErr == nil {
			sendErr = err
		}
		mu.Unlock()
		cancel()
	}
	batches := make(chan []wire.Event, concurrency)
	var workers sync.WaitGroup
	for range concurrency {
		workers.Go(func() {
			for b := range batches {
				if ctx.Err() != nil {
					continue // drain
				}
				resp, err := s.Send(ctx, b)
				if err != nil {
					fail(err)
					continue
				}
				accepted.Add(int64(resp.Accepted))
				duplicates.Add(int64(resp.Duplicates))
				if len(resp.Rejected) > 0 {
					rejected.Add(int64(len(resp.Rejected)))
					mu.Lock()
					if firstRejection == "" {
						firstRejection = resp.Rejected[0].Error
					}
					mu.Unlock()
				}
				acked.Add(int64(len(b)))
			}
		})
	}

	bar := &progressBar{w: progress, total: total, began: time.Now()}
	stopBar := make(chan struct{})
	var drawer sync.WaitGroup
	if progress != nil {
		drawer.Go(func() {
			t := time.NewTicker(200 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stopBar:
					return
				case <-t.C:
					bar.draw(int(acked.Load()))
				}
			}
		})
	}

	batch := make([]wire.Event, 0, BatchSize)
	deliver := func() error {
		select {
		case batches <- batch:
			batch = make([]wire.Event, 0, BatchSize)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	sum, genErr := Generate(c, func(e *wire.Event) error {
		batch = append(batch, *e)
		if len(batch) == BatchSize {
			return deliver()
		}
		return nil
	})
	if genErr == nil && len(batch) > 0 {
		genErr = deliver()
	}
	close(batches)
	workers.Wait()
	close(stopBar)
	drawer.Wait()

	sum.Accepted = int(accepted.Load())
	sum.Duplicates = int(duplicates.Load())
	sum.Rejected = int(rejected.Load())
	sum.Elapsed = time.Since(began)
	done := int(acked.Load())
	if progress != nil {
		bar.draw(done)
		fmt.Fprintln(progress)
		writeSummary(progress, sum, done, bar.since(), sendErr == nil && genErr == nil)
	}
	switch {
	case sendErr != nil:
		return sum, fmt.Errorf("simulate: %d of %d events acknowledged: %w", done, total, sendErr)
	case genErr != nil:
		return sum, fmt.Errorf("simulate: %d of %d events acknowledged: %w", done, total, genErr)
	case sum.Rejected > 0:
		return sum, fmt.Errorf("simulate: the collector rejected %d of %d events (the first: %s)", sum.Rejected, done, firstRejection)
	}
	return sum, nil
}

// progressBar draws one line: percent, a bar, events acknowledged, events/s, ETA.
type progressBar struct {
	w     io.Writer
	total int
	began time.Time
	width int // of the last line drawn, to blank it out
}

func (b *progressBar) since() time.Duration { return time.Since(b.began) }

func (b *progressBar) draw(done int) {
	elapsed := b.since().Seconds()
	frac := 1.0
	if b.total > 0 {
		frac = min(1, float64(done)/float64(b.total))
	}
	const cells = 24
	full := int(frac * cells)
	bar := strings.Repeat("=", full)
	if full < cells {
		bar += ">" + strings.Repeat(" ", cells-full-1)
	}
	rate := 0.0
	if elapsed > 0 {
		rate = float64(done) / elapsed
	}
	eta := "--"
	switch {
	case done >= b.total:
		eta = "0s"
	case rate > 0:
		eta = (time.Duration(float64(b.total-done)/rate) * time.Second).Round(time.Second).String()
	}
	line := fmt.Sprintf("%3d%% [%s] %s/%s events  %s events/s  ETA %s",
		int(frac*100), bar, thousands(done), thousands(b.total), thousands(int(rate)), eta)
	pad := ""
	if n := b.width - len(line); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	b.width = len(line)
	fmt.Fprint(b.w, "\r"+line+pad)
}

// writeSummary writes the closing lines of Run; the planted truths only for a
// complete run (a run cut short planted them in part, or not at all).
func writeSummary(w io.Writer, s Summary, sent int, took time.Duration, complete bool) {
	rate := 0
	if took > 0 {
		rate = int(float64(sent) / took.Seconds())
	}
	day := func(t time.Time) string { return t.Format("2006-01-02") }
	t := s.Truths
	fmt.Fprintf(w, "sent %s in %s (%s events/s): %s, %s, %s to %s\n",
		human.Plural(sent, "event"), human.Duration(float64(took.Milliseconds())), thousands(rate),
		human.Plural(s.Projects, "project"), human.Plural(s.Machines, "machine"), day(s.First), day(s.Last))
	fmt.Fprintf(w, "collector: %s accepted, %s, %s rejected\n",
		thousands(s.Accepted), human.Plural(s.Duplicates, "duplicate"), thousands(s.Rejected))
	if !complete {
		fmt.Fprintln(w, "stopped before the whole population was sent: the planted effects are incomplete")
		return
	}
	fmt.Fprintf(w, "planted: feature %q users have plugin %q %g× as often; setup p90 on %s ×%g since %s; node %s share %g%% → %g%%; %s only on %s (released %s)\n",
		t.Feature, t.Plugin, t.PluginLift, t.SlowOS, t.SlowFactor, day(t.SlowSince),
		t.FadingMajor, t.FadingFrom*100, t.FadingTo*100, t.ErrorCode, t.ErrorVersion, day(t.ErrorRelease))
}

// thousands formats n with commas: 1234567 → "1,234,567".
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
