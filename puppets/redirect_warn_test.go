package puppets

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestRedirectingAddressIsWarnedOfOnce: a homeserver address behind a
// front answering every request with 301, with sends pipelined. Both the
// pipeline (pipeline_redirect.go) and the ordinary client
// (redirect_client.go) meet the redirect; the log must say so once, for
// whichever meets it first, not once for each.
func TestRedirectingAddressIsWarnedOfOnce(t *testing.T) {
	hs, reg := testbed.StartDendriteForAppservice(t)
	ctx := context.Background()
	room := testbed.CreateRoom(t, testbed.NewAppservice(t, reg, hs.URL), &mautrix.ReqCreateRoom{Preset: "public_chat"})
	for _, pipelinedFirst := range []bool{true, false} {
		name := "ordinary client first"
		if pipelinedFirst {
			name = "pipelined send first"
		}
		t.Run(name, func(t *testing.T) {
			front := testbed.NewFaultProxy(t, hs.URL)
			front.Inject("", -1, testbed.Fault{Status: http.StatusMovedPermanently, RedirectTo: hs.URL})
			as := testbed.NewAppservice(t, reg, front.URL())
			var logs syncBuffer
			m := NewMatrix(as, zerolog.New(zerolog.MultiLevelWriter(&logs, zerolog.NewTestWriter(t))).Level(zerolog.WarnLevel))
			m.RetryFor = 5 * time.Second
			if err := m.EnablePipelining(front.URL()); err != nil {
				t.Fatal(err)
			}
			if err := as.StateStore.SetMembership(ctx, room, as.BotMXID(), event.MembershipJoin); err != nil {
				t.Fatal(err)
			}
			pipe := roomPipeline(t, m, room)
			content := &event.MessageEventContent{MsgType: event.MsgText, Body: "hi"}
			pipelined := func() {
				if _, err := m.SendMessageAhead(ctx, pipe, m.Bot(), room, event.EventMessage, content, time.Time{}, "pipelined")(); err == nil {
					t.Error("a pipelined send redirected with 301 succeeded")
				}
			}
			ordinary := func() {
				if _, err := m.CreateRoom(ctx, &mautrix.ReqCreateRoom{}); err == nil {
					t.Error("a createRoom redirected with 301 succeeded")
				}
			}
			if pipelinedFirst {
				pipelined()
				ordinary()
			} else {
				ordinary()
				pipelined()
			}
			if n := strings.Count(logs.String(), "The homeserver address redirects"); n != 1 {
				t.Errorf("the log tells of the redirect %d times, want once:\n%s", n, logs.String())
			}
		})
	}
}
