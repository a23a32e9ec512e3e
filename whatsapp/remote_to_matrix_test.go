package whatsapp

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

var msgTime = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func textEvent(id string, src types.MessageSource, text string) *events.Message {
	return &events.Message{
		Info:       types.MessageInfo{MessageSource: src, ID: id, Timestamp: msgTime, PushName: "Bob"},
		RawMessage: &waE2E.Message{Conversation: proto.String(text)},
	}
}

func dmPortal(chat types.JID) network.PortalKey { return privatePortal(chat, ownLogin) }

// TestIncomingPortalsAndSenders pins where a message lands and who sent
// it, for every way WhatsApp addresses people.
func TestIncomingPortalsAndSenders(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		env := newEnv(t, db.Database, "")
		// Dana's LID is known to the login's store (say, from a DM).
		danaPN, danaLID := types.NewJID("4915100000004", types.DefaultUserServer), types.NewJID("400000000004", types.HiddenUserServer)
		if err := env.device.LIDs.PutLIDMapping(env.ctx, danaLID, danaPN); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name   string
			src    types.MessageSource
			portal network.PortalKey
			sender network.UserID
			fromMe bool
		}{
			{"DM by phone number", types.MessageSource{Chat: bobPN, Sender: bobPN},
				dmPortal(bobPN), "4915100000002", false},
			{"DM by LID with the number alongside", types.MessageSource{Chat: bobLID, Sender: bobLID, SenderAlt: bobPN, AddressingMode: types.AddressingModeLID},
				dmPortal(bobPN), "4915100000002", false},
			{"DM by LID, number from the store", types.MessageSource{Chat: danaLID, Sender: danaLID},
				dmPortal(danaPN), "4915100000004", false},
			{"DM by LID, number unknown", types.MessageSource{Chat: carlLID, Sender: carlLID},
				dmPortal(carlLID), "lid-300000000003", false},
			{"own message from the phone", types.MessageSource{Chat: bobPN, Sender: ownPN, IsFromMe: true},
				dmPortal(bobPN), "4915100000001", true},
			{"own message into a LID chat", types.MessageSource{Chat: bobLID, Sender: ownLID, IsFromMe: true, RecipientAlt: bobPN},
				dmPortal(bobPN), "4915100000001", true},
			{"group, sender by phone number", types.MessageSource{Chat: group, Sender: bobPN, IsGroup: true},
				groupPortal(group), "4915100000002", false},
			{"group, LID sender with number shown", types.MessageSource{Chat: group, Sender: bobLID, SenderAlt: bobPN, IsGroup: true},
				groupPortal(group), "4915100000002", false},
			{"group, LID sender whose number only the store knows", types.MessageSource{Chat: group, Sender: danaLID, IsGroup: true},
				groupPortal(group), "lid-400000000004", false},
			{"broadcast list message", types.MessageSource{Chat: types.NewJID("1700000000", types.BroadcastServer), Sender: bobPN},
				dmPortal(bobPN), "4915100000002", false},
		}
		for i, tc := range cases {
			id := "MSG" + string(rune('A'+i))
			if ok := env.dispatch(textEvent(id, tc.src, "hi")); !ok {
				t.Errorf("%s: not acknowledged", tc.name)
			}
			_, handled := env.host.take()
			if len(handled) != 1 {
				t.Errorf("%s: %d events handled, want 1", tc.name, len(handled))
				continue
			}
			msg, ok := handled[0].(*network.Message)
			if !ok {
				t.Errorf("%s: got %T", tc.name, handled[0])
				continue
			}
			want := network.Meta{Portal: tc.portal, Sender: network.Sender{User: tc.sender, FromMe: tc.fromMe}, Timestamp: msgTime, CreatePortal: true}
			if msg.Meta != want || msg.ID != network.MessageID(id) {
				t.Errorf("%s:\n got  %+v %s\n want %+v %s", tc.name, msg.Meta, msg.ID, want, id)
			}
			if len(msg.Parts) != 1 || msg.Parts[0].Content.Body != "hi" {
				t.Errorf("%s: parts %+v", tc.name, msg.Parts)
			}
			key, err := env.conn.msgs.get(env.ctx, ownLogin, tc.portal.Chat, id)
			if err != nil || key == nil || key.FromMe != tc.fromMe || key.ChatJID != tc.src.Chat.ToNonAD() {
				t.Errorf("%s: stored key %+v, %v", tc.name, key, err)
			}
		}
	})
}

