package bridge

import (
	"context"
	"fmt"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
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

// sendLogin is how to start a login of net again, for user told in room
// that one ended: "Send `login net`", with where to send it when room is
// not user's management room. In an earlier one, where a login that
// began there asked on, a command without the prefix is not read, and
// a login is refused in any room but the management room.
func (b *Bridge) sendLogin(ctx context.Context, user id.UserID, room id.RoomID, net network.NetworkID) string {
	send := "Send `login " + string(net) + "`"
	mgmt, err := b.ManagementRoom(ctx, user)
	switch {
	case err != nil:
		zerolog.Ctx(ctx).Warn().Err(err).Msg("Failed to read the management room")
		return send
	case mgmt == room:
		return send
	case mgmt == "":
		return send + " in a direct chat with me"
	}
	return fmt.Sprintf("%s in your management room, [%[2]s](https://matrix.to/#/%[2]s),", send, mgmt)
}
