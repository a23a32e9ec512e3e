package whatsapp

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/ferrybridge/ferry/bridge/network"
)

// Changes of groups and people, remote to Matrix. They need no
// acknowledgement, so they are queued rather than awaited.

func (c *Client) handleGroupInfo(ctx context.Context, evt *events.GroupInfo) {
	if evt.JID.Server != types.GroupServer {
		return
	}
	var sender, senderAlt types.JID
	if evt.Sender != nil {
		sender = *evt.Sender
	}
	if evt.SenderPN != nil {
		senderAlt = *evt.SenderPN
	}
	ts := evt.Timestamp
	if ts.IsZero() {
		ts = time.Now()
	}
	meta := network.Meta{Portal: groupPortal(evt.JID), Timestamp: ts,
		Sender: network.Sender{FromMe: c.isMe(sender) || c.isMe(senderAlt)}}
	if !sender.IsEmpty() {
		meta.Sender.User = c.groupMemberUser(ctx, evt.JID, sender, senderAlt)
	}
	info := &network.ChatInfo{}
	changed := false
	if evt.Name != nil {
		name := evt.Name.Name
		info.Name, changed = &name, true
	}
	if evt.Topic != nil {
		topic := evt.Topic.Topic
		if evt.Topic.TopicDeleted {
			topic = ""
		}
		info.Topic, changed = &topic, true
	}
	var members []network.Member
	for _, list := range []struct {
		jids  []types.JID
		level int
	}{{evt.Promote, adminPowerLevel}, {evt.Demote, 0}} {
		for _, jid := range list.jids {
			level := list.level
			user := c.groupMemberUser(ctx, evt.JID, jid, types.EmptyJID)
			members = append(members, network.Member{User: user, IsMe: user == c.remote, PowerLevel: &level})
		}
	}
	if len(members) > 0 {
		info.Members, changed = &network.MemberList{Members: members}, true
	}
	if changed {
		c.conn.host.QueueEvent(c.id, &network.ChatInfoChange{Meta: meta, Info: info})
	}
	joined := c.newMembers(evt.JID)
	for _, jid := range evt.Join {
		if c.isMe(jid) {
			continue // events.JoinedGroup brings the whole group
		}
		c.conn.host.QueueEvent(c.id, &network.Membership{Meta: meta, Target: joined.user(ctx, jid), Action: network.MembershipJoin})
	}
	for _, jid := range evt.Leave {
		target := c.groupMemberUser(ctx, evt.JID, jid, types.EmptyJID)
		action := network.MembershipKick
		if sender.IsEmpty() || target == meta.Sender.User || jid.ToNonAD() == sender.ToNonAD() {
			action = network.MembershipLeave
		}
		c.conn.host.QueueEvent(c.id, &network.Membership{Meta: meta, Target: target, TargetIsMe: c.isMe(jid), Action: action})
	}
	if evt.Ephemeral != nil {
		// Every login in the group sees the change; the ID is the same
		// for all of them, so it is shown once.
		timer := evt.Ephemeral.DisappearingTimer
		if !evt.Ephemeral.IsEphemeral {
			timer = 0
		}
		meta.CreatePortal = false
		c.conn.host.QueueEvent(c.id, &network.Message{Meta: meta,
			ID:    network.MessageID(fmt.Sprintf("timer-%s-%d", evt.JID.User, ts.Unix())),
			Parts: noticeParts(timerText(timer))})
	}
	if evt.Delete != nil && evt.Delete.Deleted {
		c.conn.host.QueueEvent(c.id, &network.Membership{Meta: meta, Target: c.remote, TargetIsMe: true,
			Action: network.MembershipKick, Reason: "the WhatsApp group was deleted"})
	}
}

// handlePicture updates a group's room avatar or a person's ghost.
func (c *Client) handlePicture(ctx context.Context, evt *events.Picture) {
	av := &network.Avatar{ID: evt.PictureID, Remove: evt.Remove}
	if !evt.Remove {
		av.Get = c.pictureGetter(evt.JID)
	}
	if evt.JID.Server == types.GroupServer {
		meta := network.Meta{Portal: groupPortal(evt.JID), Timestamp: evt.Timestamp}
		if !evt.Author.IsEmpty() {
			meta.Sender = network.Sender{User: c.groupMemberUser(ctx, evt.JID, evt.Author, types.EmptyJID), FromMe: c.isMe(evt.Author)}
		}
		c.conn.host.QueueEvent(c.id, &network.ChatInfoChange{Meta: meta, Info: &network.ChatInfo{Avatar: av}})
		return
	}
	c.updateGhost(ctx, c.userFor(ctx, evt.JID, types.EmptyJID, true), &network.UserInfo{Avatar: av})
}

// pictureGetter fetches the current picture of jid when the core wants it.
func (c *Client) pictureGetter(jid types.JID) func(ctx context.Context) ([]byte, error) {
	return func(ctx context.Context) ([]byte, error) {
		wa, err := c.needSession()
		if err != nil {
			return nil, err
		}
		qctx, cancel := context.WithTimeout(ctx, infoTimeout)
		pic, err := wa.GetProfilePictureInfo(qctx, jid, &whatsmeow.GetProfilePictureParams{})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("get picture info: %w", err)
		} else if pic == nil || pic.URL == "" {
			return nil, fmt.Errorf("WhatsApp gave no picture URL")
		}
		return c.conn.fetchAvatar(ctx, pic.URL)
	}
}

// handleName renames a ghost whose push name or business name changed.
// The person is resolved as in the chat the change was seen in.
func (c *Client) handleName(ctx context.Context, jid, alt types.JID, seenIn *types.MessageInfo, changed nameData) {
	private := seenIn == nil || !seenIn.IsGroup
	user := c.userFor(ctx, jid, alt, private)
	if user == c.remote {
		return
	}
	userJID, ok := parseUserID(user)
	if !ok {
		return
	}
	d := c.names(ctx, userJID)
	if changed.PushName != "" {
		d.PushName = changed.PushName
	}
	if changed.BusinessName != "" {
		d.BusinessName = changed.BusinessName
	}
	if name := c.conn.cfg.displayName(d); name != nil {
		c.updateGhost(ctx, user, &network.UserInfo{Name: name})
	}
}

func (c *Client) updateGhost(ctx context.Context, user network.UserID, info *network.UserInfo) {
	ctx, cancel := context.WithTimeout(ctx, infoTimeout)
	defer cancel()
	if err := c.conn.host.UpdateGhost(ctx, user, info); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Str("remote_user", string(user)).Msg("Failed to update ghost")
	}
}
