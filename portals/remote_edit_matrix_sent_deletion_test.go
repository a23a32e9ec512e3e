package portals

import (
	"context"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// Alice deletes on her phone a message she sent from Matrix and edited
// twice there; the homeserver refuses the redaction of the first reply
// carrying an edit (to its ghost and to the bot). Her message and the
// second reply still go, the deletion stands, none of its rows is left
// (as after a deletion from Matrix), and she is told of the reply left
// in a notice answering it. Real Dendrite behind the fault proxy.
func TestRemoteDeletionOfAMessageSentFromMatrixTakesTheRepliesItCanAndTellsTheRest(t *testing.T) {
	sc, proxy := newUserSceneBehindProxy(t)
	_, mine, _ := editedOnThePhoneIn(t, sc)
	replies := editedAgainOnThePhone(t, sc, mine)
	ctx := context.Background()
	refuseRedactionOf(proxy, mine.p.RoomID, replies[0], "not this one")

	if err := mine.p.remoteRedaction(ctx, &network.Redaction{Meta: mine.fromPhone(), Target: "msg-mine"}); err != nil {
		t.Errorf("the deletion on the phone failed: %v", err)
	}
	if evt := redactedEvent(t, sc.as, mine.p.RoomID, mine.event); evt.Unsigned.RedactedBecause == nil {
		t.Errorf("her message, deleted on the phone, is still in the room")
	}
	if evt := redactedEvent(t, sc.as, mine.p.RoomID, replies[1]); evt.Unsigned.RedactedBecause == nil {
		t.Errorf("the second reply carrying her edit is still in the room after the message's deletion")
	}
	notice := noticeAnswering(t, sc, mine, replies[0])
	if !strings.Contains(notice.Body, "could not be deleted") || !strings.Contains(notice.Body, "not this one") {
		t.Errorf("the notice of the reply left reads %q; want that it could not be deleted, and the homeserver's refusal", notice.Body)
	}
	parts, err := sc.db.Messages.GetParts(ctx, mine.p.Key, "msg-mine")
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 0 {
		t.Errorf("after the deletion her message's stored rows are %+v; want none, the message being gone", parts)
	}
}

// After alice deleted on her phone a message she sent from Matrix, the
// reply carrying its phone edit that the homeserver would not redact
// stays in the room, but stands for nothing on the network any more: her
// reaction to it from Matrix reaches nothing there, no reaction to the
// deleted message under a part ID of Ferry's own. Real Dendrite behind
// the fault proxy.
func TestReactionToAReplyLeftByAPhoneDeletionReachesNothingOnTheNetwork(t *testing.T) {
	sc, proxy := newUserSceneBehindProxy(t)
	net, mine, reply := editedOnThePhoneIn(t, sc)
	ctx := context.Background()
	refuseRedactionOf(proxy, mine.p.RoomID, reply, "not this one")
	if err := mine.p.remoteRedaction(ctx, &network.Redaction{Meta: mine.fromPhone(), Target: "msg-mine"}); err != nil {
		t.Fatalf("the deletion on the phone failed: %v", err)
	}
	noticeAnswering(t, sc, mine, reply)
	sentToNetwork(net)

	reaction := &event.Event{
		Type: event.EventReaction, ID: "$reaction", Sender: sc.alice.UserID, RoomID: mine.p.RoomID, Timestamp: time.Now().UnixMilli(),
		Content: event.Content{Parsed: &event.ReactionEventContent{RelatesTo: *(&event.RelatesTo{}).SetAnnotation(reply, "👍")}},
	}
	_ = mine.p.matrixReaction(ctx, reaction) // told as never bridged
	if sent := sentToNetwork(net); len(sent) != 0 {
		t.Errorf("her reaction to the reply left by the deletion reached the network: %+v", sent[0])
	}
}

// Ferry stops after telling alice of the reply her phone deletion left,
// before forgetting her message's rows and marking the deletion done;
// started again, it is handed the deletion once more. The reply is still
// refused, but she is told of it once, not twice. Real Dendrite behind
// the fault proxy; the rows are put back as the stop left them.
func TestPhoneDeletionHandedOverAgainAfterAStopTellsOfTheReplyLeftOnce(t *testing.T) {
	sc, proxy := newUserSceneBehindProxy(t)
	_, mine, reply := editedOnThePhoneIn(t, sc)
	ctx := context.Background()
	refuseRedactionOf(proxy, mine.p.RoomID, reply, "not this one")
	stored, err := sc.db.Messages.GetParts(ctx, mine.p.Key, "msg-mine")
	if err != nil {
		t.Fatal(err)
	}
	deletion := &network.Redaction{Meta: mine.fromPhone(), Target: "msg-mine"}
	if err = mine.p.remoteRedaction(ctx, deletion); err != nil {
		t.Fatalf("the deletion on the phone failed: %v", err)
	}
	noticeAnswering(t, sc, mine, reply)

	for _, part := range stored {
		if err = sc.db.Messages.Put(ctx, part); err != nil {
			t.Fatal(err)
		}
	}
	if err = mine.p.remoteRedaction(ctx, deletion); err != nil {
		t.Fatalf("the deletion handed over again failed: %v", err)
	}
	var told int
	for _, n := range noticesSoFar(t, sc, mine.p.RoomID) {
		if n.Content.AsMessage().RelatesTo.GetReplyTo() == reply {
			told++
		}
	}
	if told != 1 {
		t.Errorf("alice was told %d times of the reply her deletion left, want once", told)
	}
}

// In a room where redactions need a level Ferry's ghosts lack, but the
// bot has, the reply carrying alice's phone edit is redacted by the bot
// when she deletes her message from Matrix, not left in the room with
// its newer text. Real Dendrite.
func TestMatrixDeletionOfAMessageSentFromMatrixHasTheBotRedactAReplyItsGhostMayNot(t *testing.T) {
	sc, _, mine, reply := editedOnThePhone(t)
	ctx := context.Background()
	raiseRedactionLevel(t, sc, mine.p.RoomID, false)
	deletion := &event.Event{Type: event.EventRedaction, ID: "$deletion", Sender: sc.alice.UserID, RoomID: mine.p.RoomID, Redacts: mine.event}
	if err := mine.p.matrixRedaction(ctx, deletion); err != nil {
		t.Fatalf("her deletion of her message failed: %v", err)
	}
	evt := redactedEvent(t, sc.as, mine.p.RoomID, reply)
	if evt.Unsigned.RedactedBecause == nil {
		t.Fatalf("the reply carrying her edit is still in the room after she deleted her message")
	}
	if by := redactor(evt); by != sc.as.BotMXID().String() {
		t.Errorf("the reply carrying her edit was redacted by %s, want the bot", by)
	}
}

// Two replies carrying alice's phone edits that the homeserver will not
// redact, when she deletes her message from Matrix, are told in one
// notice, answering the first, not one each. Real Dendrite behind the
// fault proxy.
func TestMatrixDeletionOfAMessageSentFromMatrixTellsOfAllRepliesLeftInOneNotice(t *testing.T) {
	sc, proxy := newUserSceneBehindProxy(t)
	_, mine, _ := editedOnThePhoneIn(t, sc)
	replies := editedAgainOnThePhone(t, sc, mine)
	ctx := context.Background()
	refuseRedactions(proxy, mine.p.RoomID, "no redactions here")
	deletion := &event.Event{Type: event.EventRedaction, ID: "$deletion", Sender: sc.alice.UserID, RoomID: mine.p.RoomID, Redacts: mine.event}
	if err := mine.p.matrixRedaction(ctx, deletion); err != nil {
		t.Fatalf("her deletion of her message failed: %v", err)
	}
	notices := noticesSoFar(t, sc, mine.p.RoomID)
	if len(notices) != 1 {
		var bodies []string
		for _, n := range notices {
			bodies = append(bodies, n.Content.AsMessage().Body)
		}
		t.Fatalf("%d notices of the replies left in the room, want one: %q", len(notices), bodies)
	}
	notice := notices[0].Content.AsMessage()
	if notice.RelatesTo.GetReplyTo() != replies[0] || !strings.Contains(notice.Body, "2 replies") {
		t.Errorf("the notice of the replies left answers %s and reads %q; want it answering the first, %s, telling of both", notice.RelatesTo.GetReplyTo(), notice.Body, replies[0])
	}
}

// When the replies carrying edits of the message alice deleted from
// Matrix cannot be looked up, she is told so in a notice clients show:
// standing alone in the room, not answering her deletion (a redaction,
// which clients do not show). Real Dendrite; the message table is taken
// away once the deletion reached the network.
func TestMatrixDeletionWhoseRepliesCannotBeLookedUpIsToldInTheRoom(t *testing.T) {
	sc := newUserScene(t)
	net, mine, _ := editedOnThePhoneIn(t, sc)
	ctx := context.Background()
	sc.m.dir = clientDir{Directory: sc.m.dir, client: redactThen{Client: net, then: func() {
		if _, err := sc.db.RawDB.ExecContext(ctx, `ALTER TABLE message RENAME TO message_away`); err != nil {
			t.Error(err)
		}
	}}}
	deletion := &event.Event{Type: event.EventRedaction, ID: "$deletion", Sender: sc.alice.UserID, RoomID: mine.p.RoomID, Redacts: mine.event}
	_ = mine.p.matrixRedaction(ctx, deletion) // its stored rows cannot be forgotten either
	notice := sc.alice.WaitForEvent(t, mine.p.RoomID, 30*time.Second, func(evt *event.Event) bool {
		return evt.Type == event.EventMessage && strings.Contains(evt.Content.AsMessage().Body, "could not be looked up")
	}).Content.AsMessage()
	if about := notice.RelatesTo.GetReplyTo(); about != "" {
		t.Errorf("the notice of the replies not looked up answers %s, which clients may not show; want it standing alone", about)
	}
}

// A moderator's deletion from Matrix of someone else's message sent from
// Matrix and edited on the phone, whose reply carrying the edit stays,
// is told to the moderator as theirs, not as "Your message was deleted".
// Real Dendrite behind the fault proxy.
func TestModeratorsMatrixDeletionOfAnotherMessageIsToldAsTheirs(t *testing.T) {
	sc, proxy := newUserSceneBehindProxy(t)
	room := sc.reactionsRoom(t)
	room.senderMXID = "@carol:localhost"
	carols := room.post(t, "msg-carol")
	ctx := context.Background()
	edit := &network.Edit{Meta: network.Meta{Portal: room.p.Key, Sender: network.Sender{User: "bob"}, Timestamp: time.Now()}, Target: "msg-carol", ID: "edit-1",
		Parts: []network.Part{{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: "carol's, edited"}}}}
	if err := room.p.remoteEdit(ctx, sc.login, edit); err != nil {
		t.Fatalf("the edit on the phone failed: %v", err)
	}
	replies := repliesTo(t, sc.as.BotClient(), room.p.RoomID, carols, 1)
	if len(replies) != 1 {
		t.Fatalf("%d replies carrying the edit in the room, want one", len(replies))
	}
	aliceSendsFrom(t, sc, room.p)
	mine := matrixSent{p: room.p, login: sc.login}
	refuseRedactions(proxy, room.p.RoomID, "no redactions here")
	deletion := &event.Event{Type: event.EventRedaction, ID: "$deletion", Sender: sc.alice.UserID, RoomID: room.p.RoomID, Redacts: carols}
	if err := room.p.matrixRedaction(ctx, deletion); err != nil {
		t.Fatalf("alice's deletion of carol's message failed: %v", err)
	}
	notice := noticeAnswering(t, sc, mine, replies[0].ID)
	if strings.Contains(notice.Body, "Your message") || !strings.Contains(notice.Body, "you removed") {
		t.Errorf("the notice to alice, who deleted carol's message, reads %q; want it telling of the message she removed, not of hers", notice.Body)
	}
}

