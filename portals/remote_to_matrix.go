package portals

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/puppets"
)

func (p *Portal) handleRemote(ctx context.Context, login *network.Login, evt network.Event) error {
	meta := evt.EventMeta()
	if p.RoomID == "" {
		if !meta.CreatePortal {
			zerolog.Ctx(ctx).Debug().Msg("No portal room and the event may not create one, ignoring")
			return nil
		}
		var given *network.ChatInfo
		if resync, ok := evt.(*network.ChatResync); ok {
			given = resync.Info
		}
		_, backfill := evt.(*network.Backfill)
		if err := p.createRoomWith(ctx, login, "", given, backfill); err != nil {
			return err
		}
	}
	if b, ok := evt.(*network.Backfill); ok {
		return p.remoteBackfill(ctx, login, b)
	}
	if err := p.ensureUserIn(ctx, login); err != nil {
		return err
	}
	switch e := evt.(type) {
	case *network.Message:
		return p.remoteMessage(ctx, login, e)
	case *network.Edit:
		return p.remoteEdit(ctx, login, e)
	case *network.Reaction:
		return p.remoteReaction(ctx, login, e)
	case *network.ReactionRemove:
		return p.remoteReactionRemove(ctx, login, e)
	case *network.Redaction:
		return p.remoteRedaction(ctx, e)
	case *network.ChatInfoChange:
		p.applyInfo(ctx, login, e.Info)
		return nil
	case *network.ChatResync:
		return p.remoteResync(ctx, login, e)
	case *network.Membership:
		return p.remoteMembership(ctx, login, e)
	case *network.Typing:
		return p.remoteTyping(ctx, login, e)
	case *network.Receipt:
		return p.remoteReceipt(ctx, login, e)
	default:
		return fmt.Errorf("unknown remote event type %T", evt)
	}
}

// joinGhost returns the ghost of a remote person, registered, with a
// profile and joined to the room.
func (p *Portal) joinGhost(ctx context.Context, login *network.Login, user network.UserID) (*puppets.Ghost, error) {
	ghost, err := p.m.ghosts.Get(ctx, network.GhostKey{Network: p.Key.Network, User: user})
	if err != nil {
		return nil, err
	}
	if !ghost.HasName() {
		if client, ok := p.m.dir.Client(p.Key.Network, login.ID); ok {
			info, err := client.UserInfo(ctx, user)
			if err != nil {
				zerolog.Ctx(ctx).Warn().Err(err).Str("remote_user", string(user)).Msg("Failed to get user info")
			} else if err = p.m.ghosts.UpdateInfo(ctx, ghost, info); err != nil {
				return nil, err
			}
		}
	}
	if err = p.m.ghosts.EnsureRegistered(ctx, ghost); err != nil {
		return nil, err
	}
	inviter, err := p.inviterFor(ctx, user)
	if err != nil {
		return nil, err
	}
	err = p.m.matrix.Retry(ctx, "join ghost", func(ctx context.Context) error {
		return p.m.matrix.JoinInvitedBy(ctx, ghost.Intent(), p.RoomID, inviter)
	})
	if err != nil {
		return nil, err
	}
	p.memberJoined(user, ghost.MXID)
	return ghost, nil
}

