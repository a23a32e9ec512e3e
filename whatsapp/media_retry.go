package whatsapp

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/rs/zerolog"
	"go.mau.fi/util/dbutil"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/proto/waMmsRetry"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/whatsapp/waconv"
)

// Re-upload requests are limited per login: a history sync can hold
// hundreds of expired attachments, and each request wakes the phone.
const (
	mediaRetryBurst = 20
	mediaRetryEvery = 5 * time.Second
	// mediaRetryKeep is how long a request waits for the phone's answer.
	mediaRetryKeep = 7 * 24 * time.Hour
)

// downloadTimeout bounds one attachment download from WhatsApp: at least
// downloadTimeout, and for large files as long as they take at
// minDownloadRate.
var downloadTimeout = 5 * time.Minute

const minDownloadRate = 1 << 20 // bytes per second

func downloadDeadline(m whatsmeow.DownloadableMessage) time.Duration {
	sized, ok := m.(interface{ GetFileLength() uint64 })
	if !ok {
		return downloadTimeout
	}
	return max(downloadTimeout, time.Duration(sized.GetFileLength()/minDownloadRate)*time.Second)
}

// downloader is the DownloadToFile of waconv.Deps for one message. When
// WhatsApp's servers no longer have the file, it asks the phone to upload
// it again (if info and msg are given) and says so; handleMediaRetry then
// bridges the file as an edit of the notice the core posted meanwhile.
func (c *Client) downloader(info *types.MessageInfo, msg *waE2E.Message) func(ctx context.Context, m whatsmeow.DownloadableMessage, f *os.File) error {
	return func(ctx context.Context, m whatsmeow.DownloadableMessage, f *os.File) error {
		wa, err := c.needSession()
		if err != nil {
			return err
		}
		dlCtx, cancel := context.WithTimeout(ctx, downloadDeadline(m))
		defer cancel()
		err = wa.DownloadToFile(dlCtx, m, f)
		if err == nil || info == nil || msg == nil || !expired(err) {
			return err
		}
		if reqErr := c.requestMediaRetry(ctx, wa, info, msg, m.GetMediaKey()); reqErr != nil {
			zerolog.Ctx(ctx).Warn().Err(reqErr).Msg("Failed to ask the phone to upload expired media again")
			return err
		}
		return &network.UserError{
			Message: "the file has expired on WhatsApp's servers; Ferry asked your phone to send it again and will show it here if it still has it",
			Err:     err,
		}
	}
}

func expired(err error) bool {
	return errors.Is(err, whatsmeow.ErrMediaDownloadFailedWith403) ||
		errors.Is(err, whatsmeow.ErrMediaDownloadFailedWith404) ||
		errors.Is(err, whatsmeow.ErrMediaDownloadFailedWith410)
}

// requestMediaRetry stores the message and sends the retry receipt.
func (c *Client) requestMediaRetry(ctx context.Context, wa waClient, info *types.MessageInfo, msg *waE2E.Message, mediaKey []byte) error {
	if len(mediaKey) == 0 {
		return errors.New("the message has no media key")
	}
	if ok, _ := c.retries.take(); !ok {
		return errors.New("too many re-upload requests; try again later")
	}
	if err := c.conn.mediaRetries.put(ctx, c.id, info, msg); err != nil {
		return fmt.Errorf("store the request: %w", err)
	}
	if err := wa.SendMediaRetryReceipt(ctx, info, mediaKey); err != nil {
		return fmt.Errorf("send the retry receipt: %w", err)
	}
	zerolog.Ctx(ctx).Info().Str("message_id", info.ID).Msg("Asked the phone to upload expired media again")
	return nil
}

// mediaRetryAnswer is what the phone answered to a re-upload request:
// the file's new path, or why there is none. It is stored with the
// request until bridged (whatsapp_media_retry.answer).
type mediaRetryAnswer struct {
	DirectPath string `json:"direct_path,omitempty"`
	Failure    string `json:"failure,omitempty"`
	// At is when the answer came (unix milliseconds).
	At int64 `json:"at"`
}

