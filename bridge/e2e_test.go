package bridge_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/internal/testnet"
)

const waitLong = 30 * time.Second

// expectOut reads the next thing Ferry sent to the test network.
func expectOut[T any](t *testing.T, cl *testnet.Client) T {
	t.Helper()
	select {
	case got := <-cl.Outbox:
		out, ok := got.(T)
		if !ok {
			t.Fatalf("expected %T on the network, got %T: %+v", *new(T), got, got)
		}
		return out
	case <-time.After(waitLong):
		t.Fatalf("nothing reached the network within %s (wanted %T)", waitLong, *new(T))
	}
	panic("unreachable")
}

// loginTest logs user in to the test network through the bot, as a person
// would, and returns the network's client of that login.
func loginTest(t *testing.T, h *ferrytest.Harness, tn *testnet.Connector, user *testbed.Client, mgmt id.RoomID, name string) *testnet.Client {
	t.Helper()
	h.Command(user, mgmt, "login test "+name, "password")
	secret := user.SendText(t, mgmt, "hunter2")
	h.WaitForBotNotice(user, mgmt, "Logged in to Testnet as "+name)
	user.WaitForEvent(t, mgmt, waitLong, func(evt *event.Event) bool {
		return evt.Type == event.EventRedaction && evt.Redacts == secret
	})
	cl := tn.Client(network.LoginID(name))
	if cl == nil {
		t.Fatalf("login %s never reached the network", name)
	}
	return cl
}

// isSpace tells a space invite from a room invite by its stripped state.
func isSpace(state []*event.Event) bool {
	for _, evt := range state {
		if evt.Type == event.StateCreate {
			if t, ok := evt.Content.Raw["type"].(string); ok && t == string(event.RoomTypeSpace) {
				return true
			}
		}
	}
	return false
}

// portalInvite waits for an invite to a portal room (not the management
// room, not a space).
func portalInvite(t *testing.T, user *testbed.Client, mgmt id.RoomID) id.RoomID {
	t.Helper()
	return user.WaitForInvite(t, waitLong, func(room id.RoomID, state []*event.Event) bool {
		return room != mgmt && !isSpace(state)
	})
}

func textMessage(portal network.PortalKey, id network.MessageID, sender network.UserID, ts time.Time, body string) *network.Message {
	return &network.Message{
		Meta:  network.Meta{Portal: portal, Sender: network.Sender{User: sender}, Timestamp: ts, CreatePortal: true},
		ID:    id,
		Parts: []network.Part{{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: body}}},
	}
}

func bodyIs(sender id.UserID, body string) func(*event.Event) bool {
	return func(evt *event.Event) bool {
		if evt.Sender != sender || evt.Type != event.EventMessage {
			return false
		}
		msg := evt.Content.AsMessage()
		return msg != nil && msg.Body == body
	}
}

func TestManagementBot(t *testing.T) {
	tn := testnet.New()
	h := ferrytest.Start(t, ferrytest.Options{}, tn)
	alice := h.User("alice")
	mgmt := h.ManagementRoom(alice)

	help := h.Command(alice, mgmt, "help", "Commands")
	for _, want := range []string{"`login <network>", "`status`", "`cancel`", "`list`", "`version`", "`test ping`"} {
		if !strings.Contains(help.Content.AsMessage().Body, want) {
			t.Errorf("help lacks %q:\n%s", want, help.Content.AsMessage().Body)
		}
	}
	if strings.Contains(help.Content.AsMessage().Body, "admin") {
		t.Errorf("help shows admin-only commands to a plain user")
	}
	h.Command(alice, mgmt, "version", "Ferry ")
	h.Command(alice, mgmt, "frobnicate now", "Unknown command `frobnicate`")
	h.Command(alice, mgmt, "status", "You have no logins")
	h.Command(alice, mgmt, "login", "Usage:")
	h.Command(alice, mgmt, "login nowhere", "unknown network `nowhere`; this Ferry bridges `test`")

	// A wrong password fails with the network's reason; the secret is
	// redacted all the same.
	h.Command(alice, mgmt, "login test alice", "password")
	wrong := alice.SendText(t, mgmt, testnet.WrongPassword)
	h.WaitForBotNotice(alice, mgmt, "Login failed: wrong password")
	alice.WaitForEvent(t, mgmt, waitLong, func(evt *event.Event) bool {
		return evt.Type == event.EventRedaction && evt.Redacts == wrong
	})
	// cancel aborts a running login.
	h.Command(alice, mgmt, "login test alice", "password")
	h.Command(alice, mgmt, "cancel", "Login cancelled")

	loginTest(t, h, tn, alice, mgmt, "alice")
	h.Command(alice, mgmt, "status", "Testnet** alice: connected")
	h.Command(alice, mgmt, "test ping", "pong: alice")
	h.Command(alice, mgmt, "logout test", "Logged out of Testnet (alice)")
	h.Command(alice, mgmt, "status", "You have no logins")
}

