package irc

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gopkg.in/irc.v4"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/irc/ircconn"
	"github.com/ferrybridge/ferry/irc/ircfmt"
)

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
		// StartDM checks the nick of a new DM portal, but one made before
		// it did can name a target list ("bob,nickserv") or a channel:
		// every line built for a PM portal goes through here.
		if err := cl.validatePMTarget(nick); err != nil {
			return "", &network.UserError{Message: "this private chat is with " + network.CodeSpan(stripControl(nick)) + ", which is not one IRC nick; nothing was sent", Err: err}
		}
		return cl.displayNick(nick), nil
	}
	return cl.channelName(rest), nil
}

// validatePMTarget checks the nick of a PM portal before a line goes to
// it: it must name one person. Nicks of incoming PMs can hold what
// validateNick refuses (UTF-8, on networks that allow it), so only what
// makes a target something else is refused: a list (comma), a channel
// (also behind a STATUSMSG prefix, "+#chan"), a server mask ("$*"),
// nick@server or a wildcard, and what would break the line.
func (cl *Client) validatePMTarget(nick string) error {
	if err := validateParam(nick); err != nil {
		return fmt.Errorf("PM target: %w", err)
	}
	if strings.ContainsAny(nick, "!@*?$") {
		return errors.New("PM target holds one of !@*?$")
	}
	// No nick starts with a channel type or a STATUSMSG prefix, the
	// network's or those common elsewhere.
	if strings.IndexByte(notNickStart, nick[0]) >= 0 || cl.isChannelName(nick) {
		return errors.New("PM target names a channel")
	}
	return nil
}

// notNickStart are the channel types and STATUSMSG prefixes in use on
// common servers.
const notNickStart = "#&!+%~.:"

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
				return cl.ghostNick(nick), true
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

// relayPrefix starts every piece of a relayed line: "<name> ".
func relayPrefix(displayName string, sender id.UserID) string {
	return "<" + relayName(displayName, sender) + "> "
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
		prefix = relayPrefix(msg.Relay.DisplayName, msg.Sender)
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
			lines[0] = cl.ghostNick(nick) + ": " + lines[0]
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
		return nil, network.UserErrorf("the message does not fit in an IRC line to %s", network.Literal(stripControl(target)))
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
	return cl.c.relayBotFor(cl.netName, cl.cfg).ready(ctx, cl, target, key)
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
		prefix = relayPrefix(edit.Relay.DisplayName, edit.Sender)
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
		return network.UserErrorf("%s is not a channel name here (channels start with one of %s)", network.CodeSpan(stripControl(channel)), network.CodeSpan(stripControl(is.ChanTypes)))
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

// joinChannel sends JOIN; the server's JOIN makes the portal. origin
// is joinAsked or joinCommanded: who hears of a refusal.
func (cl *Client) joinChannel(channel, key string, origin joinOrigin) error {
	conn := cl.currentConn()
	if conn == nil {
		return notConnected(cl.netName)
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
	cl.pending[folded] = origin
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
	return cl.joinChannel(channel, "", joinAsked)
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
		cl.c.releaseUntimed(cl.netName, folded) // no PART to answer (leftChannel)
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
	cl.rememberPMNick(cl.displayNick(nick))
	return cl.currentPMKey(nick), nil
}
