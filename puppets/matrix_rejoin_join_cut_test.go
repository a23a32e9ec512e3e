package puppets

import (
	"context"
	"errors"
	"testing"
	"time"

	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// TestRefusedSendsOwnJoinIsCutAtItsBudget: a ghost kicked behind Ferry's
// back has its send refused, and the join again that send makes itself
// hangs (the homeserver holds it). When the send's retry budget ends
// meanwhile, the join's request must be cut there and the send given up
// as unreachable, kept by its portal as in an outage; not wait for the
// request's own timeout (the HTTP client's, minutes), past its budget,
// with its portal's tail held behind it.
func TestRefusedSendsOwnJoinIsCutAtItsBudget(t *testing.T) {
	room := id.RoomID("!r:example.org")
	ghost := id.UserID("@ghost_bob:example.org")
	join := newHeldJoin()
	defer join.letGo()
	hs := &kickedGhostsHomeserver{room: room, beforeJoin: join.hold}
	m, intent := startJoined(t, hs, ghost)
	sendCutAtBudget(t, hs, m, intent, join.held, join.letGo, "joined its ghost again", "its join")
}

// sendCutAtBudget sends a message as intent into hs's room with a retry
// budget of 300 ms, waits until hs holds the send's request (reached
// says so), and checks that the send returns by its budget, unreachable,
// with nothing taken by hs. letGo releases what hs holds: only once the
// send has returned, or, if it does not, after long enough to tell. The
// failures read "the refused send never <asked>" and "the send returned
// only once <answered> was answered".
func sendCutAtBudget(t *testing.T, hs *kickedGhostsHomeserver, m *Matrix, intent *appservice.IntentAPI, reached <-chan struct{}, letGo func(), asked, answered string) {
	t.Helper()
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: "hi"}
	ctx := withRetryBudget(context.Background(), time.Now(), 300*time.Millisecond)
	done := make(chan error, 1)
	go func() {
		_, err := m.SendMessage(ctx, intent, hs.room, event.EventMessage, content, time.Time{}, "a")
		done <- err
	}()
	select {
	case <-reached:
	case <-time.After(5 * time.Second):
		t.Fatalf("the refused send never %s", asked)
	}
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		letGo()
		err = <-done
		t.Errorf("the send returned only once %s was answered, past its budget", answered)
	}
	if !errors.Is(err, ErrUnreachable) {
		t.Errorf("the send ended with %v; want it unreachable, kept as in an outage", err)
	}
	letGo()
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if len(hs.accepted) != 0 {
		t.Errorf("the homeserver took %v; want nothing (the send is kept for later by its portal)", hs.accepted)
	}
}
