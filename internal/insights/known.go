package insights

import (
	"fmt"
	"slices"
	"strings"
)

// maxKnownListed bounds the names an unknown-cohort error lists.
const maxKnownListed = 40

// checkCohort refuses a cohort of a feature the store has never seen or of an
// event the plan does not declare, naming the ones that exist: an empty
// answer would read as "nobody uses it". A store where no feature has reached
// k projects yet has nothing to list, and answers as usual. The features listed are those used
// by at least k projects, so the error discloses no more than the features
// report does.
func (q *query) checkCohort() error {
	if q.p.Event != "" {
		if q.in.plan.Event(q.p.Event) != nil {
			return nil
		}
		var names []string
		for _, e := range q.in.plan.Events {
			names = append(names, e.Name)
		}
		return badParam("event: unknown event %q; expected one of the plan's events: %s", q.p.Event, listed(names))
	}
	if q.p.Feature == "" {
		return nil
	}
	fs := q.in.featureEvents()
	seen, err := q.qs.FeatureSeen(q.ctx, q.p.Feature, fs)
	if err != nil || seen {
		return err
	}
	known, err := q.qs.KnownFeatures(q.ctx, q.in.k, fs)
	if err != nil {
		return err
	}
	slices.Sort(known)
	if len(known) == 0 {
		return nil // nothing to list yet: the report's empty state says why
	}
	return badParam("feature: unknown feature %q; expected one of: %s", q.p.Feature, listed(known))
}

// listed joins names for an error message, at most maxKnownListed of them.
func listed(names []string) string {
	if len(names) > maxKnownListed {
		return strings.Join(names[:maxKnownListed], ", ") + fmt.Sprintf(" and %d more", len(names)-maxKnownListed)
	}
	return strings.Join(names, ", ")
}
