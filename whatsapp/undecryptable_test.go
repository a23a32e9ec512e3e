package whatsapp

import (
	"testing"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestUndecryptableMessages: what reaches the core for each kind of
// message whatsmeow could not decrypt.
func TestUndecryptableMessages(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	src := types.MessageSource{Chat: bobPN, Sender: bobPN}
	info := func(id string) types.MessageInfo {
		return types.MessageInfo{MessageSource: src, ID: id, Timestamp: msgTime}
	}
	for _, evt := range []*events.UndecryptableMessage{
		{Info: info("WAIT")},
		{Info: info("HIDE"), DecryptFailMode: events.DecryptFailHide},
		{Info: info("ONCE"), IsUnavailable: true, UnavailableType: events.UnavailableTypeViewOnce},
		{Info: types.MessageInfo{MessageSource: types.MessageSource{Chat: types.StatusBroadcastJID, Sender: bobPN}, ID: "STATUS"}},
	} {
		if !env.dispatch(evt) {
			t.Errorf("%s was not acknowledged", evt.Info.ID)
		}
	}
	_, handled := env.host.take()
	if len(handled) != 2 {
		t.Fatalf("handled %d events, want the placeholder and the view-once notice: %+v", len(handled), handled)
	}
	wait, ok := handled[0].(*network.Message)
	if !ok || wait.ID != "WAIT" || !wait.Placeholder || wait.Parts[0].Content.Body != waitingText ||
		wait.Portal != dmPortal(bobPN) || wait.Sender.User != "4915100000002" || !wait.Timestamp.Equal(msgTime) || !wait.CreatePortal {
		t.Errorf("an undecryptable message became %+v", handled[0])
	}
	once, ok := handled[1].(*network.Message)
	if !ok || once.ID != "ONCE" || once.Placeholder || once.Parts[0].Content.Body != viewOnceText {
		t.Errorf("an unavailable view-once message became %+v; want a final notice, since no retry brings it", handled[1])
	}
}
