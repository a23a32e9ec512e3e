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

// TestPipelinedSendRedirected: a homeserver address that a proxy answers
// with a redirect (http to https, a moved path) must fail a pipelined
// send, not take Ferry down. The redirect is not followed: the request
// that follows it would take another place in the room's order, and the
// send would tell that it has its place a second time.
func TestPipelinedSendRedirected(t *testing.T) {
	for _, status := range []int{http.StatusMovedPermanently, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			var followed bool
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/moved/") {
					followed = true
				}
				if r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/_matrix/") {
					w.Header().Set("Location", "/moved"+r.URL.RequestURI())
					w.WriteHeader(status)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusNotFound)
				_, _ = io.WriteString(w, `{"errcode":"M_NOT_FOUND","error":"no"}`)
			}))
			defer hs.Close()
			m := matrixFor(t, hs.URL)
			m.RetryFor = 5 * time.Second
			if err := m.EnablePipelining(hs.URL); err != nil {
				t.Fatal(err)
			}
			room := id.RoomID("!r:example.org")
			pipe := m.NewPipeline(room)
			if pipe == nil {
				t.Fatal("no pipeline")
			}
			defer pipe.Close()
			content := &event.MessageEventContent{MsgType: event.MsgText, Body: "hi"}
			wait := m.SendMessageAhead(context.Background(), pipe, m.Bot(), room, event.EventMessage, content, time.Time{}, "txn1")
			evtID, err := wait()
			if err == nil {
				t.Fatalf("a redirected send succeeded as %s", evtID)
			}
			if errors.Is(err, ErrUnreachable) {
				t.Errorf("a redirected send failed as unreachable, to be kept for ever: %v", err)
			}
			if followed {
				t.Error("the pipeline followed the redirect")
			}
		})
	}
}
