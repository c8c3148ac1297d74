package insights

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// A cohort of a feature nobody ever used, or of an event the plan does not
// declare, is refused with the names that exist, not answered with an empty
// cohort. Features under k projects are not listed (the features report
// hides them too), but they are known and can be asked for.
func TestCohortOfUnknownFeature(t *testing.T) {
	f := newFixture(t)
	for i := range 4 {
		f.add(f.ev(m(fmt.Sprintf("R%d", i)), "2026-03-03 10:00", "didUseFeature", "feature", "releases"))
	}
	for i := range 3 {
		f.add(f.ev(m(fmt.Sprintf("X%d", i)), "2026-03-04 10:00", "didExport"))
	}
	f.add(f.ev(m("I0"), "2026-03-04 10:00", "didUseFeature", "feature", "i18n"))
	ctx := context.Background()
	p := window("2026-03-02", "2026-03-08")
	p.Feature = "nosuchfeature"
	_, err := f.in.Run(ctx, "cohort", p)
	if !errors.Is(err, ErrBadParams) {
		t.Fatalf("cohort of an unknown feature: %v, want ErrBadParams", err)
	}
	msg := err.Error()
	for _, want := range []string{`feature: unknown feature "nosuchfeature"`, "didExport", "releases"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error lacks %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, "i18n") {
		t.Errorf("the error lists a feature of fewer than k projects: %s", msg)
	}
	for _, known := range []string{"releases", "didExport", "i18n"} {
		p.Feature = known
		if _, err := f.in.Run(ctx, "cohort", p); err != nil {
			t.Errorf("cohort of the known feature %q: %v", known, err)
		}
	}
	p.Feature, p.Event = "", "didNothing"
	if _, err := f.in.Run(ctx, "cohort", p); !errors.Is(err, ErrBadParams) ||
		!strings.Contains(err.Error(), `unknown event "didNothing"`) || !strings.Contains(err.Error(), "ping") {
		t.Errorf("cohort of an undeclared event: %v", err)
	}
	// A store where no feature has reached k projects has nothing to list:
	// the cohort is answered (empty) as before.
	empty := newFixture(t)
	p.Feature, p.Event = "releases", ""
	if _, err := empty.in.Run(ctx, "cohort", p); err != nil {
		t.Errorf("cohort on an empty store: %v", err)
	}
}
