package server

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/abacushq/abacus/internal/store"
)

// exportStore holds events for Export, which it filters as the store
// contract says: from <= Time < to.
type exportStore struct {
	memStore
	events []store.Event
}

func (s *exportStore) Export(ctx context.Context, from, to time.Time, fn func(*store.Event) error) error {
	for i := range s.events {
		if e := &s.events[i]; !e.Time.Before(from) && e.Time.Before(to) {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// Dates in the export mean whole days, as in the reports: from=D&to=D is the
// day D, both ends included; times stay instants with to excluded.
func TestExportDatesAreInclusive(t *testing.T) {
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	st := &exportStore{memStore: memStore{faultyStore{stored: map[string]bool{}}}}
	for i, ts := range []string{"2026-12-02T23:59:59Z", "2026-12-03T00:00:00Z", "2026-12-03T12:00:00Z",
		"2026-12-03T23:59:59.999Z", "2026-12-04T00:00:00Z"} {
		st.events = append(st.events, store.Event{ID: string(rune('a' + i)), Name: "ping", Time: at(ts)})
	}
	_, hs := startTestServer(t, Config{Store: st, RateIP: -1, RateProject: -1})
	get := func(query string) (int, []string, string) {
		req, _ := http.NewRequest("GET", hs.URL+"/api/v1/export?"+query, nil)
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var times []string
		var body strings.Builder
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			body.WriteString(sc.Text())
			var e struct{ Time time.Time }
			if json.Unmarshal(sc.Bytes(), &e) == nil && !e.Time.IsZero() {
				times = append(times, e.Time.Format("02T15:04:05.000"))
			}
		}
		return resp.StatusCode, times, body.String()
	}
	for query, want := range map[string]string{
		"from=2026-12-03&to=2026-12-03": "03T00:00:00.000 03T12:00:00.000 03T23:59:59.999",
		"to=2026-12-02":                 "02T23:59:59.000",
		"from=2026-12-04":               "04T00:00:00.000",
		"from=2026-12-03T00:00:00Z&to=2026-12-03T12:00:00Z": "03T00:00:00.000",
	} {
		code, times, body := get(query)
		if code != http.StatusOK || strings.Join(times, " ") != want {
			t.Errorf("%s: %d, events at %v, want %s\n%s", query, code, times, want, body)
		}
	}
	for query, want := range map[string]string{
		"from=2026-12-04&to=2026-12-03": "to: expected a date on or after from",
		"from=2026-12-03&last=1d":       "last: unknown parameter; expected from, to",
		"to=tomorrow":                   "to: expected an RFC 3339 time or a YYYY-MM-DD date",
	} {
		if code, _, body := get(query); code != http.StatusBadRequest || !strings.Contains(body, want) {
			t.Errorf("%s: %d %s, want 400 with %q", query, code, body, want)
		}
	}
}
