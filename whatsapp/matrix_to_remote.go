package whatsapp

import (
	"context"
	"fmt"
	"html"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"go.mau.fi/util/random"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/whatsapp/waconv"
)

// sendTimeout bounds one send to WhatsApp, media upload included.
const sendTimeout = 3 * time.Minute

// maxConcurrentUploads is how many files go to WhatsApp at once; more
// wait, so that a burst of files neither fills the disk with encrypted
// copies nor starves the connection.
const maxConcurrentUploads = 4

// chatOf is the WhatsApp chat of a portal this login may speak in.
func (c *Client) chatOf(key network.PortalKey) (types.JID, error) {
	if key.Network != NetworkID || (key.Receiver != "" && key.Receiver != c.id) {
		return types.JID{}, network.ErrWrongAccount
	}
	chat, err := parseChatID(key.Chat)
	if err == nil && chat == types.StatusBroadcastJID {
		return types.JID{}, errStatusRoom
	}
	return chat, err
}

// errStatusRoom answers anything sent in the status room: posting a status
// from Matrix is not supported, and an answer to one belongs in the DM.
var errStatusRoom = network.UserErrorf("the status room only shows your contacts' status updates; to answer one, write in the person's chat")

// Send delivers a Matrix message. The message ID is chosen here and passed
// to WhatsApp, so that Send can return it: the core recognises the echo of
// a group message (seen by another login) by it.
func (c *Client) Send(ctx context.Context, msg *network.OutgoingMessage) (*network.SendResult, error) {
	wa, err := c.needSession()
	if err != nil {
		return nil, err
	}
	chat, err := c.chatOf(msg.Portal)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	content := msg.Content
	if msg.Relay != nil {
		content = relayContent(content, msg.Relay.DisplayName)
	}
	var media *network.Media
	if msg.Media != nil {
		select {
		case c.conn.uploadSlots <- struct{}{}:
			defer func() { <-c.conn.uploadSlots }()
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for an upload slot: %w", ctx.Err())
		}
		if media, err = msg.Media(ctx); err != nil {
			return nil, &network.UserError{Message: "the file could not be fetched from Matrix", Err: err}
		}
		if media == nil || media.Data == nil {
			return nil, network.UserErrorf("the file could not be fetched from Matrix")
		}
		defer media.Data.Close()
	}
	deps := c.outDeps(wa)
	replyTo := msg.ReplyTo
	if replyTo != nil {
		quoted := *replyTo
		quoted.ID = c.whatsAppTarget(ctx, msg.Portal.Chat, quoted.ID)
		replyTo = &quoted
		deps.ReplySender = c.replySender(ctx, msg.Portal.Chat, quoted.ID)
	}
	waMsg, err := waconv.FromMatrix(ctx, content, media, replyTo, deps)
	if err != nil {
		return nil, err
	}
	addMessageSecret(waMsg)
	msgID := wa.GenerateMessageID()
	resp, err := wa.SendMessage(ctx, chat, waMsg, whatsmeow.SendRequestExtra{ID: msgID})
	if err != nil {
		return nil, userFacing(fmt.Errorf("send to WhatsApp: %w", err))
	}
	reportWritten(msg.Written, resp.DebugTimings)
	ts := resp.Timestamp
	if ts.IsZero() {
		ts = time.Now()
	}
	key := msgKey{ChatJID: chat, Sender: c.ownJID(), FromMe: true, Timestamp: ts}
	if err = c.conn.msgs.put(ctx, c.id, msg.Portal.Chat, msgID, key); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("Failed to store the key of a sent message")
	}
	return &network.SendResult{ID: network.MessageID(msgID), Timestamp: ts}, nil
}

// addMessageSecret gives a new message the random secret WhatsApp apps
// put in every message they send. Edits, reactions, poll votes and event
// answers to a message are encrypted with a key derived from its secret;
// without one the user's phone cannot edit, on WhatsApp's current way, a
// message sent from Matrix, nor Ferry read such an edit. whatsmeow adds
// one only for bots and reporting tokens, neither of which Ferry uses;
// when it sees one it stores it for decrypting those later. Protocol
// messages (edits, revokes, reactions) carry none: they are not messages
// anyone can act on.
func addMessageSecret(msg *waE2E.Message) {
	if msg.MessageContextInfo == nil {
		msg.MessageContextInfo = &waE2E.MessageContextInfo{}
	}
	// As whatsmeow makes its own: crypto/rand does not fail.
	msg.MessageContextInfo.MessageSecret = random.Bytes(32)
}

