package puppets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// TestPipelineHoldsEventsBehindOneGivenUp: the homeserver is unavailable
// (503) for longer than the first event may be retried; the event is
// given up, to be kept and sent again later. The homeserver is back at
// once, while the second event still waits its turn in the pipeline. It
// must not be sent before the first: it is given up with it, as
// unreachable, so that both are kept and resumed in their order.
func TestPipelineHoldsEventsBehindOneGivenUp(t *testing.T) {
	srv := newDownHomeserver(t)
	p := newTestPipeline(t, srv.URL)

	// A is retried at about 0, 0.2 and 0.6 s (the pipeline's backoff) and
	// given up at 1 s; the next resend would be at 1.4 s. B may wait 10 s.
	ctxA, cancelA := context.WithTimeout(context.Background(), time.Second)
	defer cancelA()
	ctxB, cancelB := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelB()
	send := func(ctx context.Context, name string) chan error {
		placed, done := make(chan struct{}), make(chan error, 1)
		req, _ := http.NewRequestWithContext(withPlaced(ctx, func() { close(placed) }), http.MethodPut, srv.URL+"/send/"+name, strings.NewReader(`{}`))
		go func() {
			resp, err := p.httpClient().Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				if resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			done <- err
		}()
		<-placed
		return done
	}
	doneA := send(ctxA, "A")
	doneB := send(ctxB, "B")

	if err := <-doneA; err == nil {
		t.Fatal("A was accepted while the homeserver was down")
	}
	srv.up()
	errB := <-doneB
	if !errors.Is(errB, errHeldBehind) {
		t.Errorf("B: %v; want it given up behind A", errB)
	}
	// A itself may have been taken, if it was written just before its
	// deadline (it cannot be called back); B must not have been.
	if taken := srv.taken(); slices.Contains(taken, "B") {
		t.Errorf("the homeserver took %q before A, which was given up to be sent again later", taken)
	}
}

// TestEventHeldBehindIsKept: through the gateway, an event given up
// behind an earlier one that could not be sent is marked ErrUnreachable
// as that one is, so that the portal keeps both.
func TestEventHeldBehindIsKept(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"errcode":"M_UNKNOWN","error":"restarting"}`)
	}))
	defer hs.Close()
	m := matrixFor(t, hs.URL)
	m.RetryFor = time.Second
	if err := m.EnablePipelining(hs.URL); err != nil {
		t.Fatal(err)
	}
	room := id.RoomID("!r:example.org")
	pipe := m.NewPipeline(room)
	defer pipe.Close()
	ctx := context.Background()
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: "hi"}
	waitA := m.SendMessageAhead(ctx, pipe, m.Bot(), room, event.EventMessage, content, time.Time{}, "a")
	time.Sleep(100 * time.Millisecond)
	waitB := m.SendMessageAhead(ctx, pipe, m.Bot(), room, event.EventMessage, content, time.Time{}, "b")
	_, errA := waitA()
	_, errB := waitB()
	if !errors.Is(errA, ErrUnreachable) {
		t.Errorf("A: %v; want unreachable", errA)
	}
	if !errors.Is(errB, ErrUnreachable) || !errors.Is(errB, errHeldBehind) {
		t.Errorf("B: %v; want unreachable, held behind A", errB)
	}
}
