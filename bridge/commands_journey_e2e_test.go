package bridge_test

import (
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// TestPrefixedCommandInManagementRoom: the README tells people to start
// commands with `!ferry` in other rooms; someone who types the prefix in
// their management room too (from habit, or pasting `!ferry relay on`)
// gets the command run, not "Unknown command `!ferry`".
func TestPrefixedCommandInManagementRoom(t *testing.T) {
	h := ferrytest.Start(t, ferrytest.Options{}, testnet.New())
	alice := h.User("alice")
	mgmt := h.ManagementRoom(alice)

	h.Command(alice, mgmt, "!ferry version", "Ferry ")
	h.Command(alice, mgmt, "!ferry", "Send `help` for the list of commands.")
	h.Command(alice, mgmt, "!FERRY status", "You have no logins")
	// The prefix is a word of its own: "!ferryx" is no command.
	h.Command(alice, mgmt, "!ferryx status", "Unknown command `!ferryx`")
}

// TestLogoutAndReconnectSayWhatToType: `logout` and `reconnect` naming
// a network Ferry does not bridge, or an account the user does not
// have, say which, and answer with the exact commands that would work;
// so does `logout` of a network with several logins.
func TestLogoutAndReconnectSayWhatToType(t *testing.T) {
	tn := testnet.New()
	h := ferrytest.Start(t, ferrytest.Options{}, tn)
	alice := h.User("alice")
	mgmt := h.ManagementRoom(alice)

	h.Command(alice, mgmt, "reconnect", "You have no logins. Send `help` to see how to log in.")
	h.Command(alice, mgmt, "logout nowhere", "unknown network `nowhere`; this Ferry bridges `test`")
	h.Command(alice, mgmt, "reconnect nowhere", "unknown network `nowhere`; this Ferry bridges `test`")
	h.Command(alice, mgmt, "logout test", "you have no Testnet login (see `status`)")

	loginTest(t, h, tn, alice, mgmt, "alice")
	loginTest(t, h, tn, alice, mgmt, "carol")
	h.Command(alice, mgmt, "logout test", "you have several Testnet logins; name one: `logout test alice` or `logout test carol`")
	h.Command(alice, mgmt, "logout test dave", "you have no Testnet login `dave`; name one: `logout test alice` or `logout test carol`")
	h.Command(alice, mgmt, "reconnect test dave", "you have no Testnet login `dave`; name one: `reconnect test alice` or `reconnect test carol`")
	h.Command(alice, mgmt, "logout test carol", "Logged out of Testnet (carol)")
}

// TestSecretCommandOnlyInTheManagementRoom: a command carrying a password
// (`irc password`, `irc sasl`) given in a room others read is not run,
// as a login is not: the user is told to send it in the management room,
// and that others could read it; the message is deleted where the bot
// may (a portal), and the user is asked to delete it where it may not (a
// group room of theirs). In the management room it runs as before.
func TestSecretCommandOnlyInTheManagementRoom(t *testing.T) {
	s := newScene(t, false)
	h, alice := s.h, s.alice
	portalRoom := s.openPortal(t, "hello")
	group, err := alice.CreateRoom(h.Context(time.Minute), &mautrix.ReqCreateRoom{
		Preset: "private_chat", Invite: []id.UserID{h.BotMXID, h.User("dave").UserID},
	})
	if err != nil {
		t.Fatal(err)
	}
	h.WaitForBotNotice(alice, group.RoomID, "not your management room")

	redacted := func(room id.RoomID, secret id.EventID) {
		t.Helper()
		alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
			return evt.Type == event.EventRedaction && evt.Redacts == secret
		})
	}
	before := ferrytest.Seen(alice, portalRoom)
	secret := alice.SendText(t, portalRoom, "!ferry test secret hunter2")
	h.WaitForBotNoticeExcept(alice, portalRoom, "Not run here: send `test secret` in your management room", before)
	redacted(portalRoom, secret)

	before = ferrytest.Seen(alice, group.RoomID)
	alice.SendText(t, group.RoomID, "!ferry test secret hunter2")
	h.WaitForBotNoticeExcept(alice, group.RoomID, "I could not delete it: delete it yourself", before)

	for _, room := range []id.RoomID{portalRoom, group.RoomID} {
		for _, evt := range alice.Events(room) {
			if msg := evt.Content.AsMessage(); evt.Sender == h.BotMXID && msg != nil && strings.Contains(msg.Body, "Kept a secret") {
				t.Errorf("the secret command ran outside the management room: %q", msg.Body)
			}
		}
	}
	// Nor was it bridged.
	s.nothingSent(t)

	secret = alice.SendText(t, s.mgmt, "test secret hunter2")
	h.WaitForBotNotice(alice, s.mgmt, "Kept a secret of 7 characters.")
	redacted(s.mgmt, secret)
}