func (p *Portal) remoteMessage(ctx context.Context, login *network.Login, msg *network.Message) error {
	log := zerolog.Ctx(ctx).With().Str("remote_id", string(msg.ID)).Logger()
	if p.editBridged(deletionKey(msg.ID)) {
		// Handed over again after its deletion (remote_reaction_once.go).
		log.Debug().Msg("Message deleted already")
		return nil
	}
	existing, err := p.m.db.Messages.GetParts(ctx, p.Key, msg.ID)
	if err != nil {
		return fmt.Errorf("check for duplicate: %w", err)
	}
	// The replies carrying its edits are none of its parts
	// (remote_edit_matrix_sent.go).
	existing = withoutEditReplies(existing)
	if len(existing) > 0 && existing[0].Placeholder && !msg.Placeholder && len(msg.Parts) > 0 {
		// The message a stand-in was sent for has arrived.
		if err = p.replacePlaceholder(ctx, login, msg, existing[0]); err != nil {
			return err
		}
		existing[0].Part, existing[0].Placeholder = msg.Parts[0].ID, false
	}
	done := make(map[network.PartID]bool, len(existing))
	for _, part := range existing {
		done[part.Part] = true
	}
	if len(existing) >= len(msg.Parts) {
		// A redelivery, the same message seen by another login, or the
		// echo of something Ferry sent for a Matrix user.
		log.Debug().Msg("Message already bridged")
		return nil
	}
	ghost, err := p.joinGhost(ctx, login, msg.Sender.User)
	if err != nil {
		return err
	}
	var replyTo *database.Message
	if msg.ReplyTo != nil {
		replyTo, err = p.findPart(ctx, msg.ReplyTo.ID, msg.ReplyTo.Part)
		if err != nil {
			return err
		}
	}
	received := msg.ReceivedAt // for the metrics (timing.go)
	if item := aheadItem(ctx); item != nil && replyTo == nil {
		if pipe := p.pipeline(); pipe != nil {
			p.sendMessageAhead(ctx, item, pipe, ghost, msg, done, received)
			return nil
		}
	}
	for i, part := range msg.Parts {
		if done[part.ID] {
			continue
		}
		content := p.partContent(ctx, ghost, part)
		if replyTo != nil && i == 0 {
			content.RelatesTo = (&event.RelatesTo{}).SetReplyTo(replyTo.EventID)
		}
		evtType := partEventType(&content)
		sendCtx, timed := p.timeRemoteSend(ctx, &received)
		eventID, err := p.m.matrix.SendMessage(sendCtx, ghost.Intent(), p.RoomID, evtType,
			&event.Content{Parsed: &content, Raw: part.Extra}, msg.Timestamp, txnID(p.Key, msg.ID, part.ID, "msg"))
		timed(err == nil)
		if err != nil {
			return err
		}
		err = p.m.db.Messages.Put(ctx, &database.Message{
			Portal: p.Key, ID: msg.ID, Part: part.ID, EventID: eventID, RoomID: p.RoomID,
			Sender: msg.Sender.User, SenderMXID: ghost.MXID, Timestamp: msg.Timestamp,
			Placeholder: msg.Placeholder,
		})
		if err != nil {
			return fmt.Errorf("store message mapping: %w", err)
		}
		log.Debug().Stringer("event_id", eventID).Str("part", string(part.ID)).Msg("Bridged message part")
	}
	return nil
}

// partEventType is the event type a message part is sent as: stickers are
// marked by the contract's sticker msgtype.
func partEventType(content *event.MessageEventContent) event.Type {
	if content.MsgType == event.MessageType(event.EventSticker.Type) {
		return event.EventSticker
	}
	return event.EventMessage
}

// remoteBackfill sends history, then makes sure the user is in the room:
// invited after the history when the backfill created the room.
func (p *Portal) remoteBackfill(ctx context.Context, login *network.Login, b *network.Backfill) error {
	log := zerolog.Ctx(ctx)
	for _, msg := range b.Messages {
		if msg == nil {
			continue
		}
		// A copy: the portal does not write to an event it was handed,
		// which may be encoded meanwhile to be stored (durable_behind.go).
		one := *msg
		one.Portal = p.Key
		msg = &one
		if err := p.remoteMessage(ctx, login, msg); err != nil {
			if errors.Is(err, puppets.ErrUnreachable) {
				// Nothing was refused: the whole batch waits for the
				// homeserver (durable_outage.go); what went through is
				// recognised when it is tried again.
				return err
			}
			// One bad old message must not keep the user out of the room.
			log.Warn().Err(err).Str("remote_id", string(msg.ID)).Msg("Failed to backfill message")
		}
	}
	log.Info().Int("messages", len(b.Messages)).Msg("Backfilled portal")
	return p.ensureUserIn(ctx, login)
}

