package irc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gopkg.in/irc.v4"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/irc/ircconn"
	"github.com/ferrybridge/ferry/irc/ircfmt"
)

// echoTimeout bounds the wait for the server's echo of a sent line (with
// echo-message and labeled-response), whose msgid becomes the message ID.
var echoTimeout = 10 * time.Second

// awaitLabeled waits up to echoTimeout, or until ctx ends, for the
// labeled reply on ch; ok is false when none came. On giving up it
// abandons the label: a line the server never answers would otherwise
// stay pending in the Conn, and enough of them make every later labeled
// send fail with ErrTooManyPending until a reconnect.
func awaitLabeled(ctx context.Context, conn *ircconn.Conn, ch <-chan ircconn.LabeledReply) (reply ircconn.LabeledReply, ok bool) {
	timer := time.NewTimer(echoTimeout)
	defer timer.Stop()
	select {
	case reply = <-ch:
		return reply, true
	case <-timer.C:
	case <-ctx.Done():
	}
	conn.Abandon(ch)
	select {
	case reply = <-ch: // answered just before it was abandoned
		return reply, true
	default:
		return ircconn.LabeledReply{}, false
	}
}

// target is the IRC target of a portal: a channel or a nick.
func (cl *Client) target(portal network.PortalKey) (string, error) {
	netName, rest, ok := splitNet(string(portal.Chat))
	if !ok || netName != cl.netName {
		return "", network.ErrWrongAccount
	}
	if portal.Receiver != "" {
		if portal.Receiver != cl.loginID {
			return "", network.ErrWrongAccount
		}
		_, nick, _, ok := parsePMChatID(portal.Chat)
		if !ok {
			return "", network.UserErrorf("not an IRC chat")
		}
		return cl.displayNick(nick), nil
	}
	return cl.channelName(rest), nil
}

// nickFor maps a Matrix pill to an IRC nick: ghosts of this network to
// their nick, Ferry users to their login's nick.
func (cl *Client) nickFor(userID string) (string, bool) {
	uid := id.UserID(userID)
	local, _, err := uid.Parse()
	if err != nil {
		return "", false
	}
	if rest, ok := strings.CutPrefix(local, string(NetworkID)+"_"); ok {
		if user, ok := parseGhostLocalpart(rest); ok {
			if netName, nick, ok := parseUserID(user); ok && netName == cl.netName {
				return cl.displayNick(nick), true
			}
		}
	}
	return cl.c.nickOfMatrixUser(cl.netName, uid)
}

