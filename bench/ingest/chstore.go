package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/abacushq/abacus/internal/store/clickhouse/chtest"
)

// runStore measures ingest through one abacus serve into ClickHouse
// (-store clickhouse) against the same collector into its DuckDB file: two
// collectors at the same flags apart from --store, loaded in turn by the
// same closed-loop senders with fresh events, -rounds rounds each (the
// order swapped every round), each round followed by the wait until every
// acknowledged event is stored. A round's rate is events stored per second
// of load and drain. clickhouse-server (from PATH) runs on loopback with the
// tests' minimal configuration (chtest.Launch) in a temporary directory. Then: ClickHouse's bytes
// on disk per stored event, from system.parts.
func runStore(duration time.Duration, rounds, senders int, root string) error {
	chBin, err := exec.LookPath("clickhouse-server")
	if err != nil {
		return fmt.Errorf("cannot find clickhouse-server (apt-get install clickhouse-server): %w", err)
	}
	work, bin, err := buildAbacus(root, "abacus-store-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	load0 := loadavg()

	ch, err := chtest.Launch(chBin, filepath.Join(work, "clickhouse"))
	if err != nil {
		return err
	}
	defer ch.Kill()
	chPID := ch.PID()
	query := func(q string) (string, error) { return ch.Query(context.Background(), q) }

	start := func(name, data string, extra ...string) (*server, func(), error) {
		addr := freeAddr()
		args := append([]string{"serve", "--addr", addr, "--data", data, "--rate-ip", "-1", "--rate-project", "-1",
			"--rate-ip-events", "-1", "--rate-ip-new-projects", "-1", "--log-level", "warn"}, extra...)
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "ABACUS_TOKEN=bench-admin-token-0123456789abcdefghij")
		cmd.Stderr = os.Stderr
		if err := startAndWait(cmd, "http://"+addr+"/readyz"); err != nil {
			return nil, nil, err
		}
		var once sync.Once
		return &server{name: name, url: "http://" + addr, pid: cmd.Process.Pid},
			func() { once.Do(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }) }, nil
	}
	duck, stopDuck, err := start("serve → DuckDB", filepath.Join(work, "duck"))
	if err != nil {
		return err
	}
	defer stopDuck()
	chSrv, stopCH, err := start("serve → ClickHouse", filepath.Join(work, "ch"), "--store", ch.URL("bench"))
	if err != nil {
		return err
	}
	defer stopCH()

	fmt.Printf("generating bodies (100 events each, gzip)...\n")
	gen := newGenerator()
	perRound := int(duration.Seconds() * 1000)
	chCPU := map[int]time.Duration{} // ClickHouse's CPU over each ClickHouse round
	for i := range rounds {
		order := []*server{duck, chSrv}
		if i%2 == 1 {
			order = []*server{chSrv, duck}
		}
		for _, s := range order {
			bodies := gen.take(perRound) // generated before the round's clocks start
			cpu0, ch0, snd0 := cpuTime(s.pid), cpuTime(chPID), cpuTime(0)
			res := closedLoop(s.url, bodies, false, senders, duration)
			snd := cpuTime(0) - snd0
			drain, err := waitStored(s.url)
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			r := round{res: res, cpu: cpuTime(s.pid) - cpu0, sender: snd, drain: drain, shed: res.errors}
			s.rounds = append(s.rounds, r)
			extra := ""
			if s == chSrv {
				chCPU[i] = cpuTime(chPID) - ch0
				extra = fmt.Sprintf("  clickhouse-server %.2f cores", chCPU[i].Seconds()/(res.elapsed+drain).Seconds())
			}
			fmt.Printf("round %d %-20s %8.0f events/s stored (%8.0f acked/s)  collector %.2f cores%s  senders %.2f cores  drain %v  errors %d\n",
				i+1, s.name, stored(r), r.rate(), r.cores(), extra, r.senderCores(), drain.Round(time.Millisecond), res.errors)
			if r.senderCores() > maxSenderCores {
				return fmt.Errorf("the senders used %.2f cores in round %d against %s (at most %.1f): the run would measure the harness",
					r.senderCores(), i+1, s.name, maxSenderCores)
			}
		}
	}
	load1 := loadavg()

	fmt.Printf("\n%d rounds of %v per collector (order swapped each round), %d senders, gzip batches of 100 fresh events;\n", rounds, duration, senders)
	fmt.Printf("load average %s at the start, %s at the end (%d cores):\n\n", load0, load1, numCPU())
	fmt.Printf("| round | DuckDB events/s stored | ClickHouse events/s stored | ClickHouse / DuckDB | collector µs CPU/event DuckDB / ClickHouse | clickhouse-server µs CPU/event |\n|---|---|---|---|---|---|\n")
	var ratios, chUs []float64
	var errs int64
	for i := range rounds {
		d, c := duck.rounds[i], chSrv.rounds[i]
		ratios = append(ratios, 100*stored(c)/stored(d))
		chUs = append(chUs, float64(chCPU[i].Microseconds())/float64(max(c.res.events, 1)))
		errs += d.res.errors + c.res.errors
		fmt.Printf("| %d | %.0f | %.0f | %.0f%% | %.1f / %.1f | %.1f |\n", i+1, stored(d), stored(c), ratios[i], d.usPerEvent(), c.usPerEvent(), chUs[i])
	}
	dlo, dmed, _ := stats(duck.rounds, stored)
	clo, cmed, _ := stats(chSrv.rounds, stored)
	rlo, rmed, _ := spread(ratios)
	_, dus, _ := stats(duck.rounds, round.usPerEvent)
	_, cus, _ := stats(chSrv.rounds, round.usPerEvent)
	_, sus, _ := spread(chUs)
	fmt.Printf("| min / median | %.0f / %.0f | %.0f / %.0f | %.0f%% / %.0f%% (target ≥ 80%%) | median %.1f / %.1f | median %.1f |\n", dlo, dmed, clo, cmed, rlo, rmed, dus, cus, sus)
	fmt.Printf("\nrequests not answered 202: %d\n", errs)

	// What ClickHouse did for it: queries, inserts, rows merged.
	counters, err := query("SELECT event, value FROM system.events WHERE event IN ('SelectQuery', 'InsertQuery', 'InsertedRows', 'Merge', 'MergedRows', 'SelectedRows') ORDER BY event FORMAT TSV")
	if err != nil {
		return err
	}
	fmt.Printf("\nclickhouse-server counters over the run (system.events):\n\n| counter | value |\n|---|---|\n")
	for _, line := range strings.Split(strings.TrimSpace(counters), "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			fmt.Printf("| %s | %s |\n", f[0], f[1])
		}
	}

	// Disk: what the parts hold once every round is stored, then after the
	// merges ClickHouse would do in time (OPTIMIZE … FINAL).
	events, err := query("SELECT uniqExact(id) FROM bench.event_ids")
	if err != nil {
		return err
	}
	var n int64
	fmt.Sscan(events, &n)
	for _, when := range []string{"as stored", "after OPTIMIZE … FINAL"} {
		if when != "as stored" {
			for _, t := range []string{"events", "event_ids"} {
				if _, err := query("OPTIMIZE TABLE bench." + t + " FINAL"); err != nil {
					return err
				}
			}
		}
		out, err := query("SELECT table, sum(rows), count(), sum(bytes_on_disk) FROM system.parts WHERE database = 'bench' AND active GROUP BY table ORDER BY table FORMAT TSV")
		if err != nil {
			return err
		}
		fmt.Printf("\nClickHouse disk, %s, %d distinct events:\n\n| table | rows | parts | bytes on disk | bytes per event |\n|---|---|---|---|---|\n", when, n)
		var total int64
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var table string
			var rows, parts, bytes int64
			fmt.Sscan(line, &table, &rows, &parts, &bytes)
			total += bytes
			fmt.Printf("| %s | %d | %d | %d | %.1f |\n", table, rows, parts, bytes, float64(bytes)/float64(max(n, 1)))
		}
		fmt.Printf("| all | | | %d | %.1f |\n", total, float64(total)/float64(max(n, 1)))
	}
	stopDuck()
	var duckEvents int64
	for _, r := range duck.rounds {
		duckEvents += r.res.events
	}
	size := dirSize(filepath.Join(work, "duck"), ".duckdb") + dirSize(filepath.Join(work, "duck"), ".wal")
	fmt.Printf("\nDuckDB file for comparison: %d bytes for %d events acknowledged, %.1f bytes per event\n", size, duckEvents, float64(size)/float64(max(duckEvents, 1)))
	return nil
}

// stored is a round's events per second of load and of the drain after it.
func stored(r round) float64 { return float64(r.res.events) / (r.res.elapsed + r.drain).Seconds() }

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(b), "\nprocessor") + 1
}