func TestIncomingIgnoresStatusAndNewsletters(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	for _, src := range []types.MessageSource{
		{Chat: types.StatusBroadcastJID, Sender: bobPN},
		{Chat: types.NewJID("120363000000000099", types.NewsletterServer), Sender: bobPN},
		{Chat: types.NewJID("1700000000", types.BroadcastServer), Sender: ownPN, IsFromMe: true},
	} {
		if !env.dispatch(textEvent("X", src, "status")) {
			t.Errorf("%s: not acknowledged", src.Chat)
		}
	}
	if q, h := env.host.take(); len(q)+len(h) > 0 {
		t.Errorf("bridged %d+%d events", len(q), len(h))
	}
}

func TestIncomingKinds(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	src := types.MessageSource{Chat: group, Sender: bobPN, IsGroup: true}
	key := &waCommon.MessageKey{RemoteJID: proto.String(group.String()), ID: proto.String("ORIG"), Participant: proto.String(bobPN.String())}
	reply := &events.Message{Info: types.MessageInfo{MessageSource: src, ID: "R1", Timestamp: msgTime}, RawMessage: &waE2E.Message{
		ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("yes"), ContextInfo: &waE2E.ContextInfo{
			StanzaID: proto.String("ORIG"), Participant: proto.String(ownPN.String()), QuotedMessage: &waE2E.Message{Conversation: proto.String("?")},
		}},
	}}
	edit := &events.Message{Info: types.MessageInfo{MessageSource: src, ID: "E1", Timestamp: msgTime}, RawMessage: &waE2E.Message{
		ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_MESSAGE_EDIT.Enum(), Key: key,
			EditedMessage: &waE2E.Message{Conversation: proto.String("fixed")}},
	}}
	react := &events.Message{Info: types.MessageInfo{MessageSource: src, ID: "X1", Timestamp: msgTime}, RawMessage: &waE2E.Message{
		ReactionMessage: &waE2E.ReactionMessage{Key: key, Text: proto.String("👍")},
	}}
	unreact := &events.Message{Info: types.MessageInfo{MessageSource: src, ID: "X2", Timestamp: msgTime}, RawMessage: &waE2E.Message{
		ReactionMessage: &waE2E.ReactionMessage{Key: key, Text: proto.String("")},
	}}
	revoke := &events.Message{Info: types.MessageInfo{MessageSource: src, ID: "D1", Timestamp: msgTime}, RawMessage: &waE2E.Message{
		ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_REVOKE.Enum(), Key: key},
	}}
	for _, evt := range []*events.Message{reply, edit, react, unreact, revoke} {
		if !env.dispatch(evt) {
			t.Errorf("%s not acknowledged", evt.Info.ID)
		}
	}
	_, handled := env.host.take()
	if len(handled) != 5 {
		t.Fatalf("handled %d events: %+v", len(handled), handled)
	}
	meta := network.Meta{Portal: groupPortal(group), Sender: network.Sender{User: "4915100000002"}, Timestamp: msgTime}
	if m, ok := handled[0].(*network.Message); !ok || m.ReplyTo == nil || *m.ReplyTo != (network.MessageRef{ID: "ORIG"}) {
		t.Errorf("reply: %+v", handled[0])
	}
	// The edit carries its own message ID, by which the core tells it from
	// another edit to the same text.
	if e, ok := handled[1].(*network.Edit); !ok || e.ID != "E1" || e.Target != "ORIG" || e.Meta != meta || e.Parts[0].Content.Body != "fixed" {
		t.Errorf("edit: %+v", handled[1])
	}
	if r, ok := handled[2].(*network.Reaction); !ok || r.Target.ID != "ORIG" || r.Key != "👍\ufe0f" || r.Emoji != "" || r.Meta != meta {
		t.Errorf("reaction: %+v", handled[2])
	}
	if r, ok := handled[3].(*network.ReactionRemove); !ok || r.Target.ID != "ORIG" || r.Meta != meta {
		t.Errorf("reaction removal: %+v", handled[3])
	}
	if r, ok := handled[4].(*network.Redaction); !ok || r.Target != "ORIG" || r.Meta != meta {
		t.Errorf("revoke: %+v", handled[4])
	}
}

