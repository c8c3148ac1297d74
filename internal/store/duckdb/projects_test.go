package duckdb

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/abacushq/abacus/internal/store"
)

func TestProjectsListsEachStoredProjectOnce(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	var got []string
	collect := func(id string) error { got = append(got, id); return nil }
	if err := s.Projects(ctx, collect); err != nil || len(got) != 0 {
		t.Fatalf("empty store: %v, %v", got, err)
	}
	events := []store.Event{sample(1), sample(2), sample(3), sample(4), sample(5), sample(6)} // projects n%3: 0, 1, 2
	if _, err := s.Insert(ctx, events); err != nil {
		t.Fatal(err)
	}
	if err := s.Projects(ctx, collect); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	want := []string{fmt.Sprintf("%032x", 0), fmt.Sprintf("%032x", 1), fmt.Sprintf("%032x", 2)}
	if !slices.Equal(got, want) {
		t.Errorf("Projects = %v, want %v", got, want)
	}
}
