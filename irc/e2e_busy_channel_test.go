package irc

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"gopkg.in/irc.v4"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

// Joining a busy channel: the first thing said there reaches Matrix
// without waiting for the ghosts of everyone on the names list, which
// join around it, and all of them get in. When half of them quit at once,
// the next line does not wait for their leaves.
func TestE2EBusyChannelFirstMessageDoesNotWaitForMembers(t *testing.T) {
	e := startEnv(t, testbed.InspIRCdOptions{})
	const n = 30
	nicks := make([]string, n)
	for i := range nicks {
		nicks[i] = fmt.Sprintf("m%02d", i)
	}
	// Registering takes InspIRCd a second per client, so they connect at
	// once; each joins #busy.
	conns := make([]*ircconn.Conn, n)
	joined := make(chan string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i, nick := range nicks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := ircconn.Dial(context.Background(), ircconn.Config{
				Addr: e.srv.Addr, Nick: nick, Unlimited: true,
				Handler: func(m *irc.Message) {
					if m.Command == "JOIN" && m.Prefix != nil && m.Prefix.Name == nick {
						joined <- nick
					}
				},
			})
			if err != nil {
				errs <- fmt.Errorf("%s: %w", nick, err)
				return
			}
			conns[i] = conn
			errs <- conn.Send(&irc.Message{Command: "JOIN", Params: []string{"#busy"}})
		}()
	}
	wg.Wait()
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, conn := range conns {
		t.Cleanup(func() { _ = conn.Close("bye") })
	}
	for range n {
		select {
		case <-joined:
		case <-time.After(waitLong):
			t.Fatal("not every member joined #busy")
		}
	}
	speaker := e.peer("speaker")
	speaker.send("JOIN", "#busy")
	speaker.expect("his JOIN", isCmd("JOIN", "speaker"), nil)

	alice, mgmt, _ := e.loggedInAlice()
	e.h.Command(alice, mgmt, "irc join test #busy", "Joining #busy")
	speaker.expect("alice's JOIN", isCmd("JOIN", "alice"), nil)
	speaker.send("PRIVMSG", "#busy", "welcome aboard")
	room := portalInvite(t, alice, mgmt)
	alice.Join(t, room.String())
	said := alice.WaitForEvent(t, room, waitLong, bodyFrom(e.ghost("speaker"), "welcome aboard"))

	var members []id.UserID
	for _, nick := range nicks {
		ghost := e.ghost(nick)
		members = append(members, ghost)
		alice.WaitForMembership(t, room, ghost, event.MembershipJoin, waitLong)
	}
	after := alice.JoinsAfter(t, room, said.ID, members)
	if after < n/2 {
		t.Errorf("only %d of the %d members' ghosts joined after the first message: it waited for the names list", after, n)
	}

	// Half of them quit at once (a server restarting); the speaker's next
	// line does not wait for their leaves either, and they all leave.
	quitters := members[:n/2]
	for _, conn := range conns[:n/2] {
		_ = conn.Close("gone")
	}
	for range n / 2 {
		// Wait for InspIRCd to have sent the quits on: the speaker sees them.
		speaker.expect("a member's QUIT", func(m *irc.Message) bool { return m.Command == "QUIT" }, nil)
	}
	speaker.send("PRIVMSG", "#busy", "still here")
	stillHere := alice.WaitForEvent(t, room, waitLong, bodyFrom(e.ghost("speaker"), "still here"))
	for i, ghost := range quitters {
		left := alice.WaitForMembership(t, room, ghost, event.MembershipLeave, waitLong)
		// The leave says what IRC said of the quit: InspIRCd's "Quit: "
		// and the client's message.
		if reason := left.Content.AsMember().Reason; i == 0 && reason != "Quit: gone" {
			t.Errorf("a quitter's ghost left with reason %q, want IRC's %q", reason, "Quit: gone")
		}
	}
	if after := alice.LeavesAfter(t, room, stillHere.ID, quitters); after < len(quitters)/2 {
		t.Errorf("only %d of %d leaves came after the line written right after the quits: it waited for them", after, len(quitters))
	}
}
