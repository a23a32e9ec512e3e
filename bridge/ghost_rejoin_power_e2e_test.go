package bridge_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
)

// TestGhostWithoutPowerToSendIsNotJoinedAgain: a ghost's send refused as
// forbidden is retried after joining the ghost again (matrix_rejoin.go),
// but only when the ghost is out of the room. One that is in the room and
// may not send there (messages need level 50 now) fails with the
// send's M_FORBIDDEN, with no join: a join would add a membership event to
// the room for every message the ghost cannot send.
func TestGhostWithoutPowerToSendIsNotJoinedAgain(t *testing.T) {
	s := newScene(t, true)
	room := s.openPortal(t, "before")
	ctx := s.h.Context(time.Minute)
	var levels event.PowerLevelsEventContent
	if err := s.alice.StateEvent(ctx, room, event.StatePowerLevels, "", &levels); err != nil {
		t.Fatal(err)
	}
	if levels.Events == nil {
		levels.Events = map[string]int{}
	}
	levels.Events[event.EventMessage.Type] = 50
	// As the bot: alice, at most 99 in a portal, may not change them.
	if _, err := s.h.Bridge.Matrix.Bot().SendStateEvent(ctx, room, event.StatePowerLevels, "", &levels); err != nil {
		t.Fatal(err)
	}
	joins := func() (n int) {
		for _, r := range s.proxy.Requests() {
			if r.Method == "POST" && strings.HasSuffix(r.Path, "/join") {
				n++
			}
		}
		return n
	}
	before := joins()

	err := s.cl.Handle(ctx, textMessage(s.portal, "m1", "bob", time.Now(), "not allowed"))
	if !errors.Is(err, mautrix.MForbidden) {
		t.Fatalf("bob's message, which his ghost may not send, ended with %v; want M_FORBIDDEN", err)
	}
	if n := joins() - before; n != 0 {
		t.Errorf("bob's ghost, in the room, was joined again %d times for a send refused by the power levels", n)
	}
}
