package portals

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// The reply carrying an edit made on the phone stands, for alice in
// Matrix, for the message she edited: her reaction to it reaches that
// message on the network. But it is her ghost's message: she cannot edit
// it, and redacting it in Matrix takes only the reply: her message
// stays, on the network and bridged.
func TestMatrixActionsOnAReplyCarryingAnEditReachTheEditedMessageButNoDeletion(t *testing.T) {
	sc, net, mine, reply := editedOnThePhone(t)
	ctx := context.Background()
	var err error

	reaction := &event.Event{
		Type: event.EventReaction, ID: "$reaction", Sender: sc.alice.UserID, RoomID: mine.p.RoomID, Timestamp: time.Now().UnixMilli(),
		Content: event.Content{Parsed: &event.ReactionEventContent{RelatesTo: *(&event.RelatesTo{}).SetAnnotation(reply, "👍")}},
	}
	if err = mine.p.matrixReaction(ctx, reaction); err != nil {
		t.Errorf("her reaction to the reply carrying her edit failed: %v", err)
	} else if sent := sentToNetwork(net); len(sent) != 1 {
		t.Errorf("her reaction to the reply carrying her edit sent %d things to the network, want it only", len(sent))
	} else if r, ok := sent[0].(*network.OutgoingReaction); !ok || r.Target != (network.MessageRef{ID: "msg-mine"}) {
		t.Errorf("her reaction to the reply carrying her edit reached the network as %+v, want one to her message msg-mine", sent[0])
	}

	correction := &event.Event{
		Type: event.EventMessage, ID: "$correction", Sender: sc.alice.UserID, RoomID: mine.p.RoomID, Timestamp: time.Now().UnixMilli(),
		Content: event.Content{Parsed: &event.MessageEventContent{
			MsgType: event.MsgText, Body: "* hello there", RelatesTo: (&event.RelatesTo{}).SetReplace(reply),
			NewContent: &event.MessageEventContent{MsgType: event.MsgText, Body: "hello there"},
		}},
	}
	if err = mine.p.matrixMessage(ctx, correction, true); err == nil {
		t.Errorf("her edit of the reply carrying her edit, her ghost's message, did not fail")
	}
	if sent := sentToNetwork(net); len(sent) != 0 {
		t.Errorf("her edit of the reply carrying her edit, her ghost's message, reached the network: %+v", sent[0])
	}

	redaction := &event.Event{Type: event.EventRedaction, ID: "$redaction", Sender: sc.alice.UserID, RoomID: mine.p.RoomID, Redacts: reply}
	if err = mine.p.matrixRedaction(ctx, redaction); err != nil {
		t.Errorf("the redaction of the reply carrying her edit failed: %v", err)
	}
	if sent := sentToNetwork(net); len(sent) != 0 {
		t.Errorf("the redaction of the reply carrying her edit reached the network: %+v", sent[0])
	}
	if stored, err := sc.db.Messages.GetFirstPart(ctx, mine.p.Key, "msg-mine"); err != nil || stored == nil {
		t.Errorf("her message is no longer bridged after the reply carrying her edit was redacted (%v)", err)
	}
}

// The reply carrying her phone edit that alice redacts in Matrix is no
// longer a part of her message: a later reaction, reply or deletion
// finds no part whose event is gone. Her message stays bridged.
func TestMatrixRedactionOfAReplyCarryingAnEditForgetsThatReplyOnly(t *testing.T) {
	sc, _, mine, reply := editedOnThePhone(t)
	ctx := context.Background()
	redaction := &event.Event{Type: event.EventRedaction, ID: "$redaction", Sender: sc.alice.UserID, RoomID: mine.p.RoomID, Redacts: reply}
	if err := mine.p.matrixRedaction(ctx, redaction); err != nil {
		t.Fatalf("the redaction of the reply carrying her edit failed: %v", err)
	}
	if stored, err := sc.db.Messages.GetByEventID(ctx, reply); err != nil {
		t.Fatal(err)
	} else if stored != nil {
		t.Errorf("the redacted reply carrying her edit is still stored, as part %q of %s", stored.Part, stored.ID)
	}
	parts, err := sc.db.Messages.GetParts(ctx, mine.p.Key, "msg-mine")
	if err != nil || len(parts) != 1 || parts[0].EventID != mine.event {
		t.Errorf("her message's stored parts after the reply was redacted are %+v (%v), want her own event %s only", parts, err, mine.event)
	}
}

