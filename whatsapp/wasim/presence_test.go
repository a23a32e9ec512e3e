package wasim

import (
	"testing"
	"time"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
)

// TestPresenceAndTyping: Bob subscribes to Alice's presence and learns
// she is offline, then online when her client says so; Alice's typing
// notification reaches Bob as a ChatPresence from her.
func TestPresenceAndTyping(t *testing.T) {
	e := newEnv(t)
	alicePhone, bobPhone, alice, bob := e.aliceAndBob()

	if err := bob.cli.SubscribePresence(t.Context(), alicePhone.JID()); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	p := waitFor[*events.Presence](t, bob, 10*time.Second)
	if p.From != alicePhone.JID() || !p.Unavailable {
		t.Errorf("initial presence %+v, want Alice unavailable", p)
	}
	// whatsmeow refuses to send presence without a push name, which the
	// real server would have delivered through app state.
	alice.cli.Store.PushName = "Alice"
	if err := alice.cli.SendPresence(t.Context(), types.PresenceAvailable); err != nil {
		t.Fatalf("send presence: %v", err)
	}
	p = waitFor[*events.Presence](t, bob, 10*time.Second)
	if p.From != alicePhone.JID() || p.Unavailable {
		t.Errorf("presence after available %+v, want Alice available", p)
	}

	if err := alice.cli.SendChatPresence(t.Context(), bobPhone.JID(), types.ChatPresenceComposing, ""); err != nil {
		t.Fatalf("chat presence: %v", err)
	}
	cp := waitFor[*events.ChatPresence](t, bob, 10*time.Second)
	if cp.State != types.ChatPresenceComposing || cp.Sender != alicePhone.JID() || cp.Chat != alicePhone.JID() {
		t.Errorf("chat presence %+v, want Alice composing", cp)
	}
}
