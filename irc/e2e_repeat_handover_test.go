package irc

import (
	"fmt"
	"testing"
	"time"

	"gopkg.in/irc.v4"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

// TestE2ERepeatedLineAcrossAHandover: on a network without msgid, bob
// says the same line twice within one second, and between the two the
// only Ferry login in the channel leaves it and another joins. The
// shared room gets the line twice: the newcomer must not take bob's
// second line for the first, which it never saw.
func TestE2ERepeatedLineAcrossAHandover(t *testing.T) {
	e := startEnv(t, testbed.InspIRCdOptions{WithoutModules: []string{"ircv3_msgid"}})
	sc := e.bobAliceAndCarolInTwo(t)
	sc.alice.WaitForMembership(t, sc.room, sc.carol.UserID, event.MembershipJoin, waitLong)
	ctx := e.h.Context(2 * time.Minute)
	portal := sc.aliceClient.channelKey("#two")
	ghost := e.ghost("bob")
	in := func(cl *Client) bool { return cl.inChannel(cl.fold("#two")) }
	echoTime := func(line string) time.Time {
		t.Helper()
		m := sc.bob.expect("the echo of "+line, func(m *irc.Message) bool { return isCmd("PRIVMSG", "bob")(m) && m.Param(1) == line }, nil)
		at, ok := ircconn.MessageTime(m)
		if !ok {
			t.Fatalf("bob's echo has no server-time: %v", m)
		}
		return at
	}

	// Only one of the two logins is in the channel on IRC at a time; both
	// stay in the room.
	from, to := sc.aliceClient, sc.carolClient
	if err := to.LeaveChat(ctx, portal); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "carol to leave #two", func() bool { return !in(to) })
	for attempt := 0; ; attempt++ {
		line := fmt.Sprintf("} %d", attempt)
		// Start just after a second begins: the handover must fit in it.
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 20*time.Millisecond)))
		sc.bob.send("PRIVMSG", "#two", line)
		first := echoTime(line)
		time.Sleep(50 * time.Millisecond) // from reads it
		if err := from.LeaveChat(ctx, portal); err != nil {
			t.Fatal(err)
		}
		if err := to.joinChannel("#two", "", joinAsked); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the handover", func() bool { return !in(from) && in(to) })
		sc.bob.send("PRIVMSG", "#two", line)
		second := echoTime(line)
		done := fmt.Sprintf("done %d", attempt)
		sc.bob.send("PRIVMSG", "#two", done)
		sc.alice.WaitForEvent(t, sc.room, waitLong, bodyFrom(ghost, done))
		if first.Unix() != second.Unix() {
			if attempt == 4 {
				t.Skip("the handover never fit in one second")
			}
			t.Logf("attempt %d: the handover took from %v to %v; again", attempt, first, second)
			from, to = to, from
			continue
		}
		n := 0
		for _, evt := range sc.alice.Events(sc.room) {
			if bodyFrom(ghost, line)(evt) {
				n++
			}
		}
		if n != 2 {
			t.Errorf("bob said %q twice; the room has it %d times", line, n)
		}
		return
	}
}