// Alice's reply in Matrix to the reply carrying her phone edit answers
// her message on the network, quoting its text as edited: the "* " that
// marks the reply as an edit in Matrix is no part of it.
func TestMatrixReplyToAReplyCarryingAnEditQuotesTheEditedTextWithoutTheEditMark(t *testing.T) {
	sc, net, mine, reply := editedOnThePhone(t)
	ctx := context.Background()
	answer := &event.Event{
		Type: event.EventMessage, ID: "$answer", Sender: sc.alice.UserID, RoomID: mine.p.RoomID, Timestamp: time.Now().UnixMilli(),
		Content: event.Content{Parsed: &event.MessageEventContent{
			MsgType: event.MsgText, Body: "yes, that", RelatesTo: (&event.RelatesTo{}).SetReplyTo(reply),
		}},
	}
	if err := mine.p.matrixMessage(ctx, answer, true); err != nil {
		t.Fatalf("her reply to the reply carrying her edit failed: %v", err)
	}
	sent := sentToNetwork(net)
	if len(sent) != 1 {
		t.Fatalf("her reply to the reply carrying her edit sent %d things to the network, want it only", len(sent))
	}
	out, ok := sent[0].(*network.OutgoingMessage)
	if !ok || out.ReplyTo == nil || out.ReplyTo.ID != "msg-mine" {
		t.Fatalf("her reply to the reply carrying her edit reached the network as %+v, want a reply to her message msg-mine", sent[0])
	}
	if out.ReplyTo.Text != "hello" {
		t.Errorf("her reply quotes %q, want her message's text as edited, %q", out.ReplyTo.Text, "hello")
	}
}

// A message alice sent from Matrix, edited on the phone, then deleted by
// her in Matrix, is deleted on the network, and the reply carrying its
// edit goes from the room with it.
func TestMatrixDeletionOfAMessageSentFromMatrixTakesTheReplyCarryingItsEdit(t *testing.T) {
	sc, net, mine, reply := editedOnThePhone(t)
	ctx := context.Background()
	redacted, err := sc.alice.Client.RedactEvent(ctx, mine.p.RoomID, mine.event)
	if err != nil {
		t.Fatal(err)
	}
	redaction := &event.Event{Type: event.EventRedaction, ID: redacted.EventID, Sender: sc.alice.UserID, RoomID: mine.p.RoomID, Redacts: mine.event}
	if err = mine.p.matrixRedaction(ctx, redaction); err != nil {
		t.Fatalf("her deletion of her message failed: %v", err)
	}
	if sent := sentToNetwork(net); len(sent) != 1 {
		t.Errorf("her deletion of her message sent %d things to the network, want it only", len(sent))
	} else if r, ok := sent[0].(*network.OutgoingRedaction); !ok || r.Target != "msg-mine" {
		t.Errorf("her deletion of her message reached the network as %+v, want one of msg-mine", sent[0])
	}
	if evt := redactedEvent(t, sc.as, mine.p.RoomID, reply); evt.Unsigned.RedactedBecause == nil {
		t.Errorf("the reply carrying her edit is still in the room after she deleted her message")
	}
}

// A reply carrying her edit that cannot be redacted once alice deleted
// her message from Matrix (the homeserver refuses its ghost) stays
// in the room with the deleted message's newer text: she is told so, in
// a notice answering that reply, with the homeserver's refusal. Her
// deletion stands on the network.
func TestMatrixDeletionOfAMessageSentFromMatrixTellsOfAReplyCarryingItsEditThatStays(t *testing.T) {
	sc, proxy := newUserSceneBehindProxy(t)
	net, mine, reply := editedOnThePhoneIn(t, sc)
	ctx := context.Background()
	refuseRedactions(proxy, mine.p.RoomID, "no *redactions* here")
	redaction := &event.Event{Type: event.EventRedaction, ID: "$deletion", Sender: sc.alice.UserID, RoomID: mine.p.RoomID, Redacts: mine.event}
	if err := mine.p.matrixRedaction(ctx, redaction); err != nil {
		t.Fatalf("her deletion of her message failed: %v", err)
	}
	if sent := sentToNetwork(net); len(sent) != 1 {
		t.Errorf("her deletion of her message sent %d things to the network, want it only", len(sent))
	}
	notice := noticeAnswering(t, sc, mine, reply)
	if !strings.Contains(notice.Body, "could not be deleted") || !strings.Contains(notice.Body, "no *redactions* here") {
		t.Errorf("the notice of the reply carrying her edit left in the room reads %q; want that it could not be deleted, and the homeserver's refusal", notice.Body)
	}
}

