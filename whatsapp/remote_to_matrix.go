package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/rs/zerolog"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/whatsapp/waconv"
)

// maxAttempts is how often one message may fail to bridge before it is
// acknowledged anyway: WhatsApp redelivers an unacknowledged message at
// every reconnect, and one that can never be bridged must not block the
// chat for ever.
const maxAttempts = 3

// typingTimeout is how long a "composing" state shows in Matrix unless
// WhatsApp says "paused" first.
const typingTimeout = 30 * time.Second

// handleEvent is the login's one whatsmeow event handler. Its result is
// whatsmeow's success status: with SynchronousAck, false leaves a message
// unacknowledged, so WhatsApp delivers it again after a reconnect.
func (c *Client) handleEvent(raw any) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error().Any("panic", r).Str("stack", string(debug.Stack())).
				Str("event_type", fmt.Sprintf("%T", raw)).Msg("Panic while handling a WhatsApp event")
			if ok = c.attemptFailed(failureKey(raw)); ok {
				c.reportGivenUpRaw(c.log.WithContext(c.conn.bgContext()), raw)
			}
		}
	}()
	if c.handleConnEvent(raw) {
		return true
	}
	ctx, cancel := context.WithTimeout(c.log.WithContext(c.conn.bgContext()), handleTimeout)
	defer cancel()
	switch evt := raw.(type) {
	case *events.Message:
		return c.handleMessage(ctx, evt)
	case *events.CallOffer:
		return c.handleCall(ctx, evt.BasicCallMeta, "")
	case *events.CallOfferNotice:
		return c.handleCall(ctx, evt.BasicCallMeta, evt.Media)
	case *events.Receipt:
		c.handleReceipt(ctx, evt)
	case *events.ChatPresence:
		c.handlePresence(ctx, evt)
	case *events.GroupInfo:
		c.handleGroupInfo(ctx, evt)
	case *events.JoinedGroup:
		c.conn.unbridged.noteGroup(&evt.GroupInfo)
		if c.skipUnbridged(ctx, evt.JID) {
			break
		}
		c.conn.host.QueueEvent(c.id, &network.ChatResync{
			Meta: network.Meta{Portal: groupPortal(evt.JID), Timestamp: time.Now(), CreatePortal: true},
			Info: c.groupInfo(ctx, &evt.GroupInfo),
		})
	case *events.Picture:
		c.handlePicture(ctx, evt)
	case *events.PushName:
		c.handleName(ctx, evt.JID, evt.JIDAlt, evt.Message, nameData{PushName: evt.NewPushName})
	case *events.BusinessName:
		c.handleName(ctx, evt.JID, types.EmptyJID, evt.Message, nameData{BusinessName: evt.NewBusinessName})
	case *events.UndecryptableMessage:
		return c.handleUndecryptable(ctx, evt)
	case *events.MediaRetry:
		return c.handleMediaRetry(ctx, evt)
	case *events.HistorySync:
		c.handleHistorySync(ctx, evt)
	default:
		zerolog.Ctx(ctx).Debug().Str("event_type", fmt.Sprintf("%T", raw)).Msg("Unhandled WhatsApp event")
	}
	return true
}

func failureKey(raw any) string {
	if evt, ok := raw.(*events.Message); ok && evt != nil {
		return evt.Info.Chat.String() + "/" + evt.Info.ID
	}
	return fmt.Sprintf("%T", raw)
}

// attemptFailed counts a failure of key and says whether to acknowledge
// the event anyway (true: give up) or leave it for redelivery (false).
func (c *Client) attemptFailed(key string) bool {
	c.lock.Lock()
	defer c.lock.Unlock()
	if len(c.failures) > 1000 {
		c.failures = make(map[string]int)
	}
	c.failures[key]++
	if c.failures[key] >= maxAttempts {
		delete(c.failures, key)
		c.log.Error().Str("key", key).Int("attempts", maxAttempts).Msg("Giving up on a WhatsApp event that failed to bridge")
		return true
	}
	return false
}

func (c *Client) attemptSucceeded(key string) {
	c.lock.Lock()
	delete(c.failures, key)
	c.lock.Unlock()
}

