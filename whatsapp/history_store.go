package whatsapp

import (
	"context"
	"fmt"

	"github.com/rs/zerolog"
	"go.mau.fi/util/dbutil"
	"go.mau.fi/whatsmeow/proto/waHistorySync"
	"go.mau.fi/whatsmeow/proto/waWeb"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/ferrybridge/ferry/bridge/network"
)

// historyChatStore keeps the chats a login's history queue has yet to hand
// over (upgrades/04-history-chat.sql), so that they survive a stop: the
// blob they came in is gone from WhatsApp by then; and which chats were
// given history, for max_chats and once per chat across restarts.
type historyChatStore struct {
	db *dbutil.Database
}

// storedHistoryChat is a queued chat as the store gives it back.
type storedHistoryChat struct {
	chat     *historyChat
	position int64
}

// put keeps chats queued for login, the first at position first and the
// others after it in the order given, and notes them as given history
// (upgrades/07-history-given.sql), in one transaction.
func (s *historyChatStore) put(ctx context.Context, login network.LoginID, first int64, chats []*historyChat) error {
	if len(chats) == 0 {
		return nil
	}
	return s.db.DoTxn(ctx, nil, func(ctx context.Context) error {
		for i, hc := range chats {
			data, err := proto.Marshal(conversationOf(hc))
			if err != nil {
				return fmt.Errorf("encode the history of %s: %w", hc.portal.Chat, err)
			}
			_, err = s.db.Exec(ctx, `INSERT INTO whatsapp_history_chat (login_id, chat_id, receiver, position, conversation)
				VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (login_id, chat_id) DO UPDATE SET receiver = excluded.receiver,
					position = excluded.position, conversation = excluded.conversation`,
				login, hc.portal.Chat, hc.portal.Receiver, first+int64(i), data)
			if err != nil {
				return fmt.Errorf("keep the history of %s: %w", hc.portal.Chat, err)
			}
			_, err = s.db.Exec(ctx, `INSERT INTO whatsapp_history_given (login_id, chat_id, receiver) VALUES ($1, $2, $3)
				ON CONFLICT (login_id, chat_id) DO NOTHING`, login, hc.portal.Chat, hc.portal.Receiver)
			if err != nil {
				return fmt.Errorf("note %s as given history: %w", hc.portal.Chat, err)
			}
		}
		return nil
	})
}

// given returns the portals of the chats login gave history, in this run
// or an earlier one.
func (s *historyChatStore) given(ctx context.Context, login network.LoginID) ([]network.PortalKey, error) {
	rows, err := s.db.Query(ctx, `SELECT chat_id, receiver FROM whatsapp_history_given WHERE login_id = $1`, login)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []network.PortalKey
	for rows.Next() {
		var chatID, receiver string
		if err = rows.Scan(&chatID, &receiver); err != nil {
			return nil, err
		}
		out = append(out, network.PortalKey{Network: NetworkID, Chat: network.ChatID(chatID), Receiver: network.LoginID(receiver)})
	}
	return out, rows.Err()
}

// conversationOf is what the store keeps of a queued chat: the messages
// chosen (within max_age, trimmed after live messages), the chat's JID and
// the DM partner's number.
func conversationOf(hc *historyChat) *waHistorySync.Conversation {
	conv := &waHistorySync.Conversation{ID: proto.String(hc.chat.String())}
	if !hc.alt.IsEmpty() {
		conv.PnJID = proto.String(hc.alt.String())
	}
	conv.Messages = make([]*waHistorySync.HistorySyncMsg, len(hc.msgs))
	for i, msg := range hc.msgs {
		conv.Messages[i] = &waHistorySync.HistorySyncMsg{Message: msg}
	}
	return conv
}

// pending returns login's queued chats, the first to hand over first. A
// row that cannot be read any more is logged and deleted: it would stay
// for ever otherwise, and nothing else can bridge it.
func (s *historyChatStore) pending(ctx context.Context, login network.LoginID) ([]storedHistoryChat, error) {
	rows, err := s.db.Query(ctx, `SELECT chat_id, receiver, position, conversation FROM whatsapp_history_chat
		WHERE login_id = $1 ORDER BY position`, login)
	if err != nil {
		return nil, err
	}
	var out []storedHistoryChat
	var bad []network.ChatID
	for rows.Next() {
		var chatID, receiver string
		var position int64
		var data []byte
		if err = rows.Scan(&chatID, &receiver, &position, &data); err != nil {
			rows.Close()
			return nil, err
		}
		portal := network.PortalKey{Network: NetworkID, Chat: network.ChatID(chatID), Receiver: network.LoginID(receiver)}
		hc, err := historyChatOf(portal, data)
		if err != nil {
			zerolog.Ctx(ctx).Error().Err(err).Stringer("portal", portal).Msg("Dropping stored history that cannot be read")
			bad = append(bad, portal.Chat)
			continue
		}
		out = append(out, storedHistoryChat{chat: hc, position: position})
	}
	if err = rows.Close(); err != nil {
		return nil, err
	}
	if err = rows.Err(); err != nil {
		return nil, err
	}
	for _, chat := range bad {
		if err = s.delete(ctx, login, chat); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// historyChatOf rebuilds a queued chat from its stored conversation.
func historyChatOf(portal network.PortalKey, data []byte) (*historyChat, error) {
	var conv waHistorySync.Conversation
	if err := proto.Unmarshal(data, &conv); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	chat, err := types.ParseJID(conv.GetID())
	if err != nil {
		return nil, fmt.Errorf("chat JID: %w", err)
	}
	hc := &historyChat{portal: portal, chat: chat}
	if conv.PnJID != nil {
		if hc.alt, err = types.ParseJID(conv.GetPnJID()); err != nil {
			return nil, fmt.Errorf("partner's number: %w", err)
		}
	}
	hc.msgs = make([]*waWeb.WebMessageInfo, 0, len(conv.GetMessages()))
	for _, hm := range conv.GetMessages() {
		if msg := hm.GetMessage(); msg != nil {
			hc.msgs = append(hc.msgs, msg)
		}
	}
	return hc, nil
}

// delete forgets a chat that was handed over.
func (s *historyChatStore) delete(ctx context.Context, login network.LoginID, chat network.ChatID) error {
	_, err := s.db.Exec(ctx, `DELETE FROM whatsapp_history_chat WHERE login_id = $1 AND chat_id = $2`, login, chat)
	return err
}

// deleteLogin forgets every chat of a login that logged out, and which
// chats it gave history: a new link after the logout gets history anew.
func (s *historyChatStore) deleteLogin(ctx context.Context, login network.LoginID) error {
	return s.db.DoTxn(ctx, nil, func(ctx context.Context) error {
		if _, err := s.db.Exec(ctx, `DELETE FROM whatsapp_history_chat WHERE login_id = $1`, login); err != nil {
			return err
		}
		_, err := s.db.Exec(ctx, `DELETE FROM whatsapp_history_given WHERE login_id = $1`, login)
		return err
	})
}
