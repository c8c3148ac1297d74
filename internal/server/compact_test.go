package server

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// compactingStore is memStore with the deletes and Compact the erasure path
// needs; during Compact it runs during (a test's hook).
type compactingStore struct {
	memStore
	cmu       sync.Mutex
	compacted int
	during    func()
	retained  int // calls of DeleteBefore: the retention pass at start has run
}

func (s *compactingStore) DeleteBefore(ctx context.Context, t time.Time) (int64, error) {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	s.retained++
	return 0, nil
}

func (s *compactingStore) setDuring(f func()) {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	s.during = f
}

// waitStartPass waits until the pass the collector makes at start (pending
// compaction, then retention) is over, so that a test's own compaction is
// the only one.
func (s *compactingStore) waitStartPass(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		s.cmu.Lock()
		n := s.retained
		s.cmu.Unlock()
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the collector's start-up retention pass never ran")
		}
	}
}

func (s *compactingStore) compactions() int {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	return s.compacted
}

func (s *compactingStore) DeleteProject(ctx context.Context, id string) (int64, error) { return 0, nil }

func (s *compactingStore) Compact(ctx context.Context) error {
	s.cmu.Lock()
	s.compacted++
	during := s.during
	s.during = nil
	s.cmu.Unlock()
	if during != nil {
		during()
	}
	return nil
}

// DELETE ?compact=1 removes the log segments holding the events acknowledged
// before it and compacts the store before answering; without it, the
// erasure stays pending for the background job.
func TestEraseNowDropsLogSegments(t *testing.T) {
	st := &compactingStore{memStore: memStore{faultyStore{stored: map[string]bool{}}}}
	s, hs := startTestServer(t, Config{Store: st, RateIP: -1, RateProject: -1})
	st.waitStartPass(t)
	body := batchBody(projectA, 5)
	if r := postJSON(t, hs.URL, body); r.StatusCode != http.StatusAccepted {
		t.Fatalf("batch: %d", r.StatusCode)
	}
	walHolds := func(needle string) bool {
		segs, _ := filepath.Glob(filepath.Join(s.cfg.DataDir, "wal", "*.wal"))
		for _, p := range segs {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(needle)) {
				return true
			}
		}
		return false
	}
	id := s.keyer.Project(projectA)
	if !walHolds(id) {
		t.Fatal("the log does not hold the project's re-keyed ID before the erasure: the check cannot see it")
	}
	if r := adminRequest(t, "DELETE", hs.URL+"/api/v1/projects/"+projectA, "Bearer "+testAdminToken, ""); r.StatusCode != http.StatusOK {
		t.Fatalf("erase: %d", r.StatusCode)
	}
	if !s.erasurePending() || st.compactions() != 0 {
		t.Fatalf("after an erasure without compact=1: pending %v, compactions %d; want pending, none yet", s.erasurePending(), st.compactions())
	}
	if r := adminRequest(t, "DELETE", hs.URL+"/api/v1/projects/"+projectA+"?compact=1", "Bearer "+testAdminToken, ""); r.StatusCode != http.StatusOK {
		t.Fatalf("erase with compact=1: %d", r.StatusCode)
	}
	if s.erasurePending() || st.compactions() != 1 || walHolds(id) {
		t.Fatalf("after compact=1: pending %v, compactions %d, log holds the project %v", s.erasurePending(), st.compactions(), walHolds(id))
	}
	if r := adminRequest(t, "DELETE", hs.URL+"/api/v1/projects/"+projectA+"?compact=maybe", "Bearer "+testAdminToken, ""); r.StatusCode != http.StatusBadRequest {
		t.Errorf("compact=maybe: %d, want 400", r.StatusCode)
	}
}

// An erasure recorded while a compaction runs stays pending: that
// compaction may have copied the store before the erasure deleted anything.
func TestErasureDuringCompactionStaysPending(t *testing.T) {
	st := &compactingStore{memStore: memStore{faultyStore{stored: map[string]bool{}}}}
	s, _ := startTestServer(t, Config{Store: st})
	st.waitStartPass(t)
	if err := s.markPending(); err != nil {
		t.Fatal(err)
	}
	st.setDuring(func() {
		time.Sleep(time.Millisecond)
		if err := s.markPending(); err != nil {
			t.Error(err)
		}
	})
	if err := s.compactNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !s.erasurePending() {
		t.Fatal("an erasure recorded during the compaction was taken for done")
	}
	if err := s.compactNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s.erasurePending() {
		t.Fatal("still pending after a compaction that began after the erasure")
	}
}