// reportWritten tells the core when the message's frame was written to
// WhatsApp's connection, for its timing of its own share. whatsmeow has
// no hook at that moment: SendMessage writes the frame and returns only
// once WhatsApp acknowledged it, a round trip later, saying how long it
// waited for that (and for a resend, if any). The frame went out that
// long before now. Reported only now, it cannot end the core's wait to
// store the event (bridge.StoreAfterWait) earlier than Send's return.
func reportWritten(written func(at time.Time), timings whatsmeow.MessageDebugTimings) {
	if written != nil {
		written(time.Now().Add(-timings.Resp - timings.Retry))
	}
}

func (c *Client) outDeps(wa waClient) waconv.OutDeps {
	upload := func(ctx context.Context, r io.Reader, mediaType whatsmeow.MediaType) (whatsmeow.UploadResponse, error) {
		return wa.UploadReader(ctx, r, nil, mediaType) // encrypts into its own temporary file
	}
	return waconv.OutDeps{Upload: upload, Mention: c.mentionJID}
}

// mentionJID resolves a pill to a JID: a WhatsApp ghost (as the core
// names it) or the login's own Matrix user.
func (c *Client) mentionJID(mxid id.UserID) (types.JID, bool) {
	if mxid == c.user && c.user != "" {
		return c.ownJID(), true
	}
	local, _, err := mxid.Parse()
	if err != nil {
		return types.JID{}, false
	}
	rest, ok := strings.CutPrefix(local, string(NetworkID)+"_")
	if !ok {
		return types.JID{}, false
	}
	user, ok := c.conn.ParseGhostLocalpart(rest)
	if !ok || c.conn.host.GhostMXID(user) != mxid {
		return types.JID{}, false
	}
	return parseUserID(user)
}

// replySender names the sender of a quoted message as WhatsApp addressed
// it (a LID in LID-addressed groups), falling back to the ghost's ID.
func (c *Client) replySender(ctx context.Context, chat network.ChatID, target network.MessageID) func(network.UserID) (types.JID, bool) {
	key, err := c.conn.msgs.get(ctx, c.id, chat, string(target))
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("Failed to look up the quoted message")
	}
	return func(user network.UserID) (types.JID, bool) {
		switch {
		case key != nil && !key.Sender.IsEmpty():
			return key.Sender, true
		case user == c.remote:
			return c.ownJID(), true
		}
		return parseUserID(user)
	}
}

// whatsAppTarget is the WhatsApp message that a reaction or a reply from
// Matrix to msgID is for: msgID itself, except for the answer that
// carries an edit too long for a Matrix edit (toEvent). That answer has
// the edit's ID, which names no message a WhatsApp app shows: a reaction
// to it would be lost there. It stands for the message edited.
func (c *Client) whatsAppTarget(ctx context.Context, chat network.ChatID, msgID network.MessageID) network.MessageID {
	key, err := c.conn.msgs.get(ctx, c.id, chat, string(msgID))
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Str("target_id", string(msgID)).Msg("Failed to look up the message acted on")
	}
	if key == nil || key.EditOf == "" {
		return msgID
	}
	return network.MessageID(key.EditOf)
}

// target builds the key of an earlier message. Who sent it and when come
// from the core (TargetInfo); the login's table adds how WhatsApp
// addressed it, where the login saw it: the chat JID (a DM may be keyed by
// the partner's LID) and the sender's JID (a LID in LID-addressed groups,
// where the ghost may carry the phone number). Without a row the core's
// sender is used as it stands.
func (c *Client) target(ctx context.Context, portal network.PortalKey, msgID network.MessageID, info network.TargetInfo) (types.JID, *msgKey, error) {
	chat, err := c.chatOf(portal)
	if err != nil {
		return chat, nil, err
	}
	key := &msgKey{ChatJID: chat, FromMe: info.FromMe, Timestamp: info.Timestamp}
	if info.FromMe {
		key.Sender = c.ownJID()
	} else if jid, ok := parseUserID(info.Sender); ok {
		key.Sender = jid
	}
	stored, err := c.conn.msgs.get(ctx, c.id, portal.Chat, string(msgID))
	if err != nil {
		return chat, nil, fmt.Errorf("look up message key: %w", err)
	}
	if stored != nil {
		key.ChatJID = targetChat(stored.ChatJID, chat)
		if !stored.Sender.IsEmpty() {
			key.Sender = stored.Sender
		}
		if info.Sender == "" {
			// The core did not know the message; the login did.
			key.FromMe, key.Timestamp = stored.FromMe, stored.Timestamp
		}
	}
	if key.Sender.IsEmpty() {
		return chat, nil, network.UserErrorf("Ferry does not know who sent that message, so it cannot point WhatsApp at it")
	}
	return key.ChatJID, key, nil
}

