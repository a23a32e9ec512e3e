package portals

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// A network's message for the user is Markdown, its words from outside
// escaped with network.Literal (network.UserError). The room's notice
// that a remote event was not bridged shows them as written: a nick _x_
// neither with the backslashes of its escape nor as emphasis, and the
// sender's ghost as its ID is.
func TestNotBridgedNoticeShowsTheNetworksWordsAsWritten(t *testing.T) {
	dc := newBotlessDirectChat(t)
	refusal := &network.UserError{Message: "the network refused the message to " + network.Literal("_x_") + ", saying " + network.CodeSpan("No such nick")}
	dc.p.reportRemoteFailure(context.Background(), dc.login, textFrom(dc.p, "bob", "msg-refused"), refusal)

	notice := awaitNoticeWith(t, dc.alice.Client, dc.room, "not bridged")
	ghost := dc.bob.Intent().UserID.String()
	for _, want := range []string{"A message from " + ghost + " was not bridged", "refused the message to _x_, saying"} {
		if !strings.Contains(notice.Body, want) {
			t.Errorf("the notice's body %q does not say %q", notice.Body, want)
		}
	}
	if strings.Contains(notice.Body, `\`) {
		t.Errorf("the notice's body %q shows the backslashes of escapes", notice.Body)
	}
	for _, want := range []string{"to _x_, saying", "<code>No such nick</code>"} {
		if !strings.Contains(notice.FormattedBody, want) {
			t.Errorf("the notice's formatted body %q does not have %q", notice.FormattedBody, want)
		}
	}
	if strings.Contains(notice.FormattedBody, "<em>") || strings.Contains(notice.FormattedBody, `\`) {
		t.Errorf("the notice's formatted body %q does not show the nick as written", notice.FormattedBody)
	}
}

// The homeserver's refusal is told in its own words, as written: its
// error text, which may hold anything, goes into the Markdown notice
// through network.Literal.
func TestHomeserverRefusalIsToldAsWritten(t *testing.T) {
	refusal := mautrix.HTTPError{RespError: &mautrix.RespError{ErrCode: "M_FORBIDDEN", Err: "*not* in <the> room"}}
	notice := noticeContent("⚠️ A message was not bridged: " + remoteFailureReason(fmt.Errorf("send: %w", refusal)))
	if want := "the homeserver refused it (M_FORBIDDEN: *not* in <the> room)"; !strings.Contains(notice.Body, want) {
		t.Errorf("the notice's body %q does not say %q", notice.Body, want)
	}
	if f := notice.FormattedBody; f != "" && (strings.Contains(f, "<em>") || !strings.Contains(f, "*not* in &lt;the&gt; room")) {
		t.Errorf("the notice's formatted body %q does not show the homeserver's words as written", f)
	}
}

// awaitNoticeWith is the newest notice in room, as client sees it, that
// contains word in its body, waited for a while: Dendrite may list a
// just-sent event a moment late.
func awaitNoticeWith(t *testing.T, client *mautrix.Client, room id.RoomID, word string) *event.MessageEventContent {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if notice := noticeContentWith(t, client, room, word); notice != nil {
			return notice
		}
		if time.Now().After(deadline) {
			t.Fatalf("no notice in the room says %q", word)
		}
	}
}

// noticeContentWith is the newest notice in room, as client sees it,
// that contains word in its body; nil if there is none.
func noticeContentWith(t *testing.T, client *mautrix.Client, room id.RoomID, word string) *event.MessageEventContent {
	t.Helper()
	resp, err := client.Messages(context.Background(), room, "", "", mautrix.DirectionBackward, nil, 20)
	if err != nil {
		t.Fatal(err)
	}
	for _, evt := range resp.Chunk {
		if evt.Type != event.EventMessage || evt.Content.ParseRaw(evt.Type) != nil {
			continue
		}
		if msg := evt.Content.AsMessage(); msg.MsgType == event.MsgNotice && strings.Contains(msg.Body, word) {
			return msg
		}
	}
	return nil
}
