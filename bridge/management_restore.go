package bridge

import (
	"context"
	"fmt"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/id"
)

// An earlier management room given back. A room created with the bot and
// someone else invited at once can show the bot only its inviter when it
// joins: the bot takes it for a new direct chat, makes it the management
// room and tells the earlier one it is not any more. The other invite,
// heard a moment later, makes the new room a shared one (managementRoomShared),
// and the user was left with no management room at all, their old direct
// chat answering only prefixed commands. So the room a new one displaced
// is remembered, and given back when the new one is shared, if it is
// still a direct chat between the user and the bot. The same holds when
// the user shares the newer room on purpose, weeks later: their earlier
// direct chat with the bot is the natural place to manage the bridge.

func earlierManagementRoomKey(user id.UserID) string {
	return "management_room_before:" + user.String()
}

// noteEarlierManagementRoom remembers earlier as the management room
// user had before the one just made; "" forgets any.
func (b *Bridge) noteEarlierManagementRoom(ctx context.Context, user id.UserID, earlier id.RoomID) {
	var err error
	if earlier == "" {
		err = b.DB.KV.Delete(ctx, earlierManagementRoomKey(user))
	} else {
		err = b.DB.KV.Set(ctx, earlierManagementRoomKey(user), earlier.String())
	}
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("Failed to store the earlier management room")
	}
}

// restoreEarlierManagementRoom makes the management room owner had
// before shared (the room just shared) theirs again, if the bot and owner
// are still its only members, and tells it so. It returns that room, ""
// when none was given back.
func (b *Bridge) restoreEarlierManagementRoom(ctx context.Context, owner id.UserID, shared id.RoomID) id.RoomID {
	log := zerolog.Ctx(ctx)
	stored, ok, err := b.DB.KV.Get(ctx, earlierManagementRoomKey(owner))
	if err != nil {
		log.Warn().Err(err).Msg("Failed to read the earlier management room")
		return ""
	}
	earlier := id.RoomID(stored)
	if !ok || earlier == "" || earlier == shared {
		return ""
	}
	b.noteEarlierManagementRoom(ctx, owner, "")
	// The bot may have left it, or the user invited others since: the
	// member list (which the bot can read only where it is) decides.
	others, err := b.otherMembers(ctx, earlier)
	if err != nil {
		log.Info().Err(err).Stringer("earlier_room", earlier).Msg("The earlier management room cannot be read; not giving it back")
		return ""
	}
	if len(others) != 1 || !others[owner] {
		return ""
	}
	if err = b.DB.KV.Set(ctx, managementRoomKey(owner), earlier.String()); err != nil {
		log.Err(err).Msg("Failed to store the earlier management room as the management room again")
		return ""
	}
	log.Info().Stringer("earlier_room", earlier).Msg("Earlier management room given back")
	b.notice(ctx, earlier, fmt.Sprintf("This is your management room again: the newer room, [%[1]s](https://matrix.to/#/%[1]s), has other people in it. Commands here need no prefix.", shared))
	return earlier
}
