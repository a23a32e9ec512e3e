package bridge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/format"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/portals"
)

func managementRoomKey(user id.UserID) string { return "management_room:" + user.String() }

// isManagementRoom reports whether room is user's management room: the
// room they invited the bot to with no one else in it.
func (b *Bridge) isManagementRoom(ctx context.Context, user id.UserID, room id.RoomID) (bool, error) {
	stored, ok, err := b.DB.KV.Get(ctx, managementRoomKey(user))
	if err != nil {
		return false, err
	}
	return ok && id.RoomID(stored) == room, nil
}

// ManagementRoom returns user's management room, "" when they have none.
func (b *Bridge) ManagementRoom(ctx context.Context, user id.UserID) (id.RoomID, error) {
	stored, _, err := b.DB.KV.Get(ctx, managementRoomKey(user))
	return id.RoomID(stored), err
}

func (b *Bridge) handleMember(ctx context.Context, evt *event.Event) {
	member := evt.Content.AsMember()
	if member == nil || evt.StateKey == nil {
		return
	}
	target := id.UserID(*evt.StateKey)
	switch {
	case target == b.Matrix.BotMXID() && member.Membership == event.MembershipInvite:
		b.handleBotInvite(ctx, evt)
	case member.Membership == event.MembershipInvite && b.isOwnUser(target):
		b.handleGhostInvite(ctx, evt, target)
	case member.Membership == event.MembershipInvite && target != evt.Sender:
		b.managementRoomShared(ctx, evt.Sender, evt.RoomID)
		b.stopSharedFlows(ctx, evt.RoomID, target)
	case member.Membership == event.MembershipJoin && target == evt.Sender:
		b.memberJoined(ctx, evt.RoomID, target)
	case member.Membership == event.MembershipLeave && target == evt.Sender:
		// The user left their management room: forget it, so that the next
		// DM becomes the management room.
		if mgmt, err := b.isManagementRoom(ctx, target, evt.RoomID); err == nil && mgmt {
			_ = b.DB.KV.Delete(ctx, managementRoomKey(target))
			_, _ = b.Matrix.Bot().LeaveRoom(ctx, evt.RoomID)
		}
	}
}

// managementRoomShared handles an invite by owner of someone else into
// room. A management room is its user's alone: once they invite somebody,
// it is not one any more, and the bot says so. This also settles a race:
// a room created with the bot and another person invited at once can show
// the bot only itself and its inviter when it joins, the other invite
// arriving just after.
func (b *Bridge) managementRoomShared(ctx context.Context, owner id.UserID, room id.RoomID) {
	log := zerolog.Ctx(ctx)
	if mgmt, err := b.isManagementRoom(ctx, owner, room); err != nil {
		log.Err(err).Msg("Failed to check management room")
		return
	} else if !mgmt {
		return
	}
	if err := b.DB.KV.Delete(ctx, managementRoomKey(owner)); err != nil {
		log.Err(err).Msg("Failed to forget the shared management room")
		return
	}
	log.Info().Msg("Management room shared; it is one no more")
	if earlier := b.restoreEarlierManagementRoom(ctx, owner, room); earlier != "" {
		b.notice(ctx, room, fmt.Sprintf("This room has other people in it now, so it is not your management room any more: commands here need the `!ferry` prefix. Your management room is [%[1]s](https://matrix.to/#/%[1]s) again.", earlier))
		return
	}
	b.notice(ctx, room, "This room has other people in it now, so it is not your management room any more: commands here need the `!ferry` prefix. Invite me to a direct chat to manage your bridge.")
}

