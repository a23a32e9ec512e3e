package puppets

import (
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"maunium.net/go/mautrix/id"
)

// TestRefusedSendsQuestionsAreCutAtItsBudget: a ghost kicked behind
// Ferry's back has its send refused; before joining it again, the send
// asks the homeserver whether the ghost is in the room (joined_rooms)
// and, where the bot is no member, reads the room's power levels to find
// who invites the ghost. When the homeserver holds either question past
// the send's retry budget, the question must be cut there, as the join
// is (TestRefusedSendsOwnJoinIsCutAtItsBudget), and the send given up as
// unreachable, kept by its portal; not wait for the HTTP client's own
// timeout (minutes) with its portal's tail held behind it.
func TestRefusedSendsQuestionsAreCutAtItsBudget(t *testing.T) {
	for _, tc := range []struct {
		name, held string // held: the path the homeserver holds ends so
		botOutside bool
	}{
		{name: "joined rooms", held: "/joined_rooms"},
		{name: "power levels", held: "/state/m.room.power_levels/", botOutside: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			room := id.RoomID("!r:example.org")
			ghost := id.UserID("@ghost_bob:example.org")
			release := make(chan struct{})
			var releaseOnce sync.Once
			letGo := func() { releaseOnce.Do(func() { close(release) }) }
			defer letGo()
			heldReached := make(chan struct{}, 1)
			hs := &kickedGhostsHomeserver{room: room, before: func(r *http.Request) {
				if !strings.HasSuffix(r.URL.Path, tc.held) {
					return
				}
				select {
				case heldReached <- struct{}{}:
				default:
				}
				select {
				case <-release:
				case <-r.Context().Done():
				}
			}}
			m := hs.start(t)
			if tc.botOutside {
				// A direct chat the user opened with a ghost: the bot is
				// no member, another ghost is, and the store has no power
				// levels for the room, so they are read.
				m.AS.Registration.Namespaces.UserIDs.Register(regexp.MustCompile("@ghost_.*:example.org"), true)
				storeJoined(t, m, room, ghost, "@ghost_carol:example.org")
			} else {
				storeJoined(t, m, room, m.BotMXID(), ghost)
			}
			sendCutAtBudget(t, hs, m, m.Intent(ghost), heldReached, letGo, "asked "+tc.held, tc.held)
		})
	}
}
