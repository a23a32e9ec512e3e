package portals

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
)

// sendError is a failure the Matrix user is told about; msg is Markdown,
// as a network.UserError's message is.
type sendError struct {
	msg string
	err error
}

func (e *sendError) Error() string {
	if e.err == nil {
		return e.msg
	}
	return e.msg + ": " + e.err.Error()
}

func (e *sendError) Unwrap() error { return e.err }

func failf(format string, args ...any) error { return &sendError{msg: fmt.Sprintf(format, args...)} }

func (p *Portal) handleMatrix(ctx context.Context, evt *event.Event, firstSeen bool) {
	var err error
	switch evt.Type {
	case event.EventMessage, event.EventSticker:
		err = p.matrixMessage(ctx, evt, firstSeen)
	case event.EventReaction:
		err = p.matrixReaction(ctx, evt)
	case event.EventRedaction:
		err = p.matrixRedaction(ctx, evt)
	case event.StateMember:
		err = p.matrixMembership(ctx, evt)
	case event.StateRoomName, event.StateTopic:
		err = p.matrixChatInfo(ctx, evt)
	case event.EphemeralEventTyping, event.EphemeralEventReceipt:
		// Typing and receipts cross per user; see the bridge's handlers.
	default:
		return
	}
	if err != nil {
		p.reportFailure(ctx, evt, err)
	}
}

// reportFailure tells the room that an event did not reach the network,
// as a notice replying to it: nothing fails silently.
func (p *Portal) reportFailure(ctx context.Context, evt *event.Event, err error) {
	log := zerolog.Ctx(ctx)
	log.Warn().Err(err).Msg("Failed to bridge Matrix event")
	reason := network.UserMessage(err, "")
	var se *sendError
	if reason == "" && errors.As(err, &se) {
		reason = se.msg
	}
	if reason == "" {
		reason = "internal error (see the bridge log)"
	}
	what := "Your message"
	switch evt.Type {
	case event.EventReaction:
		what = "Your reaction"
	case event.EventRedaction:
		what = "Your redaction"
	case event.StateMember:
		what = "Leaving"
	case event.StateRoomName:
		what = "The new room name"
	case event.StateTopic:
		what = "The new topic"
	}
	// The reason is Markdown, as a UserError's message is (network.UserError):
	// its code spans show as code, and the words a network escaped with
	// network.Literal as written, not with their backslashes.
	content := noticeContent(fmt.Sprintf("⚠️ %s was not bridged to %s: %s", what, p.m.dir.NetworkName(p.Key.Network), reason))
	content.RelatesTo = (&event.RelatesTo{}).SetReplyTo(evt.ID)
	content.Mentions = &event.Mentions{UserIDs: []id.UserID{evt.Sender}}
	if _, err := p.sendNotice(ctx, content); err != nil {
		log.Err(err).Msg("Failed to report bridging failure in the room")
	}
}

// sender finds the login that speaks for a Matrix user in this portal:
// their own, or the relay login when the room relays and they may be
// relayed.
func (p *Portal) sender(ctx context.Context, user id.UserID) (network.Client, *network.Login, *network.RelaySender, error) {
	netName := p.m.dir.NetworkName(p.Key.Network)
	var login *network.Login
	if p.Key.Receiver != "" {
		if own := p.m.dir.Login(p.Key.Network, p.Key.Receiver); own != nil && own.User == user {
			login = own
		}
	} else {
		var err error
		if login, err = p.memberLogin(ctx, user); err != nil {
			return nil, nil, nil, err
		}
	}
	var relay *network.RelaySender
	if login == nil {
		if p.RelayLogin == "" || p.m.dir.Level(user) < network.LevelRelay {
			return nil, nil, nil, failf("you are not logged in to %s here (send `login %s` to the bridge bot)", netName, p.Key.Network)
		}
		login = p.m.dir.Login(p.Key.Network, p.RelayLogin)
		if login == nil {
			return nil, nil, nil, failf("the relay account of this room is gone")
		}
		relay = &network.RelaySender{DisplayName: p.displayName(ctx, user)}
	}
	client, ok := p.m.dir.Client(p.Key.Network, login.ID)
	if !ok {
		return nil, nil, nil, failf("the %s connection is not running (see `status`)", netName)
	}
	return client, login, relay, nil
}

