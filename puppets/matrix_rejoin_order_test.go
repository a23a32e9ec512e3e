package puppets

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// TestRefusedPipelinedSendKeepsItsPlace: a ghost kicked behind Ferry's
// back has its pipelined send refused as forbidden; it is joined again
// and the send tried once more. A send of the room given to the pipeline
// meanwhile, once the ghost is back in, must not overtake that retry: it
// waits for it, as a send through the ordinary client waits for the
// retry before it. Real Dendrite; the pipeline reaches it directly, the
// ordinary client through a fault proxy that holds the retry up a
// second, so that the later send comes after the join and before the
// retry is answered.
func TestRefusedPipelinedSendKeepsItsPlace(t *testing.T) {
	pm := newProxiedMatrix(t)
	hs, proxy, as, m := pm.hs, pm.proxy, pm.as, pm.m
	m.RetryFor = 20 * time.Second
	if err := m.EnablePipelining(hs.URL); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ghost := id.NewUserID("ferry_bob", "localhost")
	intent := m.Intent(ghost)
	room := kickedBehindFerrysBack(t, as, intent)

	pipe := roomPipeline(t, m, room)
	text := func(body string) *event.MessageEventContent {
		return &event.MessageEventContent{MsgType: event.MsgText, Body: body}
	}
	proxy.DelayNext("PUT /_matrix/client/v3/rooms/"+room.String()+"/send/", 1, time.Second)
	joins := func() int {
		n := 0
		for _, r := range proxy.Requests() {
			if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/join") && r.Status == http.StatusOK {
				n++
			}
		}
		return n
	}
	joined := joins()
	waitFirst := m.SendMessageAhead(ctx, pipe, intent, room, event.EventMessage, text("first"), time.Time{}, "first")
	first := make(chan error, 1)
	go func() {
		_, err := waitFirst()
		first <- err
	}()
	// Once the ghost has joined again, the second send.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if joins() > joined {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the ghost never joined again")
		}
	}
	waitSecond := m.SendMessageAhead(ctx, pipe, intent, room, event.EventMessage, text("second"), time.Time{}, "second")
	if err := <-first; err != nil {
		t.Fatalf("first: %v", err)
	}
	if _, err := waitSecond(); err != nil {
		t.Fatalf("second: %v", err)
	}

	// Dendrite's /messages learns of a sent event a moment after the
	// send is answered: read until both are there, or for a while.
	var bodies []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		msgs, err := as.BotClient().Messages(ctx, room, "", "", mautrix.DirectionBackward, nil, 100)
		if err != nil {
			t.Fatal(err)
		}
		bodies = nil
		for _, evt := range msgs.Chunk {
			if evt.Type == event.EventMessage {
				_ = evt.Content.ParseRaw(evt.Type)
				bodies = append([]string{evt.Content.AsMessage().Body}, bodies...) // newest first
			}
		}
		if len(bodies) >= 2 || time.Now().After(deadline) {
			break
		}
	}
	if strings.Join(bodies, ",") != "first,second" {
		t.Errorf("the room has %q; want first, then second", bodies)
	}
}
