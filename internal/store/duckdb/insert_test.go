package duckdb

import (
	"testing"

	"github.com/abacushq/abacus/internal/store/storetest"
)

// The cache of source keys gives every event the key sourceKey computes,
// for sources seen before and new ones, also once it was emptied for size.
func TestCachedSourceKey(t *testing.T) {
	s := openStore(t)
	g := storetest.NewGenerator(5, storetest.Population{})
	events := g.Batch(3000)
	var buf []byte
	distinct := map[[16]byte]bool{}
	for round := range 2 {
		if round == 1 { // sources not seen before, into a full cache
			events = storetest.NewGenerator(6, storetest.Population{}).Batch(3000)
		}
		for i := range events {
			e := &events[i]
			plugins, build, err := splitBuild(e.Build)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := sourceKey(nil, e, plugins, build)
			var got [16]byte
			got, buf = s.cachedSourceKey(buf, e, plugins, build)
			if got != want {
				t.Fatalf("round %d, event %d: cached key %x, sourceKey %x", round, i, got, want)
			}
			distinct[want] = true
		}
		if round == 0 && len(s.sourceKeys) != len(distinct) {
			t.Fatalf("%d keys cached for %d distinct sources", len(s.sourceKeys), len(distinct))
		}
		if round == 0 {
			for k := 0; len(s.sourceKeys) < maxSourceKeys; k++ { // full: the next new key empties it
				s.sourceKeys[string(rune(k))+"x"] = [16]byte{}
			}
		}
	}
	if len(s.sourceKeys) > maxSourceKeys {
		t.Errorf("%d keys cached, bound %d", len(s.sourceKeys), maxSourceKeys)
	}
}
