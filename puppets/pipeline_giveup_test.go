package puppets

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// A send that the homeserver answers with the same failure until RetryFor
// is over is given up with the same classification through the pipeline
// as through Retry: a lasting 500 is the homeserver failing on the event,
// not being unreachable, and a lasting 503 is it being unavailable.
func TestPipelineGiveUpCarriesTheLastAnswer(t *testing.T) {
	for _, tc := range []struct {
		status      int
		unreachable bool
	}{
		{http.StatusInternalServerError, false},
		{http.StatusServiceUnavailable, true},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/send/") {
					w.WriteHeader(tc.status)
					_, _ = io.WriteString(w, `{"errcode":"M_UNKNOWN","error":"it broke"}`)
					return
				}
				w.WriteHeader(http.StatusNotFound)
				_, _ = io.WriteString(w, `{"errcode":"M_NOT_FOUND","error":"no"}`)
			}))
			t.Cleanup(hs.Close) // after the pipeline's close (roomPipeline)
			m := matrixFor(t, hs.URL)
			m.RetryFor = 1500 * time.Millisecond
			m.FirstBackoff = 100 * time.Millisecond
			if err := m.EnablePipelining(hs.URL); err != nil {
				t.Fatal(err)
			}
			room := id.RoomID("!r:example.org")
			pipe := roomPipeline(t, m, room)
			ctx := context.Background()
			content := &event.MessageEventContent{MsgType: event.MsgText, Body: "hi"}

			wait := m.SendMessageAhead(ctx, pipe, m.Bot(), room, event.EventMessage, content, time.Time{}, "txn1")
			_, piped := wait()
			if err := m.AS.StateStore.MarkRegistered(ctx, m.BotMXID()); err != nil {
				t.Fatal(err)
			}
			if err := m.AS.StateStore.SetMembership(ctx, room, m.BotMXID(), event.MembershipJoin); err != nil {
				t.Fatal(err)
			}
			_, retried := m.SendMessage(ctx, m.Bot(), room, event.EventMessage, content, time.Time{}, "txn2")

			for name, err := range map[string]error{"pipelined": piped, "retried": retried} {
				if err == nil {
					t.Fatalf("%s send: no error", name)
				}
				if got := errors.Is(err, ErrUnreachable); got != tc.unreachable {
					t.Errorf("%s send: %v; unreachable %v, want %v", name, err, got, tc.unreachable)
				}
				if status, _ := answerStatus(err); status != tc.status {
					t.Errorf("%s send: %v; carries status %d, want the homeserver's %d", name, err, status, tc.status)
				}
			}
		})
	}
}
