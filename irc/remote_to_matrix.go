package irc

import (
	"strings"
	"time"

	"gopkg.in/irc.v4"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/irc/ircconn"
	"github.com/ferrybridge/ferry/irc/ircfmt"
)

// historySlack tolerates clock differences between our JOIN's time and
// the lines after it.
const historySlack = time.Second

func (cl *Client) handleMessage(msg *irc.Message) {
	if msg.Command == "TAGMSG" || msg.Prefix == nil || len(msg.Params) < 2 {
		return
	}
	source, target, text := msg.Prefix.Name, msg.Params[0], msg.Params[1]
	if msg.Prefix.User == "" && msg.Prefix.Host == "" && strings.Contains(source, ".") {
		return // a server notice
	}
	// Our own lines (echo-message) came from Matrix: never bridged back,
	// but a send may wait for the echo's msgid (echoes.go). Replayed
	// history of ours never gets here (replayedChat).
	if cl.isMe(source) {
		cl.echoes.resolve(cl.currentConn(), msg, cl.fold(target))
		return
	}
	msgType := event.MsgText
	if msg.Command == "NOTICE" {
		msgType = event.MsgNotice
	}
	if strings.HasPrefix(text, "\x01") {
		ctcp := strings.TrimSuffix(text[1:], "\x01")
		verb, rest, _ := strings.Cut(ctcp, " ")
		if strings.ToUpper(verb) != "ACTION" || msg.Command != "PRIVMSG" {
			if msg.Command == "PRIVMSG" && cl.isMe(target) {
				cl.answerCTCP(source, strings.ToUpper(verb), rest)
			}
			return
		}
		msgType, text = event.MsgEmote, rest
	}
	now := time.Now().UTC()
	serverTime, hasTime := timeOf(msg)
	ts := now
	if hasTime {
		ts = serverTime
	}
	var portal network.PortalKey
	sender := cl.userID(source)
	var members map[string]bool // who may be mentioned (casefolded)
	pmPeer := ""                // the other side's nick in a PM
	var joinedAt, joinRead time.Time
	conn := cl.currentConn()
	if conn == nil {
		// Lines are held until the connection is published (lineHold),
		// so this should not happen; if it does, say so.
		cl.log.Warn().Str("command", msg.Command).Str("source", source).Str("target", target).
			Msg("IRC message dropped: the login has no connection")
		return
	}
	_, channel := conn.ISupport().SplitStatusMsg(target)
	if conn.ISupport().IsChannel(channel) {
		folded := cl.fold(channel)
		cl.lock.Lock()
		ch := cl.channels[folded]
		if ch != nil {
			joinedAt, joinRead = ch.joinedAt, ch.joinRead
			channel = ch.name
			members = make(map[string]bool, len(ch.members))
			for nick := range ch.members {
				members[nick] = true
			}
		}
		cl.lock.Unlock()
		// Another Ferry login's channel line came from Matrix and is in
		// the shared room already. (A PM from one to another is bridged:
		// only the receiver's connection sees it.)
		if ch == nil || cl.c.isFerrySource(cl.netName, msg.Prefix) {
			return
		}
		// chanhistory and similar replay old lines on join with their
		// original server-time: older than our JOIN means a replay.
		if hasTime && serverTime.Before(joinedAt.Add(-historySlack)) {
			return
		}
		// Without server-time or msgid, only what was bridged before
		// tells a replayed line (replay.go).
		if !hasTime && msg.Tags["msgid"] == "" && cl.isReplay(folded, msg) {
			cl.log.Debug().Str("channel", channel).Str("source", source).
				Msg("IRC line not bridged: history replayed at our JOIN, bridged before")
			return
		}
		portal = cl.channelKey(channel)
	} else if cl.isMe(target) {
		var ok bool
		if portal, ok = cl.pmPortal(msg); !ok {
			return
		}
		channel, sender, pmPeer = target, cl.pmSender(source), source
		members = map[string]bool{cl.fold(target): true, cl.fold(source): true}
	} else {
		cl.log.Debug().Str("command", msg.Command).Str("source", source).Str("target", target).
			Msg("IRC message dropped: neither to a channel nor to us")
		return
	}
	body, html := ircfmt.IRCToMatrix(text)
	if strings.TrimSpace(body) == "" {
		return
	}
	content := &event.MessageEventContent{MsgType: msgType, Body: body}
	if html != "" {
		content.Format, content.FormattedBody = event.FormatHTML, html
	}
	cl.addMentions(content, members, pmPeer)
	idAt := func(read time.Time) network.MessageID {
		return messageID(cl.netName, cl.cm(), channel, source, msg.Params[1], msg.Tags["msgid"], serverTime, hasTime, read)
	}
	var id network.MessageID
	switch {
	case msg.Tags["msgid"] != "":
		id = idAt(now)
	case hasTime:
		id = cl.c.repeats.mint(idAt(now), cl.loginID, joinRead, now)
	default:
		// The ID holds the time the line was read: the first login's.
		key := messageID(cl.netName, cl.cm(), channel, source, msg.Params[1], "", time.Time{}, false, time.Time{})
		id = cl.c.repeats.mintUntimed(key, idAt, cl.loginID, joinRead, now)
	}
	cl.queue(&network.Message{
		Meta: network.Meta{Portal: portal, Sender: network.Sender{User: sender}, Timestamp: ts, CreatePortal: true,
			ReceivedAt: conn.LineReadAt()},
		ID:    id,
		Parts: []network.Part{{Content: content}},
	})
}