// handleMediaRetry bridges the phone's answer to a re-upload request: the
// file at its new path, or a notice saying why there is none, as an edit
// of the notice that stands where the file belongs. The answer is stored
// first: WhatsApp sends it once, and a stop before it is in Matrix would
// lose it (resumeMediaRetryAnswers bridges it at the next start).
func (c *Client) handleMediaRetry(ctx context.Context, evt *events.MediaRetry) bool {
	log := zerolog.Ctx(ctx).With().Str("message_id", evt.MessageID).Logger()
	ctx = log.WithContext(ctx)
	info, msg, err := c.conn.mediaRetries.get(ctx, c.id, evt.MessageID)
	if err != nil {
		log.Err(err).Msg("Failed to look up a media re-upload request")
		return true
	} else if msg == nil {
		log.Debug().Msg("Media re-upload answer for a message Ferry did not ask about")
		return true
	}
	media := mediaOf(msg)
	if media == nil {
		log.Warn().Msg("Stored media re-upload request holds no media")
		return true
	}
	answer := mediaRetryAnswer{At: time.Now().UnixMilli()}
	notif, err := whatsmeow.DecryptMediaRetryNotification(evt, media.GetMediaKey())
	switch {
	case errors.Is(err, whatsmeow.ErrMediaNotAvailableOnPhone):
		answer.Failure = "the phone no longer has this file"
	case err != nil:
		answer.Failure = "the phone's answer could not be read"
		log.Warn().Err(err).Msg("Failed to decrypt a media re-upload answer")
	case notif.GetResult() == waMmsRetry.MediaRetryNotification_NOT_FOUND:
		answer.Failure = "the phone no longer has this file"
	case notif.GetResult() != waMmsRetry.MediaRetryNotification_SUCCESS || notif.GetDirectPath() == "":
		answer.Failure = fmt.Sprintf("the phone could not send it again (%s)", notif.GetResult())
	default:
		answer.DirectPath = notif.GetDirectPath()
	}
	if err = c.conn.mediaRetries.answer(ctx, c.id, evt.MessageID, answer); err != nil {
		log.Err(err).Msg("Failed to keep the phone's answer to a media re-upload request; a stop before it is bridged loses it")
	}
	c.bridgeMediaRetryAnswer(ctx, info, msg, answer)
	return true
}

// bridgeMediaRetryAnswer hands the edit an answer makes to the core.
func (c *Client) bridgeMediaRetryAnswer(ctx context.Context, info *types.MessageInfo, msg *waE2E.Message, answer mediaRetryAnswer) {
	log := zerolog.Ctx(ctx)
	chat, alt, ok := c.route(ctx, info)
	if !ok {
		return
	}
	meta := c.messageMeta(ctx, info, chat, alt)
	edit := &network.Edit{Meta: meta, Target: network.MessageID(info.ID)}
	if answer.Failure != "" {
		log.Info().Str("reason", answer.Failure).Msg("Expired media could not be re-uploaded")
		edit.Parts = noticeParts("Failed to bridge a file: " + answer.Failure)
		c.deliverMediaRetry(ctx, edit)
		return
	}
	media := mediaOf(msg)
	if media == nil {
		log.Warn().Msg("Stored media re-upload request holds no media")
		return
	}
	setDirectPath(media, answer.DirectPath)
	deps := c.deps(ctx, chat.Server != types.GroupServer)
	deps.DownloadToFile = c.downloader(nil, nil) // no second request
	conv, err := waconv.ToMatrix(ctx, msg, info, deps)
	if err != nil {
		log.Err(err).Msg("Failed to convert re-uploaded media")
		return
	}
	for _, part := range conv.Parts {
		// The file itself; the whole text of a long caption, a file too,
		// is in the room already.
		if part.Media != nil && !waconv.IsWholeCaption(part.ID) {
			edit.Parts = append(edit.Parts, part)
		}
	}
	if len(edit.Parts) == 0 {
		return
	}
	log.Info().Msg("Bridging media the phone uploaded again")
	c.deliverMediaRetry(ctx, edit)
}