func TestUnpermittedUserIsRefused(t *testing.T) {
	h := ferrytest.Start(t, ferrytest.Options{}, testnet.New())
	outsider := h.User("outsider")
	room := outsider.CreateDM(t, h.BotMXID)
	// The bot rejects the invite and says why. Dendrite's /leave would
	// drop the reason; the bot's own leave event keeps it.
	left := outsider.WaitForMembership(t, room, h.BotMXID, event.MembershipLeave, waitLong)
	if reason := left.Content.AsMember().Reason; !strings.Contains(reason, "not allowed to use this bridge") {
		t.Errorf("the bot declined the invite with reason %q; want why", reason)
	}
	for _, evt := range outsider.Events(room) {
		if evt.Sender == h.BotMXID && evt.Type == event.StateMember && evt.Content.AsMember().Membership == event.MembershipJoin {
			t.Errorf("bot joined the room of a user without permission")
		}
	}
}

func TestRemoteAndMatrixMessages(t *testing.T) {
	sc := newScene(t, false)
	h, alice, mgmt, cl, portal, bob := sc.h, sc.alice, sc.mgmt, sc.cl, sc.portal, sc.bob
	ctx := h.Context(2 * time.Minute)
	past := time.Now().Add(-48 * time.Hour).Truncate(time.Millisecond)

	// A remote message creates the portal, invites the user, and appears
	// from the sender's ghost with the remote timestamp.
	if err := cl.Handle(ctx, textMessage(portal, "r1", "bob", past, "hello from bob")); err != nil {
		t.Fatalf("bridging the first message: %v", err)
	}
	room := portalInvite(t, alice, mgmt)
	alice.Join(t, room.String())
	first := alice.WaitForEvent(t, room, waitLong, bodyIs(bob, "hello from bob"))
	if first.Timestamp != past.UnixMilli() {
		t.Errorf("remote timestamp lost: origin_server_ts %d, want %d", first.Timestamp, past.UnixMilli())
	}
	ghostMember := alice.WaitForMembership(t, room, bob, event.MembershipJoin, waitLong)
	if name := ghostMember.Content.AsMember().Displayname; name != "Remote bob" {
		t.Errorf("ghost display name %q, want %q", name, "Remote bob")
	}
	// The portal sits in the login's space.
	space := alice.WaitForInvite(t, waitLong, func(_ id.RoomID, state []*event.Event) bool { return isSpace(state) })
	alice.Join(t, space.String())
	var child event.SpaceChildEventContent
	if err := alice.StateEvent(ctx, space, event.StateSpaceChild, room.String(), &child); err != nil || len(child.Via) == 0 {
		t.Errorf("the portal is not in the login's space: %v %+v", err, child)
	}
	var bridgeInfo event.BridgeEventContent
	if err := alice.StateEvent(ctx, room, event.StateBridge, "ferry://test/chat1", &bridgeInfo); err != nil {
		t.Errorf("no m.bridge state: %v", err)
	} else if bridgeInfo.Protocol.ID != "test" || bridgeInfo.Channel.ID != "chat1" {
		t.Errorf("m.bridge names %+v", bridgeInfo)
	}

	// Matrix -> remote: a reply carries the remote ID of the replied message.
	reply := &event.MessageEventContent{MsgType: event.MsgText, Body: "hi bob"}
	reply.RelatesTo = (&event.RelatesTo{}).SetReplyTo(first.ID)
	resp, err := alice.SendMessageEvent(ctx, room, event.EventMessage, reply)
	if err != nil {
		t.Fatal(err)
	}
	sent := expectOut[*network.OutgoingMessage](t, cl)
	if sent.Content.Body != "hi bob" || sent.ReplyTo == nil || sent.ReplyTo.ID != "r1" || sent.EventID != resp.EventID {
		t.Fatalf("reply reached the network as %+v (reply to %+v)", sent.Content, sent.ReplyTo)
	}
	if sent.ReplyTo.Text != "hello from bob" || sent.ReplyTo.Sender != "bob" {
		t.Errorf("the reply quotes %q by %q, want bob's text", sent.ReplyTo.Text, sent.ReplyTo.Sender)
	}

	// An edit names the remote ID Ferry got back for the edited message.
	edit := &event.MessageEventContent{MsgType: event.MsgText, Body: "hi bob!"}
	edit.SetEdit(resp.EventID)
	if _, err = alice.SendMessageEvent(ctx, room, event.EventMessage, edit); err != nil {
		t.Fatal(err)
	}
	gotEdit := expectOut[*network.OutgoingEdit](t, cl)
	if gotEdit.Target.ID == "" || !strings.HasPrefix(string(gotEdit.Target.ID), "sent-alice-") || gotEdit.Content.Body != "hi bob!" {
		t.Errorf("edit reached the network as target %q body %q", gotEdit.Target.ID, gotEdit.Content.Body)
	}
	ownID := gotEdit.Target.ID
	if !gotEdit.TargetInfo.FromMe || gotEdit.TargetInfo.Sender != "alice" {
		t.Errorf("edit target info %+v; want alice's own message", gotEdit.TargetInfo)
	}

	// A reaction, then its removal.
	react, err := alice.SendReaction(ctx, room, first.ID, "👍")
	if err != nil {
		t.Fatal(err)
	}
	gotReact := expectOut[*network.OutgoingReaction](t, cl)
	if gotReact.Target.ID != "r1" || gotReact.Key != "👍" {
		t.Errorf("reaction reached the network as %+v", gotReact)
	}
	if ti := gotReact.TargetInfo; ti.Sender != "bob" || ti.FromMe || !ti.Timestamp.Equal(past) {
		t.Errorf("reaction target info %+v; want bob's message from %s", ti, past)
	}
	// Dendrite 0.13.8 never pushes m.room.redaction events to appservices
	// (fixed only in the element-hq fork, PR 3445), so the redactions are
	// delivered here as Dendrite would, in a transaction to Ferry's API.
	h.PushEvents(map[string]any{
		"type": "m.room.redaction", "event_id": "$redact-reaction", "room_id": room, "sender": alice.UserID,
		"redacts": react.EventID, "origin_server_ts": time.Now().UnixMilli(), "content": map[string]any{"redacts": react.EventID},
	})
	if got := expectOut[*network.OutgoingUnreaction](t, cl); got.Target.ID != "r1" || got.Emoji != "👍" {
		t.Errorf("reaction removal reached the network as %+v", got)
	}
	// Deleting her own message deletes it remotely.
	h.PushEvents(map[string]any{
		"type": "m.room.redaction", "event_id": "$redact-message", "room_id": room, "sender": alice.UserID,
		"redacts": resp.EventID, "origin_server_ts": time.Now().UnixMilli(), "content": map[string]any{"redacts": resp.EventID},
	})
	if got := expectOut[*network.OutgoingRedaction](t, cl); got.Target != ownID {
		t.Errorf("redaction reached the network for %q, want %q", got.Target, ownID)
	}

	// Typing and read receipts, as Synapse pushes them (Dendrite does not).
	h.PushEphemeral(map[string]any{"type": "m.typing", "room_id": room, "content": map[string]any{"user_ids": []id.UserID{alice.UserID, bob}}})
	if got := expectOut[*testnet.TypingOut](t, cl); !got.Typing || got.Portal != portal {
		t.Errorf("typing reached the network as %+v", got)
	}
	h.PushEphemeral(map[string]any{"type": "m.typing", "room_id": room, "content": map[string]any{"user_ids": []id.UserID{}}})
	if got := expectOut[*testnet.TypingOut](t, cl); got.Typing {
		t.Errorf("stopped typing reached the network as %+v", got)
	}
	h.PushEphemeral(map[string]any{"type": "m.receipt", "room_id": room, "content": map[string]any{
		first.ID.String(): map[string]any{"m.read": map[string]any{alice.UserID.String(): map[string]any{"ts": time.Now().UnixMilli()}}},
	}})
	if got := expectOut[*testnet.ReceiptOut](t, cl); got.UpTo != "r1" {
		t.Errorf("read receipt reached the network as %+v", got)
	}

	// Remote -> Matrix: edit, reaction and redaction of bob's message.
	now := time.Now()
	err = cl.Handle(ctx, &network.Edit{
		Meta:   network.Meta{Portal: portal, Sender: network.Sender{User: "bob"}, Timestamp: now},
		Target: "r1",
		Parts:  []network.Part{{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: "hello from bob, edited"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Sender == bob && msg != nil && msg.RelatesTo.GetReplaceID() == first.ID && msg.NewContent != nil && msg.NewContent.Body == "hello from bob, edited"
	})
	err = cl.Handle(ctx, &network.Reaction{
		Meta:   network.Meta{Portal: portal, Sender: network.Sender{User: "bob"}, Timestamp: now},
		Target: network.MessageRef{ID: "r1"}, Emoji: "❤️", Key: "❤️",
	})
	if err != nil {
		t.Fatal(err)
	}
	alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		r := evt.Content.AsReaction()
		return evt.Sender == bob && evt.Type == event.EventReaction && r.RelatesTo.EventID == first.ID && r.RelatesTo.Key == "❤️"
	})
	err = cl.Handle(ctx, &network.Redaction{Meta: network.Meta{Portal: portal, Sender: network.Sender{User: "bob"}, Timestamp: now}, Target: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		return evt.Type == event.EventRedaction && evt.Redacts == first.ID
	})

	// The echo of alice's own message and a redelivery are not bridged
	// again; the marker message after them proves they were processed.
	echoEvent := alice.SendText(t, room, "echo me")
	expectOut[*network.OutgoingMessage](t, cl)
	// The mapping is stored right after the network accepted the send.
	var mapping *database.Message
	for deadline := time.Now().Add(waitLong); mapping == nil && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if mapping, err = h.Bridge.DB.Messages.GetByEventID(ctx, echoEvent); err != nil {
			t.Fatal(err)
		}
	}
	if mapping == nil {
		t.Fatalf("no remote ID stored for a sent message")
	}
	echoID := mapping.ID
	if err = cl.Handle(ctx, textMessage(portal, echoID, "alice", now, "echo me")); err != nil {
		t.Fatal(err)
	}
	if err = cl.Handle(ctx, textMessage(portal, "r2", "bob", now, "second")); err != nil {
		t.Fatal(err)
	}
	if err = cl.Handle(ctx, textMessage(portal, "r2", "bob", now, "second")); err != nil {
		t.Fatal(err)
	}
	if err = cl.Handle(ctx, textMessage(portal, "r3", "bob", now, "marker")); err != nil {
		t.Fatal(err)
	}
	alice.WaitForEvent(t, room, waitLong, bodyIs(bob, "marker"))
	seconds := 0
	for _, evt := range alice.Events(room) {
		if msg := evt.Content.AsMessage(); evt.Type == event.EventMessage && msg != nil {
			if msg.Body == "second" {
				seconds++
			}
			if msg.Body == "echo me" && evt.Sender != alice.UserID {
				t.Errorf("the echo of alice's message was bridged as %s", evt.Sender)
			}
		}
	}
	if seconds != 1 {
		t.Errorf("redelivered message appeared %d times", seconds)
	}

	// A send the network refuses is reported in the room, as a reply.
	reason := "the network is on fire"
	cl.FailSends.Store(&reason)
	doomed := alice.SendText(t, room, "doomed")
	alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Sender == h.BotMXID && msg != nil && msg.RelatesTo.GetReplyTo() == doomed && strings.Contains(msg.Body, reason)
	})
	cl.FailSends.Store(nil)

	// A burst arrives complete and in order.
	const burst = 30
	for i := 0; i < burst; i++ {
		cl.Queue(textMessage(portal, network.MessageID(fmt.Sprintf("b%d", i)), "bob", time.Now(), fmt.Sprintf("burst %d", i)))
	}
	alice.WaitForEvent(t, room, time.Minute, bodyIs(bob, fmt.Sprintf("burst %d", burst-1)))
	next := 0
	for _, evt := range alice.Events(room) {
		if msg := evt.Content.AsMessage(); evt.Sender == bob && msg != nil && strings.HasPrefix(msg.Body, "burst ") {
			if msg.Body != fmt.Sprintf("burst %d", next) {
				t.Fatalf("burst out of order: got %q, want %q", msg.Body, fmt.Sprintf("burst %d", next))
			}
			next++
		}
	}
	if next != burst {
		t.Errorf("burst: %d of %d messages arrived", next, burst)
	}

	h.Command(alice, mgmt, "list", "Chat chat1")
}

