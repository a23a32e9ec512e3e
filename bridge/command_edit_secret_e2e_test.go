package bridge_test

import (
	"testing"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// TestEditOfASecretIsDeleted: a password corrected by an edit (of a
// login answer the bot deleted) is deleted as its first version was, and
// a command with a secret that runs as the correction of a typo is
// deleted in both versions: the typo held the secret too.
func TestEditOfASecretIsDeleted(t *testing.T) {
	tn := testnet.New()
	h := ferrytest.Start(t, ferrytest.Options{}, tn)
	alice := h.User("alice")
	mgmt := h.ManagementRoom(alice)
	redacted := func(target id.EventID) {
		t.Helper()
		alice.WaitForEvent(t, mgmt, waitLong, func(evt *event.Event) bool {
			return evt.Type == event.EventRedaction && evt.Redacts == target
		})
	}

	h.Command(alice, mgmt, "login test alice", "password")
	answer := alice.SendText(t, mgmt, "hunter2")
	h.WaitForBotNotice(alice, mgmt, "Logged in to Testnet as alice")
	redacted(answer)
	before := ferrytest.Seen(alice, mgmt)
	edit := editMessage(t, h, alice, mgmt, answer, "hunter3")
	redacted(edit)
	h.WaitForBotNoticeExcept(alice, mgmt, "I deleted your edit", before)
	if echo := botSaidSince(h, alice, mgmt, before, "hunter3"); len(echo) > 0 {
		t.Errorf("the edited password was echoed: %q", echo)
	}

	before = ferrytest.Seen(alice, mgmt)
	typo := alice.SendText(t, mgmt, "test secrett hunter2")
	h.WaitForBotNoticeExcept(alice, mgmt, "Unknown command `test secrett`", before)
	before = ferrytest.Seen(alice, mgmt)
	edit = editMessage(t, h, alice, mgmt, typo, "test secret hunter2")
	h.WaitForBotNoticeExcept(alice, mgmt, "Kept a secret of 7 characters.", before)
	redacted(edit)
	redacted(typo)
}
