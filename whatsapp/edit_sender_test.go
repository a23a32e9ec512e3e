package whatsapp

import (
	"testing"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestEditBySenderOnly pins whose edits of Bob's group message B1 are
// bridged: his own, by either of his IDs, and one from a LID Ferry
// cannot map to a number (it may be his: a real edit must not be lost);
// not one from another number, nor one from the login's own account.
func TestEditBySenderOnly(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	env.seen(t, "B1", types.MessageSource{Chat: group, Sender: bobPN, IsGroup: true})
	for i, tc := range []struct {
		name    string
		src     types.MessageSource
		bridged bool
	}{
		{"Bob", types.MessageSource{Chat: group, Sender: bobPN, IsGroup: true}, true},
		{"Bob by LID, number alongside", types.MessageSource{Chat: group, Sender: bobLID, SenderAlt: bobPN, IsGroup: true}, true},
		{"an unmapped LID", types.MessageSource{Chat: group, Sender: carlLID, IsGroup: true}, true},
		{"another number", types.MessageSource{Chat: group, Sender: types.NewJID("4915100000003", types.DefaultUserServer), IsGroup: true}, false},
		{"the login's own account", types.MessageSource{Chat: group, Sender: ownPN, IsFromMe: true, IsGroup: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			edit := env.wa.BuildEdit(group, "B1", &waE2E.Message{Conversation: proto.String("changed")})
			if !env.dispatch(incoming(string(rune('A'+i))+"EDIT", tc.src, edit)) {
				t.Fatal("not acknowledged")
			}
			_, handled := env.host.take()
			var got bool
			for _, evt := range handled {
				_, got = evt.(*network.Edit)
			}
			if got != tc.bridged {
				t.Errorf("edit bridged: %v, want %v (handled %+v)", got, tc.bridged, handled)
			}
		})
	}
}