// TestHomeserverTrouble: 429s and an outage of the homeserver delay remote
// messages without losing or reordering them.
func TestHomeserverTrouble(t *testing.T) {
	sc := newScene(t, true)
	proxy, alice, cl, portal, bob := sc.proxy, sc.alice, sc.cl, sc.portal, sc.bob
	ctx := sc.h.Context(3 * time.Minute)
	room := sc.openPortal(t, "before")

	// Rate limited: the next three sends get 429 with retry_after_ms.
	proxy.RateLimitNext("PUT /_matrix/client/v3/rooms/", 3, 300*time.Millisecond)
	if err := cl.Handle(ctx, textMessage(portal, "m1", "bob", time.Now(), "through 429s")); err != nil {
		t.Fatalf("a rate-limited message was not delivered: %v", err)
	}
	alice.WaitForEvent(t, room, waitLong, bodyIs(bob, "through 429s"))

	// Down: messages queue up and arrive in order once it is back.
	proxy.Down(testbed.OutageRefuse)
	for i := 0; i < 5; i++ {
		cl.Queue(textMessage(portal, network.MessageID(fmt.Sprintf("d%d", i)), "bob", time.Now(), fmt.Sprintf("during outage %d", i)))
	}
	time.Sleep(2 * time.Second)
	proxy.Up()
	alice.WaitForEvent(t, room, time.Minute, bodyIs(bob, "during outage 4"))
	next := 0
	for _, evt := range alice.Events(room) {
		if msg := evt.Content.AsMessage(); evt.Sender == bob && msg != nil && strings.HasPrefix(msg.Body, "during outage") {
			if want := fmt.Sprintf("during outage %d", next); msg.Body != want {
				t.Fatalf("after the outage: got %q, want %q", msg.Body, want)
			}
			next++
		}
	}
	if next != 5 {
		t.Errorf("after the outage %d of 5 messages arrived", next)
	}
}

