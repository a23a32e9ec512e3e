package portals

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/puppets"
)

// Power levels in portal rooms. The bot alone holds 100 so that only it
// may turn on encryption (which Ferry cannot bridge yet); remote admins
// become moderators.
const (
	botPowerLevel   = 100
	adminPowerLevel = 50
)

// bridgeStateKey is the state key of m.bridge events: one per portal.
func (p *Portal) bridgeStateKey() string {
	return "ferry://" + url.PathEscape(string(p.Key.Network)) + "/" + url.PathEscape(string(p.Key.Chat))
}

func (p *Portal) bridgeInfo(name string) *event.BridgeEventContent {
	bot := p.m.matrix.BotMXID()
	return &event.BridgeEventContent{
		BridgeBot: bot,
		Creator:   bot,
		Protocol: event.BridgeInfoSection{
			ID:          string(p.Key.Network),
			DisplayName: p.m.dir.NetworkName(p.Key.Network),
		},
		Channel: event.BridgeInfoSection{
			ID:          string(p.Key.Chat),
			DisplayName: name,
		},
	}
}

// createRoom makes the Matrix room of the portal, with the information the
// login's client gives about the chat, and invites the login's user. With
// no login (a room made for an alias query) it makes an empty room named
// fallbackName that people join by alias.
func (p *Portal) createRoom(ctx context.Context, login *network.Login, fallbackName string, given *network.ChatInfo) error {
	return p.createRoomWith(ctx, login, fallbackName, given, false)
}

// createRoomWith is createRoom; inviteLater leaves the login's user out of
// the room for now (ensureUserIn invites them after a backfill).
func (p *Portal) createRoomWith(ctx context.Context, login *network.Login, fallbackName string, given *network.ChatInfo, inviteLater bool) error {
	log := zerolog.Ctx(ctx)
	info := &network.ChatInfo{}
	if given != nil {
		// The event that creates the room already says what the chat is.
		copied := *given
		info = &copied
	} else if login != nil {
		if client, ok := p.m.dir.Client(p.Key.Network, login.ID); ok {
			fetched, err := client.ChatInfo(ctx, p.Key.Chat)
			if err != nil {
				// The room is still worth creating: a message must not wait for
				// metadata. A later ChatResync fills it in.
				log.Warn().Err(err).Msg("Failed to get chat info, creating room without it")
			} else if fetched != nil {
				info = fetched
			}
		}
	}
	if login == nil {
		// A room made for an alias exists to be joined; the chat's own
		// rules apply once a login has joined it and reports them.
		info.InviteOnly = ptr(false)
	}
	name := fallbackName
	if info.Name != nil {
		name = *info.Name
	}
	if name == "" {
		name = string(p.Key.Chat)
	}
	bot := p.m.matrix.BotMXID()
	pl := &event.PowerLevelsEventContent{
		Users:           map[id.UserID]int{bot: botPowerLevel},
		Events:          map[string]int{event.StateEncryption.Type: botPowerLevel},
		StateDefaultPtr: ptr(adminPowerLevel),
	}
	bridgeInfo := p.bridgeInfo(name)
	req := &mautrix.ReqCreateRoom{
		// Never listed in the room directory, whatever the remote chat is:
		// a secret channel's name must not leak there.
		Visibility: "private",
		Preset:     "private_chat",
		IsDirect:   info.IsDirect,
		InitialState: []*event.Event{
			{Type: event.StateBridge, StateKey: ptr(p.bridgeStateKey()), Content: event.Content{Parsed: bridgeInfo}},
			{Type: event.StateHalfShotBridge, StateKey: ptr(p.bridgeStateKey()), Content: event.Content{Parsed: bridgeInfo}},
			{Type: event.StateJoinRules, StateKey: ptr(""), Content: event.Content{Parsed: &event.JoinRulesEventContent{JoinRule: p.joinRule(info)}}},
		},
		PowerLevelOverride: pl,
		RoomAliasName:      p.m.dir.AliasLocalpart(p.Key),
	}
	if login != nil && !inviteLater {
		req.Invite = []id.UserID{login.User}
	}
	if !info.IsDirect {
		req.Name = name
		p.Name, p.NameSet = name, true
	}
	if info.Topic != nil {
		req.Topic = *info.Topic
		p.Topic, p.TopicSet = *info.Topic, true
	}
	if info.Members != nil && login != nil {
		for _, member := range info.Members.Members {
			if member.PowerLevel == nil {
				continue
			}
			// The login's own account appears as the Matrix user, others as
			// ghosts; nobody but the bot reaches 100.
			mxid := login.User
			if !member.IsMe {
				mxid = p.m.ghosts.MXID(network.GhostKey{Network: p.Key.Network, User: member.User})
			}
			pl.Users[mxid] = min(*member.PowerLevel, botPowerLevel-1)
		}
	}
	room, err := p.m.matrix.CreateRoom(ctx, req)
	if err != nil && req.RoomAliasName != "" && errors.Is(err, mautrix.MRoomInUse) {
		// The alias points at an older room (created by hand, or before a
		// database reset): the portal gets a new room without it.
		log.Warn().Str("alias", req.RoomAliasName).Msg("Portal alias is taken, creating the room without it")
		req.RoomAliasName = ""
		room, err = p.m.matrix.CreateRoom(ctx, req)
	}
	if err != nil {
		return fmt.Errorf("create portal room: %w", err)
	}
	p.RoomID = room
	p.IsDirect = info.IsDirect
	p.OtherUser = info.OtherUser
	if err = p.m.db.Portals.Put(ctx, p.Portal); err != nil {
		return fmt.Errorf("store portal room: %w", err)
	}
	p.m.setRoom(p, room)
	log.Info().Stringer("room_id", room).Msg("Created portal room")
	if login == nil {
		return nil
	}
	if !inviteLater {
		if err = p.link(ctx, login); err != nil {
			return err
		}
	}
	if info.Avatar != nil {
		p.updateAvatar(ctx, info.Avatar)
	}
	if info.Members != nil {
		p.syncMembers(ctx, login, info.Members)
	}
	return nil
}

