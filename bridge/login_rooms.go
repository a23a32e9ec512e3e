package bridge

import (
	"context"
	"fmt"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/id"
)

// A login asks its questions in the management room it started in. When
// a newer direct chat with the bot becomes the management room before
// they are answered, the login goes on in the room it started in, where
// its question, its codes and its outcome are: the user's answer there
// still reaches it (the room was theirs alone when the login began), and
// an answer typed in the new management room is not taken for a command.

// flowAsksIn reports whether user's login flow waits for an answer in
// room.
func (b *Bridge) flowAsksIn(user id.UserID, room id.RoomID) bool {
	b.flowLock.Lock()
	flow := b.flows[user]
	b.flowLock.Unlock()
	if flow == nil || flow.room != room {
		return false
	}
	flow.lock.Lock()
	defer flow.lock.Unlock()
	return len(flow.asking) > 0
}

// flowRunning reports whether user has a login flow running.
func (b *Bridge) flowRunning(user id.UserID) bool {
	b.flowLock.Lock()
	defer b.flowLock.Unlock()
	return b.flows[user] != nil
}

// questionElsewhere returns the room where user's login flow waits for
// an answer, when that is not room, and whether the answer asked for is
// a secret.
func (b *Bridge) questionElsewhere(user id.UserID, room id.RoomID) (asking id.RoomID, secret bool) {
	b.flowLock.Lock()
	flow := b.flows[user]
	b.flowLock.Unlock()
	if flow == nil || flow.room == room {
		return "", false
	}
	flow.lock.Lock()
	defer flow.lock.Unlock()
	if len(flow.asking) == 0 {
		return "", false
	}
	return flow.room, flow.asking[0].Secret
}

// answerElsewhere answers c's message, which names no command, sent
// while the user's login waits for an answer in the room asking: it may
// be that answer, so it is not shown back, and deleted if a secret was
// asked for.
func (b *Bridge) answerElsewhere(ctx context.Context, c *commandContext, asking id.RoomID, secret bool) {
	zerolog.Ctx(ctx).Info().Stringer("asking_room_id", asking).Msg("A message that may answer a login question came to another room")
	text := fmt.Sprintf("Your login is waiting for your answer in the room it started in, [%[1]s](https://matrix.to/#/%[1]s): answer there, or send %[2]s.", asking, c.command("cancel"))
	if secret {
		b.holdsSecret(c.evt.ID)
		if b.redactSecret(ctx, c, false) {
			text += " I deleted your message here, in case it held your password."
		} else {
			text += " I could not delete your message here: delete it yourself if it holds your password."
		}
	}
	c.reply(text)
}