// TestRestartMidBurst stops Ferry while Matrix messages are arriving; after
// it starts again every message reaches the network exactly once, in order.
func TestRestartMidBurst(t *testing.T) {
	sc := newScene(t, false)
	h, tn, alice, cl := sc.h, sc.tn, sc.alice, sc.cl
	ctx := h.Context(3 * time.Minute)
	room := sc.openPortal(t, "open the room")

	const total = 40
	sent := make(chan error, 1)
	go func() {
		for i := 0; i < total; i++ {
			if _, err := alice.Client.SendText(ctx, room, fmt.Sprintf("msg %d", i)); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	var got []string
	for len(got) < 10 {
		got = append(got, expectOut[*network.OutgoingMessage](t, cl).Content.Body)
	}
	h.StopBridge()
	if err := <-sent; err != nil {
		t.Fatalf("sending as alice: %v", err)
	}
	// Drain what was sent before the stop completed.
	for drained := false; !drained; {
		select {
		case out := <-cl.Outbox:
			got = append(got, out.(*network.OutgoingMessage).Content.Body)
		default:
			drained = true
		}
	}
	h.StartBridge()
	cl2 := tn.Client("alice")
	for len(got) < total {
		got = append(got, expectOut[*network.OutgoingMessage](t, cl2).Content.Body)
	}
	for i, body := range got {
		if want := fmt.Sprintf("msg %d", i); body != want {
			t.Fatalf("message %d reached the network as %q, want %q (all: %q)", i, body, want, got)
		}
	}
	select {
	case extra := <-cl2.Outbox:
		t.Errorf("a message reached the network twice: %+v", extra)
	case <-time.After(2 * time.Second):
	}
}

// TestBackfill: history creates the room and arrives, in order and with
// its timestamps, before the user is invited; a message bridged live
// before is not repeated.
func TestBackfill(t *testing.T) {
	sc := newScene(t, false)
	ctx := sc.h.Context(time.Minute)
	start := time.Now().Add(-72 * time.Hour).Truncate(time.Millisecond)
	var history []*network.Message
	for i := 0; i < 5; i++ {
		history = append(history, textMessage(sc.portal, network.MessageID(fmt.Sprintf("h%d", i)), "bob", start.Add(time.Duration(i)*time.Minute), fmt.Sprintf("history %d", i)))
	}
	err := sc.cl.Handle(ctx, &network.Backfill{Meta: network.Meta{Portal: sc.portal, Sender: network.Sender{User: "bob"}, Timestamp: time.Now(), CreatePortal: true}, Messages: history})
	if err != nil {
		t.Fatal(err)
	}
	room := portalInvite(t, sc.alice, sc.mgmt)
	sc.alice.Join(t, room.String())
	sc.alice.WaitForEvent(t, room, waitLong, bodyIs(sc.bob, "history 4"))
	next, invitedAt := 0, -1
	for i, evt := range sc.alice.Events(room) {
		if evt.Type == event.StateMember && evt.GetStateKey() == sc.alice.UserID.String() && invitedAt < 0 {
			invitedAt = i
		}
		if msg := evt.Content.AsMessage(); evt.Sender == sc.bob && msg != nil && strings.HasPrefix(msg.Body, "history ") {
			if msg.Body != fmt.Sprintf("history %d", next) || evt.Timestamp != start.Add(time.Duration(next)*time.Minute).UnixMilli() {
				t.Fatalf("history message %d arrived as %q at %d", next, msg.Body, evt.Timestamp)
			}
			if invitedAt >= 0 {
				t.Errorf("history message %d came after the invite", next)
			}
			next++
		}
	}
	if next != 5 {
		t.Fatalf("%d of 5 history messages arrived", next)
	}
	// A second backfill overlapping the first adds only what is new.
	more := append(history[3:], textMessage(sc.portal, "h5", "bob", start.Add(5*time.Minute), "history 5"))
	if err = sc.cl.Handle(ctx, &network.Backfill{Meta: network.Meta{Portal: sc.portal, Timestamp: time.Now()}, Messages: more}); err != nil {
		t.Fatal(err)
	}
	sc.alice.WaitForEvent(t, room, waitLong, bodyIs(sc.bob, "history 5"))
	count := 0
	for _, evt := range sc.alice.Events(room) {
		if msg := evt.Content.AsMessage(); evt.Sender == sc.bob && msg != nil && msg.Body == "history 3" {
			count++
		}
	}
	if count != 1 {
		t.Errorf("an overlapping backfill repeated a message (%d copies)", count)
	}
}

// TestForeignEventReferences: a reply or reaction in one portal naming an
// event of another portal reveals nothing of it to the network.
func TestForeignEventReferences(t *testing.T) {
	sc := newScene(t, false)
	ctx := sc.h.Context(time.Minute)
	first := sc.openPortal(t, "secret chat")
	secret := sc.alice.WaitForEvent(t, first, waitLong, bodyIs(sc.bob, "secret chat"))
	other := network.PortalKey{Network: testnet.ID, Chat: "chat2", Receiver: "alice"}
	if err := sc.cl.Handle(ctx, textMessage(other, "o1", "carol", time.Now(), "other chat")); err != nil {
		t.Fatal(err)
	}
	second := sc.alice.WaitForInvite(t, waitLong, func(room id.RoomID, state []*event.Event) bool {
		return room != sc.mgmt && room != first && !isSpace(state)
	})
	sc.alice.Join(t, second.String())

	reply := &event.MessageEventContent{MsgType: event.MsgText, Body: "replying across rooms"}
	reply.RelatesTo = (&event.RelatesTo{}).SetReplyTo(secret.ID)
	if _, err := sc.alice.SendMessageEvent(ctx, second, event.EventMessage, reply); err != nil {
		t.Fatal(err)
	}
	out := expectOut[*network.OutgoingMessage](t, sc.cl)
	if out.Portal != other || out.ReplyTo != nil {
		t.Errorf("a reply in %s referred the network to %+v", out.Portal, out.ReplyTo)
	}
	react, err := sc.alice.SendReaction(ctx, second, secret.ID, "👀")
	if err != nil {
		t.Fatal(err)
	}
	sc.alice.WaitForEvent(t, second, waitLong, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Sender == sc.h.BotMXID && msg != nil && msg.RelatesTo.GetReplyTo() == react.EventID && strings.Contains(msg.Body, "never bridged")
	})
}
