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

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// kickedGhostsHomeserver is a stand-in homeserver for ghosts kicked behind
// Ferry's back: a ghost's (an @ghost_ user's) send to room is refused as
// forbidden until the ghost joins again; any other send is taken. The
// order of refusals and joins it allows cannot be had reliably from
// Dendrite.
type kickedGhostsHomeserver struct {
	room id.RoomID
	// onRefused, when set, runs with mu held after the n-th refusal.
	onRefused func(n int)
	// beforeJoin, when set, runs before a join is granted, without mu.
	beforeJoin func()
	// drop, when set, says whether to close the connection a request
	// came on instead of answering it.
	drop func(r *http.Request) bool
	// before, when set, runs first for every request, without mu (a
	// test holds a request in it).
	before func(r *http.Request)
	// joinStatus, when not 0, answers every join with this status
	// instead of granting it.
	joinStatus int
	// muted, when set, refuses the sends of a joined ghost as the room's
	// power levels would (Dendrite's text), until it has joined through
	// the stand-in (a kick and a join again unmute it).
	muted bool

	mu       sync.Mutex
	joined   map[string]bool
	refused  int
	joins    int
	accepted []string // the transaction IDs of the sends taken, in order
}

// start serves h until the test ends and returns a gateway to it that
// pipelines and retries for 5 s.
func (h *kickedGhostsHomeserver) start(t *testing.T) *Matrix {
	t.Helper()
	h.joined = map[string]bool{}
	hs := httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(hs.Close)

	m := matrixFor(t, hs.URL)
	m.RetryFor = 5 * time.Second
	if err := m.EnablePipelining(hs.URL); err != nil {
		t.Fatal(err)
	}
	return m
}

// storeJoined has m's state store know users as registered and joined to
// room: a kick the homeserver has had has not reached Ferry.
func storeJoined(t *testing.T, m *Matrix, room id.RoomID, users ...id.UserID) {
	t.Helper()
	ctx := context.Background()
	store := m.AS.StateStore
	for _, user := range users {
		if err := store.MarkRegistered(ctx, user); err != nil {
			t.Fatal(err)
		}
		if err := store.SetMembership(ctx, room, user, event.MembershipJoin); err != nil {
			t.Fatal(err)
		}
	}
}

func (h *kickedGhostsHomeserver) serve(w http.ResponseWriter, r *http.Request) {
	if h.before != nil {
		h.before(r)
	}
	if h.drop != nil && h.drop(r) {
		if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = c.Close()
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	user := r.URL.Query().Get("user_id")
	switch {
	case r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/send/"):
		h.mu.Lock()
		defer h.mu.Unlock()
		if strings.HasPrefix(user, "@ghost_") && !h.joined[user] {
			h.refused++
			if h.onRefused != nil {
				h.onRefused(h.refused)
			}
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"errcode":"M_FORBIDDEN","error":"user not in room"}`)
			return
		}
		if h.muted && strings.HasPrefix(user, "@ghost_") && h.joins == 0 {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `{"errcode":"M_FORBIDDEN","error":"eventauth: sender \"%s\" is not allowed to send event. 0 < 50"}`, user)
			return
		}
		txn := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		h.accepted = append(h.accepted, txn)
		fmt.Fprintf(w, `{"event_id":"$%s"}`, txn)
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/joined_rooms"):
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.joined[user] {
			fmt.Fprintf(w, `{"joined_rooms":[%q]}`, h.room)
			return
		}
		_, _ = io.WriteString(w, `{"joined_rooms":[]}`)
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/join"):
		if h.beforeJoin != nil {
			h.beforeJoin()
		}
		if h.joinStatus != 0 {
			w.WriteHeader(h.joinStatus)
			_, _ = io.WriteString(w, `{"errcode":"M_UNKNOWN","error":"not now"}`)
			return
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		h.joined[user] = true
		h.joins++
		fmt.Fprintf(w, `{"room_id":%q}`, h.room)
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"errcode":"M_NOT_FOUND","error":"no"}`)
	}
}

// waitRefusalRead waits until pipe has read a send's refusal as forbidden
// and holds the room's later requests (pipeline_refused.go).
func waitRefusalRead(t *testing.T, pipe *Pipeline, never string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		pipe.mu.Lock()
		refused := pipe.refusing > 0
		pipe.mu.Unlock()
		if refused {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(never)
		}
	}
}

// kickedBehindFerrysBack makes a room on the homeserver with intent's
// ghost joined, kicks the ghost, and leaves it joined in the store, as
// when the kick has not reached Ferry yet.
func kickedBehindFerrysBack(t *testing.T, as *appservice.AppService, intent *appservice.IntentAPI) id.RoomID {
	t.Helper()
	ctx := context.Background()
	ghost := intent.UserID
	room := testbed.CreateRoom(t, as, &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{ghost}})
	if err := intent.EnsureJoined(ctx, room); err != nil {
		t.Fatal(err)
	}
	if _, err := as.BotClient().KickUser(ctx, room, &mautrix.ReqKickUser{UserID: ghost}); err != nil {
		t.Fatal(err)
	}
	if err := as.StateStore.SetMembership(ctx, room, ghost, event.MembershipJoin); err != nil {
		t.Fatal(err)
	}
	return room
}