func (p *Portal) displayName(ctx context.Context, user id.UserID) string {
	member := p.m.matrix.Bot().Member(ctx, p.RoomID, user)
	if member != nil && member.Displayname != "" {
		return member.Displayname
	}
	return user.Localpart()
}

func (p *Portal) meta(evt *event.Event, relay *network.RelaySender) network.OutgoingMeta {
	return network.OutgoingMeta{Portal: p.Key, Room: p.RoomID, EventID: evt.ID, Sender: evt.Sender, Relay: relay}
}

func (p *Portal) matrixMessage(ctx context.Context, evt *event.Event, firstSeen bool) error {
	content := evt.Content.AsMessage()
	if content == nil || (content.Body == "" && content.URL == "") {
		return failf("the message has no content Ferry understands")
	}
	// An event this run stored for the first time cannot have been
	// bridged, and a lookup would be one more read before the message
	// leaves; only a replayed event is looked for.
	if !firstSeen {
		already, err := p.m.db.Messages.GetByEventID(ctx, evt.ID)
		if err != nil {
			return fmt.Errorf("check for duplicate: %w", err)
		}
		if already != nil {
			zerolog.Ctx(ctx).Debug().Msg("Event already bridged (replayed after a restart)")
			return nil
		}
	}
	client, login, relay, err := p.sender(ctx, evt.Sender)
	if err != nil {
		return err
	}
	if replaces := content.RelatesTo.GetReplaceID(); replaces != "" {
		return p.matrixEdit(ctx, evt, client, login, relay, replaces, content)
	}
	if evt.Type == event.EventSticker {
		// Stickers have no msgtype; the contract marks them the way remote
		// stickers are marked on the way in.
		content.MsgType = event.MessageType(event.EventSticker.Type)
	}
	content.RemoveReplyFallback()
	sanitizeContent(content)
	out := &network.OutgoingMessage{OutgoingMeta: p.meta(evt, relay), Content: content}
	if replyID := content.RelatesTo.GetReplyTo(); replyID != "" {
		replied, err := p.storedByEvent(ctx, replyID)
		var target *database.Message
		if err == nil {
			target, err = p.standingFor(ctx, replied)
		}
		if err != nil {
			return fmt.Errorf("look up replied message: %w", err)
		}
		if target != nil {
			text := p.quotedText(ctx, replyID)
			if isEditReply(replied) {
				text = editReplyQuote(text)
			}
			out.ReplyTo = &network.ReplyTarget{
				MessageRef: network.MessageRef{ID: target.ID, Part: target.Part},
				Sender:     target.Sender,
				Text:       text,
			}
		}
	}
	if content.MsgType.IsMedia() && content.URL != "" {
		out.Media = p.matrixMedia(content)
	}
	timed := p.timeOutgoing(&out.OutgoingMeta, evt.Mautrix.ReceivedAt)
	out.Written = alsoLeft(ctx, out.Written)
	if item := aheadItem(ctx); item != nil {
		return p.sendAhead(ctx, item, evt, client, login, out, timed)
	}
	res, err := client.Send(ctx, out)
	return p.storeSent(ctx, evt, login, res, err, timed)
}

