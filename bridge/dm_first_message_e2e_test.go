package bridge_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// TestDMFirstMessageBeforeGhostJoins: a client that opens a direct chat
// with a ghost and writes at once (Element does) sends its first message
// while the ghost is only invited, so the homeserver does not push it to
// Ferry. Ferry reads it from the room once the ghost has joined: it
// reaches the network once, before what follows, and the homeserver
// delivering it again later does not send it twice.
func TestDMFirstMessageBeforeGhostJoins(t *testing.T) {
	sc := newScene(t, true)
	h, alice, cl := sc.h, sc.alice, sc.cl
	room, first := openDMWritingAtOnce(t, sc, nil)
	alice.SendText(t, room, "sent after the join")

	for _, want := range []string{"sent at once", "sent after the join"} {
		out := expectOut[*network.OutgoingMessage](t, cl)
		if out.Content.Body != want || out.Portal.Chat != "dm-carol" {
			t.Fatalf("the network got %q in %+v, want %q in dm-carol", out.Content.Body, out.Portal, want)
		}
	}

	tx := transactions{h: h, room: room, from: alice.UserID}
	expectAnswer(t, tx.put("first-again", tx.message(first, "sent at once")), "the first message delivered again")
	select {
	case extra := <-cl.Outbox:
		t.Errorf("something more reached the network: %+v", extra)
	case <-time.After(2 * time.Second):
	}
}

// TestDMFirstMessageUnreadableHistoryIsReported: when the room's history
// cannot be read, the user is told in the room that what they wrote
// before the ghost joined may be missing.
func TestDMFirstMessageUnreadableHistoryIsReported(t *testing.T) {
	sc := newScene(t, true)
	room, _ := openDMWritingAtOnce(t, sc, func(room id.RoomID) {
		sc.proxy.FailNext("GET /_matrix/client/v3/rooms/"+room.String()+"/messages", 1, http.StatusForbidden)
	})
	carol := sc.h.Bridge.Ghosts.MXID(network.GhostKey{Network: testnet.ID, User: "carol"})
	sc.alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Sender == carol && msg.MsgType == event.MsgNotice && strings.Contains(msg.Body, "before I joined may not have reached")
	})
}

// TestFailedSendInADMTheUserOpenedIsReported: in a direct chat the user
// opened with a ghost, the bot was never invited, so its report of a
// failed send could not be posted: the ghost posts it.
func TestFailedSendInADMTheUserOpenedIsReported(t *testing.T) {
	sc := newScene(t, true)
	room, _ := openDMWritingAtOnce(t, sc, nil)
	expectOut[*network.OutgoingMessage](t, sc.cl)
	reason := "the network is on fire"
	sc.cl.FailSends.Store(&reason)
	doomed := sc.alice.SendText(t, room, "doomed")
	sc.alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return msg != nil && msg.RelatesTo.GetReplyTo() == doomed && strings.Contains(msg.Body, reason)
	})
}

// openDMWritingAtOnce has alice open a direct chat with carol's ghost and
// send "sent at once" before the ghost joins; created runs right after
// the room exists. It returns once the ghost has joined.
func openDMWritingAtOnce(t *testing.T, sc *scene, created func(id.RoomID)) (room id.RoomID, first id.EventID) {
	t.Helper()
	carol := sc.h.Bridge.Ghosts.MXID(network.GhostKey{Network: testnet.ID, User: "carol"})
	// Hold the ghost's join (Ferry's first POST to a room) so that the
	// first message is surely sent before it.
	sc.proxy.DelayNext("POST /_matrix/client/v3/rooms/", 1, time.Second)
	room = sc.alice.CreateDM(t, carol)
	if created != nil {
		created(room)
	}
	first = sc.alice.SendText(t, room, "sent at once")
	joined := sc.alice.WaitForMembership(t, room, carol, event.MembershipJoin, waitLong)
	requireBefore(t, sc.alice.Events(room), first, joined.ID)
	return room, first
}

// requireBefore fails the test unless event a comes before event b in
// timeline: the test means nothing otherwise.
func requireBefore(t *testing.T, timeline []*event.Event, a, b id.EventID) {
	t.Helper()
	for _, evt := range timeline {
		switch evt.ID {
		case a:
			return
		case b:
			t.Fatalf("%s came after %s: the ghost joined before the first message", a, b)
		}
	}
	t.Fatalf("%s is not in the timeline", a)
}

// TestCommandInADMTheUserOpenedIsAnswered: the bot is no member of a
// direct chat the user opened with a ghost, so a command there is
// answered by the ghost.
func TestCommandInADMTheUserOpenedIsAnswered(t *testing.T) {
	sc := newScene(t, true)
	room, _ := openDMWritingAtOnce(t, sc, nil)
	carol := sc.h.Bridge.Ghosts.MXID(network.GhostKey{Network: testnet.ID, User: "carol"})
	sc.alice.SendText(t, room, "!ferry version")
	sc.alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Sender == carol && msg != nil && msg.MsgType == event.MsgNotice && strings.HasPrefix(msg.Body, "Ferry ")
	})
	// A command that panics is answered there too.
	sc.alice.SendText(t, room, "!ferry test panic")
	sc.alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Sender == carol && msg != nil && strings.Contains(msg.Body, "That failed: an internal error")
	})
}