// targetChat is the chat to aim at a stored message in: where the login
// saw it, except for a broadcast list message. That shows in the DM with
// its sender (route), on the phone as in Matrix, and whatsmeow refuses to
// send to a broadcast list, so a reaction, edit or deletion of it goes to
// the DM's chat. The list's JID stays stored because a read receipt names
// it; mapping it here also covers rows stored before this.
func targetChat(stored, portalChat types.JID) types.JID {
	if stored.Server == types.BroadcastServer && stored != types.StatusBroadcastJID {
		return portalChat
	}
	return stored
}

func (c *Client) Edit(ctx context.Context, e *network.OutgoingEdit) error {
	wa, err := c.needSession()
	if err != nil {
		return err
	}
	chat, key, err := c.target(ctx, e.Portal, e.Target.ID, e.TargetInfo)
	if err != nil {
		return err
	}
	if !key.FromMe {
		return network.UserErrorf("only your own messages can be edited on WhatsApp")
	}
	if age := time.Since(key.Timestamp); age > whatsmeow.EditWindow {
		return network.UserErrorf("WhatsApp allows edits for %d minutes only", int(whatsmeow.EditWindow.Minutes()))
	}
	content := e.Content
	if e.Relay != nil {
		content = relayContent(content, e.Relay.DisplayName)
	}
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	waMsg, err := waconv.EditMessage(ctx, wa, chat, e.Target.ID, content, c.outDeps(wa))
	if err != nil {
		return err
	}
	return c.sendChange(ctx, wa, e.Portal, chat, waMsg)
}

func (c *Client) React(ctx context.Context, r *network.OutgoingReaction) (network.EmojiID, error) {
	// WhatsApp keeps one reaction per person and message: EmojiID "".
	return "", c.react(ctx, r.Portal, r.Target.ID, r.TargetInfo, r.Key)
}

func (c *Client) Unreact(ctx context.Context, r *network.OutgoingUnreaction) error {
	return c.react(ctx, r.Portal, r.Target.ID, r.TargetInfo, "")
}

func (c *Client) react(ctx context.Context, portal network.PortalKey, target network.MessageID, info network.TargetInfo, emoji string) error {
	wa, err := c.needSession()
	if err != nil {
		return err
	}
	chat, key, err := c.target(ctx, portal, target, info)
	if err != nil {
		return err
	}
	target = c.whatsAppTarget(ctx, portal.Chat, target)
	waMsg, err := waconv.ReactionMessage(wa, chat, key.Sender, target, emoji)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	return c.sendChange(ctx, wa, portal, chat, waMsg)
}

// Redact deletes a message for everyone: the user's own, or (as a group
// admin) someone else's; WhatsApp enforces who may. The answer carrying
// an edit too long for a Matrix edit (toEvent) is only Ferry's showing of
// the edit, under an ID no WhatsApp app shows: deleting it removes it
// from the room alone, and the edited message stays on WhatsApp.
func (c *Client) Redact(ctx context.Context, r *network.OutgoingRedaction) error {
	if answer, err := c.forgetDeletedEditAnswer(ctx, r.Portal.Chat, r.Target); err != nil || answer {
		return err
	}
	wa, err := c.needSession()
	if err != nil {
		return err
	}
	chat, key, err := c.target(ctx, r.Portal, r.Target, r.TargetInfo)
	if err != nil {
		return err
	}
	sender := types.EmptyJID
	if !key.FromMe {
		if chat.Server != types.GroupServer {
			return network.UserErrorf("only your own messages can be deleted for everyone on WhatsApp")
		}
		sender = key.Sender
	}
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	if err = c.sendChange(ctx, wa, r.Portal, chat, waconv.RevokeMessage(wa, chat, sender, r.Target)); err != nil {
		return err
	}
	c.queueEditAnswerRedactions(ctx, r.Portal, r.Target)
	return nil
}