// storeSent records what Send returned for a Matrix message.
func (p *Portal) storeSent(ctx context.Context, evt *event.Event, login *network.Login, res *network.SendResult, err error, timed func(bool)) error {
	timed(err == nil)
	if err != nil {
		return err
	}
	if res == nil || res.ID == "" {
		// Without an ID nothing can refer to the message later, and its
		// echo could not be recognised. A network bug, so say so.
		return fmt.Errorf("network returned no message ID")
	}
	ts := res.Timestamp
	if ts.IsZero() {
		ts = time.Now()
	}
	err = p.m.db.Messages.Put(ctx, &database.Message{
		Portal: p.Key, ID: res.ID, EventID: evt.ID, RoomID: evt.RoomID,
		Sender: login.RemoteUser, SenderMXID: evt.Sender, Timestamp: ts,
	})
	if err != nil && !database.IsDuplicate(err) {
		return fmt.Errorf("store message mapping: %w", err)
	}
	return nil
}

// matrixMedia fetches the file of a Matrix message when the network asks.
func (p *Portal) matrixMedia(content *event.MessageEventContent) func(ctx context.Context) (*network.Media, error) {
	return func(ctx context.Context) (*network.Media, error) {
		mxc, err := content.URL.Parse()
		if err != nil {
			return nil, fmt.Errorf("bad media URL: %w", err)
		}
		resp, err := p.m.matrix.Bot().Download(ctx, mxc)
		if err != nil {
			return nil, fmt.Errorf("download media: %w", err)
		}
		media := &network.Media{Data: resp.Body, Size: resp.ContentLength, FileName: content.GetFileName()}
		if content.Info != nil {
			media.MimeType = content.Info.MimeType
		}
		if media.MimeType == "" {
			media.MimeType = resp.Header.Get("Content-Type")
		}
		return media, nil
	}
}

func (p *Portal) matrixEdit(ctx context.Context, evt *event.Event, client network.Client, login *network.Login, relay *network.RelaySender, replaces id.EventID, content *event.MessageEventContent) error {
	editor, ok := client.(network.Editor)
	if !ok {
		return failf("%s does not support edits", p.m.dir.NetworkName(p.Key.Network))
	}
	// As stored: a reply carrying an edit is the ghost's, no message of
	// the user's to edit (remote_edit_matrix_sent.go).
	target, err := p.storedByEvent(ctx, replaces)
	if err != nil {
		return fmt.Errorf("look up edited message: %w", err)
	}
	if target == nil {
		return failf("the edited message was never bridged")
	}
	if target.SenderMXID != evt.Sender {
		return failf("only your own messages can be edited")
	}
	newContent := content.NewContent
	if newContent == nil {
		newContent = &event.MessageEventContent{MsgType: content.MsgType, Body: strings.TrimPrefix(content.Body, "* ")}
	}
	sanitizeContent(newContent)
	err = editor.Edit(ctx, &network.OutgoingEdit{
		OutgoingMeta: p.meta(evt, relay),
		Target:       network.MessageRef{ID: target.ID, Part: target.Part},
		TargetInfo:   targetInfo(target, login),
		Content:      newContent,
	})
	if err != nil {
		return err
	}
	return p.m.db.Messages.BumpEditCount(ctx, p.Key, target.ID, target.Part)
}

func (p *Portal) matrixReaction(ctx context.Context, evt *event.Event) error {
	content := evt.Content.AsReaction()
	if content == nil || content.RelatesTo.EventID == "" {
		return nil
	}
	client, login, relay, err := p.sender(ctx, evt.Sender)
	if err != nil {
		return err
	}
	if relay != nil {
		return failf("reactions are not relayed")
	}
	reactor, ok := client.(network.Reactor)
	if !ok {
		return failf("%s does not support reactions", p.m.dir.NetworkName(p.Key.Network))
	}
	target, err := p.messageByEvent(ctx, content.RelatesTo.EventID)
	if err != nil {
		return fmt.Errorf("look up reacted message: %w", err)
	}
	if target == nil {
		return failf("the message was never bridged")
	}
	key := content.RelatesTo.Key
	emoji, err := reactor.React(ctx, &network.OutgoingReaction{
		OutgoingMeta: p.meta(evt, relay),
		Target:       network.MessageRef{ID: target.ID, Part: target.Part},
		TargetInfo:   targetInfo(target, login),
		Key:          key,
	})
	if err != nil {
		return err
	}
	return p.m.db.Reactions.Put(ctx, &database.Reaction{
		Portal: p.Key, Target: target.ID, TargetPart: target.Part, Sender: login.RemoteUser,
		Emoji: emoji, Key: key, SenderMXID: evt.Sender, EventID: evt.ID, RoomID: p.RoomID, Timestamp: time.UnixMilli(evt.Timestamp),
	})
}

