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

// TestPipelinedSendRedirected: a homeserver address that a proxy answers
// with a redirect (http to https, a moved path) must not take Ferry down,
// and the pipeline itself must not follow it: the request that follows
// it would take another place in the room's order, and the send would
// tell that it has its place a second time. Pipelining is switched off
// instead (pipeline_redirect.go): a 308 is followed by the ordinary
// client, once, and the send succeeds; a 301, which a client follows
// with GET, is not followed at all, and the send fails with an error
// that names the redirect and the fix.
func TestPipelinedSendRedirected(t *testing.T) {
	for _, status := range []int{http.StatusMovedPermanently, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			var followed atomic.Int32
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if strings.HasPrefix(r.URL.Path, "/moved/") {
					followed.Add(1)
					if r.Method == http.MethodPut {
						_, _ = io.WriteString(w, `{"event_id":"$moved"}`)
						return
					}
				} else if r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/_matrix/") {
					w.Header().Set("Location", "/moved"+r.URL.RequestURI())
					w.WriteHeader(status)
					return
				}
				w.WriteHeader(http.StatusNotFound)
				_, _ = io.WriteString(w, `{"errcode":"M_NOT_FOUND","error":"no"}`)
			}))
			t.Cleanup(hs.Close) // after the pipeline's close (roomPipeline)
			m := matrixFor(t, hs.URL)
			m.RetryFor = 5 * time.Second
			if err := m.EnablePipelining(hs.URL); err != nil {
				t.Fatal(err)
			}
			room := id.RoomID("!r:example.org")
			pipe := roomPipeline(t, m, room)
			content := &event.MessageEventContent{MsgType: event.MsgText, Body: "hi"}
			wait := m.SendMessageAhead(context.Background(), pipe, m.Bot(), room, event.EventMessage, content, time.Time{}, "txn1")
			evtID, err := wait()
			switch status {
			case http.StatusPermanentRedirect:
				if err != nil || evtID != "$moved" {
					t.Errorf("the send got %q, %v; want it sent through the ordinary client as $moved", evtID, err)
				}
				if n := followed.Load(); n != 1 {
					t.Errorf("the redirect was followed %d times, want once (by the ordinary client)", n)
				}
			default:
				if err == nil {
					t.Fatalf("a send redirected with %d succeeded as %s", status, evtID)
				}
				if errors.Is(err, ErrUnreachable) {
					t.Errorf("a redirected send failed as unreachable, to be kept for ever: %v", err)
				}
				if !strings.Contains(err.Error(), "redirects (HTTP 301") || !strings.Contains(err.Error(), "set homeserver.address") {
					t.Errorf("the error %q does not name the redirect and the fix", err)
				}
				if n := followed.Load(); n != 0 {
					t.Errorf("a 301 was followed %d times; a send cannot follow it", n)
				}
			}
			if m.NewPipeline(room) != nil {
				t.Error("a new pipeline was made for a homeserver address that redirects")
			}
		})
	}
}
