package waconv

import (
	"context"
	"database/sql"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types"
	waLog "go.mau.fi/whatsmeow/util/log"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
)

var (
	ownJID = types.JID{User: "4917600000000", Server: types.DefaultUserServer, Device: 12}
	ownLID = types.JID{User: "555000000000001", Server: types.HiddenUserServer, Device: 12}
)

// unconnectedClient is a real whatsmeow client over an in-memory store,
// logged in as ownJID/ownLID but never connected.
func unconnectedClient(t *testing.T) *whatsmeow.Client {
	t.Helper()
	db, err := sql.Open("sqlite3", "file::memory:?_foreign_keys=on")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	container := sqlstore.NewWithDB(db, "sqlite3", waLog.Noop)
	if err = container.Upgrade(context.Background()); err != nil {
		t.Fatal(err)
	}
	device := container.NewDevice()
	device.ID = &ownJID
	device.LID = ownLID
	return whatsmeow.NewClient(device, waLog.Noop)
}

// timestamps clears the send-time fields Build* fill from the clock and
// checks that they are within [before, after].
func timestamps(t *testing.T, msg *waE2E.Message, before, after time.Time) {
	t.Helper()
	var ts *int64
	if pm := msg.GetEditedMessage().GetMessage().GetProtocolMessage(); pm != nil {
		ts, pm.TimestampMS = pm.TimestampMS, nil
	} else if r := msg.GetReactionMessage(); r != nil {
		ts, r.SenderTimestampMS = r.SenderTimestampMS, nil
	}
	if ts == nil || *ts < before.UnixMilli() || *ts > after.UnixMilli() {
		t.Errorf("timestamp %v not within [%v, %v]", ts, before.UnixMilli(), after.UnixMilli())
	}
}

func TestEditMessage(t *testing.T) {
	cli := unconnectedClient(t)
	content := &event.MessageEventContent{
		MsgType: event.MsgText, Body: "fixed", Format: event.FormatHTML, FormattedBody: "<b>fixed</b>",
	}
	before := time.Now()
	got, err := EditMessage(context.Background(), cli, groupJID, "3EB0OLD", content, OutDeps{})
	if err != nil {
		t.Fatal(err)
	}
	inner, _ := FromMatrix(context.Background(), content, nil, nil, OutDeps{})
	real := cli.BuildEdit(groupJID, "3EB0OLD", inner)
	after := time.Now()
	timestamps(t, got, before, after)
	timestamps(t, real, before, after)
	if !proto.Equal(got, real) {
		t.Errorf("EditMessage differs from BuildEdit:\n got %v\nwant %v", got, real)
	}
	want := &waE2E.Message{EditedMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{
		ProtocolMessage: &waE2E.ProtocolMessage{
			Key:           &waCommon.MessageKey{FromMe: proto.Bool(true), ID: proto.String("3EB0OLD"), RemoteJID: proto.String(groupJID.String())},
			Type:          waE2E.ProtocolMessage_MESSAGE_EDIT.Enum(),
			EditedMessage: &waE2E.Message{Conversation: proto.String("*fixed*")},
		},
	}}}
	if !proto.Equal(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}

	_, err = EditMessage(context.Background(), cli, groupJID, "3EB0OLD",
		&event.MessageEventContent{MsgType: event.MsgImage, Body: "new caption", FileName: "a.jpg"}, OutDeps{})
	if network.UserMessage(err, "") != "only text can be edited on WhatsApp; send a new message instead" {
		t.Errorf("caption edit: %v", err)
	}
}

func TestRevokeMessage(t *testing.T) {
	cli := unconnectedClient(t)
	other := types.JID{User: "4915112345678", Server: types.DefaultUserServer, Device: 3}
	tests := []struct {
		name         string
		chat, sender types.JID
		want         *waCommon.MessageKey
	}{
		{"own, no sender", groupJID, types.EmptyJID,
			&waCommon.MessageKey{FromMe: proto.Bool(true), ID: proto.String("M1"), RemoteJID: proto.String(groupJID.String())}},
		{"own by phone JID", groupJID, ownJID,
			&waCommon.MessageKey{FromMe: proto.Bool(true), ID: proto.String("M1"), RemoteJID: proto.String(groupJID.String())}},
		{"own by LID", groupJID, ownLID,
			&waCommon.MessageKey{FromMe: proto.Bool(true), ID: proto.String("M1"), RemoteJID: proto.String(groupJID.String())}},
		{"admin revokes another member's", groupJID, other,
			&waCommon.MessageKey{FromMe: proto.Bool(false), ID: proto.String("M1"), RemoteJID: proto.String(groupJID.String()),
				Participant: proto.String("4915112345678@s.whatsapp.net")}},
		{"other's in a DM has no participant", aliceJID, aliceJID,
			&waCommon.MessageKey{FromMe: proto.Bool(false), ID: proto.String("M1"), RemoteJID: proto.String(aliceJID.String())}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RevokeMessage(cli, tt.chat, tt.sender, "M1")
			if real := cli.BuildRevoke(tt.chat, tt.sender, "M1"); !proto.Equal(got, real) {
				t.Errorf("differs from BuildRevoke:\n got %v\nwant %v", got, real)
			}
			want := &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_REVOKE.Enum(), Key: tt.want}}
			if !proto.Equal(got, want) {
				t.Errorf("got %v\nwant %v", got, want)
			}
		})
	}
}

func TestReactionMessage(t *testing.T) {
	cli := unconnectedClient(t)
	for _, tt := range []struct{ key, sent string }{
		{"❤️", "❤"}, {"👍🏽", "👍🏽"}, {"", ""},
	} {
		before := time.Now()
		got, err := ReactionMessage(cli, groupJID, aliceJID, "3EB0T", tt.key)
		if err != nil {
			t.Fatal(err)
		}
		real := cli.BuildReaction(groupJID, aliceJID, "3EB0T", tt.sent)
		after := time.Now()
		timestamps(t, got, before, after)
		timestamps(t, real, before, after)
		if !proto.Equal(got, real) {
			t.Errorf("%q differs from BuildReaction:\n got %v\nwant %v", tt.key, got, real)
		}
		want := &waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{
			Key: &waCommon.MessageKey{FromMe: proto.Bool(false), ID: proto.String("3EB0T"), RemoteJID: proto.String(groupJID.String()),
				Participant: proto.String(aliceJID.String())},
			Text: proto.String(tt.sent),
		}}
		if !proto.Equal(got, want) {
			t.Errorf("got %v\nwant %v", got, want)
		}
	}
	if _, err := ReactionMessage(cli, groupJID, aliceJID, "3EB0T", "mxc://example.org/emoji"); network.UserMessage(err, "") == "" {
		t.Errorf("custom emoji: %v", err)
	}
}