// editedAgainOnThePhone edits mine, edited once on the phone already,
// once more there, and is the two replies carrying the edits, in the
// order they were stored.
func editedAgainOnThePhone(t *testing.T, sc *userScene, mine matrixSent) []id.EventID {
	t.Helper()
	ctx := context.Background()
	edit := &network.Edit{Meta: mine.fromPhone(), Target: "msg-mine", ID: "edit-2",
		Parts: []network.Part{{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: "hello!"}}}}
	if err := mine.p.remoteEdit(ctx, sc.login, edit); err != nil {
		t.Fatalf("the second edit on the phone failed: %v", err)
	}
	parts, err := sc.db.Messages.GetParts(ctx, mine.p.Key, "msg-mine")
	if err != nil {
		t.Fatal(err)
	}
	var replies []id.EventID
	for _, part := range parts {
		if isEditReply(part) {
			replies = append(replies, part.EventID)
		}
	}
	if len(replies) != 2 {
		t.Fatalf("%d replies carrying her edits stored, want two", len(replies))
	}
	return replies
}

// noticesSoFar is the notices in room that alice's sync has, once it has
// all sent before now: a message of hers sent now comes after them.
func noticesSoFar(t *testing.T, sc *userScene, room id.RoomID) []*event.Event {
	t.Helper()
	sent, err := sc.alice.Client.SendText(context.Background(), room, "that is all")
	if err != nil {
		t.Fatal(err)
	}
	sc.alice.WaitForEvent(t, room, 30*time.Second, func(evt *event.Event) bool { return evt.ID == sent.EventID })
	var notices []*event.Event
	for _, evt := range sc.alice.Events(room) {
		if evt.Type == event.EventMessage && evt.Content.AsMessage().MsgType == event.MsgNotice {
			notices = append(notices, evt)
		}
	}
	return notices
}

// raiseRedactionLevel has room's redactions need level 50, which Ferry's
// ghosts lack (Element's "Remove messages sent by me"); with botBelow,
// the bot lacks it too.
func raiseRedactionLevel(t *testing.T, sc *userScene, room id.RoomID, botBelow bool) {
	t.Helper()
	ctx := context.Background()
	bot := sc.as.BotClient()
	var levels event.PowerLevelsEventContent
	if err := bot.StateEvent(ctx, room, event.StatePowerLevels, "", &levels); err != nil {
		t.Fatal(err)
	}
	if levels.Events == nil {
		levels.Events = map[string]int{}
	}
	levels.Events[event.EventRedaction.Type] = 50
	if botBelow {
		levels.SetUserLevel(bot.UserID, 0)
	}
	if _, err := bot.SendStateEvent(ctx, room, event.StatePowerLevels, "", &levels); err != nil {
		t.Fatal(err)
	}
}

// redactThen is client, doing then once it handed a deletion to the
// network.
type redactThen struct {
	*testnet.Client
	then func()
}

func (c redactThen) Redact(ctx context.Context, r *network.OutgoingRedaction) error {
	err := c.Client.Redact(ctx, r)
	c.then()
	return err
}
