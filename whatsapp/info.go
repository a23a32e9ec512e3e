package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/rs/zerolog"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"

	"github.com/ferrybridge/ferry/bridge/network"
)

// Power levels of WhatsApp group admins in the portal room.
const (
	adminPowerLevel      = 50
	superAdminPowerLevel = 75
)

// infoTimeout bounds one question to WhatsApp's servers.
const infoTimeout = 30 * time.Second

// userFor is the UserID of a person as a chat shows them. A LID becomes
// the phone number when WhatsApp sent the number with it (alt) or, in the
// login's private chats only, when whatsmeow's store knows the mapping.
// In group chats the store is not asked: its mapping may have been learnt
// privately (a contact, a DM), and a phone-number ghost in a shared room
// would show the number to every Ferry user in a group where WhatsApp
// hides it. (Group changes pass as alt the number that group showed; see
// groupMemberUser.)
func (c *Client) userFor(ctx context.Context, jid, alt types.JID, private bool) network.UserID {
	jid = jid.ToNonAD()
	if c.isMe(jid) || c.isMe(alt) {
		return c.remote
	}
	if jid.Server == types.HiddenUserServer {
		if alt.Server == types.DefaultUserServer {
			return userIDOf(alt)
		}
		if private {
			if pn := c.pnForLID(ctx, jid); !pn.IsEmpty() {
				return userIDOf(pn)
			}
		}
	}
	return userIDOf(jid)
}

func (c *Client) pnForLID(ctx context.Context, lid types.JID) types.JID {
	if c.device == nil || c.device.LIDs == nil {
		return types.EmptyJID
	}
	pn, err := c.device.LIDs.GetPNForLID(ctx, lid.ToNonAD())
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Stringer("lid", lid).Msg("Failed to look up the phone number of a LID")
		return types.EmptyJID
	}
	return pn.ToNonAD()
}

// dmChat is the JID a DM portal is keyed by: the person's phone number
// whenever it is known, so that one person has one room whichever ID
// their messages use; their LID only while the number is unknown.
func (c *Client) dmChat(ctx context.Context, chat, alt types.JID) types.JID {
	chat = chat.ToNonAD()
	if chat.Server != types.HiddenUserServer {
		return chat
	}
	if alt.Server == types.DefaultUserServer {
		return alt.ToNonAD()
	}
	if pn := c.pnForLID(ctx, chat); !pn.IsEmpty() {
		return pn
	}
	return chat
}

// portalFor is the portal of a chat; alt is the other ID of a DM partner.
func (c *Client) portalFor(ctx context.Context, chat, alt types.JID) network.PortalKey {
	if chat.Server == types.GroupServer {
		return groupPortal(chat)
	}
	key := privatePortal(c.dmChat(ctx, chat, alt), c.id)
	c.adoptLIDPortal(ctx, chat, alt, key)
	return key
}

// ChatInfo describes a group (from WhatsApp's servers) or a DM.
func (c *Client) ChatInfo(ctx context.Context, chat network.ChatID) (*network.ChatInfo, error) {
	jid, err := parseChatID(chat)
	if err != nil {
		return nil, err
	}
	if jid == types.StatusBroadcastJID {
		return statusRoomInfo(c.remote), nil
	}
	if jid.Server == types.GroupServer {
		wa, err := c.needSession()
		if err != nil {
			return nil, err
		}
		qctx, cancel := context.WithTimeout(ctx, infoTimeout)
		group, err := wa.GetGroupInfo(qctx, jid)
		cancel()
		if err != nil {
			return nil, userFacing(fmt.Errorf("get group info: %w", err))
		}
		c.conn.unbridged.noteGroup(group)
		info := c.groupInfo(ctx, group)
		info.Avatar = c.avatar(ctx, jid, group.IsParent)
		return info, nil
	}
	other := c.userFor(ctx, jid, types.EmptyJID, true)
	info := &network.ChatInfo{
		IsDirect:  true,
		OtherUser: other,
		Members: &network.MemberList{Members: []network.Member{
			{User: other},
			{User: c.remote, IsMe: true},
		}},
	}
	if otherJID, ok := parseUserID(other); ok {
		info.Name = c.conn.cfg.displayName(c.names(ctx, otherJID))
	}
	return info, nil
}

// groupInfo converts whatsmeow's group info for the core. Members are
// named by the phone number WhatsApp lists with them, or by LID where it
// lists none; the numbers are kept (keepGroupNumbers) so that later group
// changes, which name members by LID only, name the same ghosts.
func (c *Client) groupInfo(ctx context.Context, g *types.GroupInfo) *network.ChatInfo {
	c.keepGroupNumbers(ctx, g)
	name, topic := g.Name, g.Topic
	if g.TopicDeleted {
		topic = ""
	}
	info := &network.ChatInfo{Name: &name, Topic: &topic, Members: &network.MemberList{IsFull: true}}
	for _, p := range g.Participants {
		if p.JID.IsEmpty() {
			continue
		}
		member := network.Member{User: c.participantUser(p)}
		member.IsMe = member.User == c.remote
		level := 0
		switch {
		case p.IsSuperAdmin:
			level = superAdminPowerLevel
		case p.IsAdmin:
			level = adminPowerLevel
		}
		member.PowerLevel = &level
		info.Members.Members = append(info.Members.Members, member)
	}
	return info
}