// TestAckFollowsHandleEvent: whatsmeow acknowledges a message only when
// the core bridged it, and gives up after maxAttempts.
func TestAckFollowsHandleEvent(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	env.host.handle = func(network.Event) error { return errors.New("homeserver down") }
	evt := textEvent("FAIL1", types.MessageSource{Chat: bobPN, Sender: bobPN}, "hi")
	for attempt := 1; attempt < maxAttempts; attempt++ {
		if env.dispatch(evt) {
			t.Fatalf("attempt %d acknowledged although bridging failed", attempt)
		}
	}
	if !env.dispatch(evt) {
		t.Errorf("attempt %d still unacknowledged: a message that never bridges would come back for ever", maxAttempts)
	}
	// A later success clears the count.
	env.host.handle = nil
	if !env.dispatch(textEvent("OK1", types.MessageSource{Chat: bobPN, Sender: bobPN}, "hi")) {
		t.Error("successful message not acknowledged")
	}
}

// TestSurvivesMalformedEvents feeds what WhatsApp (or a whatsmeow bug)
// could produce with fields missing.
func TestSurvivesMalformedEvents(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	for _, evt := range []any{
		&events.Message{},
		&events.Message{Info: types.MessageInfo{ID: "N1", MessageSource: types.MessageSource{Chat: bobPN}}},
		&events.Message{Info: types.MessageInfo{ID: "N2", MessageSource: types.MessageSource{Chat: group, IsGroup: true}}, RawMessage: &waE2E.Message{}},
		&events.Message{Info: types.MessageInfo{ID: "N3", MessageSource: types.MessageSource{Chat: bobPN, Sender: bobPN}},
			RawMessage: &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_REVOKE.Enum()}}},
		&events.Message{Info: types.MessageInfo{ID: "N4", MessageSource: types.MessageSource{Chat: bobPN, Sender: bobPN}},
			RawMessage: &waE2E.Message{EncReactionMessage: &waE2E.EncReactionMessage{}}},
		(*events.Message)(nil),
		&events.Receipt{},
		&events.Receipt{MessageSource: types.MessageSource{Chat: bobPN, Sender: bobPN}, Type: types.ReceiptTypeRead},
		&events.ChatPresence{},
		&events.GroupInfo{},
		&events.GroupInfo{JID: group, Name: &types.GroupName{}, Topic: &types.GroupTopic{}, Delete: &types.GroupDelete{}},
		&events.JoinedGroup{},
		&events.Picture{},
		&events.PushName{},
		&events.BusinessName{},
		&events.CallOffer{},
		&events.CallOfferNotice{},
		&events.UndecryptableMessage{},
		&events.HistorySync{},
		&events.LoggedOut{},
		&events.TemporaryBan{},
		&events.ConnectFailure{},
		&events.StreamError{},
		&events.Blocklist{},
		struct{}{},
		nil,
	} {
		env.dispatch(evt)
	}
	// A panic inside the handler is survived and leaves the message for
	// redelivery.
	env.host.handle = func(network.Event) error { panic("core exploded") }
	if env.dispatch(textEvent("P1", types.MessageSource{Chat: bobPN, Sender: bobPN}, "boom")) {
		t.Error("a message whose handling panicked was acknowledged")
	}
}

