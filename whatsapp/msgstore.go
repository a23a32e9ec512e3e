package whatsapp

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/rs/zerolog"
	"go.mau.fi/util/dbutil"
	"go.mau.fi/whatsmeow/types"

	"github.com/ferrybridge/ferry/bridge/network"
)

//go:embed upgrades/*.sql
var upgradeFiles embed.FS

// upgradeTable is the schema of the network's own table, versioned in its
// own table beside Ferry's and whatsmeow's.
var upgradeTable = dbutil.BuildUpgradeTable().WithFSPath(upgradeFiles, "upgrades").Finish()

const versionTable = "ferry_whatsapp_version"

// msgKey is what building a WhatsApp message key for an earlier message
// needs: the chat JID it was sent in, its sender, and its time. The core's
// TargetInfo names the sender (as a ghost) and the time for edits,
// reactions and redactions, but not how WhatsApp addressed the message
// (a LID chat or sender), and SendReceipt gets only the message ID; the
// network keeps these itself.
type msgKey struct {
	ChatJID   types.JID
	Sender    types.JID
	FromMe    bool
	Timestamp time.Time
	// EditOf is, for the answer that carries an edit too long for a
	// Matrix edit (waconv.EditAsMessage, under the edit's own ID), the ID
	// of the message it edits; "" for any other message.
	EditOf string
}

type msgStore struct {
	db *dbutil.Database
}

func (s *msgStore) put(ctx context.Context, login network.LoginID, chat network.ChatID, msgID string, k msgKey) error {
	editOf := sql.NullString{String: k.EditOf, Valid: k.EditOf != ""}
	_, err := s.db.Exec(ctx, `INSERT INTO whatsapp_message
		(login_id, chat_id, message_id, chat_jid, sender_jid, from_me, timestamp, edit_of)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (login_id, chat_id, message_id) DO NOTHING`,
		login, chat, msgID, k.ChatJID.ToNonAD().String(), k.Sender.ToNonAD().String(), k.FromMe, k.Timestamp.UnixMilli(), editOf)
	return err
}

// editAnswers are the IDs of the answers that carry edits of msgID too
// long for Matrix edits (msgKey.EditOf), which go when it is deleted.
func (s *msgStore) editAnswers(ctx context.Context, login network.LoginID, chat network.ChatID, msgID string) ([]string, error) {
	return s.editAnswersBefore(ctx, login, chat, msgID, math.MaxInt64)
}

// editAnswersUpTo are the editAnswers of msgID carrying edits made at
// upTo or before: those an edit made at upTo replaces. WhatsApp may
// deliver an older edit after a newer one, whose answer it must leave.
func (s *msgStore) editAnswersUpTo(ctx context.Context, login network.LoginID, chat network.ChatID, msgID string, upTo time.Time) ([]string, error) {
	return s.editAnswersBefore(ctx, login, chat, msgID, upTo.UnixMilli()+1)
}