// stripControl removes control characters (and IRC formatting) from text
// that becomes part of a line, such as a relayed display name.
func stripControl(s string) string {
	s = ircfmt.StripCodes(s)
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// relayName is how a relayed Matrix user is named on IRC: the display
// name without control characters or IRC codes (so no CTCP, no line
// break, no colour games), capped, else the localpart.
func relayName(displayName string, sender id.UserID) string {
	name := strings.TrimSpace(stripControl(displayName))
	if name == "" {
		name = stripControl(sender.Localpart())
	}
	if len(name) > 64 {
		name = strings.ToValidUTF8(name[:64], "")
	}
	return name
}

func (cl *Client) Send(ctx context.Context, msg *network.OutgoingMessage) (*network.SendResult, error) {
	target, err := cl.target(msg.Portal)
	if err != nil {
		return nil, err
	}
	prefix := ""
	var conn *ircconn.Conn
	if msg.Relay != nil {
		if conn, err = cl.relayConn(ctx, msg.Portal, target); err != nil {
			return nil, err
		}
		prefix = "<" + relayName(msg.Relay.DisplayName, msg.Sender) + "> "
	} else if conn = cl.currentConn(); conn == nil {
		return nil, cl.errNotConnected()
	}
	content := msg.Content
	var lines []string
	if content.MsgType.IsMedia() || msg.Media != nil {
		lines = cl.mediaLines(msg)
	} else {
		lines = ircfmt.MatrixToIRC(content.Body, string(content.Format), content.FormattedBody, ircfmt.Options{NickFor: cl.nickFor})
		lines = cl.pasteIfLong(ctx, msg, lines)
	}
	if len(lines) == 0 {
		return nil, network.UserErrorf("the message has no text IRC can show")
	}
	if msg.ReplyTo != nil && msg.ReplyTo.Sender != "" {
		if netName, nick, ok := parseUserID(msg.ReplyTo.Sender); ok && netName == cl.netName {
			lines[0] = cl.displayNick(nick) + ": " + lines[0]
		}
	}
	command := "PRIVMSG"
	if content.MsgType == event.MsgNotice {
		command = "NOTICE"
	}
	var tags irc.Tags
	if msg.ReplyTo != nil && conn.HasCap("message-tags") {
		if msgid, ok := strings.CutPrefix(string(msg.ReplyTo.ID), "id:"); ok && validTagValue(msgid) {
			tags = irc.Tags{"+draft/reply": msgid}
		}
	}
	var pieces []string
	for _, line := range lines {
		if content.MsgType == event.MsgEmote {
			line = "\x01ACTION " + line + "\x01"
		}
		// A relayed sender's name starts every piece (inside an emote's
		// ACTION), not just the first: see SplitTextPrefixed.
		pieces = append(pieces, conn.SplitTextPrefixed(target, prefix, line)...)
	}
	if len(pieces) == 0 {
		return nil, network.UserErrorf("the message does not fit in an IRC line to %s", target)
	}
	return cl.sendLines(ctx, conn, command, target, tags, pieces, msg.Written, msg.Placed)
}

// relayConn is the connection a relayed message to target goes out
// through: the network's relay bot, joined to the channel. PMs are never
// relayed.
func (cl *Client) relayConn(ctx context.Context, portal network.PortalKey, target string) (*ircconn.Conn, error) {
	if !cl.cfg.RelayAllowed {
		return nil, network.UserErrorf("relaying is not allowed on %s", cl.netName)
	}
	if portal.Receiver != "" {
		return nil, network.UserErrorf("messages in private chats are never relayed to %s", cl.netName)
	}
	cl.lock.Lock()
	key := cl.meta.Channels[cl.fold(target)].Key
	cl.lock.Unlock()
	return cl.c.relayBotFor(cl.netName, cl.cfg).ready(ctx, target, key)
}

// mediaLines names a Matrix file for IRC, with a public link to it when
// Ferry has a public address (homeserver links need a Matrix account).
func (cl *Client) mediaLines(msg *network.OutgoingMessage) []string {
	content := msg.Content
	name := content.FileName
	if name == "" {
		name = content.Body
	}
	name = stripControl(name)
	link, ok := cl.c.host.PublicMediaURL(content.URL, msg.Room, msg.EventID, name)
	if !ok {
		return []string{"[file: " + name + "]"}
	}
	line := name + ": " + link
	if caption := content.GetCaption(); caption != "" {
		line = stripControl(caption) + " (" + line + ")"
	}
	return []string{line}
}

// pasteIfLong replaces a message longer than the network's paste
// threshold by its first line and a link to the whole text, so a long
// Matrix message does not flood the channel. Without a public address, or
// when the upload fails, the lines go out as they are.
func (cl *Client) pasteIfLong(ctx context.Context, msg *network.OutgoingMessage, lines []string) []string {
	limit := cl.cfg.PasteThreshold
	if limit <= 0 || len(lines) <= limit {
		return lines
	}
	mxc, err := cl.c.host.UploadMedia(ctx, []byte(msg.Content.Body), "text/plain; charset=utf-8", "message.txt")
	if err != nil {
		cl.log.Warn().Err(err).Msg("Failed to upload a long message as a paste; sending its lines")
		return lines
	}
	link, ok := cl.c.host.PublicMediaURL(mxc, msg.Room, msg.EventID, "message.txt")
	if !ok {
		return lines
	}
	return []string{fmt.Sprintf("%s … (%d lines: %s)", lines[0], len(lines), link)}
}

func validTagValue(v string) bool {
	return v != "" && len(v) < 200 && !strings.ContainsAny(v, " ;\r\n\x00\\")
}

// sendLines queues the pieces and returns the message's ID: the msgid of
// the first line's echo when the server confirms sends, else a fresh one.
// It returns once the last piece is written to the socket, not when it is
// queued: lines still waiting for flood control when the connection drops
// (or the channel is left) are never sent, and the sender must hear so.
// written, when set, hears when the first line was written (the metrics).
// placed, when set, hears once every line is queued and the first has been
// written: the connection writes a target's lines in order, so the next
// message may follow, and waiting for the write (not just the queue)
// keeps at most one message per chat in the flood-control queue, as when
// each Send waited for its echo.
func (cl *Client) sendLines(ctx context.Context, conn *ircconn.Conn, command, target string, tags irc.Tags, pieces []string, written func(time.Time), placed func()) (*network.SendResult, error) {
	track := newPieceTracker(len(pieces), written, placed)
	echo, err := cl.queuePieces(conn, command, target, tags, pieces, track)
	if err != nil {
		return nil, err
	}
	track.step() // all queued
	if err = cl.awaitWritten(ctx, track); err != nil {
		if echo != nil {
			conn.Abandon(echo)
		}
		return nil, err
	}
	result := &network.SendResult{Timestamp: time.Now()}
	if echo != nil {
		if reply, ok := awaitLabeled(ctx, conn, echo); ok {
			if reply.Err != nil {
				// The connection ended (or the target was purged) before
				// the server confirmed the line: say so rather than
				// pretend it was delivered.
				return nil, &network.UserError{Message: "the connection to " + cl.netName + " dropped before the server confirmed the message; it was probably not sent", Err: reply.Err}
			}
			if echoed := echoOf(reply.Messages); echoed != nil {
				result.ID = network.MessageID("id:" + echoed.Tags["msgid"])
				if t, ok := ircconn.MessageTime(echoed); ok {
					result.Timestamp = t
				}
			} else if refused := refusalIn(reply.Messages); refused != nil {
				return nil, cl.refusedError(refused)
			}
		}
	}
	if result.ID == "" {
		result.ID = newFerryID()
	}
	return result, nil
}

// queuePieces queues one line per piece, every one tracked by track; the
// first carries tags and, when the server confirms sends (echo-message
// and labeled-response), a label whose reply channel it returns.
func (cl *Client) queuePieces(conn *ircconn.Conn, command, target string, tags irc.Tags, pieces []string, track *pieceTracker) (<-chan ircconn.LabeledReply, error) {
	done := track.lineDone
	var echo <-chan ircconn.LabeledReply
	for i, piece := range pieces {
		m := &irc.Message{Command: command, Params: []string{target, piece}}
		if i == 0 {
			m.Tags = tags
		}
		var err error
		if i == 0 && conn.HasCap("echo-message") && conn.HasCap("labeled-response") {
			echo, err = conn.SendLabeledTracked(m, done)
		} else {
			err = conn.SendTracked(m, done)
		}
		if err != nil {
			if i == 0 {
				return nil, &network.UserError{Message: "could not send to " + cl.netName, Err: err}
			}
			if echo != nil {
				conn.Abandon(echo) // nobody will wait for it
			}
			return nil, &network.UserError{Message: "only part of the message reached " + cl.netName, Err: err}
		}
	}
	return echo, nil
}

// awaitWritten waits until every piece of track's message is written or
// dropped. Pieces dropped (the connection ended, or the channel was left
// and its queue purged) fail the send with a UserError that counts them.
func (cl *Client) awaitWritten(ctx context.Context, track *pieceTracker) error {
	select {
	case <-track.settled:
	case <-ctx.Done():
		return fmt.Errorf("waiting for the message's lines to be written to %s: %w", cl.netName, ctx.Err())
	}
	unsent := track.total - track.nWritten.Load()
	if unsent == 0 {
		return nil
	}
	lost := track.lostErr()
	why := "the connection to " + cl.netName + " dropped first"
	if errors.Is(lost, ircconn.ErrPurged) {
		why = "the chat was left first"
	}
	if unsent == track.total {
		return &network.UserError{Message: "the message was not sent: " + why, Err: lost}
	}
	return &network.UserError{Message: fmt.Sprintf("%d of the message's %d lines were not sent: %s", unsent, track.total, why), Err: lost}
}

// pieceTracker follows one message's pieces through the connection's
// queue (its lineDone is their ircconn.LineDone). It reports the first
// write at once, for the metrics and so that the portal's next message
// may go (placed), and closes settled once every piece is written or
// dropped, which is when sendLines may say how the message fared.
type pieceTracker struct {
	total    int32
	written  func(time.Time)
	placed   func()
	steps    atomic.Int32 // before placed: all queued, first written
	nWritten atomic.Int32
	nSettled atomic.Int32
	settled  chan struct{}

	mu   sync.Mutex
	lost error // why the first dropped piece was dropped
}

func newPieceTracker(pieces int, written func(time.Time), placed func()) *pieceTracker {
	t := &pieceTracker{total: int32(pieces), written: written, placed: placed, settled: make(chan struct{})}
	t.steps.Store(2)
	return t
}

// step counts one of the two things placed waits for.
func (t *pieceTracker) step() {
	if t.steps.Add(-1) == 0 && t.placed != nil {
		t.placed()
	}
}

// lineDone is the ircconn.LineDone of every piece. A target's lines are
// written in order, so the first write is the first piece's.
func (t *pieceTracker) lineDone(at time.Time, err error) {
	if err != nil {
		t.mu.Lock()
		if t.lost == nil {
			t.lost = err
		}
		t.mu.Unlock()
	} else if t.nWritten.Add(1) == 1 {
		if t.written != nil {
			t.written(at)
		}
		t.step()
	}
	if t.nSettled.Add(1) == t.total {
		close(t.settled)
	}
}

func (t *pieceTracker) lostErr() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lost
}

