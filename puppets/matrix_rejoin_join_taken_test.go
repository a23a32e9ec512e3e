package puppets

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// TestSendRefusedBeforeACutJoinTheHomeserverTookIsSentAgain: a ghost
// kicked behind Ferry's back has two sends refused. Send a joins the
// ghost again; the homeserver takes that join, but answers it only past
// a's retry budget, so the join is cut and a kept by its portal as in an
// outage. Send b, refused before that join, waited for it; when b looks,
// the ghost is in the room again though no join of Ferry's was seen to
// end. b must be sent once more, not taken as refused for another reason
// (muted) and reported not bridged.
func TestSendRefusedBeforeACutJoinTheHomeserverTookIsSentAgain(t *testing.T) {
	room := id.RoomID("!r:example.org")
	ghost := id.UserID("@ghost_bob:example.org")
	bArrived, bothRefused := make(chan struct{}), make(chan struct{})
	aLooks := make(chan struct{})
	var bOnce, looksOnce sync.Once
	join := newHeldJoin()
	defer join.letGo()
	hs := &kickedGhostsHomeserver{
		room: room,
		// b reaches the homeserver before a is refused (so that it goes
		// out while the store still has the ghost joined), and is
		// refused once a, holding the ghost's lock, looks at the ghost.
		drop: func(r *http.Request) bool {
			switch {
			case strings.HasSuffix(r.URL.Path, "/send/m.room.message/b"):
				bOnce.Do(func() { close(bArrived) })
				select {
				case <-aLooks:
				case <-time.After(5 * time.Second):
				}
			case strings.HasSuffix(r.URL.Path, "/joined_rooms"):
				looksOnce.Do(func() { close(aLooks) })
			}
			return false
		},
		onRefused: func(n int) {
			switch n {
			case 1:
				firstRefusalAfter(bArrived)(n)
			case 2:
				close(bothRefused)
			}
		},
	}
	// The homeserver takes a's join once b was refused, and holds its
	// answer past a's budget.
	hs.beforeJoin = join.takenAfter(hs, ghost, bothRefused)
	m, intent := startJoined(t, hs, ghost)
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: "hi"}

	aCtx := withRetryBudget(context.Background(), time.Now(), time.Second)
	aDone, bDone := make(chan error, 1), make(chan error, 1)
	go func() {
		_, err := m.SendMessage(context.Background(), intent, room, event.EventMessage, content, time.Time{}, "b")
		bDone <- err
	}()
	go func() {
		_, err := m.SendMessage(aCtx, intent, room, event.EventMessage, content, time.Time{}, "a")
		aDone <- err
	}()
	if err := <-aDone; !errors.Is(err, ErrUnreachable) {
		t.Errorf("a, whose join was cut at its budget, ended with %v; want it unreachable", err)
	}
	errB := <-bDone
	join.letGo()
	if errB != nil {
		t.Errorf("b, refused before the ghost was joined again, ended with %v; want it sent again", errB)
	}
	if errors.Is(errB, mautrix.MForbidden) && m.muted.size() != 0 {
		t.Errorf("the ghost is remembered as muted; it was only out of the room")
	}
	hs.mu.Lock()
	accepted := slices.Clone(hs.accepted)
	hs.mu.Unlock()
	if errB == nil && !slices.Contains(accepted, "b") {
		t.Errorf("b ended without error, yet the homeserver took only %q", accepted)
	}
}
