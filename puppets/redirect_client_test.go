package puppets

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// A homeserver address behind a front that answers every request with
// 301, 302 or 303 (as an http-to-https front often does): Go's client
// would follow such a redirect of a PUT or POST with a GET, which the
// homeserver answers with M_UNRECOGNIZED or 405, and nothing in that says
// what is wrong. The ordinary client refuses the redirect instead
// (redirect_client.go): a send, a createRoom and a join each fail with an
// error that names the redirect's target and the fix, and the log warns
// of it once.
func TestOrdinaryClientRefusesMethodChangingRedirect(t *testing.T) {
	hs, reg := testbed.StartDendriteForAppservice(t)
	// A room to send to and join, made straight at the homeserver.
	ctx := context.Background()
	room := testbed.CreateRoom(t, testbed.NewAppservice(t, reg, hs.URL), &mautrix.ReqCreateRoom{Preset: "public_chat"})
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			front := testbed.NewFaultProxy(t, hs.URL)
			front.Inject("", -1, testbed.Fault{Status: status, RedirectTo: hs.URL})
			as := testbed.NewAppservice(t, reg, front.URL())
			var logs syncBuffer
			m := NewMatrix(as, zerolog.New(zerolog.MultiLevelWriter(&logs, zerolog.NewTestWriter(t))).Level(zerolog.WarnLevel))
			m.RetryFor = 5 * time.Second
			ghost := m.Intent(id.NewUserID("whatsapp_redirect", "localhost"))
			// The bot is in the room, so that the send is the PUT itself.
			if err := as.StateStore.SetMembership(ctx, room, as.BotMXID(), event.MembershipJoin); err != nil {
				t.Fatal(err)
			}

			content := &event.MessageEventContent{MsgType: event.MsgText, Body: "hi"}
			_, sendErr := m.SendMessage(ctx, m.Bot(), room, event.EventMessage, content, time.Time{}, "")
			_, createErr := m.CreateRoom(ctx, &mautrix.ReqCreateRoom{})
			_, joinErr := ghost.JoinRoomByID(ctx, room)
			for what, err := range map[string]error{"send": sendErr, "createRoom": createErr, "join": joinErr} {
				if err == nil {
					t.Errorf("the %s through a front answering %d succeeded", what, status)
					continue
				}
				if !strings.Contains(err.Error(), fmt.Sprintf("HTTP %d to %s/_matrix/", status, hs.URL)) ||
					!strings.Contains(err.Error(), fmt.Sprintf("set homeserver.address to %q", hs.URL)) {
					t.Errorf("the %s's error does not name the redirect's target and the fix: %v", what, err)
				}
				if !errors.Is(err, ErrRedirected) {
					t.Errorf("the %s's error is not marked ErrRedirected: %v", what, err)
				}
			}
			if n := strings.Count(logs.String(), "The homeserver address redirects"); n != 1 {
				t.Errorf("the log tells of the redirect %d times, want once:\n%s", n, logs.String())
			}
		})
	}
	// 307 and 308 keep the method and the body, and are still followed.
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			front := testbed.NewFaultProxy(t, hs.URL)
			front.Inject("", -1, testbed.Fault{Status: status, RedirectTo: hs.URL})
			as := testbed.NewAppservice(t, reg, front.URL())
			m := NewMatrix(as, zerolog.New(zerolog.NewTestWriter(t)))
			m.RetryFor = 5 * time.Second
			content := &event.MessageEventContent{MsgType: event.MsgText, Body: "hi"}
			if _, err := m.SendMessage(ctx, m.Bot(), room, event.EventMessage, content, time.Time{}, ""); err != nil {
				t.Errorf("a send redirected with %d: %v", status, err)
			}
			if _, err := m.CreateRoom(ctx, &mautrix.ReqCreateRoom{}); err != nil {
				t.Errorf("a createRoom redirected with %d: %v", status, err)
			}
		})
	}
}