// echoOf is the echo of our line in a labeled reply: the PRIVMSG or
// NOTICE carrying the server's msgid; nil if there is none.
func echoOf(reply []*irc.Message) *irc.Message {
	for _, m := range reply {
		if m.Tags["msgid"] != "" && (m.Command == "PRIVMSG" || m.Command == "NOTICE") {
			return m
		}
	}
	return nil
}

// refusalIn is the server's refusal in a labeled reply to a chat line: an
// error numeric (4xx and 5xx: 404 cannot send to channel, 401 no such
// nick, 412...) or a FAIL standard reply; nil if the reply has none. It is
// only asked when the reply holds no echo: an echoed line was delivered,
// and calling it refused would make the user send it twice.
func refusalIn(reply []*irc.Message) *irc.Message {
	for _, m := range reply {
		if m.Command == "FAIL" || isErrorNumeric(m.Command) {
			return m
		}
	}
	return nil
}

// isErrorNumeric reports whether command is a numeric in the 400-599
// range, where servers put their ERR_ replies.
func isErrorNumeric(command string) bool {
	return len(command) == 3 && (command[0] == '4' || command[0] == '5') &&
		command[1] >= '0' && command[1] <= '9' && command[2] >= '0' && command[2] <= '9'
}

// errRefused is the cause of the UserError for a line the server refused.
var errRefused = errors.New("refused by the server")

