package puppets

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// TestRefusedGhostWhoseJoinMeetsAnOutageIsUnreachable: a ghost kicked
// behind Ferry's back has its send refused as forbidden, and the
// homeserver then cannot be reached for as long as the join again is
// retried. The send must fail as unreachable, so that its portal keeps
// the event for after the outage (when the ghost, no longer in the
// store's room, joins before it sends), not with the send's M_FORBIDDEN,
// which has it reported as not bridged.
func TestRefusedGhostWhoseJoinMeetsAnOutageIsUnreachable(t *testing.T) {
	room := id.RoomID("!r:example.org")
	ghost := id.UserID("@ghost_bob:example.org")
	var sends atomic.Int32
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/send/") {
			sends.Add(1)
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"errcode":"M_FORBIDDEN","error":"user not in room"}`)
			return
		}
		// Down from the refusal on.
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer hs.Close()

	m := matrixFor(t, hs.URL)
	m.RetryFor = 500 * time.Millisecond
	m.FirstBackoff = 50 * time.Millisecond
	ctx := context.Background()
	storeJoined(t, m, room, m.BotMXID(), ghost)
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: "hi"}
	_, err := m.SendMessage(ctx, m.Intent(ghost), room, event.EventMessage, content, time.Time{}, "a")
	if !errors.Is(err, ErrUnreachable) {
		t.Errorf("SendMessage: %v; want it unreachable, to be kept", err)
	}
	// The path the test is about: the send went and was refused, and
	// the join again met the outage (a ghost the store had not joined
	// would meet it joining before any send).
	if n := sends.Load(); n != 1 {
		t.Errorf("the homeserver was asked to send %d times; want once (refused, then the join again met the outage)", n)
	}
}