func (p *Portal) matrixRedaction(ctx context.Context, evt *event.Event) error {
	target := evt.Redacts
	if target == "" {
		if c, ok := evt.Content.Parsed.(*event.RedactionEventContent); ok {
			target = c.Redacts
		}
	}
	if target == "" {
		return nil
	}
	if msg, err := p.storedByEvent(ctx, target); err != nil {
		return fmt.Errorf("look up redacted message: %w", err)
	} else if isEditReply(msg) {
		// Only the reply carrying an edit goes; the message it edits
		// stays (remote_edit_matrix_sent.go).
		zerolog.Ctx(ctx).Debug().Str("remote_id", string(msg.ID)).Msg("Reply carrying an edit redacted in Matrix, nothing to delete on the network")
		return p.forgetEditReply(ctx, msg)
	} else if msg != nil {
		client, login, relay, err := p.sender(ctx, evt.Sender)
		if err != nil {
			return err
		}
		redactor, ok := client.(network.Redactor)
		if !ok {
			return failf("%s does not support deleting messages", p.m.dir.NetworkName(p.Key.Network))
		}
		if err = redactor.Redact(ctx, &network.OutgoingRedaction{OutgoingMeta: p.meta(evt, relay), Target: msg.ID, TargetInfo: targetInfo(msg, login)}); err != nil {
			return err
		}
		p.redactEditRepliesOf(ctx, msg, p.matrixEditDeletion(evt, msg))
		return p.m.db.Messages.Delete(ctx, p.Key, msg.ID)
	}
	reaction, err := p.reactionByEvent(ctx, target)
	if err != nil {
		return fmt.Errorf("look up redacted reaction: %w", err)
	}
	if reaction == nil {
		return nil
	}
	client, login, relay, err := p.sender(ctx, evt.Sender)
	if err != nil {
		return err
	}
	reactor, ok := client.(network.Reactor)
	if !ok {
		return failf("%s does not support reactions", p.m.dir.NetworkName(p.Key.Network))
	}
	reacted, err := p.findPart(ctx, reaction.Target, reaction.TargetPart)
	if err != nil {
		return err
	}
	unreaction := &network.OutgoingUnreaction{
		OutgoingMeta: p.meta(evt, relay),
		Target:       network.MessageRef{ID: reaction.Target, Part: reaction.TargetPart},
		Emoji:        reaction.Emoji,
	}
	if reacted != nil {
		unreaction.TargetInfo = targetInfo(reacted, login)
	}
	err = reactor.Unreact(ctx, unreaction)
	if err != nil {
		return err
	}
	return p.m.db.Reactions.Delete(ctx, reaction)
}