// deliver hands an event to the core and waits until it is bridged.
func (c *Client) deliver(ctx context.Context, key string, evt network.Event) bool {
	if err := c.conn.host.HandleEvent(ctx, c.id, evt); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Str("key", key).Msg("Failed to bridge a WhatsApp event")
		if !c.attemptFailed(key) {
			return false
		}
		if _, msg := evt.(*network.Message); !msg && errors.Is(err, network.ErrStillQueued) {
			// The core still holds it (behind a slow send, or stored
			// behind a backlog) and bridges it late: a notice that it
			// could not be bridged would be false. A message keeps its
			// stand-in, which the core drops if the message comes first.
			zerolog.Ctx(ctx).Info().Str("key", key).Msg("A given-up WhatsApp event is still queued in the core; not reported")
			return true
		}
		c.reportGivenUp(ctx, evt)
		return true
	}
	c.attemptSucceeded(key)
	return true
}

// deps are what converting a message from a chat needs: media downloads,
// and pills for mentions, with people resolved as the chat shows them.
func (c *Client) deps(ctx context.Context, private bool) waconv.Deps {
	return waconv.Deps{
		DownloadToFile: c.downloader(nil, nil),
		Mention: func(jid types.JID) (string, id.UserID, bool) {
			user := c.userFor(ctx, jid, types.EmptyJID, private)
			if user == c.remote {
				// The login's own account is its Matrix user.
				return c.ownName(), c.user, c.user != ""
			}
			userJID, ok := parseUserID(user)
			if !ok {
				return "", "", false
			}
			d := c.names(ctx, userJID)
			name := "@" + jid.User
			for _, n := range []string{d.BusinessName, d.PushName, d.Phone} {
				if n != "" {
					name = n
					break
				}
			}
			return name, c.conn.host.GhostMXID(user), true
		},
	}
}

func (c *Client) ownName() string {
	if c.device != nil && c.device.PushName != "" {
		return c.device.PushName
	}
	return "+" + string(c.remote)
}

func (c *Client) handleMessage(ctx context.Context, evt *events.Message) bool {
	if evt == nil {
		return true
	}
	log := zerolog.Ctx(ctx).With().Str("message_id", evt.Info.ID).Stringer("chat", evt.Info.Chat).Logger()
	ctx = log.WithContext(ctx)
	if c.skipUnbridged(ctx, evt.Info.Chat) {
		return true
	}
	out, err := c.toEvent(ctx, evt)
	if err != nil {
		log.Err(err).Msg("Failed to bridge a WhatsApp message")
		if !c.attemptFailed(failureKey(evt)) {
			return false
		}
		c.reportGivenUpMessage(ctx, evt)
		return true
	} else if out == nil {
		return true
	}
	var answer *editAnswer
	if a, ok := out.(*editAnswer); ok {
		answer, out = a, a.Message
	}
	// A chat whose history is still being handed over gets its live
	// messages only after it (see historyQueue).
	c.history.waitFor(ctx, out)
	if !c.deliver(ctx, failureKey(evt), out) {
		return false
	}
	switch e := out.(type) {
	case *network.Redaction:
		return c.redactEditAnswers(ctx, failureKey(evt), e)
	case *network.Edit:
		return c.redactReplacedTexts(ctx, failureKey(evt), e.Meta, e.Target, e.ID, waconv.WholeCaptionsReplaced(e.Parts))
	}
	if answer != nil {
		return c.redactReplacedTexts(ctx, failureKey(evt), answer.Meta, answer.of, answer.ID, nil)
	}
	return true
}

// editAnswer is the answer carrying an edit too long for a Matrix edit
// (toEvent): a message to the core, and an edit of the message of to
// Ferry. History, which shows a message's last text, does not replay it.
type editAnswer struct {
	*network.Message
	of network.MessageID
}

// redactEditAnswers deletes, after a deleted message, the answers that
// carried its edits too long for Matrix edits (toEvent): each holds the
// message's text as edited, which a deletion for everyone must not leave
// in the room. A failure leaves the deletion for WhatsApp to deliver
// again, as any event's (deliver); the message itself is gone by then,
// and deleting it again does nothing.
func (c *Client) redactEditAnswers(ctx context.Context, key string, r *network.Redaction) bool {
	answers, err := c.conn.msgs.editAnswers(ctx, c.id, r.Portal.Chat, string(r.Target))
	if err != nil {
		zerolog.Ctx(ctx).Err(err).Msg("Failed to look up the answers carrying edits of a deleted message")
		if !c.attemptFailed(key) {
			return false
		}
		c.reportGivenUp(ctx, r)
		return true
	}
	for _, answer := range answers {
		if !c.deliver(ctx, key, &network.Redaction{Meta: r.Meta, Target: network.MessageID(answer)}) {
			return false
		}
	}
	return true
}

