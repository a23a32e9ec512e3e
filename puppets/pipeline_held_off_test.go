package puppets

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// A room's pipeline gave a send up for an unreachable homeserver and is
// held until the portal resumes it; meanwhile another room met a redirect
// and switched pipelining off for the whole homeserver. The room's next
// send, handed over before the portal marked its backlog as held, now
// goes through the ordinary client: it must still be refused, held
// behind the one given up, not sent to the homeserver ahead of it.
func TestHeldPipelineRefusesSendsOncePipeliningIsOff(t *testing.T) {
	hs, reg := testbed.StartDendriteForAppservice(t)
	as := testbed.NewAppservice(t, reg, hs.URL)
	m := NewMatrix(as, zerolog.New(zerolog.NewTestWriter(t)))
	m.RetryFor = 5 * time.Second
	if err := m.EnablePipelining(hs.URL); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	room := testbed.CreateRoom(t, as, nil)
	pipe := roomPipeline(t, m, room)

	// As giveUp leaves it after a send the homeserver could not take.
	pipe.mu.Lock()
	pipe.held = true
	pipe.mu.Unlock()
	// Another room's send met a redirect.
	m.pipelineOff.Store(true)

	content := &event.MessageEventContent{MsgType: event.MsgText, Body: "after the one given up"}
	_, err := m.SendMessageAhead(ctx, pipe, m.Bot(), room, event.EventMessage, content, time.Time{}, "txn-held")()
	if !errors.Is(err, ErrUnreachable) || !errors.Is(err, errHeldBehind) {
		t.Errorf("a send to a held pipeline once pipelining is off: %v; want it refused, held behind (ErrUnreachable)", err)
	}
	msgs, err := as.BotClient().Messages(ctx, room, "", "", mautrix.DirectionBackward, nil, 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, evt := range msgs.Chunk {
		if evt.Type == event.EventMessage {
			t.Errorf("the homeserver took %s ahead of the send given up", evt.ID)
		}
	}
}