// matrixChatInfo sends a name or topic a Matrix user set in the room to
// the network, through the user's own login (never through a relay: a
// relayed user must not change a channel with the relay's rights).
func (p *Portal) matrixChatInfo(ctx context.Context, evt *event.Event) error {
	if !p.isRealUser(evt.Sender) {
		return nil
	}
	var name, topic string
	isName := evt.Type == event.StateRoomName
	if isName {
		c, ok := evt.Content.Parsed.(*event.RoomNameEventContent)
		if !ok || c.Name == p.Name {
			return nil
		}
		name = c.Name
	} else {
		c, ok := evt.Content.Parsed.(*event.TopicEventContent)
		if !ok || c.Topic == p.Topic {
			return nil
		}
		topic = c.Topic
	}
	client, _, relay, err := p.sender(ctx, evt.Sender)
	if err != nil {
		return err
	}
	if relay != nil {
		return failf("only people with their own %s login can change this", p.m.dir.NetworkName(p.Key.Network))
	}
	setter, ok := client.(network.ChatInfoSetter)
	if !ok {
		return failf("%s does not support changing this", p.m.dir.NetworkName(p.Key.Network))
	}
	meta := p.meta(evt, nil)
	if isName {
		if err = setter.SetChatName(ctx, &meta, name); err == nil {
			p.Name, p.NameSet = name, true
		}
	} else {
		if err = setter.SetChatTopic(ctx, &meta, topic); err == nil {
			p.Topic, p.TopicSet = topic, true
		}
	}
	if err != nil {
		return err
	}
	// Remember the new value, so the network's echo of it changes nothing.
	return p.m.db.Portals.Put(ctx, p.Portal)
}

// matrixMembership handles Matrix users joining and leaving portal rooms.
// Leaving never leaves the remote chat by itself: the network decides what
// it means. Joining a shared room one has no part in (through its alias)
// joins the chat with the user's login.
func (p *Portal) matrixMembership(ctx context.Context, evt *event.Event) error {
	member := evt.Content.AsMember()
	if member == nil || evt.StateKey == nil {
		return nil
	}
	user := id.UserID(*evt.StateKey)
	if !p.isRealUser(user) {
		return nil
	}
	switch member.Membership {
	case event.MembershipJoin:
		return p.matrixJoin(ctx, user)
	case event.MembershipLeave, event.MembershipBan:
		return p.matrixLeave(ctx, user)
	}
	return nil
}

func (p *Portal) matrixJoin(ctx context.Context, user id.UserID) error {
	link, err := p.m.db.UserPortals.Get(ctx, user, p.Key)
	if err != nil || link != nil {
		return err
	}
	netName := p.m.dir.NetworkName(p.Key.Network)
	reason := fmt.Sprintf("You are not connected to %s here; send `login %s` to the bridge bot first.", netName, p.Key.Network)
	for _, login := range p.m.dir.UserLogins(user, p.Key.Network) {
		client, ok := p.m.dir.Client(p.Key.Network, login.ID)
		joiner, canJoin := client.(network.ChatJoiner)
		if !ok || !canJoin {
			continue
		}
		err = joiner.JoinChat(ctx, p.Key)
		if errors.Is(err, network.ErrWrongAccount) {
			continue
		}
		if err != nil {
			reason = "Could not join on " + netName + ": " + network.UserMessage(err, "see the bridge log")
			zerolog.Ctx(ctx).Warn().Err(err).Msg("Failed to join remote chat")
			break
		}
		return p.link(ctx, login)
	}
	if p.RelayLogin != "" && p.m.dir.Level(user) >= network.LevelRelay {
		// The room relays: the newcomer speaks through the relay login.
		return nil
	}
	// Nobody may sit in a shared room without being in the chat: the remote
	// side would not know they read along. In a direct chat the user
	// opened with a ghost, the bot is no member and may not kick: the
	// chat's ghost does (botStandIn).
	kicker, err := p.botStandIn(ctx)
	if err != nil {
		return fmt.Errorf("find who removes the user: %w", err)
	}
	return p.m.matrix.Retry(ctx, "remove user", func(ctx context.Context) error {
		_, err := kicker.KickUser(ctx, p.RoomID, &mautrix.ReqKickUser{UserID: user, Reason: reason})
		return err
	})
}