// uploadMedia streams a remote file to a temporary file (never whole in
// memory: its size is what the sender declares) and uploads it as the
// ghost. Files over the homeserver's limit or media.max_file_size are refused
// with an error naming the size.
func (p *Portal) uploadMedia(ctx context.Context, ghost *puppets.Ghost, part network.Part, content *event.MessageEventContent) error {
	select {
	case p.m.mediaSlots <- struct{}{}:
		defer func() { <-p.m.mediaSlots }()
	case <-ctx.Done():
		return ctx.Err()
	}
	limit := p.m.maxMediaSize
	if hs := p.m.matrix.MaxUploadSize(ctx); hs > 0 && hs < limit {
		limit = hs
	}
	if declared := content.Info; declared != nil && int64(declared.Size) > limit {
		// The network knows the size before fetching (WhatsApp's sender
		// declares it): a file that cannot be uploaded is not downloaded.
		return fmt.Errorf("the file is %s, more than the %s this homeserver accepts", humanSize(int64(declared.Size)), humanSize(limit))
	}
	media, err := part.Media(ctx)
	if err != nil {
		return fmt.Errorf("fetch: %w", err)
	}
	defer media.Data.Close()
	if media.Size > limit {
		return fmt.Errorf("the file is %s, more than the %s this homeserver accepts", humanSize(media.Size), humanSize(limit))
	}
	tmp, err := os.CreateTemp("", "ferry-media-*")
	if err != nil {
		return fmt.Errorf("temporary file: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	size, err := io.Copy(tmp, io.LimitReader(media.Data, limit+1))
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if size > limit {
		return fmt.Errorf("the file is more than the %s this homeserver accepts", humanSize(limit))
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("temporary file: %w", err)
	}
	mimeType := media.MimeType
	if mimeType == "" {
		mimeType = sniffType(tmp.Name())
	}
	mxc, err := p.m.matrix.UploadFile(ctx, ghost.Intent(), tmp.Name(), size, mimeType, media.FileName)
	if err != nil {
		return err
	}
	content.URL = mxc.CUString()
	if content.Info == nil {
		content.Info = &event.FileInfo{}
	}
	content.Info.Size = int(size)
	content.Info.MimeType = mimeType
	if content.FileName == "" {
		content.FileName = media.FileName
	}
	return nil
}

// sniffType guesses a file's type from its first bytes.
func sniffType(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "application/octet-stream"
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	return http.DetectContentType(head[:n])
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// findPart finds a bridged message part; part "" means the first part.
// A message that was never bridged is nil, not an error.
func (p *Portal) findPart(ctx context.Context, msg network.MessageID, part network.PartID) (*database.Message, error) {
	var found *database.Message
	var err error
	if part != "" {
		found, err = p.m.db.Messages.GetPart(ctx, p.Key, msg, part)
	}
	if found == nil && err == nil {
		found, err = p.m.db.Messages.GetFirstPart(ctx, p.Key, msg)
	}
	if err != nil {
		return nil, fmt.Errorf("look up message %s: %w", msg, err)
	}
	return found, nil
}

func (p *Portal) remoteEdit(ctx context.Context, login *network.Login, edit *network.Edit) error {
	log := zerolog.Ctx(ctx).With().Str("target_id", string(edit.Target)).Logger()
	key := editKey(edit)
	if p.editBridged(key) {
		// Handed over again (remote_edit_once.go).
		log.Debug().Msg("Edit already bridged")
		return nil
	}
	ghost, err := p.joinGhost(ctx, login, edit.Sender.User)
	if err != nil {
		return err
	}
	sent := false
	for _, part := range edit.Parts {
		target, err := p.findPart(ctx, edit.Target, part.ID)
		if err != nil {
			return err
		}
		if target == nil {
			log.Warn().Msg("Edit of a message that was never bridged, ignoring")
			continue
		}
		// Decided before the file is uploaded, which either way goes
		// with the edit.
		asReply := p.sentFromMatrix(target)
		newContent := p.partContent(ctx, ghost, part)
		var content *event.MessageEventContent
		evtType := event.EventMessage
		if asReply {
			// Not the ghost's to replace (remote_edit_matrix_sent.go).
			content = editAsReply(&newContent, target)
			evtType = partEventType(content)
		} else {
			if part.Media == nil && newContent.MsgType.IsMedia() && newContent.URL == "" && newContent.File == nil {
				// A caption edit: the network sends the new text only, but the
				// replacement content must still point at the file
				// (remote_edit_media.go).
				if err = p.keepMedia(ctx, target, &newContent); err != nil {
					return err
				}
			}
			content = replacementContent(&newContent, target)
		}
		eventID, err := p.m.matrix.SendMessage(ctx, ghost.Intent(), p.RoomID, evtType,
			&event.Content{Parsed: content, Raw: part.Extra}, edit.Timestamp,
			editTxnID(p.Key, edit, part.ID, target.EditCount))
		if err != nil {
			return err
		}
		sent = true
		if asReply {
			if err = p.storeEditReply(ctx, ghost, edit, target, eventID); err != nil {
				return err
			}
		}
		if err = p.m.db.Messages.BumpEditCount(ctx, p.Key, target.ID, target.Part); err != nil {
			return fmt.Errorf("store edit: %w", err)
		}
	}
	if sent {
		// An edit of nothing bridged is not remembered: a copy handed
		// over once its target is bridged still goes.
		p.rememberEdit(key)
	}
	return nil
}

func (p *Portal) remoteReaction(ctx context.Context, login *network.Login, r *network.Reaction) error {
	key := reactionKey(r)
	if p.editBridged(key) {
		// Handed over again (remote_reaction_once.go).
		zerolog.Ctx(ctx).Debug().Msg("Reaction already bridged")
		return nil
	}
	target, err := p.findPart(ctx, r.Target.ID, r.Target.Part)
	if err != nil || target == nil {
		zerolog.Ctx(ctx).Debug().Err(err).Msg("Reaction to a message that was never bridged, ignoring")
		return err
	}
	existing, err := p.m.db.Reactions.Get(ctx, p.Key, target.ID, r.Sender.User, r.Emoji)
	if err != nil {
		return fmt.Errorf("look up reaction: %w", err)
	}
	if existing != nil && existing.Key == r.Key {
		p.rememberEdit(key)
		return nil
	}
	ghost, err := p.joinGhost(ctx, login, r.Sender.User)
	if err != nil {
		return err
	}
	if existing != nil {
		// Networks with one reaction per person replace it. It may be
		// one sent from Matrix (remote_reaction_matrix_sent.go).
		if err = p.redactReaction(ctx, ghost, existing); err != nil {
			return err
		}
	}
	content := &event.ReactionEventContent{RelatesTo: *(&event.RelatesTo{}).SetAnnotation(target.EventID, r.Key)}
	// The reaction's time is in the transaction ID, as an edit's is: the
	// same emoji removed and given again must be a new event, which the
	// homeserver would otherwise answer with the first, redacted one. A
	// replay of this reaction keeps its time, so it stays idempotent.
	eventID, err := p.m.matrix.SendMessage(ctx, ghost.Intent(), p.RoomID, event.EventReaction, content, r.Timestamp,
		txnID(p.Key, target.ID, target.Part, fmt.Sprintf("react-%s-%s-%d", r.Sender.User, r.Key, r.Timestamp.UnixNano())))
	if err != nil {
		return err
	}
	err = p.m.db.Reactions.Put(ctx, &database.Reaction{
		Portal: p.Key, Target: target.ID, TargetPart: target.Part, Sender: r.Sender.User, Emoji: r.Emoji,
		Key: r.Key, EventID: eventID, RoomID: p.RoomID, Timestamp: r.Timestamp,
	})
	if err == nil {
		p.rememberEdit(key)
	}
	return err
}

func (p *Portal) remoteReactionRemove(ctx context.Context, login *network.Login, r *network.ReactionRemove) error {
	key := reactionRemoveKey(r)
	if p.editBridged(key) {
		// Handed over again (remote_reaction_once.go).
		zerolog.Ctx(ctx).Debug().Msg("Reaction removal already bridged")
		return nil
	}
	existing, err := p.m.db.Reactions.Get(ctx, p.Key, r.Target.ID, r.Sender.User, r.Emoji)
	if err != nil || existing == nil {
		return err
	}
	if !removableBy(existing, login, r.Sender) {
		// Not its maker's to take back (remote_reaction_matrix_sent.go).
		zerolog.Ctx(ctx).Info().Str("remote_user", string(r.Sender.User)).Stringer("event_id", existing.EventID).
			Msg("Reaction removal not bridged: the reaction was sent from Matrix, and its sender's own account did not take it back")
		return nil
	}
	ghost, err := p.m.ghosts.Get(ctx, network.GhostKey{Network: p.Key.Network, User: r.Sender.User})
	if err != nil {
		return err
	}
	// Registered here, under the ghost's lock, not by the intent on its
	// first request: the intent's own registration is unsafe beside
	// another's (the network updating the ghost's profile at once).
	if err = p.m.ghosts.EnsureRegistered(ctx, ghost); err != nil {
		return err
	}
	// It may be one sent from Matrix (remote_reaction_matrix_sent.go).
	if err = p.redactReaction(ctx, ghost, existing); err != nil {
		return err
	}
	if err = p.m.db.Reactions.Delete(ctx, existing); err != nil {
		return err
	}
	p.rememberEdit(key)
	return nil
}

func (p *Portal) remoteRedaction(ctx context.Context, r *network.Redaction) error {
	if r.Part != "" {
		return p.remotePartRedaction(ctx, r)
	}
	parts, err := p.m.db.Messages.GetParts(ctx, p.Key, r.Target)
	if err != nil {
		return fmt.Errorf("look up redacted message: %w", err)
	}
	own := withoutEditReplies(parts)
	for _, part := range own {
		if err = p.redactPart(ctx, r, part); err != nil {
			return err
		}
	}
	// The message is gone from the room: the replies carrying its edits
	// go as far as they can, and those left are told, not the deletion
	// failed (remote_edit_matrix_sent_deletion.go).
	p.redactEditReplies(ctx, parts, p.remoteEditDeletion(parts))
	if err = p.m.db.Messages.Delete(ctx, p.Key, r.Target); err != nil {
		return err
	}
	p.rememberEdit(deletionKey(r.Target))
	return nil
}

// remotePartRedaction deletes one part of a message, which stays. A copy
// handed over again finds the part gone and does nothing.
func (p *Portal) remotePartRedaction(ctx context.Context, r *network.Redaction) error {
	part, err := p.m.db.Messages.GetPart(ctx, p.Key, r.Target, r.Part)
	if err != nil {
		return fmt.Errorf("look up redacted part: %w", err)
	}
	if part == nil {
		return nil
	}
	if err = p.redactPart(ctx, r, part); err != nil {
		return err
	}
	return p.m.db.Messages.DeletePart(ctx, p.Key, r.Target, r.Part)
}

// redactPart redacts the event of one part of a message r deletes.
func (p *Portal) redactPart(ctx context.Context, r *network.Redaction, part *database.Message) error {
	// The sender's ghost may redact its own message; for messages of
	// others (an admin deleting) or of a Matrix user, the bot does it,
	// or in a direct chat without the bot, the ghost acting for it.
	var intent *appservice.IntentAPI
	var err error
	if _, isGhost := p.m.ghosts.ParseMXID(part.SenderMXID); isGhost && part.Sender == r.Sender.User {
		intent = p.m.matrix.Intent(part.SenderMXID)
	} else if intent, err = p.botStandIn(ctx); err != nil {
		return err
	}
	return p.m.matrix.Redact(ctx, intent, p.RoomID, part.EventID, "")
}

func (p *Portal) remoteResync(ctx context.Context, login *network.Login, r *network.ChatResync) error {
	info := r.Info
	if info == nil {
		client, ok := p.m.dir.Client(p.Key.Network, login.ID)
		if !ok {
			return fmt.Errorf("login %s is not running", login.ID)
		}
		var err error
		if info, err = client.ChatInfo(ctx, p.Key.Chat); err != nil {
			return fmt.Errorf("get chat info: %w", err)
		}
	}
	p.applyInfo(ctx, login, info)
	return nil
}

func (p *Portal) remoteMembership(ctx context.Context, login *network.Login, m *network.Membership) error {
	bot := p.m.matrix.Bot()
	if m.TargetIsMe {
		if m.Action != network.MembershipKick && m.Action != network.MembershipBan && m.Action != network.MembershipLeave {
			return nil
		}
		// The Matrix user's own connection is out of the chat: they leave
		// the room too, and learn why.
		reason := string(m.Action)
		if m.Reason != "" {
			reason += ": " + m.Reason
		}
		err := p.m.matrix.Retry(ctx, "remove user", func(ctx context.Context) error {
			_, err := bot.KickUser(ctx, p.RoomID, &mautrix.ReqKickUser{UserID: login.User, Reason: reason})
			return err
		})
		if err != nil {
			return err
		}
		return p.unlinkMember(ctx, login.User)
	}
	// A ghost's join or leave waits for a moment when the portal has
	// nothing else to do (member_sync.go): a channel's churn must not
	// hold up its messages.
	switch m.Action {
	case network.MembershipJoin, network.MembershipInvite:
		p.planMember(p.memberSyncFor(login), m.Target, memberAction{join: true})
	case network.MembershipLeave:
		p.planMember(p.memberSyncFor(login), m.Target, memberAction{reason: m.Reason})
	case network.MembershipKick, network.MembershipBan:
		p.planMember(p.memberSyncFor(login), m.Target, memberAction{byBot: true, reason: m.Reason})
	}
	return nil
}

func (p *Portal) remoteTyping(ctx context.Context, login *network.Login, t *network.Typing) error {
	ghost, err := p.joinGhost(ctx, login, t.Sender.User)
	if err != nil {
		return err
	}
	_, err = ghost.Intent().UserTyping(ctx, p.RoomID, t.Timeout > 0, t.Timeout)
	return err
}

func (p *Portal) remoteReceipt(ctx context.Context, login *network.Login, r *network.Receipt) error {
	target, err := p.findPart(ctx, r.Target, "")
	if err != nil || target == nil {
		return err
	}
	ghost, err := p.joinGhost(ctx, login, r.Sender.User)
	if err != nil {
		return err
	}
	return ghost.Intent().SendReceipt(ctx, p.RoomID, target.EventID, event.ReceiptTypeRead, nil)
}
