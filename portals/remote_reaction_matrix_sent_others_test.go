package portals

import (
	"context"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
)

// A reaction alice made from Matrix is stored under her remote account,
// which on IRC is a nick: once she changed it, or logged out, someone
// else may have it. A removal naming it that her own account did not
// make (not FromMe, or FromMe of another user's login) leaves her
// reaction in the room. A reaction the ghost of that remote account sent
// goes with such a removal, as before: it was made on the network.
func TestRemoteRemovalOfAReactionSentFromMatrixByAnother(t *testing.T) {
	sc := newUserScene(t)
	ctx := context.Background()
	mr := sc.reactionsRoom(t)
	p, key, her := mr.p, mr.p.Key, sc.login.RemoteUser
	reacted := mr.react(t, "msg-kept")
	dave := &network.Login{ID: "dave-login", User: "@dave:localhost", RemoteUser: "dave-phone"}
	removals := []struct {
		by     string
		login  *network.Login
		sender network.Sender
	}{
		{"someone with her former nick", sc.login, network.Sender{User: her}},
		{"another user's own account", dave, network.Sender{User: her, FromMe: true}},
	}
	for i, rm := range removals {
		meta := network.Meta{Portal: key, Sender: rm.sender, Timestamp: time.Now().Add(time.Duration(i) * time.Second)}
		if err := p.remoteReactionRemove(ctx, rm.login, &network.ReactionRemove{Meta: meta, Target: network.MessageRef{ID: "msg-kept"}}); err != nil {
			t.Fatalf("the removal by %s: %v", rm.by, err)
		}
		if kept, err := sc.db.Reactions.Get(ctx, key, "msg-kept", her, ""); err != nil || kept == nil {
			t.Errorf("%s took back her reaction from Matrix (%v)", rm.by, err)
		}
	}

	// Someone with her nick reacts on the network, and takes it back.
	mr.post(t, "msg-ghost")
	onNetwork := network.Meta{Portal: key, Sender: network.Sender{User: her}, Timestamp: time.Now()}
	if err := p.remoteReaction(ctx, sc.login, &network.Reaction{Meta: onNetwork, Target: network.MessageRef{ID: "msg-ghost"}, Key: "🎉"}); err != nil {
		t.Fatal(err)
	}
	onNetwork.Timestamp = onNetwork.Timestamp.Add(time.Second)
	if err := p.remoteReactionRemove(ctx, sc.login, &network.ReactionRemove{Meta: onNetwork, Target: network.MessageRef{ID: "msg-ghost"}}); err != nil {
		t.Fatal(err)
	}
	if left, err := sc.db.Reactions.Get(ctx, key, "msg-ghost", her, ""); err != nil || left != nil {
		t.Errorf("the reaction made on the network was not taken back: %+v (%v)", left, err)
	}

	if evt := redactedEvent(t, sc.as, p.RoomID, reacted); evt.Unsigned.RedactedBecause != nil {
		t.Errorf("her reaction from Matrix was redacted by %s", redactor(evt))
	}
}
