package whatsapp

import (
	"context"
	"errors"
	"testing"

	"go.mau.fi/whatsmeow/types"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestStatusUpdates: with status_broadcasts on, contacts' status updates
// land in the login's status room from their ghosts; the room describes
// itself and refuses what Matrix sends into it. Off, they are dropped.
func TestStatusUpdates(t *testing.T) {
	status := types.MessageSource{Chat: types.StatusBroadcastJID, Sender: bobLID, SenderAlt: bobPN}
	statusKey := privatePortal(types.StatusBroadcastJID, ownLogin)

	off := newEnv(t, sqliteDB(t), "")
	off.dispatch(textEvent("S0", status, "on holiday"))
	if _, handled := off.host.take(); len(handled) != 0 {
		t.Errorf("with status_broadcasts off, a status update reached the core: %s", describe(handled))
	}

	env := newEnv(t, sqliteDB(t), "status_broadcasts: true")
	env.dispatch(textEvent("S1", status, "on holiday"))
	_, handled := env.host.take()
	if len(handled) != 1 {
		t.Fatalf("handled %s, want the status update", describe(handled))
	}
	msg, ok := handled[0].(*network.Message)
	if !ok || msg.Portal != statusKey || msg.Sender.User != "4915100000002" || msg.Parts[0].Content.Body != "on holiday" || !msg.CreatePortal {
		t.Fatalf("the status update became %+v", handled[0])
	}
	info, err := env.cl.ChatInfo(context.Background(), statusKey.Chat)
	if err != nil || info.Name == nil || *info.Name != "WhatsApp status" || info.IsDirect {
		t.Errorf("status room info %+v, %v", info, err)
	}
	_, err = env.cl.Send(context.Background(), &network.OutgoingMessage{
		OutgoingMeta: network.OutgoingMeta{Portal: statusKey},
		Content:      &event.MessageEventContent{MsgType: event.MsgText, Body: "nice"},
	})
	if !errors.Is(err, errStatusRoom) {
		t.Errorf("sending into the status room: %v, want the explanation", err)
	}
	if len(env.wa.sent) != 0 {
		t.Errorf("something was sent to WhatsApp: %+v", env.wa.sent)
	}
}