func TestIncomingReceiptsAndTyping(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	// Two messages Ferry saw; the receipt lists them oldest first.
	for i, id := range []string{"OLD", "NEW"} {
		evt := textEvent(id, types.MessageSource{Chat: bobPN, Sender: ownPN, IsFromMe: true}, "x")
		evt.Info.Timestamp = msgTime.Add(time.Duration(i) * time.Minute)
		env.dispatch(evt)
	}
	env.host.take()
	src := types.MessageSource{Chat: bobPN, Sender: bobPN}
	env.dispatch(&events.Receipt{MessageSource: src, MessageIDs: []types.MessageID{"OLD", "NEW"}, Timestamp: msgTime, Type: types.ReceiptTypeRead})
	env.dispatch(&events.Receipt{MessageSource: src, MessageIDs: []types.MessageID{"NEW"}, Type: types.ReceiptTypeDelivered})
	env.dispatch(&events.Receipt{MessageSource: types.MessageSource{Chat: bobPN, Sender: ownPN, IsFromMe: true}, MessageIDs: []types.MessageID{"NEW"}, Type: types.ReceiptTypeReadSelf})
	env.dispatch(&events.ChatPresence{MessageSource: src, State: types.ChatPresenceComposing})
	env.dispatch(&events.ChatPresence{MessageSource: src, State: types.ChatPresencePaused})
	queued, _ := env.host.take()
	if len(queued) != 3 {
		t.Fatalf("queued %d events, want receipt and two typing: %+v", len(queued), queued)
	}
	if r, ok := queued[0].(*network.Receipt); !ok || r.Target != "NEW" || r.Portal != dmPortal(bobPN) || r.Sender.User != "4915100000002" {
		t.Errorf("receipt: %+v", queued[0])
	}
	if ty, ok := queued[1].(*network.Typing); !ok || ty.Timeout != typingTimeout || ty.Portal != dmPortal(bobPN) {
		t.Errorf("typing: %+v", queued[1])
	}
	if ty, ok := queued[2].(*network.Typing); !ok || ty.Timeout != 0 {
		t.Errorf("paused: %+v", queued[2])
	}
}

func TestIncomingGroupChanges(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	admin := bobPN
	env.dispatch(&events.GroupInfo{
		JID: group, Sender: &admin, Timestamp: msgTime,
		Name:    &types.GroupName{Name: "Climbing"},
		Topic:   &types.GroupTopic{Topic: "Saturdays"},
		Promote: []types.JID{carlLID},
		Join:    []types.JID{carlLID, ownPN},
		Leave:   []types.JID{bobPN, types.NewJID("4915100000009", types.DefaultUserServer), ownLID},
	})
	queued, _ := env.host.take()
	if len(queued) != 5 {
		t.Fatalf("queued %d events: %+v", len(queued), queued)
	}
	change, ok := queued[0].(*network.ChatInfoChange)
	if !ok || *change.Info.Name != "Climbing" || *change.Info.Topic != "Saturdays" || change.Portal != groupPortal(group) ||
		len(change.Info.Members.Members) != 1 || change.Info.Members.Members[0].User != "lid-300000000003" ||
		*change.Info.Members.Members[0].PowerLevel != adminPowerLevel || change.Info.Members.IsFull {
		t.Errorf("info change: %+v", queued[0])
	}
	want := []struct {
		target network.UserID
		action network.MembershipAction
		me     bool
	}{
		{"lid-300000000003", network.MembershipJoin, false},
		{"4915100000002", network.MembershipLeave, false},
		{"4915100000009", network.MembershipKick, false},
		{"4915100000001", network.MembershipKick, true},
	}
	for i, w := range want {
		m, ok := queued[i+1].(*network.Membership)
		if !ok || m.Target != w.target || m.Action != w.action || m.TargetIsMe != w.me || m.Sender.User != "4915100000002" || m.Timestamp != msgTime {
			t.Errorf("membership %d: %+v, want %+v", i, queued[i+1], w)
		}
	}
	env.dispatch(&events.JoinedGroup{GroupInfo: types.GroupInfo{JID: group, GroupName: types.GroupName{Name: "New"},
		Participants: []types.GroupParticipant{{JID: ownPN}, {JID: bobLID, PhoneNumber: bobPN, IsAdmin: true}}}})
	env.dispatch(&events.Picture{JID: group, Author: bobPN, PictureID: "pic2", Timestamp: msgTime})
	env.dispatch(&events.Picture{JID: group, Author: bobPN, Remove: true, Timestamp: msgTime})
	queued, _ = env.host.take()
	if len(queued) != 3 {
		t.Fatalf("queued %d events: %+v", len(queued), queued)
	}
	if r, ok := queued[0].(*network.ChatResync); !ok || !r.CreatePortal || *r.Info.Name != "New" || len(r.Info.Members.Members) != 2 ||
		!r.Info.Members.Members[0].IsMe || r.Info.Members.Members[1].User != "4915100000002" {
		t.Errorf("joined group: %+v", queued[0])
	}
	if c, ok := queued[1].(*network.ChatInfoChange); !ok || c.Info.Avatar == nil || c.Info.Avatar.ID != "pic2" || c.Info.Avatar.Remove || c.Info.Avatar.Get == nil {
		t.Errorf("picture: %+v", queued[1])
	}
	if c, ok := queued[2].(*network.ChatInfoChange); !ok || c.Info.Avatar == nil || !c.Info.Avatar.Remove {
		t.Errorf("picture removal: %+v", queued[2])
	}
}