// resumeMediaRetryAnswers bridges, once per client and in the background,
// the answers an earlier run stored but did not get into Matrix. Called
// when the login is connected (the files are downloaded from WhatsApp);
// answers that came since this client started are its own to deliver.
func (c *Client) resumeMediaRetryAnswers() {
	if !c.mediaAnswersResumed.CompareAndSwap(false, true) {
		return
	}
	before := c.started
	c.conn.background(func(ctx context.Context) {
		ctx = c.log.WithContext(ctx)
		stored, err := c.conn.mediaRetries.answered(ctx, c.id)
		if err != nil {
			c.log.Err(err).Msg("Failed to load the answers to media re-upload requests left from an earlier run")
			return
		}
		for _, a := range stored {
			if a.answer.At >= before.UnixMilli() {
				continue
			}
			log := c.log.With().Str("message_id", a.info.ID).Logger()
			log.Info().Msg("Bridging a media re-upload answer left from an earlier run")
			c.resumeMediaRetryAnswer(log.WithContext(ctx), a)
		}
	})
}

// resumeMediaRetryAnswer bridges one answer an earlier run stored. It
// runs outside whatsmeow's handler, whose recover covers live events:
// a panic here (converting the stored message, or handing it over) would
// end the bridge, and again at every start, as the answer stays stored.
func (c *Client) resumeMediaRetryAnswer(ctx context.Context, a answeredRetry) {
	defer func() {
		if r := recover(); r != nil {
			c.giveUpMediaRetry(ctx, r, a.info.ID, a.info.Chat)
		}
	}()
	c.bridgeMediaRetryAnswer(ctx, a.info, a.msg, a.answer)
}

// giveUpMediaRetry forgets a re-upload request whose answer panicked on
// its way to Matrix, so that it is not tried again at every start, and
// tells the user, whose room still shows the notice promising the file.
func (c *Client) giveUpMediaRetry(ctx context.Context, r any, msgID types.MessageID, chat types.JID) {
	log := zerolog.Ctx(ctx)
	log.Error().Any("panic", r).Str("stack", string(debug.Stack())).
		Msg("Panic while bridging the phone's answer to a media re-upload request; giving it up")
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := c.conn.mediaRetries.delete(dctx, c.id, msgID); err != nil {
		log.Warn().Err(err).Msg("Failed to forget a media re-upload request given up")
	}
	text := "⚠️ Ferry could not bridge a file your phone uploaded again in " + c.chatLabel(ctx, chat) + ": see it on your phone."
	c.conn.background(func(bg context.Context) {
		c.conn.host.NotifyUser(log.WithContext(bg), c.id, text)
	})
}

// mediaRetryRedelivery are the pauses before each further try to hand the
// phone's answer to the core after the first failed. A variable only so
// that tests need not wait minutes.
var mediaRetryRedelivery = []time.Duration{30 * time.Second, 2 * time.Minute, 10 * time.Minute}

