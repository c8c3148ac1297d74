package insights

import (
	"database/sql"
	"fmt"
	"strings"

	"github.com/abacushq/abacus/internal/plan"
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
	features := sqlList(q.in.eventNames(plan.KindFeature))
	var seen bool
	err := q.tx.QueryRowContext(q.ctx, fmt.Sprintf(`SELECT EXISTS (SELECT 1 FROM event_rows WHERE name IN %s AND %s = $name)`,
		features, q.in.featureExpr()), sql.Named("name", q.p.Feature)).Scan(&seen)
	if err != nil || seen {
		return err
	}
	var known []string
	var name string
	err = q.each(fmt.Sprintf(`SELECT feature FROM (
	SELECT %s AS feature, project_id FROM event_rows JOIN sources USING (source_id) WHERE name IN %s
) WHERE feature IS NOT NULL GROUP BY feature HAVING count(DISTINCT project_id) >= $k ORDER BY feature`, q.in.featureExpr(), features),
		[]any{sql.Named("k", q.in.k)}, []any{&name}, func() error {
			known = append(known, name)
			return nil
		})
	if err != nil {
		return err
	}
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
