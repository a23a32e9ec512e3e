package puppets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// TestSendAfterAnUnreachableOneIsHeldWithPipeliningOff: with sends no
// longer pipelined (the homeserver address redirected), a send given up
// because the homeserver could not be reached is kept by its portal to
// be sent again later. The room's next send, handed over before the
// portal heard of that, must be refused to be kept behind it, as the
// pipeline refuses it after a send it gave up (giveUp), not taken by a
// homeserver that is back ahead of the kept one.
func TestSendAfterAnUnreachableOneIsHeldWithPipeliningOff(t *testing.T) {
	room := id.RoomID("!r:example.org")
	var (
		mu       sync.Mutex
		accepted []string
	)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method != http.MethodPut || !strings.Contains(r.URL.Path, "/send/") {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"errcode":"M_NOT_FOUND","error":"no"}`)
			return
		}
		txn := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		if txn == "a" {
			// The outage, for as long as a is tried.
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, `{"errcode":"M_UNKNOWN","error":"down"}`)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		accepted = append(accepted, txn)
		fmt.Fprintf(w, `{"event_id":"$%s"}`, txn)
	}))
	t.Cleanup(hs.Close) // after the pipeline's close (roomPipeline)
	m := matrixFor(t, hs.URL)
	m.RetryFor = 500 * time.Millisecond
	if err := m.EnablePipelining(hs.URL); err != nil {
		t.Fatal(err)
	}
	pipe := roomPipeline(t, m, room)
	m.pipelineOff.Store(true) // as after a redirect
	ctx := context.Background()
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: "hi"}
	waitA := m.SendMessageAhead(ctx, pipe, m.Bot(), room, event.EventMessage, content, time.Time{}, "a")
	waitB := m.SendMessageAhead(ctx, pipe, m.Bot(), room, event.EventMessage, content, time.Time{}, "b")
	if _, err := waitA(); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("A: %v; want it unreachable", err)
	}
	if _, err := waitB(); !errors.Is(err, ErrUnreachable) {
		t.Errorf("B: %v; want it unreachable, kept behind A", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(accepted) != 0 {
		t.Errorf("the homeserver took %q ahead of the kept send; want nothing", accepted)
	}
}
