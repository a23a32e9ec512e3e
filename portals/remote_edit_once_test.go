package portals

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
)

// Another hand-over of an edit has the edit's key; two edits of the same
// message within the same second (WhatsApp's timestamps) do not share
// one, and an edit carrying a file has none (another try may bring the
// file its first try could not).
func TestEditKey(t *testing.T) {
	at := time.Unix(1700000000, 0)
	edit := func(body string, media bool) *network.Edit {
		part := network.Part{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: body}}
		if media {
			part.Media = func(context.Context) (*network.Media, error) {
				return &network.Media{Data: io.NopCloser(strings.NewReader("x"))}, nil
			}
		}
		return &network.Edit{Meta: network.Meta{Sender: network.Sender{User: "bob"}, Timestamp: at}, Target: "m1", Parts: []network.Part{part}}
	}
	if editKey(edit("one", false)) != editKey(edit("one", false)) {
		t.Error("two hand-overs of the same edit have different keys")
	}
	if editKey(edit("one", false)) == editKey(edit("two", false)) {
		t.Error("two edits within the same second share a key")
	}
	if key := editKey(edit("one", true)); key != "" {
		t.Errorf("an edit carrying a file has the key %q, want none", key)
	}
	var p Portal
	p.rememberEdit("")
	if p.editBridged("") {
		t.Error("an edit without a key counts as bridged")
	}
	for i := range rememberedEdits + 1 {
		p.rememberEdit(strings.Repeat("k", i+1))
	}
	if p.editBridged("k") || !p.editBridged(strings.Repeat("k", rememberedEdits+1)) || len(p.edits.keys) != rememberedEdits {
		t.Errorf("after %d edits: the oldest remembered %v, %d remembered; want the oldest forgotten, %d remembered",
			rememberedEdits+1, p.editBridged("k"), len(p.edits.keys), rememberedEdits)
	}
}