// forgetDeletedEditAnswer says whether msgID, deleted in Matrix, is an
// answer carrying an edit (Redact), and if so forgets it as one, so that
// a later edit or deletion of the message does not delete it again.
func (c *Client) forgetDeletedEditAnswer(ctx context.Context, chat network.ChatID, msgID network.MessageID) (bool, error) {
	key, err := c.conn.msgs.get(ctx, c.id, chat, string(msgID))
	if err != nil {
		return false, fmt.Errorf("look up message key: %w", err)
	}
	if key == nil || key.EditOf == "" {
		return false, nil
	}
	zerolog.Ctx(ctx).Debug().Str("edited_id", key.EditOf).Msg("An answer carrying an edit deleted in Matrix; nothing to delete on WhatsApp")
	if err = c.conn.msgs.forgetEditAnswer(ctx, c.id, chat, string(msgID)); err != nil {
		return true, fmt.Errorf("forget the answer carrying an edit: %w", err)
	}
	return true, nil
}

// queueEditAnswerRedactions deletes from the room the answers that
// carried edits of a message deleted from Matrix too long for Matrix
// edits (redactEditAnswers does so for a deletion from WhatsApp): they
// hold its text, and are in the room only. Queued, not handled: this runs
// on the portal's own queue.
func (c *Client) queueEditAnswerRedactions(ctx context.Context, portal network.PortalKey, target network.MessageID) {
	answers, err := c.conn.msgs.editAnswers(ctx, c.id, portal.Chat, string(target))
	if err != nil {
		zerolog.Ctx(ctx).Err(err).Str("target_id", string(target)).
			Msg("Failed to look up the answers carrying edits of a message deleted from Matrix; they stay in the room")
		return
	}
	meta := network.Meta{Portal: portal, Sender: network.Sender{User: c.remote, FromMe: true}, Timestamp: time.Now()}
	for _, answer := range answers {
		c.conn.host.QueueEvent(c.id, &network.Redaction{Meta: meta, Target: network.MessageID(answer)})
	}
}

// sendChange sends an edit, a reaction or a deletion made in Matrix.
// Another Ferry login in the chat gets it as any member's, and the core
// learns no ID for it to recognise the echo by; its WhatsApp ID, recorded
// per portal chat before sending, tells that login that the room has it.
// Only a group's room is shared: a DM's (one with a Receiver) is its
// login's alone, and no other login could ever look its changes up.
func (c *Client) sendChange(ctx context.Context, wa waClient, portal network.PortalKey, chat types.JID, msg *waE2E.Message) error {
	msgID := wa.GenerateMessageID()
	if portal.Receiver == "" {
		if err := c.conn.msgs.putSentChange(ctx, portal.Chat, msgID); err != nil {
			return fmt.Errorf("record the ID of the change: %w", err)
		}
	}
	if _, err := wa.SendMessage(ctx, chat, msg, whatsmeow.SendRequestExtra{ID: msgID}); err != nil {
		return userFacing(fmt.Errorf("send to WhatsApp: %w", err))
	}
	return nil
}