// editAnswersBefore are the editAnswers of msgID stored with a time
// (Unix milliseconds) before end.
func (s *msgStore) editAnswersBefore(ctx context.Context, login network.LoginID, chat network.ChatID, msgID string, end int64) ([]string, error) {
	rows, err := s.db.Query(ctx, `SELECT message_id FROM whatsapp_message
		WHERE login_id = $1 AND chat_id = $2 AND edit_of = $3 AND timestamp < $4`, login, chat, msgID, end)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err = rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// newestShownAt is the ID of the newest message of chat the login has
// seen at or before at that is not an answer carrying an edit
// (msgKey.EditOf), and its key; "" and nil when there is none.
func (s *msgStore) newestShownAt(ctx context.Context, login network.LoginID, chat network.ChatID, at time.Time) (string, *msgKey, error) {
	var msgID string
	err := s.db.QueryRow(ctx, `SELECT message_id FROM whatsapp_message
		WHERE login_id = $1 AND chat_id = $2 AND edit_of IS NULL AND timestamp <= $3
		ORDER BY timestamp DESC LIMIT 1`, login, chat, at.UnixMilli()).Scan(&msgID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, nil
	} else if err != nil {
		return "", nil, err
	}
	k, err := s.get(ctx, login, chat, msgID)
	return msgID, k, err
}

// forgetEditAnswer makes msgID, an answer carrying an edit that a later
// one replaced and that is deleted from the room, no longer an answer of
// the message it edited (editAnswers). Its key stays, as a deleted
// message's does.
func (s *msgStore) forgetEditAnswer(ctx context.Context, login network.LoginID, chat network.ChatID, msgID string) error {
	_, err := s.db.Exec(ctx, `UPDATE whatsapp_message SET edit_of = NULL
		WHERE login_id = $1 AND chat_id = $2 AND message_id = $3`, login, chat, msgID)
	return err
}

// moveChat moves a login's message keys from one chat ID to another,
// after the core moved the chat's portal. A key stored under both (never
// expected) stays where it is.
func (s *msgStore) moveChat(ctx context.Context, login network.LoginID, from, to network.ChatID) error {
	_, err := s.db.Exec(ctx, `UPDATE whatsapp_message SET chat_id = $3
		WHERE login_id = $1 AND chat_id = $2 AND message_id NOT IN
			(SELECT message_id FROM whatsapp_message WHERE login_id = $1 AND chat_id = $3)`,
		login, from, to)
	return err
}

// get returns the key of a message, nil when the login never saw it.
func (s *msgStore) get(ctx context.Context, login network.LoginID, chat network.ChatID, msgID string) (*msgKey, error) {
	var chatJID, sender string
	var ts int64
	var editOf sql.NullString
	k := &msgKey{}
	err := s.db.QueryRow(ctx, `SELECT chat_jid, sender_jid, from_me, timestamp, edit_of FROM whatsapp_message
		WHERE login_id = $1 AND chat_id = $2 AND message_id = $3`, login, chat, msgID).
		Scan(&chatJID, &sender, &k.FromMe, &ts, &editOf)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if k.ChatJID, err = types.ParseJID(chatJID); err != nil {
		return nil, err
	}
	if sender != "" {
		if k.Sender, err = types.ParseJID(sender); err != nil {
			return nil, err
		}
	}
	k.Timestamp, k.EditOf = time.UnixMilli(ts), editOf.String
	return k, nil
}

// newest is the time of the newest message of chat the login has seen
// (live, from history, or sent from Matrix); ok is false when it saw none.
func (s *msgStore) newest(ctx context.Context, login network.LoginID, chat network.ChatID) (ts time.Time, ok bool, err error) {
	var ms sql.NullInt64
	err = s.db.QueryRow(ctx, `SELECT MAX(timestamp) FROM whatsapp_message WHERE login_id = $1 AND chat_id = $2`, login, chat).Scan(&ms)
	if err != nil || !ms.Valid {
		return time.Time{}, false, err
	}
	return time.UnixMilli(ms.Int64), true, nil
}

// newestOf is newest over several logins: the newest message of chat any
// of them has seen. One indexed query per login, rather than one over the
// chat alone, which the table's key cannot serve.
func (s *msgStore) newestOf(ctx context.Context, logins []network.LoginID, chat network.ChatID) (newest time.Time, ok bool, err error) {
	for _, login := range logins {
		ts, found, err := s.newest(ctx, login, chat)
		if err != nil {
			return time.Time{}, false, fmt.Errorf("newest message of login %s: %w", login, err)
		}
		if found && (!ok || ts.After(newest)) {
			newest, ok = ts, true
		}
	}
	return newest, ok, nil
}

// latest picks, of ids, the one with the newest timestamp the login has
// seen ("" when none is known). WhatsApp's receipts list several IDs in an
// order that depends on the phone's operating system.
func (s *msgStore) latest(ctx context.Context, login network.LoginID, chat network.ChatID, ids []string) (string, error) {
	best, bestTS := "", int64(-1)
	for _, msgID := range ids {
		k, err := s.get(ctx, login, chat, msgID)
		if err != nil {
			return "", err
		}
		if k != nil && k.Timestamp.UnixMilli() > bestTS {
			best, bestTS = msgID, k.Timestamp.UnixMilli()
		}
	}
	return best, nil
}

// sentChangeKeep is how long the ID of a change sent from Matrix is
// kept: longer than WhatsApp's servers keep a message for an offline
// device.
const sentChangeKeep = 60 * 24 * time.Hour

// putSentChange records the WhatsApp ID of a change (an edit, a reaction
// or a deletion) sent from Matrix in chat, before it is sent, so that
// its echo to another login in the same chat is known even when it comes
// at once. It names no login: the check needs none (sentChange), and the
// row outlives its login's logout, whose ID is the account's number.
func (s *msgStore) putSentChange(ctx context.Context, chat network.ChatID, msgID string) error {
	_, err := s.db.Exec(ctx, `INSERT INTO whatsapp_sent_change (chat_id, message_id, sent_at)
		VALUES ($1, $2, $3) ON CONFLICT (chat_id, message_id) DO NOTHING`,
		chat, msgID, time.Now().UnixMilli())
	return err
}

// sentChangePruneEvery is how often the changes sent from Matrix are
// pruned while Ferry runs (and once at its start): not at every change
// a user sends, which would write twice for each, nor only when one is
// sent, which may be never again after the last user logs out. Rows live
// for sentChangeKeep, so an hour more or less does not matter. A
// variable only so that a test need not wait an hour.
var sentChangePruneEvery = time.Hour

// keepPruningSentChanges prunes the changes sent from Matrix at once and
// then every sentChangePruneEvery, until ctx ends (the connector's Stop).
func (s *msgStore) keepPruningSentChanges(ctx context.Context) {
	log := zerolog.Ctx(ctx)
	tick := time.NewTicker(sentChangePruneEvery)
	defer tick.Stop()
	for {
		if n, err := s.pruneSentChanges(ctx); err != nil && ctx.Err() == nil {
			log.Warn().Err(err).Dur("retry_in", sentChangePruneEvery).Msg("Failed to prune the changes sent from Matrix")
		} else if n > 0 {
			log.Debug().Int64("rows", n).Msg("Pruned the changes sent from Matrix past their keep")
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// pruneSentChanges forgets the changes sent from Matrix before
// sentChangeKeep, by their age (upgrade v10's index).
func (s *msgStore) pruneSentChanges(ctx context.Context) (int64, error) {
	res, err := s.db.Exec(ctx, `DELETE FROM whatsapp_sent_change WHERE sent_at < $1`, time.Now().Add(-sentChangeKeep).UnixMilli())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// sentChange says whether any login sent the change msgID in chat from
// Matrix.
func (s *msgStore) sentChange(ctx context.Context, chat network.ChatID, msgID string) (bool, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM whatsapp_sent_change WHERE chat_id = $1 AND message_id = $2`, chat, msgID).Scan(&n)
	return n > 0, err
}

// deleteLogin forgets the message keys of a login. The IDs of the changes
// it sent from Matrix stay until they are pruned by age: they serve the
// other Ferry logins in its chats, to which an echo may still be on its way
// (one offline for days gets it only when it comes back), and the rooms
// keep those changes after the logout. They do not name the login.
func (s *msgStore) deleteLogin(ctx context.Context, login network.LoginID) error {
	_, err := s.db.Exec(ctx, `DELETE FROM whatsapp_message WHERE login_id = $1`, login)
	return err
}