// refusedError tells the Matrix sender, in the server's own words, that
// the server did not take the message (the core reports it in the room).
func (cl *Client) refusedError(refusal *irc.Message) error {
	reason := strings.TrimSpace(stripControl(refusal.Trailing()))
	if reason == "" {
		reason = refusal.Command
	}
	return &network.UserError{
		Message: cl.netName + " refused the message: " + reason,
		Err:     fmt.Errorf("%w: %s %s", errRefused, refusal.Command, strings.Join(refusal.Params, " ")),
	}
}

func newFerryID() network.MessageID {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return network.MessageID("f:" + hex.EncodeToString(b[:]))
}

// Edit sends a short correction: "* <new text>" (first line only).
func (cl *Client) Edit(ctx context.Context, edit *network.OutgoingEdit) error {
	target, err := cl.target(edit.Portal)
	if err != nil {
		return err
	}
	c := edit.Content
	lines := ircfmt.MatrixToIRC(c.Body, string(c.Format), c.FormattedBody, ircfmt.Options{NickFor: cl.nickFor})
	if len(lines) == 0 {
		return nil
	}
	text := "* " + lines[0]
	prefix := ""
	var conn *ircconn.Conn
	if edit.Relay != nil {
		if conn, err = cl.relayConn(ctx, edit.Portal, target); err != nil {
			return err
		}
		prefix = "<" + relayName(edit.Relay.DisplayName, edit.Sender) + "> "
	} else if conn = cl.currentConn(); conn == nil {
		return cl.errNotConnected()
	}
	pieces := conn.SplitTextPrefixed(target, prefix, text)
	if len(pieces) == 0 {
		return network.UserErrorf("the correction does not fit in an IRC line")
	}
	_, err = cl.sendLines(ctx, conn, "PRIVMSG", target, nil, pieces[:1], nil, nil)
	return err
}

