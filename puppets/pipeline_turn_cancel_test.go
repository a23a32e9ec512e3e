package puppets

import (
	"context"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// Sends of a room whose pipelining is off go through the ordinary client
// one after the other, each once the ones before it have finished
// (sendInTurn). A send whose context ends while it waits for its turn
// gives up; the send after it must still wait for the ones before the
// one that left, not start at once and overtake them. A's send is held
// up on its way (a slow front), B gives up, and C must reach the room
// after A.
func TestSendInTurnGivenUpKeepsTheOrder(t *testing.T) {
	pm := newProxiedMatrix(t)
	front, as, m := pm.proxy, pm.as, pm.m
	m.RetryFor = 10 * time.Second
	if err := m.EnablePipelining(front.URL()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	room := testbed.CreateRoom(t, as, nil)
	if err := as.StateStore.SetMembership(ctx, room, as.BotMXID(), event.MembershipJoin); err != nil {
		t.Fatal(err)
	}
	pipe := roomPipeline(t, m, room)
	// Another room's send met a redirect: this room's sends go through
	// the ordinary client from now on.
	m.pipelineOff.Store(true)

	front.DelayNext("PUT /_matrix/client/v3/rooms/", 1, 2*time.Second)
	send := func(ctx context.Context, body string) error {
		content := &event.MessageEventContent{MsgType: event.MsgText, Body: body}
		_, err := m.SendMessageAhead(ctx, pipe, m.Bot(), room, event.EventMessage, content, time.Time{}, "txn-"+body)()
		return err
	}
	aDone := make(chan error, 1)
	go func() { aDone <- send(ctx, "A") }()
	// A has its turn once the pipeline's last turn is its own.
	for deadline := time.Now().Add(5 * time.Second); ; {
		pipe.mu.Lock()
		taken := pipe.lastTurn != nil
		pipe.mu.Unlock()
		if taken {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("A never took its turn")
		}
		time.Sleep(5 * time.Millisecond)
	}
	gone, cancel := context.WithCancel(ctx)
	cancel()
	if err := send(gone, "B"); err == nil {
		t.Fatal("B, whose context had ended, was sent")
	}
	if err := send(ctx, "C"); err != nil {
		t.Errorf("C: %v", err)
	}
	if err := <-aDone; err != nil {
		t.Errorf("A: %v", err)
	}

	msgs, err := as.BotClient().Messages(ctx, room, "", "", mautrix.DirectionBackward, nil, 50)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(msgs.Chunk) - 1; i >= 0; i-- {
		evt := msgs.Chunk[i]
		if evt.Type != event.EventMessage {
			continue
		}
		_ = evt.Content.ParseRaw(evt.Type)
		got = append(got, evt.Content.AsMessage().Body)
	}
	if strings.Join(got, "|") != "A|C" {
		t.Errorf("the room has %q, want A then C", got)
	}
}
