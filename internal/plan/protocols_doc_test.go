package plan

import (
	"strings"
	"testing"
)

// The public page says, per protocol, where it arrives, what is read and what is dropped.
func TestDocListsOtherProtocols(t *testing.T) {
	p := Default()
	for format, doc := range map[string]string{"html": string(p.HTML()), "markdown": string(p.Markdown())} {
		for _, want := range []string{
			"/api/v2/track", "groupProperties.projectId", "installId",
			"/posthog/batch/", "$groups.project", "distinct_id", "$ip", "$current_url",
			"/segment/v1/batch", "messageId", "anonymousId", "context.ip", "context.traits",
		} {
			if !strings.Contains(doc, want) {
				t.Errorf("%s page does not mention %q", format, want)
			}
		}
		if n := strings.Count(doc, "Dropped, never stored:"); n != 3 {
			t.Errorf("%s page: %d lists of dropped fields, want one per protocol (3)", format, n)
		}
	}
}