func (b *Bridge) handleBotInvite(ctx context.Context, evt *event.Event) {
	log := zerolog.Ctx(ctx)
	bot := b.Matrix.Bot()
	if b.Level(evt.Sender) < network.LevelRelay {
		log.Info().Msg("Declining invite from a user without permission")
		if err := b.Matrix.Leave(ctx, bot, evt.RoomID, "You are not allowed to use this bridge. Ask its administrator for access."); err != nil {
			log.Warn().Err(err).Msg("Failed to decline invite")
		}
		return
	}
	err := b.Matrix.Retry(ctx, "join room", func(ctx context.Context) error {
		_, err := bot.JoinRoomByID(ctx, evt.RoomID)
		return err
	})
	if err != nil {
		log.Err(err).Msg("Failed to accept invite")
		return
	}
	if b.isEncrypted(ctx, evt) {
		b.handleEncryption(ctx, evt.RoomID)
		return
	}
	others, err := b.otherMembers(ctx, evt.RoomID)
	if err != nil {
		log.Err(err).Msg("Failed to list members")
		return
	}
	if len(others) > 1 || (len(others) == 1 && !others[evt.Sender]) {
		b.notice(ctx, evt.RoomID, "Hello! I'm the Ferry bridge bot. This room has other people in it, so it is not your management room: commands here need the `!ferry` prefix. Invite me to a direct chat to manage your bridge.")
		return
	}
	earlier, err := b.ManagementRoom(ctx, evt.Sender)
	if err != nil {
		log.Err(err).Msg("Failed to read the earlier management room")
		return
	}
	if err = b.DB.KV.Set(ctx, managementRoomKey(evt.Sender), evt.RoomID.String()); err != nil {
		log.Err(err).Msg("Failed to store management room")
		return
	}
	log.Info().Msg("New management room")
	if earlier == evt.RoomID {
		earlier = ""
	}
	b.noteEarlierManagementRoom(ctx, evt.Sender, earlier)
	b.notice(ctx, evt.RoomID, "Hello! I'm the Ferry bridge bot. This is your management room: send `help` to see what I can do.")
	if earlier != "" && earlier != evt.RoomID {
		// Commands without the prefix go unanswered there from now on:
		// without a word, the user typing in it would hear nothing.
		b.notice(ctx, earlier, fmt.Sprintf("This is not your management room any more: your newer direct chat with me, [%[1]s](https://matrix.to/#/%[1]s), is. Commands here need the `!ferry` prefix.", evt.RoomID))
	}
}

// otherMembers lists who but the bot is joined to or invited into room.
// The member list can lag behind the bot's own join, so the bot is left
// out by ID rather than counted.
func (b *Bridge) otherMembers(ctx context.Context, room id.RoomID) (map[id.UserID]bool, error) {
	// Not the client's JoinedMembers or Members: they replace the room's
	// members in the state store with the list, undoing a membership
	// heard while the list was on its way (puppets' RoomMembers).
	members, err := b.Matrix.RoomMembers(ctx, room)
	if members == nil && err != nil {
		return nil, err
	}
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("Failed to record the room's members; the state store learns them from its events")
	}
	others := make(map[id.UserID]bool)
	for _, evt := range members {
		switch evt.Content.AsMember().Membership {
		case event.MembershipJoin, event.MembershipInvite:
			others[id.UserID(evt.GetStateKey())] = true
		}
	}
	delete(others, b.Matrix.BotMXID())
	return others, nil
}

// isEncrypted looks for m.room.encryption in the invite's stripped state,
// then in the room itself.
func (b *Bridge) isEncrypted(ctx context.Context, evt *event.Event) bool {
	for _, st := range evt.Unsigned.InviteRoomState {
		if st.Type == event.StateEncryption {
			return true
		}
	}
	var content event.EncryptionEventContent
	err := b.Matrix.Bot().StateEvent(ctx, evt.RoomID, event.StateEncryption, "", &content)
	return err == nil && content.Algorithm != ""
}

// handleEncryption leaves encrypted rooms: Ferry cannot read them yet, and
// staying would make messages look delivered when they are not.
func (b *Bridge) handleEncryption(ctx context.Context, room id.RoomID) {
	if portal, _ := b.Portals.ByRoom(ctx, room); portal != nil {
		// Only the bot may enable encryption in portals; nothing to do.
		return
	}
	b.notice(ctx, room, "This room is encrypted, and Ferry does not support encryption yet, so I cannot read anything here. I am leaving; please invite me to an unencrypted direct chat.")
	if _, err := b.Matrix.Bot().LeaveRoom(ctx, room); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("Failed to leave encrypted room")
	}
}

// noticeContent is markdown rendered as a notice.
func noticeContent(markdown string) *event.MessageEventContent {
	content := format.RenderMarkdown(markdown, true, false)
	content.MsgType = event.MsgNotice
	return &content
}

// notice sends a Markdown notice as the bot.
func (b *Bridge) notice(ctx context.Context, room id.RoomID, markdown string) id.EventID {
	evtID, err := b.Matrix.SendNotice(ctx, room, noticeContent(markdown))
	if err != nil {
		zerolog.Ctx(ctx).Err(err).Msg("Failed to send notice")
	}
	return evtID
}

