package whatsapp

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"regexp"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/proto/waHistorySync"
	"go.mau.fi/whatsmeow/proto/waWeb"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/whatsapp/wasim"
)

// End-to-end tests through the WhatsApp simulator (whatsapp/wasim): Ferry
// with a real Dendrite, and unmodified whatsmeow on both ends of the
// simulator (Ferry's logins, and the clients of the contacts). Signal
// encryption happens in the clients; the simulator routes ciphertext. Its
// certificate root is process-global, so these tests never run in
// parallel.

// simWait bounds each wait for something to cross the simulator.
const simWait = 30 * time.Second

// simScene is Ferry, Dendrite and a simulator, with Alice's WhatsApp
// account linked to her Matrix account through the bot.
type simScene struct {
	sim        *wasim.Sim
	conn       *Connector
	h          *ferrytest.Harness
	alice      *testbed.Client
	mgmt       id.RoomID
	alicePhone *wasim.Phone
}

// startSim starts a simulator for the test and a WhatsApp connector whose
// clients talk to it.
func startSim(t *testing.T) (*wasim.Sim, *Connector) {
	t.Helper()
	// Not t.Context(): the simulator must outlive the clients' own
	// clean-up, which runs after the test's context has ended.
	sim, err := wasim.Start(context.Background(), wasim.Options{Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	conn := New()
	conn.configure = sim.Configure
	return sim, conn
}

func newSimScene(t *testing.T) *simScene {
	t.Helper()
	sim, conn := startSim(t)
	s := &simScene{sim: sim, conn: conn, alicePhone: newPhone(t, sim, "4915100000001", "Alice")}
	s.h = ferrytest.Start(t, ferrytest.Options{}, conn)
	s.alice = s.h.User("alice")
	s.mgmt = s.h.ManagementRoom(s.alice)
	s.loginByQR(t, s.alice, s.mgmt, s.alicePhone)
	return s
}

func newPhone(t *testing.T, sim *wasim.Sim, number, name string) *wasim.Phone {
	t.Helper()
	p, err := sim.NewPhone(number, name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// loginByQR links Alice's phone as a user does: `login whatsapp`, then
// the phone scans the code the bot shows (the image's body is the code's
// text, which is what a QR scanner reads off the picture).
func (s *simScene) loginByQR(t *testing.T, user *testbed.Client, mgmt id.RoomID, phone *wasim.Phone) {
	t.Helper()
	user.SendText(t, mgmt, "login whatsapp")
	qr := s.h.WaitForBotNotice(user, mgmt, "https://wa.me/settings/linked_devices#")
	ctx, cancel := context.WithTimeout(context.Background(), simWait)
	defer cancel()
	if err := phone.ScanQR(ctx, qr.Content.AsMessage().Body); err != nil {
		t.Fatalf("the phone could not scan the QR code: %v", err)
	}
	s.h.WaitForBotNotice(user, mgmt, "Logged in to WhatsApp as +"+phone.JID().User)
}

// contact is a WhatsApp user on a whatsmeow client of their own, linked
// to their simulated phone, with a channel of its events.
type contact struct {
	phone  *wasim.Phone
	cli    *whatsmeow.Client
	events chan any
}

func newContact(t *testing.T, sim *wasim.Sim, number, name string) *contact {
	t.Helper()
	return linkClient(t, sim, newPhone(t, sim, number, name), name)
}

// newSimSceneWithBob is newSimScene with Bob, a contact on a whatsmeow
// client of his own, and a context for what he sends, ending after
// timeout.
func newSimSceneWithBob(t *testing.T, timeout time.Duration) (*simScene, *contact, context.Context) {
	t.Helper()
	s := newSimScene(t)
	bob := newContact(t, s.sim, "4915100000002", "Bob")
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return s, bob, ctx
}

// sendDocument uploads data from c's client and sends it to to as a
// document named fileName, with caption ("" for none).
func (c *contact) sendDocument(t *testing.T, ctx context.Context, to types.JID, data []byte, mimeType, fileName, caption string) types.MessageID {
	t.Helper()
	up, err := c.cli.Upload(ctx, data, whatsmeow.MediaDocument)
	if err != nil {
		t.Fatal(err)
	}
	doc := &waE2E.DocumentMessage{
		URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
		FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
		Mimetype: proto.String(mimeType), FileName: proto.String(fileName),
	}
	if caption != "" {
		doc.Caption = proto.String(caption)
	}
	sent, err := c.cli.SendMessage(ctx, to, &waE2E.Message{DocumentMessage: doc})
	if err != nil {
		t.Fatal(err)
	}
	return sent.ID
}

// linkClient links a whatsmeow client of its own to phone and connects
// it; name is for its failures.
func linkClient(t *testing.T, sim *wasim.Sim, phone *wasim.Phone, name string) *contact {
	t.Helper()
	c := &contact{phone: phone, events: make(chan any, 256)}
	c.cli = whatsmeow.NewClient(newWhatsmeowStore(t).NewDevice(), nil)
	c.cli.EnableAutoReconnect = false
	sim.Configure(c.cli)
	c.cli.AddEventHandler(func(evt any) {
		select {
		case c.events <- evt:
		default: // a test that stopped reading; nothing waits for these
		}
	})
	t.Cleanup(c.cli.Disconnect)
	if err := c.cli.Connect(); err != nil {
		t.Fatalf("%s: connect: %v", name, err)
	}
	qr := waitEvent[*events.QR](t, c)
	ctx, cancel := context.WithTimeout(context.Background(), simWait)
	defer cancel()
	if err := c.phone.ScanQR(ctx, qr.Codes[0]); err != nil {
		t.Fatalf("%s: scan: %v", name, err)
	}
	waitEvent[*events.Connected](t, c)
	return c
}

// waitEvent returns the contact's next event of type T, skipping others.
func waitEvent[T any](t *testing.T, c *contact) T {
	t.Helper()
	deadline := time.After(simWait)
	for {
		select {
		case evt := <-c.events:
			if v, ok := evt.(T); ok {
				return v
			}
		case <-deadline:
			var zero T
			t.Fatalf("%s: no %T within %s", c.phone.JID().User, zero, simWait)
			return zero
		}
	}
}

// TestSimLoginByQRCode: `login whatsapp` shows a QR code, the phone scans
// it, and the login completes, connected, with the phone's number.
func TestSimLoginByQRCode(t *testing.T) {
	s := newSimScene(t)
	s.h.Command(s.alice, s.mgmt, "status", "+4915100000001: connected")
}

// TestSimDirectChatBothWays: Bob, a contact on his own whatsmeow client,
// writes to Alice. His message makes a DM portal with his ghost; what
// Alice does in Matrix (a reply, an edit, a reaction, a deletion) reaches
// Bob's client decrypted, as WhatsApp messages of the right kind; what
// Bob does (a reaction, a revoke) shows in the room.
func TestSimDirectChatBothWays(t *testing.T) {
	s, bob, ctx := newSimSceneWithBob(t, 2*time.Minute)

	sent, err := bob.cli.SendMessage(ctx, s.alicePhone.JID(), &waE2E.Message{Conversation: proto.String("hi alice, *lunch*?")})
	if err != nil {
		t.Fatal(err)
	}
	room := joinPortal(t, s.alice, s.mgmt)
	ghost := ghostOf(bob.phone.JID().User)
	first := s.alice.WaitForEvent(t, room, simWait, saysText(ghost, "hi alice, *lunch*?"))
	if msg := first.Content.AsMessage(); msg.FormattedBody != "hi alice, <strong>lunch</strong>?" {
		t.Errorf("formatting: %q", msg.FormattedBody)
	}
	if first.Timestamp != sent.Timestamp.UnixMilli() {
		t.Errorf("timestamp %d, want WhatsApp's %d", first.Timestamp, sent.Timestamp.UnixMilli())
	}

	// A reply from Matrix quotes Bob's message.
	reply := &event.MessageEventContent{MsgType: event.MsgText, Body: "yes, at noon"}
	reply.RelatesTo = (&event.RelatesTo{}).SetReplyTo(first.ID)
	replyResp, err := s.alice.SendMessageEvent(ctx, room, event.EventMessage, reply)
	if err != nil {
		t.Fatal(err)
	}
	got := nextMessage(t, bob)
	if got.Message.GetExtendedTextMessage().GetText() != "yes, at noon" ||
		got.Message.GetExtendedTextMessage().GetContextInfo().GetStanzaID() != sent.ID || got.Info.IsFromMe {
		t.Fatalf("Bob got %v, want the reply to %s", got.Message, sent.ID)
	}
	if q := got.Message.GetExtendedTextMessage().GetContextInfo().GetQuotedMessage().GetConversation(); q != "hi alice, *lunch*?" {
		t.Errorf("the reply quotes %q, want Bob's message", q)
	}
	aliceMsgID := got.Info.ID

	// An edit.
	edit := &event.MessageEventContent{MsgType: event.MsgText, Body: "yes, at one"}
	edit.SetEdit(replyResp.EventID)
	if _, err = s.alice.SendMessageEvent(ctx, room, event.EventMessage, edit); err != nil {
		t.Fatal(err)
	}
	got = nextMessage(t, bob)
	if pm := got.Message.GetProtocolMessage(); !got.IsEdit || pm.GetKey().GetID() != aliceMsgID ||
		pm.GetEditedMessage().GetConversation()+pm.GetEditedMessage().GetExtendedTextMessage().GetText() != "yes, at one" {
		t.Fatalf("Bob got %v, want the edit of %s", got.Message, aliceMsgID)
	}

	// A reaction from Matrix.
	if _, err = s.alice.SendReaction(ctx, room, first.ID, "👍"); err != nil {
		t.Fatal(err)
	}
	got = nextMessage(t, bob)
	if r := got.Message.GetReactionMessage(); r.GetText() != "👍" || r.GetKey().GetID() != sent.ID {
		t.Fatalf("Bob got %v, want a 👍 on %s", got.Message, sent.ID)
	}

	// Bob reacts to Alice's message, then revokes his own.
	aliceJID := s.alicePhone.JID()
	if _, err = bob.cli.SendMessage(ctx, aliceJID, bob.cli.BuildReaction(aliceJID, aliceJID, aliceMsgID, "❤️")); err != nil {
		t.Fatal(err)
	}
	reaction := s.alice.WaitForEvent(t, room, simWait, func(evt *event.Event) bool {
		return evt.Type == event.EventReaction && evt.Sender == ghost
	})
	if r := reaction.Content.AsReaction(); r.RelatesTo.Key != "❤️" || r.RelatesTo.EventID != replyResp.EventID {
		t.Errorf("Bob's reaction shows as %+v, want ❤️ on Alice's reply", r.RelatesTo)
	}
	if _, err = bob.cli.SendMessage(ctx, aliceJID, bob.cli.BuildRevoke(aliceJID, types.EmptyJID, sent.ID)); err != nil {
		t.Fatal(err)
	}
	s.alice.WaitForEvent(t, room, simWait, func(evt *event.Event) bool {
		return evt.Type == event.EventRedaction && evt.Redacts == first.ID
	})

	// Alice deletes her message: a revoke for everyone.
	if _, err = s.alice.RedactEvent(ctx, room, replyResp.EventID); err != nil {
		t.Fatal(err)
	}
	// Dendrite 0.13.8 never pushes redactions to appservices; deliver it
	// as Dendrite would (see bridge's tests).
	s.h.PushEvents(map[string]any{
		"type": "m.room.redaction", "event_id": "$alice-deletes", "room_id": room, "sender": s.alice.UserID,
		"redacts": replyResp.EventID, "origin_server_ts": time.Now().UnixMilli(), "content": map[string]any{"redacts": replyResp.EventID},
	})
	got = nextMessage(t, bob)
	if pm := got.Message.GetProtocolMessage(); pm.GetType() != waE2E.ProtocolMessage_REVOKE || pm.GetKey().GetID() != aliceMsgID {
		t.Fatalf("Bob got %v, want the revoke of %s", got.Message, aliceMsgID)
	}
}

// nextMessage is the contact's next message event that carries more than
// key distribution.
func nextMessage(t *testing.T, c *contact) *events.Message {
	t.Helper()
	for {
		msg := waitEvent[*events.Message](t, c)
		m := msg.Message
		if m.GetSenderKeyDistributionMessage() != nil && m.GetConversation() == "" && m.GetExtendedTextMessage() == nil {
			continue
		}
		return msg
	}
}

// TestSimMediaBothWays: Bob's photo and document are downloaded from the
// simulator's media store, decrypted and uploaded to Matrix intact; a
// file Alice sends from Matrix is encrypted, uploaded to the simulator and
// decrypted intact by Bob's client.
func TestSimMediaBothWays(t *testing.T) {
	s, bob, ctx := newSimSceneWithBob(t, 2*time.Minute)
	aliceJID := s.alicePhone.JID()

	doc := []byte("%PDF-1.4\n% the minutes of the meeting\n")
	bob.sendDocument(t, ctx, aliceJID, doc, "application/pdf", "minutes.pdf", "")
	room := joinPortal(t, s.alice, s.mgmt)
	ghost := ghostOf(bob.phone.JID().User)
	file := s.alice.WaitForEvent(t, room, simWait, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Sender == ghost && msg != nil && msg.MsgType == event.MsgFile
	}).Content.AsMessage()
	if file.FileName != "minutes.pdf" || file.Info == nil || file.Info.MimeType != "application/pdf" || file.Info.Size != len(doc) {
		t.Errorf("document arrived as %q %+v", file.FileName, file.Info)
	}
	mxc, err := file.URL.Parse()
	if err != nil {
		t.Fatal(err)
	}
	if data, err := s.alice.DownloadBytes(ctx, mxc); err != nil || !bytes.Equal(data, doc) {
		t.Errorf("the document downloads from Matrix as %q, %v", data, err)
	}

	// From Matrix: a file Alice uploads goes to Bob as a document.
	notes := bytes.Repeat([]byte("notes from the meeting\n"), 2000)
	upResp, err := s.alice.UploadBytes(ctx, notes, "text/plain")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.alice.SendMessageEvent(ctx, room, event.EventMessage, &event.MessageEventContent{
		MsgType: event.MsgFile, Body: "notes.txt", FileName: "notes.txt", URL: upResp.ContentURI.CUString(),
		Info: &event.FileInfo{MimeType: "text/plain", Size: len(notes)},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := nextMessage(t, bob)
	d := got.Message.GetDocumentMessage()
	if d == nil || d.GetFileName() != "notes.txt" {
		t.Fatalf("Bob got %v, want the document", got.Message)
	}
	data, err := bob.cli.Download(ctx, d)
	if err != nil || !bytes.Equal(data, notes) {
		t.Errorf("Bob's client decrypts %d bytes (%v), want the %d sent", len(data), err, len(notes))
	}
}

// TestSimLogoutFromThePhone: unlinking Ferry in the phone's list of
// linked devices is reported in the management room with what to do, and
// `status` shows the login as logged out.
func TestSimLogoutFromThePhone(t *testing.T) {
	s := newSimScene(t)
	cl := s.conn.client(loginIDOf(s.alicePhone.JID()))
	if cl == nil || cl.device == nil || cl.device.ID == nil {
		t.Fatal("no running login after linking")
	}
	if err := s.alicePhone.Unlink(*cl.device.ID); err != nil {
		t.Fatal(err)
	}
	s.h.WaitForBotNotice(s.alice, s.mgmt, "logged out from the phone: send `login whatsapp` to link again")
	s.h.Command(s.alice, s.mgmt, "status", "logged out")
}

// TestSimMessageArrivingWhileMatrixIsDown: the homeserver cannot be
// reached while Bob's message arrives. Ferry's handler gives up at its
// deadline and leaves the message unacknowledged; at the next connection
// the simulator delivers it again, as WhatsApp's servers do, and it is
// bridged once.
func TestSimMessageArrivingWhileMatrixIsDown(t *testing.T) {
	saved := handleTimeout
	t.Cleanup(func() { handleTimeout = saved })
	handleTimeout = 5 * time.Second

	sim, conn := startSim(t)
	s := &simScene{sim: sim, conn: conn, alicePhone: newPhone(t, sim, "4915100000001", "Alice")}
	var proxy *testbed.FaultProxy
	s.h = ferrytest.Start(t, ferrytest.Options{HomeserverVia: func(t testing.TB, dendriteURL string) string {
		proxy = testbed.NewFaultProxy(t, dendriteURL)
		return proxy.URL()
	}}, conn)
	s.alice = s.h.User("alice")
	s.mgmt = s.h.ManagementRoom(s.alice)
	s.loginByQR(t, s.alice, s.mgmt, s.alicePhone)
	bob := newContact(t, sim, "4915100000002", "Bob")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	aliceJID := s.alicePhone.JID()
	ghost := ghostOf(bob.phone.JID().User)

	if _, err := bob.cli.SendMessage(ctx, aliceJID, &waE2E.Message{Conversation: proto.String("before")}); err != nil {
		t.Fatal(err)
	}
	room := joinPortal(t, s.alice, s.mgmt)
	waitBridged(t, s.h, s.alice.WaitForEvent(t, room, simWait, saysText(ghost, "before")))

	proxy.Down(testbed.OutageRefuse)
	during, err := bob.cli.SendMessage(ctx, aliceJID, &waE2E.Message{Conversation: proto.String("during the outage")})
	if err != nil {
		t.Fatal(err)
	}
	cl := s.conn.client(loginIDOf(aliceJID))
	key := bob.phone.LID().String() + "/" + during.ID
	waitUntil(t, func() bool {
		cl.lock.Lock()
		defer cl.lock.Unlock()
		return cl.failures[key] == 1
	}, "the handler to give up on the message")
	proxy.Up()
	handleTimeout = time.Minute
	// WhatsApp redelivers what was not acknowledged when the device next
	// connects.
	cl.cli.Disconnect()
	if err := cl.cli.Connect(); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.cli.SendMessage(ctx, aliceJID, &waE2E.Message{Conversation: proto.String("after")}); err != nil {
		t.Fatal(err)
	}
	s.alice.WaitForEvent(t, room, simWait, saysText(ghost, "after"))
	var bodies []string
	for _, evt := range s.alice.Events(room) {
		if msg := evt.Content.AsMessage(); evt.Sender == ghost && msg != nil && evt.Type == event.EventMessage {
			bodies = append(bodies, msg.Body)
		}
	}
	if !slices.Equal(bodies, []string{"before", "during the outage", "after"}) {
		t.Errorf("room messages %q; want before, during the outage, after, each once", bodies)
	}
}

// waitUntil polls cond until it holds, failing the test after simWait.
func waitUntil(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(simWait); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// TestSimGroupOfThree: Bob makes a group with Alice and Carol. It becomes
// one portal room with the group's name and both ghosts; Bob's group
// message shows from his ghost, and Alice's message from Matrix reaches
// both Bob's and Carol's clients decrypted (sender keys handed out by
// Ferry's whatsmeow through the simulator).
func TestSimGroupOfThree(t *testing.T) {
	s, bob, carol, group, ctx := newGroupWithCarol(t)
	if got := nextMessage(t, carol); got.Message.GetConversation() != "Saturday at ten?" {
		t.Fatalf("Carol got %v, want Bob's message", got.Message)
	}
	room := joinPortal(t, s.alice, s.mgmt)
	// The group is LID-addressed, but WhatsApp (here the simulator) sends
	// each sender's number along, so the ghosts are the numbers' ones:
	// one ghost per person in DMs and groups alike.
	bobGhost := ghostOf(bob.phone.JID().User)
	s.alice.WaitForEvent(t, room, simWait, saysText(bobGhost, "Saturday at ten?"))
	var name event.RoomNameEventContent
	if err := s.alice.StateEvent(ctx, room, event.StateRoomName, "", &name); err != nil || name.Name != "Climbing" {
		t.Errorf("room name %q, %v", name.Name, err)
	}
	// The group's members join around its messages (see
	// portals/member_sync.go), so Carol's ghost may come after Bob's words.
	for _, ghost := range []id.UserID{bobGhost, ghostOf(carol.phone.JID().User)} {
		s.alice.WaitForMembership(t, room, ghost, event.MembershipJoin, simWait)
	}

	if _, err := s.alice.SendMessageEvent(ctx, room, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgText, Body: "count me in"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*contact{bob, carol} {
		got := nextMessage(t, c)
		if got.Info.Chat != group.JID || got.Message.GetConversation()+got.Message.GetExtendedTextMessage().GetText() != "count me in" {
			t.Errorf("%s got %v in %s, want Alice's group message", c.phone.JID().User, got.Message, got.Info.Chat)
		}
	}
}

// TestSimHistoryAfterLinking: the phone sends history after linking (an
// encrypted blob announced by a notification, which Ferry's whatsmeow
// downloads and decrypts); the chat's room is made with the old messages
// in order, at their own times, before Alice is invited.
func TestSimHistoryAfterLinking(t *testing.T) {
	s := newSimScene(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	bob := "4915100000002@s.whatsapp.net"
	start := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	old := func(id string, fromMe bool, at time.Time, text string) *waHistorySync.HistorySyncMsg {
		return &waHistorySync.HistorySyncMsg{Message: &waWeb.WebMessageInfo{
			Key:              &waCommon.MessageKey{RemoteJID: proto.String(bob), FromMe: proto.Bool(fromMe), ID: proto.String(id)},
			Message:          &waE2E.Message{Conversation: proto.String(text)},
			MessageTimestamp: proto.Uint64(uint64(at.Unix())),
		}}
	}
	err := s.alicePhone.SendHistorySync(ctx, &waHistorySync.HistorySync{
		SyncType: waHistorySync.HistorySync_INITIAL_BOOTSTRAP.Enum(),
		Conversations: []*waHistorySync.Conversation{{
			ID: proto.String(bob),
			// Newest first, as the phone sends them.
			Messages: []*waHistorySync.HistorySyncMsg{
				old("H3", false, start.Add(2*time.Minute), "see you then"),
				old("H2", true, start.Add(time.Minute), "tomorrow?"),
				old("H1", false, start, "when shall we meet?"),
			},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	room := joinPortal(t, s.alice, s.mgmt)
	ghost := ghostOf("4915100000002")
	s.alice.WaitForEvent(t, room, simWait, saysText(ghost, "see you then"))
	var got []string
	for _, evt := range s.alice.Events(room) {
		if msg := evt.Content.AsMessage(); evt.Type == event.EventMessage && msg != nil {
			got = append(got, msg.Body)
			if msg.Body == "when shall we meet?" && evt.Timestamp != start.UnixMilli() {
				t.Errorf("the first old message has timestamp %d, want %d", evt.Timestamp, start.UnixMilli())
			}
		}
	}
	if !slices.Equal(got, []string{"when shall we meet?", "tomorrow?", "see you then"}) {
		t.Errorf("the room's messages are %q; want the history in order", got)
	}
}

// TestSimContactMessageKinds: what Bob sends from his client shows in the
// room as its Matrix kind: a reply quoting Alice's message, an edit of his
// own, a photo with its caption, and a voice note.
func TestSimContactMessageKinds(t *testing.T) {
	s, bob, ctx := newSimSceneWithBob(t, 2*time.Minute)
	aliceJID := s.alicePhone.JID()
	ghost := ghostOf(bob.phone.JID().User)

	first, err := bob.cli.SendMessage(ctx, aliceJID, &waE2E.Message{Conversation: proto.String("helo")})
	if err != nil {
		t.Fatal(err)
	}
	room := joinPortal(t, s.alice, s.mgmt)
	firstEvt := s.alice.WaitForEvent(t, room, simWait, saysText(ghost, "helo"))
	aliceEvt := s.alice.SendText(t, room, "hi bob")
	quoted := nextMessage(t, bob)

	// An edit of Bob's first message.
	if _, err = bob.cli.SendMessage(ctx, aliceJID, bob.cli.BuildEdit(aliceJID, first.ID, &waE2E.Message{Conversation: proto.String("hello")})); err != nil {
		t.Fatal(err)
	}
	s.alice.WaitForEvent(t, room, simWait, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Sender == ghost && msg != nil && msg.NewContent != nil && msg.NewContent.Body == "hello" &&
			msg.RelatesTo.GetReplaceID() == firstEvt.ID
	})

	// A reply quoting Alice's message.
	_, err = bob.cli.SendMessage(ctx, aliceJID, &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{
		Text: proto.String("how are you?"),
		ContextInfo: &waE2E.ContextInfo{StanzaID: proto.String(quoted.Info.ID), Participant: proto.String(aliceJID.String()),
			QuotedMessage: &waE2E.Message{Conversation: proto.String("hi bob")}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	reply := s.alice.WaitForEvent(t, room, simWait, saysText(ghost, "how are you?")).Content.AsMessage()
	if reply.RelatesTo.GetReplyTo() != aliceEvt {
		t.Errorf("Bob's reply points at %q, want Alice's message %s", reply.RelatesTo.GetReplyTo(), aliceEvt)
	}

	// A photo with a caption, and a voice note.
	var jpg bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	draw.Draw(img, img.Bounds(), &image.Uniform{C: color.RGBA{R: 30, G: 120, B: 200, A: 255}}, image.Point{}, draw.Src)
	if err = jpeg.Encode(&jpg, img, nil); err != nil {
		t.Fatal(err)
	}
	up, err := bob.cli.Upload(ctx, jpg.Bytes(), whatsmeow.MediaImage)
	if err != nil {
		t.Fatal(err)
	}
	_, err = bob.cli.SendMessage(ctx, aliceJID, &waE2E.Message{ImageMessage: &waE2E.ImageMessage{
		URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
		FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
		Mimetype: proto.String("image/jpeg"), Caption: proto.String("the view"), Width: proto.Uint32(40), Height: proto.Uint32(30),
	}})
	if err != nil {
		t.Fatal(err)
	}
	photo := s.alice.WaitForEvent(t, room, simWait, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Sender == ghost && msg != nil && msg.MsgType == event.MsgImage
	}).Content.AsMessage()
	if photo.Body != "the view" || photo.Info == nil || photo.Info.Width != 40 || photo.Info.Height != 30 {
		t.Errorf("the photo arrived as %q %+v", photo.Body, photo.Info)
	}
	if mxc, err := photo.URL.Parse(); err != nil {
		t.Error(err)
	} else if data, err := s.alice.DownloadBytes(ctx, mxc); err != nil || !bytes.Equal(data, jpg.Bytes()) {
		t.Errorf("the photo downloads from Matrix changed (%d bytes, %v)", len(data), err)
	}

	voice := []byte("OggS\x00\x02 not really opus, but bytes all the same")
	up, err = bob.cli.Upload(ctx, voice, whatsmeow.MediaAudio)
	if err != nil {
		t.Fatal(err)
	}
	_, err = bob.cli.SendMessage(ctx, aliceJID, &waE2E.Message{AudioMessage: &waE2E.AudioMessage{
		URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
		FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
		Mimetype: proto.String("audio/ogg; codecs=opus"), Seconds: proto.Uint32(3), PTT: proto.Bool(true),
	}})
	if err != nil {
		t.Fatal(err)
	}
	note := s.alice.WaitForEvent(t, room, simWait, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Sender == ghost && msg != nil && msg.MsgType == event.MsgAudio
	}).Content.AsMessage()
	if note.MSC3245Voice == nil || note.Info == nil || note.Info.Duration != 3000 {
		t.Errorf("the voice note arrived as %+v (voice %v)", note.Info, note.MSC3245Voice)
	}
	if mxc, err := note.URL.Parse(); err != nil {
		t.Error(err)
	} else if data, err := s.alice.DownloadBytes(ctx, mxc); err != nil || !bytes.Equal(data, voice) {
		t.Errorf("the voice note downloads from Matrix changed (%q, %v)", data, err)
	}
}

// TestSimGroupSharedByTwoFerryUsers: Alice and Dave both use Ferry, and
// both are in Bob's group. The group is one room for both; Bob's message
// appears once although both logins receive it; what Alice sends from
// Matrix goes through her own login, reaches Bob, and does not come back
// into the room as a ghost message through Dave's login.
func TestSimGroupSharedByTwoFerryUsers(t *testing.T) {
	s, ctx := newSharedGroup(t, 2*time.Minute, "Neighbours", "bins go out tonight")
	room, bob, group := s.room, s.bob, s.group
	if daveRoom := joinPortal(t, s.dave, s.daveMgmt); daveRoom != room {
		t.Fatalf("Dave was invited to %s, Alice to %s: the group should be one room", daveRoom, room)
	}

	s.alice.SendText(t, room, "thanks, Bob")
	got := nextMessage(t, bob)
	fromAlice := got.Info.Sender.User == s.alicePhone.LID().User || got.Info.Sender.User == s.alicePhone.JID().User
	if got.Info.Chat != group.JID || !fromAlice ||
		got.Message.GetConversation()+got.Message.GetExtendedTextMessage().GetText() != "thanks, Bob" {
		t.Fatalf("Bob got %v from %s in %s, want Alice's message in the group", got.Message, got.Info.Sender, got.Info.Chat)
	}
	// Dave's login receives Alice's message too (she is in the group);
	// it must not appear a second time, from her ghost.
	if _, err := bob.cli.SendMessage(ctx, group.JID, &waE2E.Message{Conversation: proto.String("the end")}); err != nil {
		t.Fatal(err)
	}
	s.alice.WaitForEvent(t, room, simWait, saysText(s.bobGhost, "the end"))
	counts := map[string]int{}
	for _, evt := range s.alice.Events(room) {
		if msg := evt.Content.AsMessage(); evt.Type == event.EventMessage && msg != nil {
			counts[msg.Body]++
		}
	}
	if counts["bins go out tonight"] != 1 || counts["thanks, Bob"] != 1 || counts["the end"] != 1 {
		t.Errorf("messages in the room: %v; want each once", counts)
	}
}

// TestSimLoginByPairingCode: `login whatsapp +<number>` shows an
// 8-character code; typing it on the phone links Ferry.
func TestSimLoginByPairingCode(t *testing.T) {
	sim, conn := startSim(t)
	phone := newPhone(t, sim, "4915100000001", "Alice")
	h := ferrytest.Start(t, ferrytest.Options{}, conn)
	alice := h.User("alice")
	mgmt := h.ManagementRoom(alice)
	alice.SendText(t, mgmt, "login whatsapp +49 151 00000001")
	shown := h.WaitForBotNotice(alice, mgmt, "Your code: **").Content.AsMessage().Body
	m := regexp.MustCompile(`Your code: \*\*([A-Z0-9]{4}-[A-Z0-9]{4})\*\*`).FindStringSubmatch(shown)
	if m == nil {
		t.Fatalf("no pairing code in %q", shown)
	}
	ctx, cancel := context.WithTimeout(context.Background(), simWait)
	defer cancel()
	if err := phone.EnterPairingCode(ctx, m[1]); err != nil {
		t.Fatalf("the phone refused the code: %v", err)
	}
	h.WaitForBotNotice(alice, mgmt, "Logged in to WhatsApp as +4915100000001")
	h.Command(alice, mgmt, "status", "connected")
}

// TestSimWebVersionIsAskedForWithTheFirstLogin: a bridge with no WhatsApp
// account does not contact WhatsApp; the first login asks for the current
// web client version, once.
func TestSimWebVersionIsAskedForWithTheFirstLogin(t *testing.T) {
	sim, conn := startSim(t)
	var asked atomic.Int32
	conn.fetchVersion = func(ctx context.Context) (*store.WAVersionContainer, error) {
		asked.Add(1)
		return nil, errors.New("not asked in tests")
	}
	h := ferrytest.Start(t, ferrytest.Options{}, conn)
	alice := h.User("alice")
	mgmt := h.ManagementRoom(alice)
	h.Command(alice, mgmt, "status", "You have no logins")
	if n := asked.Load(); n != 0 {
		t.Errorf("with no login the version was asked for %d times", n)
	}
	s := &simScene{sim: sim, conn: conn, h: h, alice: alice, mgmt: mgmt, alicePhone: newPhone(t, sim, "4915100000001", "Alice")}
	s.loginByQR(t, alice, mgmt, s.alicePhone)
	h.StopBridge() // waits for the connector's background work
	if n := asked.Load(); n != 1 {
		t.Errorf("after a login the version was asked for %d times, want once", n)
	}
}