// validateChannel checks a channel name against CHANTYPES and CHANNELLEN,
// and refuses anything that could change the command (space, comma,
// control characters).
func validateChannel(is *ircconn.ISupport, channel string) error {
	if channel == "" || !is.IsChannel(channel) {
		return network.UserErrorf("`%s` is not a channel name here (channels start with one of `%s`)", stripControl(channel), is.ChanTypes)
	}
	if is.ChannelLen > 0 && len(channel) > is.ChannelLen {
		return network.UserErrorf("channel names are at most %d bytes on this network", is.ChannelLen)
	}
	for i := 0; i < len(channel); i++ {
		if c := channel[i]; c <= ' ' || c == ',' || c == 0x7f {
			return network.UserErrorf("a channel name cannot contain spaces, commas or control characters")
		}
	}
	return nil
}

// joinChannel sends JOIN; the server's JOIN makes the portal.
func (cl *Client) joinChannel(channel, key string) error {
	conn := cl.currentConn()
	if conn == nil {
		return network.UserErrorf("not connected to %s right now", cl.netName)
	}
	if err := validateChannel(conn.ISupport(), channel); err != nil {
		return err
	}
	if key != "" {
		if err := validateParam(key); err != nil {
			return network.UserErrorf("bad channel key: %s", err)
		}
	}
	folded := cl.fold(channel)
	cl.lock.Lock()
	cl.pending[folded] = joinAsked
	cl.lock.Unlock()
	if key != "" {
		cl.saveMeta(func(m *loginMeta) {
			if m.Channels == nil {
				m.Channels = map[string]savedChannel{}
			}
			m.Channels[folded] = savedChannel{Name: channel, Key: key}
		})
	}
	cl.sendJoin(conn, channel, key)
	return nil
}

// JoinChat joins the channel of a shared portal the Matrix user joined.
func (cl *Client) JoinChat(ctx context.Context, portal network.PortalKey) error {
	netName, channel, ok := splitNet(string(portal.Chat))
	if !ok || netName != cl.netName || portal.Receiver != "" {
		return network.ErrWrongAccount
	}
	return cl.joinChannel(channel, "")
}

// LeaveChat parts the channel (PMs have nothing to leave).
func (cl *Client) LeaveChat(ctx context.Context, portal network.PortalKey) error {
	netName, channel, ok := splitNet(string(portal.Chat))
	if !ok || netName != cl.netName || portal.Receiver != "" {
		return nil
	}
	folded := cl.fold(channel)
	name := cl.channelName(folded)
	conn := cl.currentConn()
	cl.lock.Lock()
	cl.parting[folded] = true
	cl.lock.Unlock()
	cl.saveMeta(func(m *loginMeta) { delete(m.Channels, folded) })
	if conn == nil {
		return nil
	}
	conn.PurgeTarget(name)
	return conn.Send(&irc.Message{Command: "PART", Params: []string{name, "Left the Matrix room"}})
}

// StartDM maps an IRC person's ghost to this login's DM portal with them.
func (cl *Client) StartDM(ctx context.Context, user network.UserID) (network.PortalKey, error) {
	netName, nick, ok := parseUserID(user)
	if !ok || netName != cl.netName {
		return network.PortalKey{}, network.ErrWrongAccount
	}
	// Anyone can write a ghost's Matrix ID, so the nick in it is checked
	// as `irc pm` checks one typed: "bob,nickserv" or "#chan" would make
	// a DM portal whose messages go to a list of targets or a channel.
	if err := validateNick(nick, 0); err != nil {
		return network.PortalKey{}, err
	}
	return cl.currentPMKey(nick), nil
}