// noticeUser sends a notice to user's management room, if they have one.
func (b *Bridge) noticeUser(ctx context.Context, user id.UserID, markdown string) {
	if err := b.NotifyUser(ctx, user, noticeContent(markdown)); err != nil {
		b.Log.Warn().Err(err).Stringer("user_id", user).Str("notice", markdown).Msg("Failed to send a notice to the user's management room")
	}
}

// errNoManagementRoom: a notice for a user who has no management room.
var errNoManagementRoom = errors.New("the user has no management room")

// NotifyUser implements portals.Directory: it posts content as the bot in
// user's management room.
func (b *Bridge) NotifyUser(ctx context.Context, user id.UserID, content *event.MessageEventContent) error {
	return b.NotifyUserTxn(ctx, user, content, "")
}

// The portals' notices held for a retry keep their transaction ID.
var _ portals.TxnNotifier = (*Bridge)(nil)

// NotifyUserTxn implements portals.TxnNotifier: NotifyUser under the
// transaction ID txnID ("": a new one). A portal's notice tried again
// (held through an outage, or at the stop) keeps its ID, so that a try
// the homeserver took but whose answer was lost is not posted twice.
func (b *Bridge) NotifyUserTxn(ctx context.Context, user id.UserID, content *event.MessageEventContent, txnID string) error {
	room, err := b.ManagementRoom(ctx, user)
	if err != nil {
		return fmt.Errorf("find the management room: %w", err)
	}
	if room == "" {
		return errNoManagementRoom
	}
	if _, err = b.Matrix.SendMessage(ctx, b.Matrix.Bot(), room, event.EventMessage, content, time.Time{}, txnID); err != nil {
		return fmt.Errorf("send the notice to the management room: %w", err)
	}
	return nil
}

func (b *Bridge) noticef(ctx context.Context, room id.RoomID, format string, args ...any) {
	b.notice(ctx, room, fmt.Sprintf(format, args...))
}

// handleGhostInvite turns a direct chat a user opens with a ghost into the
// DM portal with that person, through the first of the user's logins on
// the ghost's network that can reach them.
func (b *Bridge) handleGhostInvite(ctx context.Context, evt *event.Event, ghostID id.UserID) {
	log := zerolog.Ctx(ctx)
	key, ok := b.Ghosts.ParseMXID(ghostID)
	if !ok {
		return
	}
	intent := b.Matrix.Intent(ghostID)
	refuse := func(reason string) {
		log.Info().Str("reason", reason).Msg("Declining invite to a ghost")
		if err := intent.EnsureRegistered(ctx); err == nil {
			_ = b.Matrix.Leave(ctx, intent, evt.RoomID, reason)
		}
	}
	if b.Level(evt.Sender) < network.LevelUser {
		refuse("You are not allowed to use this bridge.")
		return
	}
	member := evt.Content.AsMember()
	if member == nil || !member.IsDirect {
		refuse("Ghosts join direct chats only: start a direct chat to talk to this person.")
		return
	}
	for _, le := range b.userLogins(evt.Sender, key.Network) {
		starter, ok := le.client.(network.DMStarter)
		if !ok {
			continue
		}
		portal, err := starter.StartDM(ctx, key.User)
		if errors.Is(err, network.ErrWrongAccount) {
			continue
		}
		if err != nil {
			refuse("Could not start the chat: " + network.UserMessage(err, "see the bridge log"))
			return
		}
		ghost, err := b.Ghosts.Get(ctx, key)
		if err == nil {
			err = b.Ghosts.EnsureRegistered(ctx, ghost)
		}
		if err != nil {
			log.Err(err).Msg("Failed to register ghost")
			return
		}
		existing, err := b.Portals.AdoptDM(ctx, portal, evt.RoomID, le.login.Load(), key.User, b.earlierDMEvents)
		if errors.Is(err, portals.ErrPortalExists) {
			_, _ = intent.JoinRoomByID(ctx, evt.RoomID)
			_, _ = intent.SendNotice(ctx, evt.RoomID, fmt.Sprintf("You already have a chat with me: https://matrix.to/#/%s", existing))
			_, _ = intent.LeaveRoom(ctx, evt.RoomID)
		} else if err != nil {
			log.Err(err).Msg("Failed to adopt direct chat")
			refuse("Could not set up the chat; see the bridge log.")
		}
		return
	}
	refuse(fmt.Sprintf("You are not logged in to %s with an account that can reach this person.", b.NetworkName(key.Network)))
}