// groupMemberUser is the UserID of a person a change of group names (who
// made it; who left, was promoted or demoted; a picture's author) as the
// room's member list names them (participantUser): by the phone number
// where the group's participant list shows it. alt is the number when the
// change gave it with the LID (its sender's). Otherwise the number is the
// one this group showed when Ferry last read its list (group_numbers.go),
// never one whatsmeow's LID store learnt elsewhere: a number the group
// hides stays hidden, and its owner a LID ghost. Joins are named by
// newMembers, which may ask for the group's info first.
func (c *Client) groupMemberUser(ctx context.Context, group, jid, alt types.JID) network.UserID {
	return c.userFor(ctx, jid, c.groupMemberNumber(ctx, group, jid, alt), false)
}

// groupMemberNumber is the number group shows for jid: alt if given, the
// kept one for a LID, else none.
func (c *Client) groupMemberNumber(ctx context.Context, group, jid, alt types.JID) types.JID {
	if !alt.IsEmpty() || !c.mayHaveNumber(jid) {
		return alt
	}
	return c.groupShownNumber(ctx, group, jid)
}

// mayHaveNumber: jid is someone else's LID, whose ghost is the number's
// where it is shown.
func (c *Client) mayHaveNumber(jid types.JID) bool {
	return jid.Server == types.HiddenUserServer && !c.isMe(jid)
}

func (c *Client) participantUser(p types.GroupParticipant) network.UserID {
	if c.isMe(p.JID) || c.isMe(p.PhoneNumber) || c.isMe(p.LID) {
		return c.remote
	}
	if p.PhoneNumber.Server == types.DefaultUserServer {
		return userIDOf(p.PhoneNumber)
	}
	return userIDOf(p.JID)
}

// UserInfo names a person by the template, from the name they chose (push
// name) or their verified business name, never from the login's private
// address book: a ghost has one name that everyone sees.
func (c *Client) UserInfo(ctx context.Context, user network.UserID) (*network.UserInfo, error) {
	jid, ok := parseUserID(user)
	if !ok {
		return nil, fmt.Errorf("not a WhatsApp user ID: %q", user)
	}
	return &network.UserInfo{
		Name:   c.conn.cfg.displayName(c.names(ctx, jid)),
		Avatar: c.avatar(ctx, jid, false),
		IsBot:  jid.IsBot(),
	}, nil
}

// names gathers what the display name template may use about jid.
func (c *Client) names(ctx context.Context, jid types.JID) nameData {
	var d nameData
	if jid.Server == types.DefaultUserServer {
		d.Phone = "+" + jid.User
	}
	if c.device == nil || c.device.Contacts == nil {
		return d
	}
	if c.isMe(jid) {
		d.PushName, d.BusinessName = c.device.PushName, c.device.BusinessName
		return d
	}
	contact, err := c.device.Contacts.GetContact(ctx, jid)
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Stringer("jid", jid).Msg("Failed to read contact")
	}
	d.PushName, d.BusinessName = contact.PushName, contact.BusinessName
	if jid.Server == types.HiddenUserServer {
		// WhatsApp's own masked form ("+49∙∙∙∙∙∙∙∙78"), never the number.
		d.Phone = contact.RedactedPhone
	} else if d.PushName == "" && d.BusinessName == "" && c.device.LIDs != nil {
		// Names learnt in LID-addressed chats are stored under the LID.
		if lid, err := c.device.LIDs.GetLIDForPN(ctx, jid); err == nil && !lid.IsEmpty() {
			if alt, err := c.device.Contacts.GetContact(ctx, lid); err == nil {
				d.PushName, d.BusinessName = alt.PushName, alt.BusinessName
			}
		}
	}
	return d
}

// avatar is a person's or group's picture. A picture that is hidden from
// the login or not set is unknown (nil), not removed: another login may
// see it, and a removal arrives as its own event.
func (c *Client) avatar(ctx context.Context, jid types.JID, community bool) *network.Avatar {
	if c.wa == nil || !c.wa.IsLoggedIn() {
		return nil
	}
	qctx, cancel := context.WithTimeout(ctx, infoTimeout)
	defer cancel()
	pic, err := c.wa.GetProfilePictureInfo(qctx, jid, &whatsmeow.GetProfilePictureParams{IsCommunity: community})
	switch {
	case errors.Is(err, whatsmeow.ErrProfilePictureUnauthorized), errors.Is(err, whatsmeow.ErrProfilePictureNotSet):
		return nil
	case err != nil:
		zerolog.Ctx(ctx).Debug().Err(err).Stringer("jid", jid).Msg("Failed to get profile picture info")
		return nil
	case pic == nil || pic.ID == "":
		return nil
	}
	url := pic.URL
	return &network.Avatar{ID: pic.ID, Get: func(ctx context.Context) ([]byte, error) {
		return c.conn.fetchAvatar(ctx, url)
	}}
}

// maxAvatarSize bounds a downloaded profile picture.
const maxAvatarSize = 10 << 20

// httpGet downloads a profile picture; WhatsApp serves them by plain URL.
func httpGet(ctx context.Context, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, infoTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download picture: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("download picture: HTTP %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAvatarSize+1))
	if err != nil {
		return nil, fmt.Errorf("download picture: %w", err)
	}
	if len(data) > maxAvatarSize {
		return nil, fmt.Errorf("picture larger than %d MiB", maxAvatarSize>>20)
	}
	return data, nil
}

// statusRoomInfo describes the login's status room: the contacts who post
// join it as they do.
func statusRoomInfo(me network.UserID) *network.ChatInfo {
	name := "WhatsApp status"
	topic := "Status updates of your WhatsApp contacts. WhatsApp removes them after a day; this room keeps them."
	return &network.ChatInfo{
		Name: &name, Topic: &topic,
		Members: &network.MemberList{Members: []network.Member{{User: me, IsMe: true}}},
	}
}
