// Package storetest is the contract suite every store.Store backend passes.
//
// A backend's test calls Run with a function that opens a new, empty store:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s, err := duckdb.Open(filepath.Join(t.TempDir(), "events.db"), duckdb.Options{})
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		}, storetest.Reopenable(...))
//	}
//
// Each subtest opens its own store and closes it when it ends, so a backend
// that lives on a server (ClickHouse) hands out a fresh database per call. The
// persistence subtests run only when the backend passes Reopenable: it names a
// place (a file, a database) and opens the store there as often as asked.
//
// The suite compares what Export returns with what was inserted under the
// rules of the store package: times to the millisecond and in UTC, JSON numbers
// as equal whether they come back as int64 or float64, and an empty map equal
// to a nil one.
//
// Generator makes realistic synthetic traffic (a population of projects and
// machines sending events in SDK-sized requests), for the backends'
// benchmarks, so that their bytes-per-event figures compare.
package storetest
