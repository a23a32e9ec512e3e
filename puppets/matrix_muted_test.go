package puppets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// mutedGhostHomeserver is a stand-in homeserver for a ghost muted in
// room: a member, whose every send is refused as forbidden by the room's
// power levels. It counts the requests that ask whether the ghost is in
// the room, and the joins.
type mutedGhostHomeserver struct {
	room        id.RoomID
	sends       atomic.Int32
	joinedAsked atomic.Int32
	joins       atomic.Int32
}

func (h *mutedGhostHomeserver) start(t *testing.T) *Matrix {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/send/"):
			h.sends.Add(1)
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"errcode":"M_FORBIDDEN","error":"power level too low"}`)
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/joined_rooms"):
			h.joinedAsked.Add(1)
			fmt.Fprintf(w, `{"joined_rooms":[%q]}`, h.room)
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/join"):
			h.joins.Add(1)
			fmt.Fprintf(w, `{"room_id":%q}`, h.room)
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"errcode":"M_NOT_FOUND","error":"no"}`)
		}
	}))
	t.Cleanup(hs.Close)
	m := matrixFor(t, hs.URL)
	m.RetryFor = 5 * time.Second
	return m
}

// sendMuted sends n messages of intent's muted ghost through the
// ordinary client; each must fail as refused, as today, to be reported
// in the room.
func sendMuted(t *testing.T, m *Matrix, ghost id.UserID, room id.RoomID, n int) {
	t.Helper()
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: "hi"}
	for range n {
		_, err := m.SendMessage(context.Background(), m.Intent(ghost), room, event.EventMessage, content, time.Time{}, "")
		if !errors.Is(err, mautrix.MForbidden) {
			t.Fatalf("a muted ghost's send ended with %v; want it refused (M_FORBIDDEN)", err)
		}
	}
}

// TestMutedGhostsRefusalsAskOnceWhetherItIsInTheRoom: a ghost muted in a
// room has every send refused as forbidden though it is a member. Each
// refusal asked the homeserver which rooms the ghost is in, to tell it
// from a kick behind Ferry's back: one round trip more for every message
// of a ghost that will stay refused. Once found a member and refused,
// that is remembered, until the store's view of its membership or of the
// room's power levels changes, or the memory is old (mutedFor).
func TestMutedGhostsRefusalsAskOnceWhetherItIsInTheRoom(t *testing.T) {
	room := id.RoomID("!r:example.org")
	ghost := id.UserID("@ghost_bob:example.org")
	hs := &mutedGhostHomeserver{room: room}
	m := hs.start(t)
	now := time.Now()
	m.muted.now = func() time.Time { return now }
	storeJoined(t, m, room, m.BotMXID(), ghost)
	store := m.AS.StateStore
	ctx := context.Background()
	levels := &event.PowerLevelsEventContent{EventsDefault: 10, Users: map[id.UserID]int{m.BotMXID(): 100}}
	if err := store.SetPowerLevels(ctx, room, levels); err != nil {
		t.Fatal(err)
	}

	sendMuted(t, m, ghost, room, 5)
	if n := hs.joinedAsked.Load(); n != 1 {
		t.Errorf("5 refused sends of a muted ghost asked the homeserver %d times whether it is in the room; want once", n)
	}

	// The room's power levels changed (another mute, say): asked again.
	levels.EventsDefault = 20
	if err := store.SetPowerLevels(ctx, room, levels); err != nil {
		t.Fatal(err)
	}
	sendMuted(t, m, ghost, room, 3)
	if n := hs.joinedAsked.Load(); n != 2 {
		t.Errorf("after the power levels changed, asked %d times in all; want 2", n)
	}

	// Its member event in the store changed (a new name): asked again.
	if err := store.SetMember(ctx, room, ghost, &event.MemberEventContent{Membership: event.MembershipJoin, Displayname: "Bob"}); err != nil {
		t.Fatal(err)
	}
	sendMuted(t, m, ghost, room, 3)
	if n := hs.joinedAsked.Load(); n != 3 {
		t.Errorf("after its membership changed, asked %d times in all; want 3", n)
	}

	// An old memory is not trusted: a kick behind Ferry's back, which
	// the store never sees, is found in the end.
	now = now.Add(mutedFor + time.Second)
	sendMuted(t, m, ghost, room, 3)
	if n := hs.joinedAsked.Load(); n != 4 {
		t.Errorf("once the memory was old, asked %d times in all; want 4", n)
	}
	if n := hs.joins.Load(); n != 0 {
		t.Errorf("the muted ghost was joined %d times; want never (it is in the room)", n)
	}
	if n := hs.sends.Load(); n != 14 {
		t.Errorf("the homeserver was asked to send %d times; want 14, once each", n)
	}
}

// TestMutedGhostsMemoryBounded: the memory of muted ghosts holds at most
// mutedMax ghosts and rooms, however many are met, and still remembers
// the latest.
func TestMutedGhostsMemoryBounded(t *testing.T) {
	var g mutedGhosts
	now := time.Now()
	g.now = func() time.Time { return now }
	room := id.RoomID("!r:example.org")
	var last rejoinKey
	for i := range mutedMax + 100 {
		last = rejoinKey{room, id.UserID(fmt.Sprintf("@ghost_%d:example.org", i))}
		g.remember(last, uint64(i))
		now = now.Add(time.Millisecond)
	}
	if n := g.size(); n > mutedMax {
		t.Errorf("%d entries after %d ghosts; want at most %d", n, mutedMax+100, mutedMax)
	}
	if !g.known(last, mutedMax+99) {
		t.Errorf("the latest ghost is forgotten")
	}
	if g.known(rejoinKey{room, "@ghost_0:example.org"}, 0) {
		t.Errorf("the oldest ghost is still remembered past the bound")
	}
}
