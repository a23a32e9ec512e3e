package bridge_test

import (
	"strings"
	"testing"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// editMessage replaces the text of original, as a client's "edit" does.
func editMessage(t *testing.T, h *ferrytest.Harness, user *testbed.Client, room id.RoomID, original id.EventID, text string) id.EventID {
	t.Helper()
	edit := &event.MessageEventContent{MsgType: event.MsgText, Body: text}
	edit.SetEdit(original)
	resp, err := user.SendMessageEvent(h.Context(waitLong), room, event.EventMessage, edit)
	if err != nil {
		t.Fatal(err)
	}
	return resp.EventID
}

// editWithoutNewContent has user edit original in room to text as a
// client's mistake does: without m.new_content, only the fallback body
// ("* " and text). Matrix holds it no valid edit, but an edit all the same.
func editWithoutNewContent(t *testing.T, h *ferrytest.Harness, user *testbed.Client, room id.RoomID, original id.EventID, text string) {
	t.Helper()
	if _, err := user.SendMessageEvent(h.Context(waitLong), room, event.EventMessage, map[string]any{
		"msgtype":      "m.text",
		"body":         "* " + text,
		"m.relates_to": map[string]any{"rel_type": "m.replace", "event_id": original},
	}); err != nil {
		t.Fatal(err)
	}
}

// botSaidSince lists the bot's notices in room not in before that contain text.
func botSaidSince(h *ferrytest.Harness, user *testbed.Client, room id.RoomID, before map[id.EventID]bool, text string) []string {
	var said []string
	for _, evt := range user.Events(room) {
		if msg := evt.Content.AsMessage(); !before[evt.ID] && evt.Sender == h.BotMXID && msg != nil && strings.Contains(msg.Body, text) {
			said = append(said, msg.Body)
		}
	}
	return said
}

// TestEditedCommandRunsOnce: an edit runs its new text only as the
// correction of a command the bot did not know; a command that already
// ran (an edit fixing a typo in `logout whatsapp` after it ran, an edit
// of the correction) does not run again, and an edit of a login answer
// is never read as a command, which would echo the password.
func TestEditedCommandRunsOnce(t *testing.T) {
	tn := testnet.New()
	h := ferrytest.Start(t, ferrytest.Options{}, tn)
	alice := h.User("alice")
	mgmt := h.ManagementRoom(alice)

	// A command that ran is not run again by an edit.
	before := ferrytest.Seen(alice, mgmt)
	original := alice.SendText(t, mgmt, "version")
	h.WaitForBotNoticeExcept(alice, mgmt, "Ferry ", before)
	before = ferrytest.Seen(alice, mgmt)
	editMessage(t, h, alice, mgmt, original, "version")
	h.WaitForBotNoticeExcept(alice, mgmt, "send the corrected command as a new message", before)
	if again := botSaidSince(h, alice, mgmt, before, "Ferry "); len(again) > 0 {
		t.Errorf("the edit ran the command again: %q", again)
	}

	// The correction of an unknown command runs, once.
	before = ferrytest.Seen(alice, mgmt)
	typo := alice.SendText(t, mgmt, "verison")
	h.WaitForBotNoticeExcept(alice, mgmt, "Unknown command `verison`", before)
	before = ferrytest.Seen(alice, mgmt)
	editMessage(t, h, alice, mgmt, typo, "version")
	h.WaitForBotNoticeExcept(alice, mgmt, "Ferry ", before)
	before = ferrytest.Seen(alice, mgmt)
	editMessage(t, h, alice, mgmt, typo, "version ")
	h.WaitForBotNoticeExcept(alice, mgmt, "send the corrected command as a new message", before)
	if again := botSaidSince(h, alice, mgmt, before, "Ferry "); len(again) > 0 {
		t.Errorf("the second edit ran the command again: %q", again)
	}

	// A login answer corrected by an edit is not echoed as a command.
	h.Command(alice, mgmt, "login test alice", "password")
	answer := alice.SendText(t, mgmt, "hunter2")
	h.WaitForBotNotice(alice, mgmt, "Logged in to Testnet as alice")
	before = ferrytest.Seen(alice, mgmt)
	editMessage(t, h, alice, mgmt, answer, "hunter3")
	h.WaitForBotNoticeExcept(alice, mgmt, "to answer anew, start the login again", before)
	if echo := botSaidSince(h, alice, mgmt, before, "hunter3"); len(echo) > 0 {
		t.Errorf("the edited password was echoed: %q", echo)
	}
}

// TestEditWithoutNewContentIsNoAnswer: an edit that lacks its new
// content (m.new_content; a client's mistake, no valid edit) was read as
// a new message, its fallback "* " and the new text: while a login
// asked for a password, the edit of the `login` command was taken for
// the password. It is an edit, and like any edit answers no question.
// Its answer said to send the corrected command as a new message, which
// the login would have taken for the password: it says to put `!ferry`
// before it.
func TestEditWithoutNewContentIsNoAnswer(t *testing.T) {
	h := ferrytest.Start(t, ferrytest.Options{}, testnet.New())
	alice := h.User("alice")
	mgmt := h.ManagementRoom(alice)
	before := ferrytest.Seen(alice, mgmt)
	login := alice.SendText(t, mgmt, "login test carol")
	h.WaitForBotNoticeExcept(alice, mgmt, "password", before)

	before = ferrytest.Seen(alice, mgmt)
	editWithoutNewContent(t, h, alice, mgmt, login, "login test carole")
	refused := h.WaitForBotNoticeExcept(alice, mgmt, "An edit does not run a command again", before)
	// The corrected command, sent as a new message as told, would be
	// the password.
	if body := refused.Content.AsMessage().Body; !strings.Contains(body, "put `!ferry` before the command") {
		t.Errorf("the answer to the edit does not say that a command needs `!ferry` while the login asks: %q", body)
	}
	h.Command(alice, mgmt, testnet.WrongPassword, "wrong password")
	if said := botSaidSince(h, alice, mgmt, before, "Logged in"); len(said) > 0 {
		t.Errorf("the edit was taken for the password: %q", said)
	}
}