// joinRule: rooms of per-user chats are invite-only; shared chats are
// open to join (by alias) unless the remote chat is invite-only, in which
// case only those the bridge invites get in.
func (p *Portal) joinRule(info *network.ChatInfo) event.JoinRule {
	if p.Key.Receiver == "" && info.InviteOnly != nil && !*info.InviteOnly {
		return event.JoinRulePublic
	}
	return event.JoinRuleInvite
}

// link records that login's user takes part in the portal through login,
// and puts the room into the login's space.
func (p *Portal) link(ctx context.Context, login *network.Login) error {
	if err := p.putMember(ctx, login.User, login.ID); err != nil {
		return fmt.Errorf("store portal membership: %w", err)
	}
	p.m.addToSpace(ctx, p.Key.Network, login, p.RoomID)
	return nil
}

// ensureUserIn makes sure the login's Matrix user is in a shared portal
// room: a second Ferry user whose connection sees the chat is invited.
// It runs for every remote event, before the event is bridged, so a
// member is found in the portal's membership cache (members.go) rather
// than by a database read on that path; only someone the cache does not
// know is looked up in the database.
func (p *Portal) ensureUserIn(ctx context.Context, login *network.Login) error {
	member, err := p.memberLogin(ctx, login.User)
	if err != nil {
		return err
	}
	if member != nil {
		return nil
	}
	// A membership row through a login the bridge no longer has still
	// counts: the user is in the room.
	link, err := p.m.db.UserPortals.Get(ctx, login.User, p.Key)
	if err != nil {
		return fmt.Errorf("load portal membership: %w", err)
	}
	if link != nil {
		return nil
	}
	// In a direct chat the user opened with a ghost, the bot is no member
	// and may not invite: the chat's ghost invites back a user who left.
	inviter, err := p.botStandIn(ctx)
	if err != nil {
		return fmt.Errorf("find who invites the user: %w", err)
	}
	err = p.m.matrix.Retry(ctx, "invite user", func(ctx context.Context) error {
		var extra []map[string]any
		if p.IsDirect {
			extra = append(extra, map[string]any{"is_direct": true})
		}
		_, err := inviter.InviteUser(ctx, p.RoomID, &mautrix.ReqInviteUser{UserID: login.User}, extra...)
		if err != nil && puppets.IsAlreadyInRoom(err) {
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	return p.link(ctx, login)
}

// applyInfo brings name, topic, avatar and members in line with info.
func (p *Portal) applyInfo(ctx context.Context, login *network.Login, info *network.ChatInfo) {
	log := zerolog.Ctx(ctx)
	bot := p.m.matrix.Bot()
	if info.Name != nil && !p.IsDirect && (*info.Name != p.Name || !p.NameSet) {
		if _, err := p.m.matrix.SendState(ctx, bot, p.RoomID, event.StateRoomName, "", &event.RoomNameEventContent{Name: *info.Name}); err != nil {
			log.Warn().Err(err).Msg("Failed to set room name")
		} else {
			p.Name, p.NameSet = *info.Name, true
		}
	}
	if info.Topic != nil && (*info.Topic != p.Topic || !p.TopicSet) {
		if _, err := p.m.matrix.SendState(ctx, bot, p.RoomID, event.StateTopic, "", &event.TopicEventContent{Topic: *info.Topic}); err != nil {
			log.Warn().Err(err).Msg("Failed to set room topic")
		} else {
			p.Topic, p.TopicSet = *info.Topic, true
		}
	}
	if info.Avatar != nil {
		p.updateAvatar(ctx, info.Avatar)
	}
	if info.InviteOnly != nil && p.Key.Receiver == "" {
		rule := &event.JoinRulesEventContent{JoinRule: p.joinRule(info)}
		if _, err := p.m.matrix.SendState(ctx, bot, p.RoomID, event.StateJoinRules, "", rule); err != nil {
			log.Warn().Err(err).Msg("Failed to set join rule")
		}
	}
	if p.IsDirect && info.IsDirect && info.OtherUser != "" && info.OtherUser != p.OtherUser {
		// Before the members: the list's work then finds the new ghost in
		// the room and the old one gone (other_user.go).
		p.changeOtherUser(ctx, login, info.OtherUser)
	}
	if info.Members != nil {
		p.syncMembers(ctx, login, info.Members)
	}
	if err := p.m.db.Portals.Put(ctx, p.Portal); err != nil {
		log.Err(err).Msg("Failed to store portal info")
	}
}

func (p *Portal) updateAvatar(ctx context.Context, av *network.Avatar) {
	if av.ID == p.AvatarID && p.AvatarSet {
		return
	}
	log := zerolog.Ctx(ctx)
	var mxc id.ContentURI
	if !av.Remove && av.Get != nil {
		data, err := av.Get(ctx)
		if err != nil {
			log.Warn().Err(err).Msg("Failed to fetch chat avatar")
			return
		}
		mxc, err = p.m.matrix.Upload(ctx, p.m.matrix.Bot(), data, "", "avatar")
		if err != nil {
			log.Warn().Err(err).Msg("Failed to upload chat avatar")
			return
		}
	}
	if _, err := p.m.matrix.SendState(ctx, p.m.matrix.Bot(), p.RoomID, event.StateRoomAvatar, "", &event.RoomAvatarEventContent{URL: mxc.CUString()}); err != nil {
		log.Warn().Err(err).Msg("Failed to set room avatar")
		return
	}
	p.AvatarID, p.AvatarMXC, p.AvatarSet = av.ID, mxc.CUString(), true
}

// syncPowerLevels gives members whose level the network knows that level
// in the room (op and voice changes, admins promoted), as the bot, in a
// change built on the homeserver's levels (FreshPowerLevels): it carries
// them whole.
func (p *Portal) syncPowerLevels(ctx context.Context, login *network.Login, members *network.MemberList) {
	log := zerolog.Ctx(ctx)
	bot := p.m.matrix.Bot()
	want := make(map[id.UserID]int)
	for _, member := range members.Members {
		if member.PowerLevel == nil {
			continue
		}
		mxid := login.User
		if !member.IsMe {
			mxid = p.m.ghosts.MXID(network.GhostKey{Network: p.Key.Network, User: member.User})
		}
		want[mxid] = min(*member.PowerLevel, botPowerLevel-1)
	}
	if len(want) == 0 {
		return
	}
	// Most member lists (a names list at every join) change nothing:
	// the store's copy says so without a request. Only a change is
	// built on the homeserver's current levels, so that it does not undo
	// one the user made a moment ago that the store has not heard of.
	if cached, err := bot.PowerLevels(ctx, p.RoomID); err == nil && !powerLevelsDiffer(cached, want) {
		return
	}
	levels, err := p.m.matrix.FreshPowerLevels(ctx, bot, p.RoomID)
	if err != nil {
		log.Warn().Err(err).Msg("Failed to read power levels")
		return
	}
	if !powerLevelsDiffer(levels, want) {
		return
	}
	for mxid, level := range want {
		levels.SetUserLevel(mxid, level)
	}
	if _, err := p.m.matrix.SendState(ctx, bot, p.RoomID, event.StatePowerLevels, "", levels); err != nil {
		log.Warn().Err(err).Msg("Failed to update power levels")
	}
}

// powerLevelsDiffer reports whether levels gives any user in want
// another level than want does.
func powerLevelsDiffer(levels *event.PowerLevelsEventContent, want map[id.UserID]int) bool {
	for mxid, level := range want {
		if levels.GetUserLevel(mxid) != level {
			return true
		}
	}
	return false
}

func ptr[T any](v T) *T { return &v }
