package whatsapp

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/rs/zerolog"
	"go.mau.fi/whatsmeow/proto/waHistorySync"
	"go.mau.fi/whatsmeow/proto/waWeb"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/ferrybridge/ferry/bridge/network"
)

// historyChat is one conversation of a history sync, chosen for backfill.
type historyChat struct {
	portal network.PortalKey
	// chat is the conversation's JID; alt the DM partner's phone number
	// when WhatsApp keys the conversation by LID and names the number.
	chat, alt types.JID
	// msgs are within max_age, newest first.
	msgs   []*waWeb.WebMessageInfo
	latest time.Time
}

// handleHistorySync picks the conversations to backfill within the
// history_sync limits and queues them, most recent first. WhatsApp sends a
// new login's history in several blobs; only those with chat history
// count (the others carry names, statuses or on-demand answers).
func (c *Client) handleHistorySync(ctx context.Context, evt *events.HistorySync) {
	data := evt.Data
	log := zerolog.Ctx(ctx).With().Stringer("sync_type", data.GetSyncType()).Uint32("chunk", data.GetChunkOrder()).Logger()
	switch data.GetSyncType() {
	case waHistorySync.HistorySync_INITIAL_BOOTSTRAP, waHistorySync.HistorySync_RECENT, waHistorySync.HistorySync_FULL:
	default:
		log.Debug().Msg("Ignoring a history sync without chat history")
		return
	}
	limits := c.conn.cfg.HistorySync
	room := c.history.room(limits.MaxChats)
	if room == 0 || limits.MaxMessagesPerChat <= 0 || c.cli == nil {
		log.Debug().Int("conversations", len(data.GetConversations())).Msg("History sync beyond the configured limits, ignoring")
		return
	}
	var oldest time.Time
	if limits.MaxAge > 0 {
		oldest = time.Now().Add(-time.Duration(limits.MaxAge))
	}
	var chats []*historyChat
	for _, conv := range data.GetConversations() {
		if hc := c.historyChat(ctx, conv, oldest); hc != nil {
			chats = append(chats, hc)
		}
	}
	slices.SortStableFunc(chats, func(a, b *historyChat) int { return b.latest.Compare(a.latest) })
	queued := c.history.add(ctx, chats, limits.MaxChats)
	log.Info().Int("conversations", len(data.GetConversations())).Int("backfill", queued).Msg("History sync received")
}

// historyChat selects a conversation's messages within max_age; nil when
// none are left or the chat is not bridged (status, broadcast lists, and
// channels and communities, which the user is told about).
func (c *Client) historyChat(ctx context.Context, conv *waHistorySync.Conversation, oldest time.Time) *historyChat {
	chat, err := types.ParseJID(conv.GetID())
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Str("chat", conv.GetID()).Msg("History for a chat with a bad JID")
		return nil
	}
	chat = chat.ToNonAD()
	switch chat.Server {
	case types.NewsletterServer:
		c.skipUnbridged(ctx, chat) // tells the user once why it has no room
		return nil
	case types.GroupServer:
		if conv.GetIsParentGroup() || conv.GetIsDefaultSubgroup() {
			// The sync says what the group is: no need to ask WhatsApp.
			c.conn.unbridged.noteCommunity(chat, communityInfo{is: true, parent: conv.GetIsParentGroup(), name: conv.GetName()})
		}
		if c.skipUnbridged(ctx, chat) {
			return nil
		}
	case types.DefaultUserServer, types.HiddenUserServer:
	default:
		return nil
	}
	hc := &historyChat{chat: chat}
	if chat.Server == types.HiddenUserServer {
		// The conversation shows the partner's number: a DM is the
		// login's own, so its room is keyed by that number.
		if pn, err := types.ParseJID(conv.GetPnJID()); err == nil && pn.Server == types.DefaultUserServer {
			hc.alt = pn.ToNonAD()
		}
	}
	for _, hm := range conv.GetMessages() {
		msg := hm.GetMessage()
		ts := time.Unix(int64(msg.GetMessageTimestamp()), 0)
		if msg == nil || msg.GetMessageTimestamp() == 0 || ts.Before(oldest) {
			continue
		}
		hc.msgs = append(hc.msgs, msg)
		if ts.After(hc.latest) {
			hc.latest = ts
		}
	}
	if len(hc.msgs) == 0 {
		return nil
	}
	slices.SortStableFunc(hc.msgs, func(a, b *waWeb.WebMessageInfo) int {
		return cmp.Compare(b.GetMessageTimestamp(), a.GetMessageTimestamp())
	})
	hc.portal = c.portalFor(ctx, chat, hc.alt)
	return hc
}

