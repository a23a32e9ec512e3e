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

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// TestRefusedSendWaitingForAnotherJoinGivesUpWithItsBudget: a ghost
// kicked behind Ferry's back has two sends refused; send a joins the
// ghost again, and that join is answered late; send b waits for it. b's
// retry budget (retry_budget.go), begun before a's, ends meanwhile. b
// must then give up as any send whose join again ran out of its budget
// does, unreachable, so that its portal keeps it as in an outage; not
// stay until a's join is answered, which may take a's whole RetryFor
// past its own.
func TestRefusedSendWaitingForAnotherJoinGivesUpWithItsBudget(t *testing.T) {
	room := id.RoomID("!r:example.org")
	ghost := id.UserID("@ghost_bob:example.org")
	bArrived := make(chan struct{})
	var bOnce sync.Once
	join := newHeldJoin()
	defer join.letGo()
	hs := &kickedGhostsHomeserver{
		room: room,
		// b reaches the homeserver before a is refused (so that it goes
		// out while the store still has the ghost joined), and is
		// refused only once a's join again is held.
		drop: func(r *http.Request) bool {
			if strings.HasSuffix(r.URL.Path, "/send/m.room.message/b") {
				bOnce.Do(func() { close(bArrived) })
				join.waitHeld()
			}
			return false
		},
		onRefused:  firstRefusalAfter(bArrived),
		beforeJoin: join.hold,
	}
	m, intent := startJoined(t, hs, ghost)
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: "hi"}

	waiting := &signalWriter{want: "Waiting for a ghost's join again", seen: make(chan struct{})}
	bCtx := withRetryBudget(zerolog.New(waiting).WithContext(context.Background()), time.Now(), 300*time.Millisecond)
	bDone, aDone := make(chan error, 1), make(chan error, 1)
	go func() {
		_, err := m.SendMessage(bCtx, intent, room, event.EventMessage, content, time.Time{}, "b")
		bDone <- err
	}()
	go func() {
		_, err := m.SendMessage(context.Background(), intent, room, event.EventMessage, content, time.Time{}, "a")
		aDone <- err
	}()

	// a's join is let go only once b has returned, or, if it does not,
	// after long enough to tell.
	var errB error
	select {
	case errB = <-bDone:
	case <-time.After(10 * time.Second):
		join.letGo()
		errB = <-bDone
		t.Errorf("b returned only once a's join again was answered, past its own budget")
	}
	select {
	case <-waiting.seen:
	default:
		t.Errorf("b never waited for a's join again; the test missed its path")
	}
	if !errors.Is(errB, ErrUnreachable) {
		t.Errorf("b ended with %v; want it unreachable, kept as in an outage", errB)
	}

	join.letGo()
	if err := <-aDone; err != nil {
		t.Errorf("a, which joined the ghost again: %v", err)
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if !slices.Equal(hs.accepted, []string{"a"}) {
		t.Errorf("the homeserver took %v; want only a (b is kept for later by its portal)", hs.accepted)
	}
}
