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

// TestSendsAfterARefusalWaitForItsRetry: a ghost kicked behind Ferry's
// back has its pipelined send refused; before it is joined again, the
// bot's send and then another of the ghost's are given to the pipeline.
// Both must wait for the retry and follow it in order: the bot's is not
// taken before it, and the ghost's does not go before the bot's (it
// would be refused, and its retry would wait for the bot's send, which
// waits for that retry). A stand-in homeserver, to hold the refused
// send's handling (its look at the ghost's rooms) until both are given.
func TestSendsAfterARefusalWaitForItsRetry(t *testing.T) {
	room := id.RoomID("!r:example.org")
	ghost := id.UserID("@ghost_bob:example.org")
	var (
		mu       sync.Mutex
		joined   bool
		accepted []string
	)
	release := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		user := r.URL.Query().Get("user_id")
		switch {
		case r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/send/"):
			mu.Lock()
			defer mu.Unlock()
			if user == ghost.String() && !joined {
				w.WriteHeader(http.StatusForbidden)
				_, _ = io.WriteString(w, `{"errcode":"M_FORBIDDEN","error":"user not in room"}`)
				return
			}
			txn := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
			accepted = append(accepted, txn)
			fmt.Fprintf(w, `{"event_id":"$%s"}`, txn)
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/joined_rooms"):
			<-release
			_, _ = io.WriteString(w, `{"joined_rooms":[]}`)
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/join"):
			mu.Lock()
			defer mu.Unlock()
			joined = true
			fmt.Fprintf(w, `{"room_id":%q}`, room)
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"errcode":"M_NOT_FOUND","error":"no"}`)
		}
	}))
	t.Cleanup(hs.Close) // after the pipeline's close (roomPipeline)
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()

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
		if err := store.SetMembership(ctx, room, user, event.MembershipJoin); err != nil {
			t.Fatal(err)
		}
	}
	pipe := roomPipeline(t, m, room)
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: "hi"}
	waitA := m.SendMessageAhead(ctx, pipe, m.Intent(ghost), room, event.EventMessage, content, time.Time{}, "a")
	// Once the refusal is read (its handling waits for release).
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		pipe.mu.Lock()
		refused := pipe.passing[ghost]
		pipe.mu.Unlock()
		if refused {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the ghost's send was never refused")
		}
	}
	waitB := m.SendMessageAhead(ctx, pipe, m.Bot(), room, event.EventMessage, content, time.Time{}, "b")
	waitC := m.SendMessageAhead(ctx, pipe, m.Intent(ghost), room, event.EventMessage, content, time.Time{}, "c")
	time.Sleep(200 * time.Millisecond) // for anything written to be answered
	close(release)
	for name, wait := range map[string]func() (id.EventID, error){"a": waitA, "b": waitB, "c": waitC} {
		if _, err := wait(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(accepted, ",") != "a,b,c" {
		t.Errorf("the homeserver took %q; want a, b, c", accepted)
	}
}
