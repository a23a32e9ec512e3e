package puppets

import (
	"context"
	"fmt"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// TestRejoinsForgottenAfterATailPanics: a portal's tail waits for its
// pipelined sends one after another (portals/ahead.go), and recovers if
// it panics. One that panics after the first wait never calls the
// others; a send's mark of its ghost's rejoins, let go in wait, then
// stayed, and with it the ghost's entry in Matrix.rejoins, for good. The
// sends here are of a ghost kicked behind Ferry's back, refused, joined
// again and tried once more; once they have all settled no entry may be
// left, waits called or not.
func TestRejoinsForgottenAfterATailPanics(t *testing.T) {
	room := id.RoomID("!r:example.org")
	ghost := id.UserID("@ghost_bob:example.org")
	hs := &kickedGhostsHomeserver{room: room}
	m, intent := startJoined(t, hs, ghost)
	pipe := roomPipeline(t, m, room)
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: "hi"}
	ctx := context.Background()

	var waits []func() (id.EventID, error)
	for i := range 3 {
		waits = append(waits, m.SendMessageAhead(ctx, pipe, intent, room, event.EventMessage, content, time.Time{}, fmt.Sprintf("t%d", i)))
	}
	// The tail, as portals/ahead.go runs it: recovered from a panic
	// after its first wait.
	tailDone := make(chan any)
	go func() {
		defer func() { tailDone <- recover() }()
		if _, err := waits[0](); err != nil {
			t.Errorf("the first send: %v", err)
		}
		panic("storing the first mapping")
	}()
	if r := <-tailDone; r == nil {
		t.Fatal("the tail did not panic; the test missed its path")
	}

	// The others are never waited for: their outcome is known once the
	// homeserver has taken them.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		hs.mu.Lock()
		taken := len(hs.accepted)
		hs.mu.Unlock()
		n := m.rejoinEntries()
		if taken == len(waits) && n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the homeserver took %d of %d sends, and %d rejoin entries are left; want all taken and none left", taken, len(waits), n)
		}
	}
}