func (p *Portal) matrixLeave(ctx context.Context, user id.UserID) error {
	link, err := p.m.db.UserPortals.Get(ctx, user, p.Key)
	if err != nil || link == nil {
		return err
	}
	if err = p.unlinkMember(ctx, user); err != nil {
		return fmt.Errorf("forget portal membership: %w", err)
	}
	client, ok := p.m.dir.Client(p.Key.Network, link.Login)
	if !ok {
		return nil
	}
	if leaver, ok := client.(network.ChatLeaver); ok {
		return leaver.LeaveChat(ctx, p.Key)
	}
	return nil
}

// targetInfo is what the network is told about a message an action
// refers to.
func targetInfo(msg *database.Message, login *network.Login) network.TargetInfo {
	return network.TargetInfo{Sender: msg.Sender, FromMe: msg.Sender == login.RemoteUser, Timestamp: msg.Timestamp}
}

// messageByEvent finds the bridged message of an event in this portal.
// An event of another portal is treated as unknown: a Matrix user must
// not reach, through a reply or reaction naming a foreign event ID, a
// message of a chat they are not in (not even its sender's name).
//
// A reply carrying an edit of a message sent from Matrix stands for the
// message it edits (remote_edit_matrix_sent.go): a reply or reaction to
// it reaches that message.
func (p *Portal) messageByEvent(ctx context.Context, eventID id.EventID) (*database.Message, error) {
	msg, err := p.storedByEvent(ctx, eventID)
	if err != nil {
		return nil, err
	}
	return p.standingFor(ctx, msg)
}

// standingFor is the message part stored msg stands for: itself, or for
// a reply carrying an edit, the part it edits.
func (p *Portal) standingFor(ctx context.Context, msg *database.Message) (*database.Message, error) {
	if !isEditReply(msg) {
		return msg, nil
	}
	edited, _ := editedPart(msg.Part)
	return p.findPart(ctx, msg.ID, edited)
}

// storedByEvent is messageByEvent without standing a reply carrying an
// edit for the message it edits.
func (p *Portal) storedByEvent(ctx context.Context, eventID id.EventID) (*database.Message, error) {
	msg, err := p.m.db.Messages.GetByEventID(ctx, eventID)
	if err != nil || msg == nil || msg.Portal != p.Key {
		return nil, err
	}
	return msg, nil
}

// reactionByEvent is messageByEvent for reactions.
func (p *Portal) reactionByEvent(ctx context.Context, eventID id.EventID) (*database.Reaction, error) {
	r, err := p.m.db.Reactions.GetByEventID(ctx, eventID)
	if err != nil || r == nil || r.Portal != p.Key {
		return nil, err
	}
	return r, nil
}

// maxQuoteRunes bounds the quoted text handed to a network with a reply.
const maxQuoteRunes = 1000

// quotedText is the plain text of a replied-to event, for networks that
// show a quote (WhatsApp's phones show it above the reply). Ferry keeps
// no message text, so it asks the homeserver; when that fails the reply
// goes without the quote's text rather than not at all. It reads as
// botStandIn: in a direct chat the user opened with a ghost the bot is no
// member and may not read the room's events.
func (p *Portal) quotedText(ctx context.Context, eventID id.EventID) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	reader, err := p.botStandIn(ctx)
	var evt *event.Event
	if err == nil {
		evt, err = reader.GetEvent(ctx, p.RoomID, eventID)
	}
	if err == nil {
		err = evt.Content.ParseRaw(evt.Type)
		if errors.Is(err, event.ErrContentAlreadyParsed) {
			err = nil
		}
	}
	if err != nil {
		zerolog.Ctx(ctx).Debug().Err(err).Stringer("event_id", eventID).Msg("Could not read the replied-to event for its text")
		return ""
	}
	msg := evt.Content.AsMessage()
	if msg == nil {
		return ""
	}
	if msg.NewContent != nil {
		msg = msg.NewContent
	}
	msg.RemoveReplyFallback()
	text := msg.Body
	if r := []rune(text); len(r) > maxQuoteRunes {
		text = string(r[:maxQuoteRunes]) + "…"
	}
	return text
}