// convert turns msg (evt's content, opened if it was encrypted) into
// what it is for Matrix: a notice Ferry words itself, or the converter's
// result.
func (c *Client) convert(ctx context.Context, evt *events.Message, msg *waE2E.Message, info *types.MessageInfo, private bool) (*waconv.Converted, error) {
	if text := c.specialNotice(evt, msg); text != "" {
		return &waconv.Converted{Kind: waconv.KindMessage, Parts: noticeParts(text)}, nil
	}
	deps := c.deps(ctx, private)
	deps.DownloadToFile = c.downloader(info, msg)
	conv, err := waconv.ToMatrix(ctx, msg, info, deps)
	if err != nil {
		return nil, fmt.Errorf("convert: %w", err)
	}
	return conv, nil
}

// toEvent converts a WhatsApp message, live or from history, into the
// contract's event (nil: nothing to bridge) and stores the key of a new
// message for later edits, reactions and receipts.
func (c *Client) toEvent(ctx context.Context, evt *events.Message) (network.Event, error) {
	info := evt.Info
	log := zerolog.Ctx(ctx)
	chat, alt, ok := c.route(ctx, &info)
	if !ok {
		return nil, nil
	}
	msg := evt.Message
	if msg == nil {
		msg = evt.RawMessage
	}
	if enc := msg.GetEncReactionMessage(); enc != nil && c.wa != nil {
		// A failure to read the stored secret leaves the reaction
		// unacknowledged for WhatsApp to deliver again, as for an
		// encrypted edit (openSecret); one that cannot be decrypted
		// is skipped, as a reaction is no message to report.
		if dec, err := c.wa.DecryptReaction(ctx, evt); isSecretStoreError(err) {
			return nil, fmt.Errorf("read the secret of the reacted-to message: %w", err)
		} else if err != nil {
			log.Warn().Err(err).Msg("Failed to decrypt a reaction")
		} else if dec != nil {
			dec.Key = enc.GetTargetMessageKey()
			msg = &waE2E.Message{ReactionMessage: dec}
		}
	}
	var conv *waconv.Converted
	var err error
	if inner := waconv.Unwrap(msg); inner.GetSecretEncryptedMessage() != nil {
		// An encrypted edit: opened, shown as a notice, or skipped.
		if msg, conv, err = c.openSecret(ctx, evt, inner); err != nil || (msg == nil && conv == nil) {
			return nil, err
		}
	}
	unread := conv != nil // an encrypted edit shown as a notice
	if !unread {
		if conv, err = c.convert(ctx, evt, msg, &info, chat.Server != types.GroupServer); err != nil {
			return nil, err
		}
	}
	if conv.Kind == waconv.KindIgnored || (conv.Kind == waconv.KindMessage && len(conv.Parts) == 0) {
		log.Debug().Msg("Ignoring a WhatsApp message with nothing for Matrix (a poll vote, an RSVP, key distribution ...)")
		return nil, nil
	}
	meta := c.messageMeta(ctx, &info, chat, alt)
	portal := meta.Portal
	if conv.Kind != waconv.KindMessage && portal.Receiver == "" {
		// An edit, a reaction or a deletion in a room other logins may
		// share (sendChange records only those).
		if sent, err := c.conn.msgs.sentChange(ctx, portal.Chat, info.ID); err != nil {
			return nil, fmt.Errorf("look up changes sent from Matrix: %w", err)
		} else if sent {
			// A Ferry login sent it from this room: the room has it.
			log.Debug().Msg("Ignoring the echo of an edit, reaction or deletion sent from Matrix")
			return nil, nil
		}
	}
	switch conv.Kind {
	case waconv.KindMessage:
		// The notice of an edit acts on a message, as the edit would: in a
		// chat without a room it has nothing to refer to.
		meta.CreatePortal = !unread
		if err = c.putKey(ctx, portal.Chat, &info, meta.Timestamp, ""); err != nil {
			return nil, err
		}
		return &network.Message{Meta: meta, ID: network.MessageID(info.ID), Parts: conv.Parts, ReplyTo: conv.ReplyTo}, nil
	case waconv.KindEdit:
		if own, err := c.editBySender(ctx, portal.Chat, &info, conv.Target); err != nil {
			return nil, err
		} else if !own {
			log.Debug().Str("target_id", string(conv.Target)).Msg("Ignoring an edit of someone else's message, as WhatsApp apps do")
			return nil, nil
		}
		parts, fits := waconv.FitEdit(conv.Parts)
		if !fits {
			// Too long for a Matrix edit: the new text goes as an answer
			// to the message, with the edit's own ID (to_matrix_oversize.go).
			// Its key names the edited message, whose deletion takes it
			// along (redactEditAnswers).
			log.Info().Str("target_id", string(conv.Target)).Msg("Sending an edit too long for Matrix as a message with its text attached")
			if err = c.putKey(ctx, portal.Chat, &info, meta.Timestamp, string(conv.Target)); err != nil {
				return nil, err
			}
			answer := &network.Message{Meta: meta, ID: network.MessageID(info.ID), Parts: waconv.EditAsMessage(conv.Parts), ReplyTo: &network.MessageRef{ID: conv.Target}}
			return &editAnswer{Message: answer, of: conv.Target}, nil
		}
		return &network.Edit{Meta: meta, ID: network.MessageID(info.ID), Target: conv.Target, Parts: parts}, nil
	case waconv.KindReaction:
		target := network.MessageRef{ID: conv.Target}
		if conv.Emoji == "" {
			return &network.ReactionRemove{Meta: meta, Target: target}, nil
		}
		return &network.Reaction{Meta: meta, Target: target, Key: conv.Emoji}, nil
	case waconv.KindRevoke:
		return &network.Redaction{Meta: meta, Target: conv.Target}, nil
	}
	return nil, nil
}

