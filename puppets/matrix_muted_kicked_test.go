package puppets

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// mutedThenKickedHomeserver is a stand-in homeserver for a ghost first
// muted in room (a member whose sends are refused by the power levels),
// then, once kicked is set, kicked and unmuted behind the state store's
// back: its sends are refused as from a non-member until it joins again.
// The refusals' texts are Dendrite's own.
type mutedThenKickedHomeserver struct {
	room id.RoomID

	mu       sync.Mutex
	kicked   bool
	joins    int
	accepted int
}

func (h *mutedThenKickedHomeserver) start(t *testing.T) *Matrix {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		user := r.URL.Query().Get("user_id")
		h.mu.Lock()
		defer h.mu.Unlock()
		switch {
		case r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/send/"):
			if h.kicked {
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprintf(w, `{"errcode":"M_FORBIDDEN","error":"eventauth: sender \"%s\" not in room"}`, user)
				return
			}
			if h.joins == 0 {
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprintf(w, `{"errcode":"M_FORBIDDEN","error":"eventauth: sender \"%s\" is not allowed to send event. 0 < 50"}`, user)
				return
			}
			h.accepted++
			fmt.Fprintf(w, `{"event_id":"$%d"}`, h.accepted)
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/joined_rooms"):
			if h.kicked {
				_, _ = io.WriteString(w, `{"joined_rooms":[]}`)
				return
			}
			fmt.Fprintf(w, `{"joined_rooms":[%q]}`, h.room)
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/join"):
			h.kicked = false
			h.joins++
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

// TestMutedGhostKickedIsJoinedAgainAtOnce: a ghost found muted in a room
// is remembered so (matrix_muted.go), and its later refusals there are
// taken as the same without asking the homeserver, while the store's
// view stays. Kicked behind the store's back (and unmuted), it was joined
// again only once that memory was mutedFor old: every message until then
// was refused. The homeserver's refusal says which it is: a non-member's
// is not taken as muted, so the first send after the kick joins the
// ghost again and is bridged.
func TestMutedGhostKickedIsJoinedAgainAtOnce(t *testing.T) {
	room := id.RoomID("!r:example.org")
	ghost := id.UserID("@ghost_bob:example.org")
	hs := &mutedThenKickedHomeserver{room: room}
	m := hs.start(t)
	now := time.Now()
	m.muted.now = func() time.Time { return now }
	storeJoined(t, m, room, m.BotMXID(), ghost)
	sendMuted(t, m, ghost, room, 2)
	if m.muted.size() != 1 {
		t.Fatal("the muted ghost was not remembered; the test missed its path")
	}

	hs.mu.Lock()
	hs.kicked = true
	hs.mu.Unlock()
	now = now.Add(time.Minute) // well within mutedFor
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: "hi"}
	if _, err := m.SendMessage(context.Background(), m.Intent(ghost), room, event.EventMessage, content, time.Time{}, "after-kick"); err != nil {
		t.Errorf("the kicked ghost's send ended with %v; want it joined again and bridged", err)
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.joins != 1 || hs.accepted != 1 {
		t.Errorf("the ghost was joined %d times and %d sends taken; want 1 and 1", hs.joins, hs.accepted)
	}
}
