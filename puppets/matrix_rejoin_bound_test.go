package puppets

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestRefusedSendAndItsRejoinAreBoundByRetryFor: a kicked ghost's send is
// refused, its join again is answered only late, and the homeserver then
// fails every send. The whole send (the refusal, the join and the retry)
// must be given up as unreachable once RetryFor from its start has
// passed, as any send is (durable_outage.go holds the portal's tail for
// that long at most), not after the join's RetryFor and the retry's
// besides. Real Dendrite behind the fault proxy; through the ordinary
// client and through the pipeline.
func TestRefusedSendAndItsRejoinAreBoundByRetryFor(t *testing.T) {
	hs, reg := testbed.StartDendriteForAppservice(t)
	for _, pipelined := range []bool{false, true} {
		name := "ordinary"
		if pipelined {
			name = "pipelined"
		}
		t.Run(name, func(t *testing.T) {
			proxy := testbed.NewFaultProxy(t, hs.URL)
			as := testbed.NewAppservice(t, reg, proxy.URL())
			m := NewMatrix(as, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
			m.FirstBackoff = 50 * time.Millisecond
			m.MaxBackoff = 100 * time.Millisecond
			ctx := context.Background()
			ghost := id.NewUserID("ferry_bound_"+name, "localhost")
			intent := m.Intent(ghost)
			room := kickedBehindFerrysBack(t, as, intent)
			// Long enough that the slack below covers a loaded machine,
			// while the unbounded tail (the join's delay and a whole
			// RetryFor of its own for the retry) stays well beyond it.
			const retryFor = 3 * time.Second
			m.RetryFor = retryFor
			var pipe *Pipeline
			if pipelined {
				if err := m.EnablePipelining(proxy.URL()); err != nil {
					t.Fatal(err)
				}
				pipe = roomPipeline(t, m, room)
			}
			// The first send reaches the homeserver (and is refused); the
			// join is answered after most of RetryFor; every send after
			// it fails.
			sends := "PUT /_matrix/client/v3/rooms/" + room.String() + "/send/"
			proxy.Inject(sends, 1, testbed.Fault{})
			proxy.Inject(sends, -1, testbed.Fault{Status: http.StatusBadGateway})
			proxy.Inject("POST /_matrix/client/v3/rooms/"+room.String()+"/join", 1, testbed.Fault{Delay: retryFor * 3 / 4})

			content := &event.MessageEventContent{MsgType: event.MsgText, Body: "hi"}
			var err error
			start := time.Now()
			if pipelined {
				_, err = m.SendMessageAhead(ctx, pipe, intent, room, event.EventMessage, content, time.Time{}, "bound")()
			} else {
				_, err = m.SendMessage(ctx, intent, room, event.EventMessage, content, time.Time{}, "bound")
			}
			took := time.Since(start)
			if !errors.Is(err, ErrUnreachable) {
				t.Errorf("the send ended with %v; want it unreachable, to be kept", err)
			}
			// Bound by one RetryFor, it ends at about RetryFor; unbounded,
			// at the join's delay plus a RetryFor at least (1.75 RetryFor).
			if took > retryFor*3/2 {
				t.Errorf("the send was given up after %v; want it at about RetryFor (%v), not after the join's delay and a RetryFor besides", took.Round(time.Millisecond), retryFor)
			}
		})
	}
}