// deliverMediaRetry hands the phone's answer (edit) to the core, and
// forgets the request once it is in Matrix. Unlike a message, the answer
// is never redelivered: WhatsApp sends it once and whatsmeow acknowledges
// it whatever the handler returns. So Ferry tries again itself, a few
// times with growing pauses, in the background so that whatsmeow's event
// loop is not held up meanwhile. The tries end with Ferry (the core cannot
// store an event whose file is fetched lazily); the request stays stored
// with its answer until it expires, so the next run bridges the answer
// (resumeMediaRetryAnswers), and an answer that comes again is bridged
// too. A first try that ran out of time may still be bridged by the core,
// so a later try can add a second, identical edit: better than losing the
// file.
func (c *Client) deliverMediaRetry(ctx context.Context, edit *network.Edit) {
	if c.handOverMediaRetry(ctx, edit) == nil {
		return
	}
	log := zerolog.Ctx(ctx) // names the message already
	c.conn.background(func(bg context.Context) {
		bg = log.WithContext(bg)
		// Outside whatsmeow's handler: a panic would end the bridge.
		defer func() {
			if r := recover(); r != nil {
				chat, _ := parseChatID(edit.Portal.Chat)
				c.giveUpMediaRetry(bg, r, string(edit.Target), chat)
			}
		}()
		for _, pause := range mediaRetryRedelivery {
			select {
			case <-bg.Done():
				log.Warn().Msg("Stopped before the phone's answer to a media re-upload request was bridged")
				return
			case <-time.After(pause):
			}
			if c.handOverMediaRetry(bg, edit) == nil {
				return
			}
		}
		// The room still shows the notice promising the file; only the
		// log can tell that it will not come.
		log.Error().Stringer("portal", edit.Portal).Int("attempts", len(mediaRetryRedelivery)+1).
			Msg("Gave up bridging the phone's answer to a media re-upload request")
	})
}

// handOverMediaRetry is one try of deliverMediaRetry.
func (c *Client) handOverMediaRetry(ctx context.Context, edit *network.Edit) error {
	log := zerolog.Ctx(ctx)
	if err := c.conn.host.HandleEvent(ctx, c.id, edit); err != nil {
		log.Warn().Err(err).Msg("Failed to bridge the phone's answer to a media re-upload request")
		return err
	}
	if err := c.conn.mediaRetries.delete(ctx, c.id, string(edit.Target)); err != nil {
		log.Warn().Err(err).Msg("Failed to forget a media re-upload request")
	}
	return nil
}

// downloadable is the media part of a message that whatsmeow downloads.
type downloadable interface {
	whatsmeow.DownloadableMessage
	GetDirectPath() string
}

// mediaOf returns the attachment of a message, nil for none.
func mediaOf(msg *waE2E.Message) downloadable {
	switch {
	case msg.GetImageMessage() != nil:
		return msg.GetImageMessage()
	case msg.GetVideoMessage() != nil:
		return msg.GetVideoMessage()
	case msg.GetAudioMessage() != nil:
		return msg.GetAudioMessage()
	case msg.GetDocumentMessage() != nil:
		return msg.GetDocumentMessage()
	case msg.GetStickerMessage() != nil:
		return msg.GetStickerMessage()
	case msg.GetPtvMessage() != nil:
		return msg.GetPtvMessage()
	}
	return nil
}

// setDirectPath points an attachment at the path the phone uploaded it
// to; the old URL is dropped so the download uses the new path.
func setDirectPath(media downloadable, path string) {
	switch m := media.(type) {
	case *waE2E.ImageMessage:
		m.DirectPath, m.URL = proto.String(path), nil
	case *waE2E.VideoMessage:
		m.DirectPath, m.URL = proto.String(path), nil
	case *waE2E.AudioMessage:
		m.DirectPath, m.URL = proto.String(path), nil
	case *waE2E.DocumentMessage:
		m.DirectPath, m.URL = proto.String(path), nil
	case *waE2E.StickerMessage:
		m.DirectPath, m.URL = proto.String(path), nil
	}
}

// mediaRetryStore keeps messages whose media the phone was asked to
// upload again (table whatsapp_media_retry).
type mediaRetryStore struct {
	db *dbutil.Database
}

