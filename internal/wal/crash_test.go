package wal

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// The crash test re-runs this test binary as a child (TestCrashChild) that appends in a
// loop from several goroutines and prints every acknowledged record; the parent SIGKILLs
// it at a random moment, reopens the log and checks that every acknowledged record is
// replayed, intact and at the position Append returned. SIGKILL loses the process, not
// the page cache: power loss is covered by the torn-tail tests.

const (
	crashDirEnv   = "WAL_CRASH_CHILD_DIR"
	crashRoundEnv = "WAL_CRASH_CHILD_ROUND"
	crashSegBytes = 64 << 10
)

// crashPayload is the record for id: the id, then filler whose length and bytes depend on it.
func crashPayload(id string) []byte {
	h := uint32(2166136261)
	for i := range len(id) {
		h = (h ^ uint32(id[i])) * 16777619
	}
	return append([]byte(id+"|"), bytes.Repeat([]byte{'a' + byte(h%26)}, int(h%700))...)
}

func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("only run as the child of TestCrash")
	}
	round := os.Getenv(crashRoundEnv)
	l, err := Open(dir, Options{SegmentBytes: crashSegBytes, MaxBytes: 1 << 40})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(3)
	}
	var out sync.Mutex
	deadline := time.Now().Add(20 * time.Second) // never outlive a dead parent for long
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				id := fmt.Sprintf("r%s-g%d-%d", round, g, i)
				p, err := l.Append(context.Background(), crashPayload(id))
				if err != nil {
					fmt.Fprintln(os.Stderr, "append:", err)
					os.Exit(4)
				}
				out.Lock()
				// One write(2) per line: a line in the pipe is a whole acknowledgement.
				os.Stdout.WriteString(fmt.Sprintf("ack %s %d %d\n", id, p.Segment, p.Offset))
				out.Unlock()
			}
		})
	}
	wg.Wait()
	os.Exit(0)
}

func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	dir := t.TempDir()
	acked := map[string]Pos{}
	for round := range 4 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, fmt.Sprintf("%s=%d", crashRoundEnv, round))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Kill at a random moment once the child is well under way.
		minAcks := 200 + rand.IntN(2000)
		killAt := time.After(time.Duration(50+rand.IntN(400)) * time.Millisecond)
		n := 0
		killed := false
		for line := range lines {
			id, p, ok := parseAck(line)
			if !ok {
				t.Fatalf("bad line from child: %q", line)
			}
			acked[id] = p
			n++
			if killed || n < minAcks {
				continue
			}
			select {
			case <-killAt:
				if err := cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
				killed = true
			default:
			}
		}
		err = cmd.Wait()
		if !killed {
			t.Fatalf("child exited by itself: %v\n%s", err, stderr.String())
		}
		t.Logf("round %d: killed after %d acknowledged appends", round, n)

		// Every acknowledged record so far (this round and the earlier ones) replays intact.
		l := open(t, dir, Options{SegmentBytes: crashSegBytes, MaxBytes: 1 << 40})
		seen := map[string]bool{}
		st, err := l.Replay(func(rec []byte, end Pos) error {
			id, _, ok := strings.Cut(string(rec), "|")
			if !ok || !bytes.Equal(rec, crashPayload(id)) {
				return fmt.Errorf("corrupt record at %v: %.40q", end, rec)
			}
			if seen[id] {
				return fmt.Errorf("record %s replayed twice", id)
			}
			seen[id] = true
			if want, ok := acked[id]; ok && want != end {
				return fmt.Errorf("record %s replayed at %v, acknowledged at %v", id, end, want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for id := range acked {
			if !seen[id] {
				t.Fatalf("acknowledged record %s lost", id)
			}
		}
		t.Logf("round %d: replayed %d records (%d acknowledged), %d segments, %d torn bytes skipped",
			round, len(seen), len(acked), st.Segments, st.SkippedBytes)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func parseAck(line string) (string, Pos, bool) {
	var id string
	var p Pos
	n, err := fmt.Sscanf(line, "ack %s %d %d", &id, &p.Segment, &p.Offset)
	return id, p, err == nil && n == 3
}