// backfillOf converts a chat's history: at most max_messages_per_chat
// bridgeable messages, the newest ones, oldest first. Edits, reactions and
// revokes in history are not replayed; a message WhatsApp gives twice
// (an edit carries the original's ID) keeps its first place and latest
// content.
func (c *Client) backfillOf(ctx context.Context, hc *historyChat) *network.Backfill {
	limit := c.conn.cfg.HistorySync.MaxMessagesPerChat
	var msgs []*network.Message
	byID := make(map[network.MessageID]*network.Message)
	for _, web := range hc.msgs {
		if len(msgs) >= limit {
			break
		}
		evt, err := c.cli.ParseWebMessage(hc.chat, web)
		if err != nil {
			zerolog.Ctx(ctx).Warn().Err(err).Str("message_id", web.GetKey().GetID()).Msg("Failed to parse a history message")
			continue
		}
		if evt.Message.GetSecretEncryptedMessage() != nil {
			// An encrypted edit is an edit like any other here, not
			// replayed; toEvent would show one it cannot decrypt (its
			// target older than the history) as a notice.
			zerolog.Ctx(ctx).Debug().Str("message_id", evt.Info.ID).Msg("Not replaying an encrypted edit from history")
			continue
		}
		if !hc.alt.IsEmpty() {
			if evt.Info.IsFromMe {
				evt.Info.RecipientAlt = hc.alt
			} else {
				evt.Info.SenderAlt = hc.alt
			}
		}
		out, err := c.toEvent(zerolog.Ctx(ctx).With().Str("message_id", evt.Info.ID).Logger().WithContext(ctx), evt)
		if err != nil {
			zerolog.Ctx(ctx).Warn().Err(err).Str("message_id", evt.Info.ID).Msg("Failed to convert a history message")
		}
		msg, ok := out.(*network.Message)
		if !ok || msg.Portal != hc.portal {
			continue
		}
		if prev := byID[msg.ID]; prev != nil {
			// Newest first: the one seen first is the later version.
			prev.Timestamp = msg.Timestamp
			continue
		}
		byID[msg.ID] = msg
		msgs = append(msgs, msg)
	}
	if len(msgs) == 0 {
		return nil
	}
	slices.Reverse(msgs)
	slices.SortStableFunc(msgs, func(a, b *network.Message) int { return a.Timestamp.Compare(b.Timestamp) })
	last := msgs[len(msgs)-1]
	return &network.Backfill{
		Meta:     network.Meta{Portal: hc.portal, Sender: last.Sender, Timestamp: last.Timestamp, CreatePortal: true},
		Messages: msgs,
	}
}

// handOver converts one chat's history and waits until the core bridged
// it (or backfillTimeout passed). It reports whether the chat is settled:
// bridged, or with nothing to hand over.
func (c *Client) handOver(ctx context.Context, hc *historyChat) bool {
	log := c.log.With().Stringer("portal", hc.portal).Logger()
	ctx, cancel := context.WithTimeout(log.WithContext(ctx), backfillTimeout)
	defer cancel()
	bf := c.backfillOf(ctx, hc)
	if bf == nil {
		return true
	}
	if err := c.conn.host.HandleEvent(ctx, c.id, bf); err != nil {
		log.Warn().Err(err).Int("messages", len(bf.Messages)).Msg("Failed to backfill a chat")
		return false
	}
	return true
}
