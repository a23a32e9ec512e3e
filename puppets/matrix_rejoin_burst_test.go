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

// TestKickedGhostsPipelinedBurstAllArrive: a ghost kicked behind Ferry's
// back has two messages pipelined before the first one's refusal comes
// back, so both are refused as forbidden. The first one's wait joins the
// ghost again and sends it once more; the second was refused before that
// join, and must be sent once more too, not taken as refused for another
// reason because the ghost is joined by the time it is looked at. A
// stand-in homeserver, since the order of the refusals and the join
// cannot be had reliably from Dendrite.
func TestKickedGhostsPipelinedBurstAllArrive(t *testing.T) {
	room := id.RoomID("!r:example.org")
	ghost := id.UserID("@ghost_bob:example.org")
	var (
		mu       sync.Mutex
		joined   bool
		refused  int
		accepted []string
		joins    int
	)
	bothRefused := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		user := r.URL.Query().Get("user_id")
		switch {
		case r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/send/"):
			mu.Lock()
			defer mu.Unlock()
			if user == ghost.String() && !joined {
				if refused++; refused == 2 {
					close(bothRefused)
				}
				w.WriteHeader(http.StatusForbidden)
				_, _ = io.WriteString(w, `{"errcode":"M_FORBIDDEN","error":"user not in room"}`)
				return
			}
			txn := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
			accepted = append(accepted, txn)
			fmt.Fprintf(w, `{"event_id":"$%s"}`, txn)
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/joined_rooms"):
			mu.Lock()
			defer mu.Unlock()
			if user == ghost.String() && joined {
				fmt.Fprintf(w, `{"joined_rooms":[%q]}`, room)
				return
			}
			_, _ = io.WriteString(w, `{"joined_rooms":[]}`)
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/join"):
			// The join comes once both sends were refused, as when the
			// second is pipelined before the first one's answer.
			select {
			case <-bothRefused:
			case <-time.After(5 * time.Second):
			}
			mu.Lock()
			defer mu.Unlock()
			joined = true
			joins++
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
	for _, user := range []id.UserID{m.BotMXID(), ghost} {
		if err := store.MarkRegistered(ctx, user); err != nil {
			t.Fatal(err)
		}
		// The store has the ghost joined: its kick has not reached Ferry.
		if err := store.SetMembership(ctx, room, user, event.MembershipJoin); err != nil {
			t.Fatal(err)
		}
	}
	pipe := m.NewPipeline(room)
	if pipe == nil {
		t.Fatal("no pipeline")
	}
	defer pipe.Close()
	intent := m.Intent(ghost)
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: "hi"}
	waitA := m.SendMessageAhead(ctx, pipe, intent, room, event.EventMessage, content, time.Time{}, "a")
	waitB := m.SendMessageAhead(ctx, pipe, intent, room, event.EventMessage, content, time.Time{}, "b")
	if _, err := waitA(); err != nil {
		t.Errorf("A: %v", err)
	}
	if _, err := waitB(); err != nil {
		t.Errorf("B, refused before the ghost joined again: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if joins != 1 {
		t.Errorf("the ghost joined %d times; want once", joins)
	}
	if len(accepted) != 2 {
		t.Errorf("the homeserver took %q; want a and b", accepted)
	}
}
