package portals

import "testing"

// In a direct chat the user opened with a ghost, the bot was never
// invited: the chat's ghost acts for it (botOutside). A reaction the user
// made there from Matrix and changed or removed on the phone must go all
// the same: her account's ghost may not redact her event, and the bot,
// not in the room, cannot either.
func TestRemoteChangeOfAReactionSentFromMatrixInADirectChatWithoutTheBot(t *testing.T) {
	dc := newBotlessDirectChat(t)
	mr := matrixReactions{p: dc.p, db: dc.db, alice: dc.alice, login: dc.login, poster: dc.bob.Intent().Client, senderMXID: dc.bob.Intent().UserID}
	changed, removed := mr.changeAndRemoveOnPhone(t)
	wantGone(t, dc.alice.Client, dc.room, changed, removed)
}