// putKey stores the key of a message about to be bridged into chat, for
// later edits, reactions and receipts; editOf names the message it edits
// when it is the answer carrying an edit too long for Matrix.
func (c *Client) putKey(ctx context.Context, chat network.ChatID, info *types.MessageInfo, ts time.Time, editOf string) error {
	sender := info.Sender
	if sender.IsEmpty() && info.IsFromMe {
		sender = c.ownJID()
	}
	err := c.conn.msgs.put(ctx, c.id, chat, info.ID, msgKey{ChatJID: info.Chat, Sender: sender, FromMe: info.IsFromMe, Timestamp: ts, EditOf: editOf})
	if err != nil {
		return fmt.Errorf("store the message key: %w", err)
	}
	return nil
}

// route says which chat a message belongs in, and the other side's
// alternate ID (a LID for a phone number or the reverse). ok is false for
// messages that are not bridged: channels, broadcast list messages sent
// from the phone, and status updates unless status_broadcasts is on.
func (c *Client) route(ctx context.Context, info *types.MessageInfo) (chat, alt types.JID, ok bool) {
	log := zerolog.Ctx(ctx)
	chat, alt = info.Chat, info.SenderAlt
	if info.IsFromMe {
		alt = info.RecipientAlt
	}
	switch {
	case info.ID == "" || chat.IsEmpty():
		log.Warn().Msg("WhatsApp message without ID or chat, ignoring")
		return chat, alt, false
	case chat == types.StatusBroadcastJID:
		if !c.conn.cfg.StatusBroadcasts {
			log.Debug().Msg("Ignoring a status update (status_broadcasts is off)")
			return chat, alt, false
		}
		// All status updates share the login's status room.
		return chat, types.EmptyJID, true
	case chat.Server == types.NewsletterServer:
		log.Debug().Msg("Ignoring a newsletter message")
		return chat, alt, false
	case chat.Server == types.BroadcastServer:
		if info.IsFromMe {
			log.Debug().Msg("Ignoring a broadcast list message sent from the phone")
			return chat, alt, false
		}
		// A broadcast list message shows in the DM with its sender.
		return info.Sender, info.SenderAlt, true
	}
	return chat, alt, true
}

