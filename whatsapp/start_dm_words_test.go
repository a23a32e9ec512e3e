package whatsapp

import (
	"context"
	"strings"
	"testing"

	"maunium.net/go/mautrix/format"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestStartDMRefusalShowsTheIDAsWritten: a direct chat asked with an ID
// that names no WhatsApp user is refused with the ID in the notice as
// the user wrote it, not taken for Markdown (the core renders
// UserError messages as Markdown).
func TestStartDMRefusalShowsTheIDAsWritten(t *testing.T) {
	const id = "x`~~struck~~`_y_"
	_, err := (&Client{}).StartDM(context.Background(), network.UserID(id))
	msg := network.UserMessage(err, "")
	if msg == "" {
		t.Fatalf("StartDM(%q) = %v, want a UserError", id, err)
	}
	html := format.RenderMarkdown(msg, true, false).FormattedBody
	for _, mark := range []string{"<code>", "<del>", "<em>"} {
		if strings.Contains(html, mark) {
			t.Errorf("the refusal %q renders as %q: the ID was taken for Markdown (%s)", msg, html, mark)
		}
	}
	if !strings.Contains(html, "x`~~struck~~`_y_") {
		t.Errorf("the refusal renders as %q, without the ID as written", html)
	}
}