func TestIncomingNamesAndCalls(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	if _, _, err := env.device.Contacts.PutPushName(env.ctx, bobPN, "Bobby"); err != nil {
		t.Fatal(err)
	}
	env.dispatch(&events.PushName{JID: bobPN, NewPushName: "Bobby", OldPushName: "Bob"})
	env.dispatch(&events.Picture{JID: bobPN, PictureID: "p9"})
	env.host.mu.Lock()
	ghosts := env.host.ghosts
	env.host.mu.Unlock()
	if len(ghosts) != 2 || ghosts[0].User != "4915100000002" || ghosts[0].Info.Name == nil || *ghosts[0].Info.Name != "Bobby (WhatsApp)" ||
		ghosts[1].Info.Avatar == nil || ghosts[1].Info.Avatar.ID != "p9" {
		t.Errorf("ghost updates: %+v", ghosts)
	}
	if !env.dispatch(&events.CallOffer{BasicCallMeta: types.BasicCallMeta{From: bobPN, CallCreator: bobPN, CallID: "C1", Timestamp: msgTime}}) {
		t.Error("call not acknowledged")
	}
	_, handled := env.host.take()
	if len(handled) != 1 {
		t.Fatalf("handled %+v", handled)
	}
	m, ok := handled[0].(*network.Message)
	if !ok || m.ID != "call-C1" || m.Portal != dmPortal(bobPN) || !m.CreatePortal || m.Parts[0].Content.MsgType != event.MsgNotice ||
		!strings.Contains(m.Parts[0].Content.Body, "Incoming call from Bobby") || !strings.Contains(m.Parts[0].Content.Body, "cannot be bridged") {
		t.Errorf("call notice: %+v %+v", handled[0], m.Parts[0].Content)
	}
}

func TestConnectionStates(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	cases := []struct {
		evt  any
		kind network.StateKind
		text string
	}{
		{&events.Connected{}, network.StateConnected, ""},
		{&events.Disconnected{}, network.StateTransientDisconnect, "reconnecting"},
		{&events.KeepAliveTimeout{}, network.StateTransientDisconnect, "stopped answering"},
		{&events.KeepAliveRestored{}, network.StateConnected, ""},
		{&events.LoggedOut{Reason: events.ConnectFailureLoggedOut}, network.StateLoggedOut, "logged out from the phone: send `login whatsapp` to link again"},
		{&events.LoggedOut{Reason: events.ConnectFailureMainDeviceGone}, network.StateLoggedOut, "send `login whatsapp`"},
		// whatsmeow reconnects after none of these: the user hears at once
		// what to do.
		{&events.StreamReplaced{}, network.StateStopped, "took over this WhatsApp session (is Ferry running twice, or another bridge linked with the same session?); send `reconnect whatsapp` to take it back"},
		{&events.TemporaryBan{Code: events.TempBanSentToTooManyPeople, Expire: time.Hour}, network.StateStopped, "banned this account for a while (code 101: you sent too many messages to people who don't have you in their address books) until about"},
		{&events.TemporaryBan{Code: events.TempBanBlockedByUsers, Expire: time.Hour}, network.StateStopped, "(in 1h0m0s); Ferry connects again by itself then"},
		{&events.TemporaryBan{Code: events.TempBanBlockedByUsers}, network.StateStopped, "the ban's end is unknown: send `reconnect whatsapp` to connect again later"},
		{&events.ClientOutdated{}, network.StateStopped, "outdated (405); the bridge administrator must update Ferry, then send `reconnect whatsapp`"},
		{&events.ConnectFailure{Reason: events.ConnectFailureBadUserAgent, Message: "bad ua"}, network.StateStopped, "refused the connection (409: client user agent was rejected, bad ua); send `reconnect whatsapp` to connect again"},
		{&events.CATRefreshError{Error: errors.New("token endpoint down")}, network.StateStopped, "could not renew its WhatsApp connection token (token endpoint down); send `reconnect whatsapp`"},
		// An unknown stream error: whatsmeow reconnects by itself.
		{&events.StreamError{Code: "999"}, network.StateUnknownError, "error 999"},
	}
	for _, tc := range cases {
		if !env.dispatch(tc.evt) {
			t.Errorf("%T not acknowledged", tc.evt)
		}
		st := env.host.lastState()
		if st.Kind != tc.kind || !strings.Contains(st.Message, tc.text) {
			t.Errorf("%T: state %+v, want %s containing %q", tc.evt, st, tc.kind, tc.text)
		}
	}
	_ = context.Background()
}