// messageMeta is the contract's Meta of a message routed to chat.
func (c *Client) messageMeta(ctx context.Context, info *types.MessageInfo, chat, alt types.JID) network.Meta {
	private := chat.Server != types.GroupServer
	meta := network.Meta{Portal: c.portalFor(ctx, chat, alt), Sender: network.Sender{User: c.remote, FromMe: info.IsFromMe}, Timestamp: info.Timestamp}
	if !info.IsFromMe {
		meta.Sender.User = c.userFor(ctx, info.Sender, info.SenderAlt, private)
	}
	if meta.Timestamp.IsZero() {
		meta.Timestamp = time.Now()
	}
	return meta
}

// handleCall posts a notice: WhatsApp calls cannot cross the bridge, but
// the Matrix user must know that someone is calling.
func (c *Client) handleCall(ctx context.Context, call types.BasicCallMeta, media string) bool {
	caller, alt := call.CallCreator, call.CallCreatorAlt
	if caller.IsEmpty() {
		caller = call.From
	}
	if caller.IsEmpty() || c.isMe(caller) || call.CallID == "" {
		return true
	}
	var portal network.PortalKey
	private := call.GroupJID.IsEmpty()
	if private {
		portal = c.portalFor(ctx, caller, alt)
	} else {
		portal = groupPortal(call.GroupJID)
	}
	user := c.userFor(ctx, caller, alt, private)
	name := "someone"
	if jid, ok := parseUserID(user); ok {
		d := c.names(ctx, jid)
		for _, n := range []string{d.BusinessName, d.PushName, d.Phone} {
			if n != "" {
				name = n
				break
			}
		}
	}
	kind := "call"
	if media == "video" {
		kind = "video call"
	}
	ts := call.Timestamp
	if ts.IsZero() {
		ts = time.Now()
	}
	msg := &network.Message{
		Meta: network.Meta{Portal: portal, Sender: network.Sender{User: user}, Timestamp: ts, CreatePortal: true},
		ID:   network.MessageID("call-" + call.CallID),
		Parts: []network.Part{{Content: &event.MessageEventContent{
			MsgType: event.MsgNotice,
			Body:    fmt.Sprintf("📞 Incoming %s from %s; WhatsApp calls cannot be bridged. Answer it on your phone.", kind, name),
		}}},
	}
	return c.deliver(ctx, "call/"+call.CallID, msg)
}

// handleReceipt bridges read receipts of other people. Delivery receipts
// and the login's own reads on other devices have no Matrix equivalent the
// core can show.
func (c *Client) handleReceipt(ctx context.Context, evt *events.Receipt) {
	if evt.IsFromMe || len(evt.MessageIDs) == 0 ||
		(evt.Type != types.ReceiptTypeRead && evt.Type != types.ReceiptTypePlayed) {
		return
	}
	private := evt.Chat.Server != types.GroupServer
	portal := c.portalFor(ctx, evt.Chat, evt.SenderAlt)
	target, err := c.conn.msgs.latest(ctx, c.id, portal.Chat, evt.MessageIDs)
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("Failed to look up receipt targets")
	}
	if target == "" {
		target = evt.MessageIDs[0]
	}
	c.conn.host.QueueEvent(c.id, &network.Receipt{
		Meta:   network.Meta{Portal: portal, Sender: network.Sender{User: c.userFor(ctx, evt.Sender, evt.SenderAlt, private)}, Timestamp: evt.Timestamp},
		Target: network.MessageID(target),
	})
}

func (c *Client) handlePresence(ctx context.Context, evt *events.ChatPresence) {
	if evt.IsFromMe || evt.Sender.IsEmpty() {
		return
	}
	private := evt.Chat.Server != types.GroupServer
	var timeout time.Duration
	if evt.State == types.ChatPresenceComposing {
		timeout = typingTimeout
	}
	c.conn.host.QueueEvent(c.id, &network.Typing{
		Meta:    network.Meta{Portal: c.portalFor(ctx, evt.Chat, evt.SenderAlt), Sender: network.Sender{User: c.userFor(ctx, evt.Sender, evt.SenderAlt, private)}, Timestamp: time.Now()},
		Timeout: timeout,
	})
}