func (s *mediaRetryStore) put(ctx context.Context, login network.LoginID, info *types.MessageInfo, msg *waE2E.Message) error {
	infoJSON, err := json.Marshal(info)
	if err != nil {
		return err
	}
	msgBytes, err := proto.Marshal(msg)
	if err != nil {
		return err
	}
	now := time.Now()
	if _, err = s.db.Exec(ctx, `DELETE FROM whatsapp_media_retry WHERE requested_at < $1`, now.Add(-mediaRetryKeep).UnixMilli()); err != nil {
		return err
	}
	_, err = s.db.Exec(ctx, `INSERT INTO whatsapp_media_retry (login_id, message_id, info, message, requested_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (login_id, message_id) DO UPDATE SET info = excluded.info, message = excluded.message,
			requested_at = excluded.requested_at, answer = NULL`,
		login, info.ID, string(infoJSON), msgBytes, now.UnixMilli())
	return err
}

// get returns a stored request; msg is nil when there is none.
func (s *mediaRetryStore) get(ctx context.Context, login network.LoginID, msgID types.MessageID) (*types.MessageInfo, *waE2E.Message, error) {
	var infoJSON string
	var msgBytes []byte
	err := s.db.QueryRow(ctx, `SELECT info, message FROM whatsapp_media_retry WHERE login_id = $1 AND message_id = $2`,
		login, msgID).Scan(&infoJSON, &msgBytes)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, err
	}
	info := &types.MessageInfo{}
	if err = json.Unmarshal([]byte(infoJSON), info); err != nil {
		return nil, nil, fmt.Errorf("stored message info: %w", err)
	}
	msg := &waE2E.Message{}
	if err = proto.Unmarshal(msgBytes, msg); err != nil {
		return nil, nil, fmt.Errorf("stored message: %w", err)
	}
	return info, msg, nil
}

// answer keeps the phone's answer with its request.
func (s *mediaRetryStore) answer(ctx context.Context, login network.LoginID, msgID types.MessageID, answer mediaRetryAnswer) error {
	data, err := json.Marshal(answer)
	if err != nil {
		return err
	}
	_, err = s.db.Exec(ctx, `UPDATE whatsapp_media_retry SET answer = $3 WHERE login_id = $1 AND message_id = $2`,
		login, msgID, string(data))
	return err
}

// answeredRetry is a request the phone answered, as stored.
type answeredRetry struct {
	info   *types.MessageInfo
	msg    *waE2E.Message
	answer mediaRetryAnswer
}

// answered returns login's answered requests; one that cannot be read is
// logged and left to expire.
func (s *mediaRetryStore) answered(ctx context.Context, login network.LoginID) ([]answeredRetry, error) {
	rows, err := s.db.Query(ctx, `SELECT message_id, info, message, answer FROM whatsapp_media_retry
		WHERE login_id = $1 AND answer IS NOT NULL`, login)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []answeredRetry
	for rows.Next() {
		var msgID, infoJSON, answerJSON string
		var msgBytes []byte
		if err = rows.Scan(&msgID, &infoJSON, &msgBytes, &answerJSON); err != nil {
			return nil, err
		}
		a := answeredRetry{info: &types.MessageInfo{}, msg: &waE2E.Message{}}
		err = json.Unmarshal([]byte(infoJSON), a.info)
		if err == nil {
			err = proto.Unmarshal(msgBytes, a.msg)
		}
		if err == nil {
			err = json.Unmarshal([]byte(answerJSON), &a.answer)
		}
		if err != nil {
			zerolog.Ctx(ctx).Warn().Err(err).Str("message_id", msgID).Msg("Stored media re-upload answer cannot be read")
			continue
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (s *mediaRetryStore) delete(ctx context.Context, login network.LoginID, msgID types.MessageID) error {
	_, err := s.db.Exec(ctx, `DELETE FROM whatsapp_media_retry WHERE login_id = $1 AND message_id = $2`, login, msgID)
	return err
}

func (s *mediaRetryStore) deleteLogin(ctx context.Context, login network.LoginID) error {
	_, err := s.db.Exec(ctx, `DELETE FROM whatsapp_media_retry WHERE login_id = $1`, login)
	return err
}