// TestCaptionEditReachesTheCoreWithoutAFile: a WhatsApp caption edit of a
// photo reaches the core as text only, which keeps the photo (its
// caption-edit path); with Media the core would try to download the edit's
// (absent) file and put an error notice where the photo was.
func TestCaptionEditReachesTheCoreWithoutAFile(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	env.cl.wa = env.wa.Client // the real downloader
	env.dispatch(&events.Message{
		Info: types.MessageInfo{MessageSource: types.MessageSource{Chat: bobPN, Sender: bobPN}, ID: "EDIT1", Timestamp: msgTime, Edit: types.EditAttributeMessageEdit},
		RawMessage: &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
			Type:          waE2E.ProtocolMessage_MESSAGE_EDIT.Enum(),
			Key:           &waCommon.MessageKey{ID: proto.String("IMG1"), RemoteJID: proto.String(bobPN.String())},
			EditedMessage: &waE2E.Message{ImageMessage: &waE2E.ImageMessage{Caption: proto.String("new caption")}},
		}},
	})
	_, handled := env.host.take()
	// The whole of a caption too long, if the photo had one, goes too.
	if got := handedOver(handled); got != "edit IMG1; redact IMG1/caption" {
		t.Fatalf("handed over %q, want the edit", got)
	}
	edit, ok := handled[0].(*network.Edit)
	if !ok || edit.Target != "IMG1" || len(edit.Parts) != 1 {
		t.Fatalf("got %+v, want an edit of IMG1", handled[0])
	}
	if p := edit.Parts[0]; p.Media != nil {
		_, err := p.Media(env.ctx)
		t.Errorf("the caption edit carries Media (its download: %v); the core would not keep the photo", err)
	} else if p.Content.MsgType != event.MsgImage || p.Content.Body != "new caption" || p.Content.URL != "" {
		t.Errorf("the caption edit's content is %+v; want an image's new caption and no file", p.Content)
	}
}

// banFor has WhatsApp refuse a connected login with a temporary ban of
// expire, and returns once the user was told.
func banFor(t *testing.T, env *testEnv, expire time.Duration) {
	t.Helper()
	old := banEndMargin
	banEndMargin = 0
	t.Cleanup(func() { banEndMargin = old })
	env.cl.Connect(env.ctx)
	waitConnect(t, env.wa)
	env.dispatch(&events.Connected{})
	env.dispatch(&events.TemporaryBan{Code: events.TempBanBlockedByUsers, Expire: expire})
	if st := env.host.lastState(); st.Kind != network.StateStopped {
		t.Fatalf("after the ban: %+v", st)
	}
}

// TestTemporaryBanConnectsAgainWhenItEnds: whatsmeow does not reconnect
// after a temporary ban; Ferry connects again once it has ended.
func TestTemporaryBanConnectsAgainWhenItEnds(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	banFor(t, env, 300*time.Millisecond)
	waitConnect(t, env.wa)
	env.dispatch(&events.Connected{})
	if st := env.host.lastState(); st.Kind != network.StateConnected {
		t.Errorf("after the ban: %+v", st)
	}
}

// TestTemporaryBanEndIsForgottenAtADisconnect: a login disconnected (or
// logged out) during its ban is not connected when the ban ends.
func TestTemporaryBanEndIsForgottenAtADisconnect(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	banFor(t, env, 300*time.Millisecond)
	env.cl.Disconnect()
	select {
	case <-env.wa.connects:
		t.Error("a disconnected login connected again when its ban ended")
	case <-time.After(time.Second):
	}
}