func (c *Client) SendTyping(ctx context.Context, portal network.PortalKey, typing bool) error {
	wa, err := c.needSession()
	if err != nil {
		return err
	}
	chat, err := c.chatOf(portal)
	if err != nil {
		return err
	}
	state := types.ChatPresencePaused
	if typing {
		state = types.ChatPresenceComposing
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return wa.SendChatPresence(ctx, chat, state, types.ChatPresenceMediaText)
}

// SendReceipt marks a message (and, for WhatsApp, everything before it in
// the chat) as read. Own messages and messages the login never saw have
// nothing to mark. The answer carrying an edit too long for a Matrix edit
// (toEvent) has the edit's ID, which names no message a WhatsApp app
// shows as read or not: its receipt goes for the newest message before
// it (readForEditAnswer).
func (c *Client) SendReceipt(ctx context.Context, portal network.PortalKey, upTo network.MessageID) error {
	wa, err := c.needSession()
	if err != nil {
		return err
	}
	if _, err = c.chatOf(portal); err != nil {
		return err
	}
	read := string(upTo)
	key, err := c.conn.msgs.get(ctx, c.id, portal.Chat, read)
	if err != nil || key == nil {
		return err
	}
	if key.EditOf != "" {
		if read, key, err = c.readForEditAnswer(ctx, portal.Chat, key); err != nil {
			return err
		}
	}
	if key.FromMe {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return wa.MarkRead(ctx, []types.MessageID{read}, time.Now(), key.ChatJID, key.Sender)
}

// readForEditAnswer is the message a read receipt on answer, the key of
// an answer carrying an edit, marks read on WhatsApp, and its key: the
// newest message shown before the answer, so that those that came
// between the edited message and the edit are read too; the edited
// message itself when the login knows none.
func (c *Client) readForEditAnswer(ctx context.Context, chat network.ChatID, answer *msgKey) (string, *msgKey, error) {
	msgID, key, err := c.conn.msgs.newestShownAt(ctx, c.id, chat, answer.Timestamp)
	if err != nil {
		return "", nil, fmt.Errorf("look up the message read before an answer carrying an edit: %w", err)
	}
	if key == nil {
		return answer.EditOf, answer, nil
	}
	return msgID, key, nil
}

// StartDM finds the DM portal of a person, checking that a phone number
// is on WhatsApp when the login is connected.
func (c *Client) StartDM(ctx context.Context, user network.UserID) (network.PortalKey, error) {
	jid, ok := parseUserID(user)
	if !ok {
		// The ID is the user's words: shown as written in the notice.
		return network.PortalKey{}, network.UserErrorf("%s is not a WhatsApp user", network.Literal(strconv.Quote(string(user))))
	}
	if jid.Server == types.DefaultUserServer && c.wa != nil && c.wa.IsLoggedIn() {
		ctx, cancel := context.WithTimeout(ctx, infoTimeout)
		defer cancel()
		pn, err := c.lookUpPhone(ctx, jid.User)
		if err != nil {
			return network.PortalKey{}, err
		}
		jid = pn
	}
	return privatePortal(c.dmChat(ctx, jid, types.EmptyJID), c.id), nil
}

// lookUpPhone asks WhatsApp whether +digits has an account, within the
// login's lookup budget (ratelimit.go).
func (c *Client) lookUpPhone(ctx context.Context, digits string) (types.JID, error) {
	if ok, wait := c.lookups.take(); !ok {
		return types.JID{}, network.UserErrorf("too many phone number lookups for +%s: WhatsApp may block accounts that look up many numbers. Try again in %s.",
			c.remote, waitText(wait))
	}
	resp, err := c.wa.IsOnWhatsApp(ctx, []string{"+" + digits})
	if err != nil {
		return types.JID{}, userFacing(fmt.Errorf("ask WhatsApp about +%s: %w", digits, err))
	}
	for _, r := range resp {
		if !r.IsIn {
			continue
		}
		if r.PhoneNumber.Server == types.DefaultUserServer {
			return r.PhoneNumber.ToNonAD(), nil
		}
		if r.JID.Server == types.DefaultUserServer {
			return r.JID.ToNonAD(), nil
		}
		return types.NewJID(digits, types.DefaultUserServer), nil
	}
	return types.JID{}, network.UserErrorf("+%s is not on WhatsApp", digits)
}

// LeaveChat is what leaving a portal room means: only that the Matrix user
// no longer follows the chat in Matrix. Ferry never leaves the WhatsApp
// group for them; they leave it on the phone if they want to.
func (c *Client) LeaveChat(ctx context.Context, portal network.PortalKey) error {
	zerolog.Ctx(ctx).Info().Stringer("portal", portal).Msg("Matrix user left the room; the WhatsApp chat stays as it is")
	return nil
}

// relayContent marks a message sent through another user's login with the
// real sender's name, in WhatsApp's markup.
func relayContent(content *event.MessageEventContent, name string) *event.MessageEventContent {
	out := *content
	name = strings.TrimSpace(strings.ReplaceAll(name, "*", ""))
	if name == "" {
		name = "Someone"
	}
	switch out.MsgType {
	case event.MsgImage, event.MsgVideo, event.MsgAudio, event.MsgFile, event.MessageType(event.EventSticker.Type):
		if out.FileName != "" && out.Body != out.FileName {
			out.Body = name + ": " + out.Body
			if out.FormattedBody != "" {
				out.FormattedBody = "<strong>" + html.EscapeString(name) + "</strong>: " + out.FormattedBody
			}
		} else {
			out.FileName = out.GetFileName()
			out.Body, out.Format, out.FormattedBody = "Sent by "+name, "", ""
		}
		return &out
	case event.MsgEmote:
		out.MsgType = event.MsgText
		out.Body = "*" + name + "* " + out.Body
		if out.FormattedBody != "" {
			out.FormattedBody = "<strong>" + html.EscapeString(name) + "</strong> " + out.FormattedBody
		}
		return &out
	}
	if out.FormattedBody != "" {
		out.FormattedBody = "<strong>" + html.EscapeString(name) + "</strong>: " + out.FormattedBody
		out.Body = name + ": " + out.Body
	} else {
		out.Body = "*" + name + "*: " + out.Body
	}
	return &out
}