// TestEarlierManagementRoomSaysWhereCommandsGo: a second direct chat
// with the bot becomes the management room; the first, where commands
// without the prefix now go unanswered, is told so, with a link to the
// new one, rather than falling silent.
func TestEarlierManagementRoomSaysWhereCommandsGo(t *testing.T) {
	h := ferrytest.Start(t, ferrytest.Options{}, testnet.New())
	alice := h.User("alice")
	first := h.ManagementRoom(alice)
	second := h.ManagementRoom(alice)
	notice := h.WaitForBotNotice(alice, first, "not your management room any more")
	if body := notice.Content.AsMessage().Body; !strings.Contains(body, second.String()) || !strings.Contains(body, "`!ferry`") {
		t.Errorf("the earlier management room was told %q; want the new room and the prefix", body)
	}
	h.Command(alice, first, "!ferry version", "Ferry ")
	h.Command(alice, second, "version", "Ferry ")
}

// TestEditedCommandRuns: a command corrected by editing the message (as
// clients offer for a typo) runs as corrected, not as "Unknown command
// `*`" (the fallback body of an edit starts with "* ").
func TestEditedCommandRuns(t *testing.T) {
	h := ferrytest.Start(t, ferrytest.Options{}, testnet.New())
	alice := h.User("alice")
	mgmt := h.ManagementRoom(alice)

	before := ferrytest.Seen(alice, mgmt)
	typo := alice.SendText(t, mgmt, "verison")
	h.WaitForBotNoticeExcept(alice, mgmt, "Unknown command `verison`", before)
	before = ferrytest.Seen(alice, mgmt)
	edit := &event.MessageEventContent{MsgType: event.MsgText, Body: "version"}
	edit.SetEdit(typo)
	if _, err := alice.SendMessageEvent(h.Context(waitLong), mgmt, event.EventMessage, edit); err != nil {
		t.Fatal(err)
	}
	h.WaitForBotNoticeExcept(alice, mgmt, "Ferry ", before)
}

// TestListShowsChatNamesAsText: `list` shows each chat's name as its
// link's text. The name comes from the remote network, where anyone who
// names a group can put Markdown in it: it must not become a link of its
// own, to an address the user would take for their room.
func TestListShowsChatNamesAsText(t *testing.T) {
	s := newScene(t, false)
	evil := "Climbing](https://evil.example/) [club"
	s.tn.Chats["chat1"] = &network.ChatInfo{Name: &evil}
	s.openPortal(t, "hello")
	list := s.h.Command(s.alice, s.mgmt, "list", "Testnet: ")
	msg := list.Content.AsMessage()
	if strings.Contains(msg.FormattedBody, `href="https://evil.example/"`) {
		t.Errorf("a chat's name became a link of its own: %s", msg.FormattedBody)
	}
	if !strings.Contains(msg.FormattedBody, ">Climbing](https://evil.example/) [club</a>") {
		t.Errorf("the chat's name is not shown as it is: %q / %q", msg.Body, msg.FormattedBody)
	}
}

// TestUnknownNetworkCommandNamesItsFamily: a mistyped network command
// ("test pnig" for "test ping", "irc passwrod" for "irc password") is
// named as typed, not as "Unknown command `test`" (a word that does
// start commands), and answered with the commands that start alike; the
// family's word alone is answered the same way.
func TestUnknownNetworkCommandNamesItsFamily(t *testing.T) {
	h := ferrytest.Start(t, ferrytest.Options{}, testnet.New())
	alice := h.User("alice")
	mgmt := h.ManagementRoom(alice)

	h.Command(alice, mgmt, "test pnig now", "Unknown command `test pnig`. The `test` commands: `test ping`, `test panic`, `test secret`.")
	h.Command(alice, mgmt, "TEST", "Unknown command `TEST`. The `test` commands: `test ping`")
	h.Command(alice, mgmt, "frobnicate now", "Unknown command `frobnicate`. Send `help` for the list of commands.")
}

// TestPrefixedCancelDuringLoginQuestion: `!ferry cancel` while a login
// asks for a password cancels it, as `cancel` does, now that the prefix
// is allowed in the management room; it is not taken as the password.
func TestPrefixedCancelDuringLoginQuestion(t *testing.T) {
	h := ferrytest.Start(t, ferrytest.Options{}, testnet.New())
	alice := h.User("alice")
	mgmt := h.ManagementRoom(alice)

	h.Command(alice, mgmt, "login test carol", "password")
	h.Command(alice, mgmt, "!ferry cancel", "Login cancelled")
}
