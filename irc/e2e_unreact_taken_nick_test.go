package irc

import (
	"testing"
	"time"

	"gopkg.in/irc.v4"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestE2EUnreactFromATakenNick: alice reacts from Matrix to bob's line;
// her connection is killed and, before she is back, mallory takes the
// nick alice and sends +draft/unreact for her reaction. It is not
// mallory's to take back: alice's reaction stays in the room. bob's
// reaction after it is bridged (carol's login reads the channel).
func TestE2EUnreactFromATakenNick(t *testing.T) {
	ferryNickLinger.setForTest(t, 200*time.Millisecond)
	backoffBase.setForTest(t, time.Minute) // alice stays away
	backoffMax.setForTest(t, time.Minute)
	e := startEnv(t, testbed.InspIRCdOptions{OperName: "admin", OperPassword: "operpw"})
	sc := e.bobAliceAndCarolInTwo(t)
	mallory := e.peer("mallory")
	mallory.send("JOIN", "#two")
	mallory.expect("his JOIN", isCmd("JOIN", "mallory"), nil)
	r := e.aliceReactsToBob(t, sc)

	sc.bob.send("OPER", "admin", "operpw")
	sc.bob.expect("his OPER", func(m *irc.Message) bool { return m.Command == "381" }, nil)
	sc.bob.send("KILL", "alice", "off you go")
	waitFor(t, "alice to be off the network", func() bool { return sc.aliceClient.currentConn() == nil })
	time.Sleep(500 * time.Millisecond) // past the nick's linger
	mallory.send("NICK", "alice")
	mallory.expect("his NICK", isCmd("NICK", "mallory"), nil)
	r.tagmsg(t, mallory, "+draft/unreact", "👍")
	r.tagmsg(t, sc.bob, "+draft/react", "🎉")
	sc.alice.WaitForEvent(t, sc.room, waitLong, func(evt *event.Event) bool {
		return evt.Sender == r.bobGhost && evt.Type == event.EventReaction && evt.Content.AsReaction().RelatesTo.Key == "🎉"
	})
	wantReactionKept(t, sc, r.reaction, "mallory, who took her nick")
}

// wantReactionKept fails if alice's reaction in the scene's room is taken
// back, by whom the removal came from. The removal, had it been bridged,
// may still be on its way (the ghost is refused, then the bot redacts):
// it is given time.
func wantReactionKept(t *testing.T, sc twoScene, reaction id.EventID, by string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		for _, evt := range sc.alice.Events(sc.room) {
			if evt.Type == event.EventRedaction && evt.Redacts == reaction {
				t.Fatalf("alice's reaction was taken back (redacted by %s) by %s", evt.Sender, by)
			}
		}
	}
}

// bobsLineReacted is bob's line in #two, by its msgid and as its event
// in the room, with alice's 👍 to it made from Matrix.
type bobsLineReacted struct {
	msgid    string
	bobGhost id.UserID
	reaction id.EventID
}

// aliceReactsToBob has bob say a line in the scene's #two and alice react
// 👍 to it from Matrix; it returns once bob has her reaction.
func (e *ircEnv) aliceReactsToBob(t *testing.T, sc twoScene) bobsLineReacted {
	t.Helper()
	sc.bob.send("PRIVMSG", "#two", "react to me")
	echo := sc.bob.expect("his echo", func(m *irc.Message) bool { return isCmd("PRIVMSG", "bob")(m) && m.Param(1) == "react to me" }, nil)
	r := bobsLineReacted{msgid: echo.Tags["msgid"], bobGhost: e.ghost("bob")}
	if r.msgid == "" {
		t.Fatalf("the server gave bob's line no msgid: %v", echo)
	}
	bobEvt := sc.alice.WaitForEvent(t, sc.room, waitLong, bodyFrom(r.bobGhost, "react to me"))
	resp, err := sc.alice.SendMessageEvent(e.h.Context(time.Minute), sc.room, event.EventReaction, &event.ReactionEventContent{
		RelatesTo: event.RelatesTo{Type: event.RelAnnotation, EventID: bobEvt.ID, Key: "👍"},
	})
	if err != nil {
		t.Fatal(err)
	}
	r.reaction = resp.EventID
	sc.bob.expect("alice's reaction", isCmd("TAGMSG", "alice"), nil)
	return r
}

// tagmsg has p send a TAGMSG to #two with tag set to key, for bob's line.
func (r bobsLineReacted) tagmsg(t *testing.T, p *peer, tag, key string) {
	t.Helper()
	if err := p.conn.Send(&irc.Message{Tags: irc.Tags{tag: key, "+draft/reply": r.msgid}, Command: "TAGMSG", Params: []string{"#two"}}); err != nil {
		t.Fatal(err)
	}
}