// noticeAnswering is the first notice in mine's room answering about,
// as alice sees it, once there is one.
func noticeAnswering(t *testing.T, sc *userScene, mine matrixSent, about id.EventID) *event.MessageEventContent {
	t.Helper()
	return sc.alice.WaitForEvent(t, mine.p.RoomID, 30*time.Second, func(evt *event.Event) bool {
		return evt.Type == event.EventMessage && evt.Content.AsMessage().MsgType == event.MsgNotice &&
			evt.Content.AsMessage().RelatesTo.GetReplyTo() == about
	}).Content.AsMessage()
}

// editedOnThePhone is alice's message "helo" sent from Matrix, through
// her login running on net, and edited on her phone to "hello"; reply is
// her ghost's reply carrying the edit.
func editedOnThePhone(t *testing.T) (sc *userScene, net *testnet.Client, mine matrixSent, reply id.EventID) {
	t.Helper()
	sc = newUserScene(t)
	net, mine, reply = editedOnThePhoneIn(t, sc)
	return sc, net, mine, reply
}

// editedOnThePhoneIn is editedOnThePhone in the scene sc.
func editedOnThePhoneIn(t *testing.T, sc *userScene) (net *testnet.Client, mine matrixSent, reply id.EventID) {
	t.Helper()
	ctx := context.Background()
	mine = sc.reactionsRoom(t).sentFromMatrix(t, "msg-mine", "helo")
	net = aliceSendsFrom(t, sc, mine.p)
	edit := &network.Edit{Meta: mine.fromPhone(), Target: "msg-mine", ID: "edit-1",
		Parts: []network.Part{{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: "hello"}}}}
	if err := mine.p.remoteEdit(ctx, sc.login, edit); err != nil {
		t.Fatalf("the edit on the phone failed: %v", err)
	}
	replies := repliesTo(t, sc.as.BotClient(), mine.p.RoomID, mine.event, 1)
	if len(replies) != 1 {
		t.Fatalf("%d replies carrying her edit in the room, want one", len(replies))
	}
	return net, mine, replies[0].ID
}

// aliceSendsFrom has alice's login, a member of p's room, send there
// from Matrix: it runs on net, the test network's client.
func aliceSendsFrom(t *testing.T, sc *userScene, p *Portal) (net *testnet.Client) {
	t.Helper()
	ctx := context.Background()
	client, err := testnet.New().LoadLogin(ctx, sc.login)
	if err != nil {
		t.Fatal(err)
	}
	net = client.(*testnet.Client)
	sc.m.dir = clientDir{Directory: sc.m.dir, client: net}
	err = sc.db.Logins.Put(ctx, &database.Login{Network: p.Key.Network, ID: sc.login.ID, UserMXID: sc.alice.UserID, RemoteUser: sc.login.RemoteUser})
	if err == nil {
		err = p.putMember(ctx, sc.alice.UserID, sc.login.ID)
	}
	if err != nil {
		t.Fatal(err)
	}
	return net
}

// refuseRedactions has the homeserver, behind proxy, answer every
// redaction in room with M_FORBIDDEN and why.
func refuseRedactions(proxy *testbed.FaultProxy, room id.RoomID, why string) {
	proxy.Inject(http.MethodPut+" /_matrix/client/v3/rooms/"+room.String()+"/redact/", -1,
		testbed.Fault{Status: http.StatusForbidden, Body: `{"errcode":"M_FORBIDDEN","error":"` + why + `"}`})
}

// refuseRedactionOf has the homeserver, behind proxy, answer every
// redaction of target in room with M_FORBIDDEN and why.
func refuseRedactionOf(proxy *testbed.FaultProxy, room id.RoomID, target id.EventID, why string) {
	proxy.Inject(http.MethodPut+" /_matrix/client/v3/rooms/"+room.String()+"/redact/"+target.String()+"/", -1,
		testbed.Fault{Status: http.StatusForbidden, Body: `{"errcode":"M_FORBIDDEN","error":"` + why + `"}`})
}

// clientDir is a Directory whose logins all run client.
type clientDir struct {
	Directory
	client network.Client
}

func (d clientDir) Client(network.NetworkID, network.LoginID) (network.Client, bool) {
	return d.client, true
}

// sentToNetwork is what Ferry handed client so far.
func sentToNetwork(client *testnet.Client) []any {
	var sent []any
	for {
		select {
		case out := <-client.Outbox:
			sent = append(sent, out)
		default:
			return sent
		}
	}
}
