package puppets

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestRedactionRefusedByPowerLevelsIsGivenUpAtOnce: in a room where
// redactions need a level the ghost lacks (Element's "Remove messages
// sent by me" raised), Dendrite answers the ghost's redaction of its
// own message with HTTP 500. Retried as a 500, it held the portal for
// RetryFor (30 minutes by default) and was then reported as the
// homeserver's failure. It is given up after the one request, saying the
// power levels refuse it. Real Dendrite, behind a fault proxy that only
// counts the requests.
func TestRedactionRefusedByPowerLevelsIsGivenUpAtOnce(t *testing.T) {
	pm := newProxiedMatrix(t)
	proxy, as, m := pm.proxy, pm.as, pm.m
	// Long enough for many retries of a 500, short enough for a test
	// that fails to end.
	m.RetryFor = 15 * time.Second
	m.FirstBackoff = 50 * time.Millisecond
	ctx := context.Background()
	ghost := id.NewUserID("ferry_bob", "localhost")
	intent := m.Intent(ghost)
	room := testbed.CreateRoom(t, as, &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{ghost}})
	if err := intent.EnsureJoined(ctx, room); err != nil {
		t.Fatal(err)
	}
	sent, err := intent.SendText(ctx, room, "soon to be deleted")
	if err != nil {
		t.Fatal(err)
	}
	var levels event.PowerLevelsEventContent
	if err := as.BotClient().StateEvent(ctx, room, event.StatePowerLevels, "", &levels); err != nil {
		t.Fatal(err)
	}
	if levels.Events == nil {
		levels.Events = map[string]int{}
	}
	levels.Events[event.EventRedaction.Type] = 50
	if _, err := as.BotClient().SendStateEvent(ctx, room, event.StatePowerLevels, "", &levels); err != nil {
		t.Fatal(err)
	}

	err = m.Redact(ctx, intent, room, sent.EventID, "")
	if !errors.Is(err, ErrRedactionRefused) {
		t.Errorf("the refused redaction ended with %v; want it refused by the power levels", err)
	}
	if msg := network.UserMessage(err, ""); !strings.Contains(msg, "power levels") {
		t.Errorf("the refused redaction tells the room %q; want that the power levels refuse it", msg)
	}
	redactions := 0
	for _, r := range proxy.Requests() {
		if r.Method == http.MethodPut && strings.Contains(r.Path, "/redact/") {
			redactions++
		}
	}
	if redactions != 1 {
		t.Errorf("the refused redaction was asked %d times; want once", redactions)
	}
}
