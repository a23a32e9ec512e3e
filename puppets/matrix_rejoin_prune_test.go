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

	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// TestRejoinsForgottenOnceSettled: every ghost joined again after a
// refused send left an entry in Matrix.rejoins, for good; a bridge that
// meets ghosts without end (a busy IRC channel's comings and goings, with
// kicks behind its back) grew it without bound. Once its join again has
// settled and no send holds a mark of it, an entry is dropped: after
// kicked ghosts' sends through the ordinary client and pipelined ones,
// each joined again and sent once more, none is left. A stand-in
// homeserver, as in TestKickedGhostsPipelinedBurstAllArrive.
func TestRejoinsForgottenOnceSettled(t *testing.T) {
	room := id.RoomID("!r:example.org")
	var (
		mu       sync.Mutex
		joined   = map[string]bool{}
		accepted int
	)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		user := r.URL.Query().Get("user_id")
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/send/"):
			if strings.HasPrefix(user, "@ghost_") && !joined[user] {
				w.WriteHeader(http.StatusForbidden)
				_, _ = io.WriteString(w, `{"errcode":"M_FORBIDDEN","error":"user not in room"}`)
				return
			}
			accepted++
			fmt.Fprintf(w, `{"event_id":"$%d"}`, accepted)
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/joined_rooms"):
			if joined[user] {
				fmt.Fprintf(w, `{"joined_rooms":[%q]}`, room)
				return
			}
			_, _ = io.WriteString(w, `{"joined_rooms":[]}`)
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/join"):
			joined[user] = true
			fmt.Fprintf(w, `{"room_id":%q}`, room)
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"errcode":"M_NOT_FOUND","error":"no"}`)
		}
	}))
	defer hs.Close()

	m := matrixFor(t, hs.URL)
	m.RetryFor = 5 * time.Second
	if err := m.EnablePipelining(hs.URL); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	store := m.AS.StateStore
	const ghosts = 8
	var intents []*appservice.IntentAPI
	for i := range 2 * ghosts {
		user := id.UserID(fmt.Sprintf("@ghost_%d:example.org", i))
		if err := store.MarkRegistered(ctx, user); err != nil {
			t.Fatal(err)
		}
		// The store has the ghost joined: its kick has not reached Ferry.
		if err := store.SetMembership(ctx, room, user, event.MembershipJoin); err != nil {
			t.Fatal(err)
		}
		intents = append(intents, m.Intent(user))
	}
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: "hi"}
	// Through the ordinary client.
	for i, intent := range intents[:ghosts] {
		if _, err := m.SendMessage(ctx, intent, room, event.EventMessage, content, time.Time{}, fmt.Sprintf("o%d", i)); err != nil {
			t.Errorf("ghost %d's send: %v", i, err)
		}
	}
	// Pipelined, two messages of each ghost refused together.
	pipe := m.NewPipeline(room)
	if pipe == nil {
		t.Fatal("no pipeline")
	}
	defer pipe.Close()
	var waits []func() (id.EventID, error)
	for i, intent := range intents[ghosts:] {
		for j := range 2 {
			waits = append(waits, m.SendMessageAhead(ctx, pipe, intent, room, event.EventMessage, content, time.Time{}, fmt.Sprintf("p%d.%d", i, j)))
		}
	}
	for i, wait := range waits {
		if _, err := wait(); err != nil {
			t.Errorf("pipelined send %d: %v", i, err)
		}
	}
	mu.Lock()
	if want := 3 * ghosts; accepted != want {
		t.Errorf("the homeserver took %d messages; want %d", accepted, want)
	}
	mu.Unlock()
	if n := m.rejoinEntries(); n != 0 {
		t.Errorf("%d ghosts' rejoin entries are left after every send settled; want none", n)
	}
}
