package testbed

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

const wait = 15 * time.Second

// writeRegistration writes a minimal appservice registration whose URL
// points at a port nobody listens on.
func writeRegistration(t *testing.T) (path, asToken string) {
	t.Helper()
	asToken = "as-" + randomHex(8)
	reg := fmt.Sprintf(`id: ferrytest
url: http://127.0.0.1:%d
as_token: %s
hs_token: hs-%s
sender_localpart: ferrybot
rate_limited: false
namespaces:
  users:
    - regex: '@ferry_.*:localhost'
      exclusive: true
`, FreePort(t), asToken, randomHex(8))
	path = filepath.Join(t.TempDir(), "registration.yaml")
	if err := os.WriteFile(path, []byte(reg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, asToken
}

func TestDendriteDM(t *testing.T) {
	t.Parallel()
	regPath, asToken := writeRegistration(t)
	start := time.Now()
	d := StartDendrite(t, DendriteOptions{RegistrationFiles: []string{regPath}})
	t.Logf("Dendrite ready at %s after %s", d.URL, time.Since(start).Round(time.Millisecond))

	// The registration file was loaded: its as_token authenticates as the
	// appservice's sender.
	bot, err := mautrix.NewClient(d.URL, "", asToken)
	if err != nil {
		t.Fatal(err)
	}
	who, err := bot.Whoami(context.Background())
	if err != nil {
		t.Fatalf("whoami with the as_token: %v", err)
	}
	if who.UserID != d.UserID("ferrybot") {
		t.Fatalf("as_token is %s, want %s", who.UserID, d.UserID("ferrybot"))
	}

	alice := d.RegisterUser(t, "alice", true)
	bob := d.RegisterUser(t, "bob", false)
	if alice.UserID != "@alice:localhost" || bob.UserID != "@bob:localhost" {
		t.Fatalf("registered %s and %s", alice.UserID, bob.UserID)
	}

	room := alice.CreateDM(t, bob.UserID)
	got := bob.WaitForInvite(t, wait, func(roomID id.RoomID, state []*event.Event) bool {
		if roomID != room {
			return false
		}
		for _, evt := range state {
			if evt.Type == event.StateMember && evt.GetStateKey() == bob.UserID.String() {
				member := evt.Content.AsMember()
				return member.Membership == event.MembershipInvite && member.IsDirect && evt.Sender == alice.UserID
			}
		}
		return false
	})
	if got != room {
		t.Fatalf("invite to %s, want %s", got, room)
	}
	bob.Join(t, room.String())
	alice.WaitForMembership(t, room, bob.UserID, event.MembershipJoin, wait)

	sent := alice.SendText(t, room, "hello bob")
	evt := bob.WaitForMessage(t, room, wait, "hello bob")
	if evt.ID != sent || evt.Sender != alice.UserID || evt.RoomID != room {
		t.Errorf("got %s from %s in %s, want %s from %s in %s", evt.ID, evt.Sender, evt.RoomID, sent, alice.UserID, room)
	}
	if msg := evt.Content.AsMessage(); msg.MsgType != event.MsgText {
		t.Errorf("msgtype %q, want m.text", msg.MsgType)
	}
	reply := bob.SendText(t, room, "hi alice")
	if evt := alice.WaitForMessage(t, room, wait, "hi alice"); evt.ID != reply {
		t.Errorf("alice got %s, want %s", evt.ID, reply)
	}
}

func TestFaultProxy(t *testing.T) {
	t.Parallel()
	d := StartDendrite(t, DendriteOptions{})
	alice := d.RegisterUser(t, "alice", false)
	resp, err := alice.CreateRoom(context.Background(), &mautrix.ReqCreateRoom{Preset: "private_chat"})
	if err != nil {
		t.Fatal(err)
	}
	room := resp.RoomID

	p := NewFaultProxy(t, d.URL)
	viaProxy, err := mautrix.NewClient(p.URL(), alice.UserID, alice.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// One 429, then the same request passes through.
	const sendPattern = "PUT /_matrix/client/v3/rooms/"
	p.RateLimitNext(sendPattern, 1, 1500*time.Millisecond)
	_, err = viaProxy.SendText(ctx, room, "through the proxy")
	var httpErr mautrix.HTTPError
	if !errors.Is(err, mautrix.MLimitExceeded) || !errors.As(err, &httpErr) {
		t.Fatalf("first send: %v, want M_LIMIT_EXCEEDED", err)
	}
	if ms := httpErr.RespError.ExtraData["retry_after_ms"]; ms != float64(1500) {
		t.Errorf("retry_after_ms = %v, want 1500", ms)
	}
	if h := httpErr.Response.Header.Get("Retry-After"); h != "2" {
		t.Errorf("Retry-After = %q, want 2", h)
	}
	sent, err := viaProxy.SendText(ctx, room, "through the proxy")
	if err != nil {
		t.Fatalf("second send: %v", err)
	}
	alice.WaitForMessage(t, room, wait, "through the proxy")
	if n := p.Count(sendPattern); n != 2 {
		t.Errorf("proxy counted %d sends, want 2", n)
	}
	reqs := p.Requests()
	if len(reqs) != 2 || !reqs[0].Injected || reqs[0].Status != 429 || reqs[1].Injected || reqs[1].Status != 200 {
		t.Errorf("requests = %+v", reqs)
	}
	n := 0
	for _, evt := range alice.Events(room) {
		if evt.Type == event.EventMessage {
			n++
			if evt.ID != sent.EventID {
				t.Errorf("unexpected message %s", evt.ID)
			}
		}
	}
	if n != 1 {
		t.Errorf("alice saw %d messages, want 1", n)
	}

	// 5xx for one request only; other paths are untouched.
	p.FailNext("/_matrix/client/v3/account/whoami", 1, http.StatusServiceUnavailable)
	if _, err := viaProxy.GetOwnDisplayName(ctx); err != nil && !errors.Is(err, mautrix.MNotFound) {
		t.Errorf("profile through proxy: %v", err)
	}
	if _, err := viaProxy.Whoami(ctx); !errors.As(err, &httpErr) || !httpErr.IsStatus(503) {
		t.Errorf("whoami: %v, want HTTP 503", err)
	}
	if _, err := viaProxy.Whoami(ctx); err != nil {
		t.Errorf("whoami after the fault: %v", err)
	}

	// Outages.
	p.Down(OutageRefuse)
	if _, err := viaProxy.Whoami(ctx); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("whoami while refusing: %v, want connection refused", err)
	}
	p.Down(Outage502)
	if _, err := viaProxy.Whoami(ctx); !errors.As(err, &httpErr) || !httpErr.IsStatus(502) {
		t.Errorf("whoami during 502 outage: %v, want HTTP 502", err)
	}
	p.Up()
	if _, err := viaProxy.Whoami(ctx); err != nil {
		t.Errorf("whoami after Up: %v", err)
	}

	// A Dendrite outage behind the proxy shows as 502.
	d.Stop()
	if _, err := viaProxy.Whoami(ctx); !errors.As(err, &httpErr) || !httpErr.IsStatus(502) {
		t.Errorf("whoami with Dendrite stopped: %v, want HTTP 502", err)
	}
	d.Restart(t)
	if _, err := viaProxy.Whoami(ctx); err != nil {
		t.Errorf("whoami after restart: %v", err)
	}
}

func TestDendriteRestart(t *testing.T) {
	t.Parallel()
	t.Run("in-memory JetStream, Stop and Kill", func(t *testing.T) {
		t.Parallel()
		d := StartDendrite(t, DendriteOptions{})
		testRestart(t, d, []func(){d.Stop, d.Kill})
	})
	t.Run("persistent JetStream, Stop", func(t *testing.T) {
		t.Parallel()
		d := StartDendrite(t, DendriteOptions{PersistentJetStream: true})
		testRestart(t, d, []func(){d.Stop, d.Stop})
	})
}

func testRestart(t *testing.T, d *Dendrite, stops []func()) {
	alice := d.RegisterUser(t, "alice", false)
	resp, err := alice.CreateRoom(context.Background(), &mautrix.ReqCreateRoom{Preset: "private_chat"})
	if err != nil {
		t.Fatal(err)
	}
	room := resp.RoomID
	alice.SendText(t, room, "before")
	alice.WaitForMessage(t, room, wait, "before")

	texts := []string{"before"}
	for i, stop := range stops {
		stop()
		if d.Running() {
			t.Fatal("Dendrite still running after stop")
		}
		if _, err := http.Get(d.URL + "/_matrix/client/versions"); err == nil {
			t.Fatal("Dendrite still answers after stop")
		}
		d.Restart(t)
		text := fmt.Sprintf("after restart %d", i+1)
		texts = append(texts, text)
		alice.SendText(t, room, text)
		// The background sync survived the outage.
		alice.WaitForMessage(t, room, wait, text)
	}

	// A fresh client sees the whole history: the data survived.
	fresh := NewClient(t, d.URL, alice.UserID, alice.AccessToken)
	for _, text := range texts {
		fresh.WaitForMessage(t, room, wait, text)
	}
}