func timeOf(msg *irc.Message) (time.Time, bool) { return ircconn.MessageTime(msg) }

// answerCTCP answers VERSION and PING minimally, a few at a time
// (ctcp_limit.go); everything else is ignored. CTCP is never bridged.
func (cl *Client) answerCTCP(nick, verb, arg string) {
	conn := cl.currentConn()
	if conn == nil {
		return
	}
	var reply string
	switch verb {
	case "VERSION":
		reply = "VERSION Ferry Matrix bridge"
	case "PING":
		if len(arg) > 64 || strings.ContainsAny(arg, "\x01\r\n\x00") {
			return
		}
		reply = strings.TrimSpace("PING " + arg)
	default:
		return
	}
	if !cl.ctcp.allow(time.Now()) {
		cl.log.Debug().Str("source", nick).Str("ctcp", verb).Msg("CTCP request not answered: too many lately")
		return
	}
	_ = cl.sendNoted(conn, &irc.Message{Command: "NOTICE", Params: []string{nick, "\x01" + reply + "\x01"}})
}

// pmPortal finds the DM portal for a PM from msg's source, starting a new
// generation when the nick now belongs to someone else. ok is false when
// the PM is not to be bridged (strangers refused).
func (cl *Client) pmPortal(msg *irc.Message) (network.PortalKey, bool) {
	nick := msg.Prefix.Name
	folded := cl.fold(nick)
	ident := "h:" + msg.Prefix.User + "@" + msg.Prefix.Host
	if acct := msg.Tags["account"]; acct != "" && acct != "*" {
		ident = "a:" + acct
	}
	cl.lock.Lock()
	peer, known := cl.meta.PMs[folded]
	cl.lock.Unlock()
	if !known && !*cl.cfg.PMFromStrangers {
		return network.PortalKey{}, false
	}
	if !known || peer.Ident != ident || peer.Nick != nick {
		if known && peer.Ident != "" && peer.Ident != ident {
			// Someone else: their own room, and their own ghost.
			peer.Gen++
			peer.Ghost = ""
		}
		peer.Ident, peer.Nick = ident, nick
		cl.saveMeta(func(m *loginMeta) {
			if m.PMs == nil {
				m.PMs = map[string]pmPeer{}
			}
			m.PMs[folded] = peer
		})
	}
	return cl.pmKey(folded, peer.Gen), true
}

func (cl *Client) pmKey(nick string, gen int) network.PortalKey {
	return network.PortalKey{Network: NetworkID, Chat: pmChatID(cl.netName, cl.cm(), nick, gen), Receiver: cl.loginID}
}

// rememberPMNick notes how the user wrote nick when opening a DM with it
// (see pmPeer.Nick), so that the room can follow a CASEMAPPING change
// before its peer ever answers.
func (cl *Client) rememberPMNick(nick string) {
	folded := cl.fold(nick)
	cl.lock.Lock()
	peer, known := cl.meta.PMs[folded]
	cl.lock.Unlock()
	if known && peer.Nick == nick {
		return
	}
	cl.saveMeta(func(m *loginMeta) {
		if m.PMs == nil {
			m.PMs = map[string]pmPeer{}
		}
		p := m.PMs[folded]
		p.Nick = nick
		m.PMs[folded] = p
	})
}

// pmSender is who nick is in this login's PM with them: their user ID,
// or the one folded under the casemapping before the network's last
// change, when it moved their ID (pmPeer.Ghost; rfc1459 made Bob[
// "bob{", ascii makes him "bob["). Their ghost in the rooms made before
// has that ID: with the new one, a second ghost would join beside it and
// speak for the same person. A new generation of the nick (someone
// else) has no saved ID, so gets their own ghost.
func (cl *Client) pmSender(nick string) network.UserID {
	folded := cl.fold(nick)
	cl.lock.Lock()
	ghost := cl.meta.PMs[folded].Ghost
	cl.lock.Unlock()
	if ghost != "" {
		return ghost
	}
	return cl.userID(nick)
}

// senderIn is who nick is in portal: pmSender in a PM, their user ID in
// a channel.
func (cl *Client) senderIn(portal network.PortalKey, nick string) network.UserID {
	if portal.Receiver != "" {
		return cl.pmSender(nick)
	}
	return cl.userID(nick)
}

// currentPMKey is the DM portal with nick as things stand.
func (cl *Client) currentPMKey(nick string) network.PortalKey {
	folded := cl.fold(nick)
	cl.lock.Lock()
	peer := cl.meta.PMs[folded]
	cl.lock.Unlock()
	return cl.pmKey(folded, peer.Gen)
}
