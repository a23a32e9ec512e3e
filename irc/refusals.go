package irc

import (
	"strings"

	"gopkg.in/irc.v4"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/format"

	"github.com/ferrybridge/ferry/bridge/network"
)

// handleRefusal acts on the server refusing something Ferry sent for the
// Matrix user: 401 ERR_NOSUCHNICK (a PM to a nick that left), 404
// ERR_CANNOTSENDTOCHAN (+m, +b, +n...), 408 ERR_NOCTRLSONCHAN and 492
// ERR_NOCTCP (Hybrid: +c colours and control codes, +C CTCPs; naming a
// channel we are joining, they still answer a line, sent before the
// JOIN, never the JOIN), 531 ERR_CANTSENDTOUSER (InspIRCd:
// the nick's mode forbids it, +c common channels or +R registered only),
// 716 ERR_TARGUMODEG (Solanum, charybdis, InspIRCd's callerid: the nick
// is in +g caller-id mode and has not accepted us; the 717 RPL_TARGNOTIFY
// that may follow only says they were told, and needs nothing), 486
// ERR_NONONREG (charybdis, Solanum, ircu: the nick takes PMs from
// logged-in users only; Unreal 3.2's other 486 has no target, so is
// passed over below), 477 ERR_NEEDREGGEDNICK (to a nick, Ergo: the
// nick takes PMs from logged-in users only; to a channel, Hybrid and
// ratbox: the channel takes lines from logged-in users only; to a
// channel we are joining it refuses the JOIN; see handle477),
// 442 ERR_NOTONCHANNEL and 482 ERR_CHANOPRIVSNEEDED (a TOPIC, MODE or
// KICK). Without labeled-response
// nothing else hears of it: the message or change is lost on IRC while
// Matrix shows it sent, so the affected room is told with a notice.
func (cl *Client) handleRefusal(msg *irc.Message) {
	cl.refuse(msg, refusesLine(msg.Command))
}

// refuse is handleRefusal of what msg refuses: a chat line (line), which
// it answers (echoes.go), else a change.
func (cl *Client) refuse(msg *irc.Message, line bool) {
	// <numeric> <me> <target> :<reason>
	if len(msg.Params) < 3 {
		return
	}
	target, reason := msg.Params[1], msg.Params[len(msg.Params)-1]
	if cl.isLabeledReply(msg) {
		// The labeled sender receives this reply too and reports the
		// failure to Matrix itself: a notice would say it twice.
		cl.log.Debug().Str("numeric", msg.Command).Str("target", target).Str("reason", reason).
			Msg("IRC server refused a labeled command")
		return
	}
	cl.log.Warn().Str("numeric", msg.Command).Str("target", target).Str("reason", reason).
		Msg("IRC server refused a command sent for the user")
	if line {
		// It answers a line of ours there, which no echo will (echoes.go).
		cl.echoes.refused(cl.currentConn(), cl.fold(target))
	}
	cl.tellRefused(msg, target, reason, line)
}

// tellRefused tells the room concerned that the server refused (msg)
// what Ferry sent to target for the user: a chat line (line), else a
// change (see refusalNotice).
func (cl *Client) tellRefused(msg *irc.Message, target, reason string, line bool) {
	portal, sender, text, ok := cl.refusalNotice(msg, target, reason, line)
	if !ok {
		return
	}
	cl.queueNotice(msg, portal, sender, target, reason, text)
}

// handleNoSuchChannel acts on a 403 ERR_NOSUCHCHANNEL that answers no
// JOIN of ours: Ergo's refusal of a REDACT (or a chat line) sent to a
// channel that is gone. Matrix shows the deletion made, so the room is
// told, as a FAIL REDACT is (handleFail). Which line it refused is known
// where a target's lines are noted (echoes_untracked.go); with
// labeled-response the sender reads it (Redact).
func (cl *Client) handleNoSuchChannel(msg *irc.Message) {
	// 403 <me> <channel> :<reason>
	if len(msg.Params) < 3 || cl.isLabeledReply(msg) {
		return
	}
	target, reason := msg.Params[1], msg.Params[len(msg.Params)-1]
	log := cl.log.With().Str("numeric", msg.Command).Str("target", target).Str("reason", reason).Logger()
	switch command := cl.echoes.refused(cl.currentConn(), cl.fold(target)); command {
	case "REDACT":
		log.Warn().Msg("IRC server refused a REDACT sent for the user")
		cl.tellRedactRefused(msg, target, reason)
	case "":
		log.Debug().Msg("IRC server said a channel does not exist, answering nothing Ferry waits for")
	default:
		log.Warn().Str("command", command).Msg("IRC server refused a line sent for the user")
		cl.tellRefused(msg, target, reason, true)
	}
}

// handle477 acts on 477, which answers different things: a JOIN refused
// for not being logged in (ERR_NEEDREGGEDNICK); a line refused for it,
// to a channel (Hybrid, ratbox: "Cannot send to channel") or (Ergo) a PM
// to a nick that takes them from logged-in users only; or (IRCnet's
// ERR_NOCHANMODES) a MODE for a channel without modes, such as the query
// we send on joining it. Taken for a refused line, that one told of a
// message lost that was not, and where sends wait for their echo
// (echoes.go) it took a waiting line's answer.
func (cl *Client) handle477(msg *irc.Message) {
	if len(msg.Params) < 3 {
		return
	}
	target := msg.Params[1]
	switch {
	case cl.joinPending(target):
		cl.handleJoinError(msg)
	case cl.answerModeQuery(target):
		cl.log.Debug().Str("channel", target).Str("reason", msg.Params[len(msg.Params)-1]).
			Msg("IRC server answered Ferry's MODE query: the channel has no modes")
	case !cl.linePendingTo(target):
		// Where lines are noted, none waits for an answer: it answers
		// something else of ours, a MODE (a change, not a line).
		cl.refuse(msg, false)
	default:
		cl.handleRefusal(msg)
	}
}

// linePendingTo reports whether a chat line of ours to target may still
// await its answer: where the server echoes lines (echoes.go), one noted
// and unanswered; elsewhere nothing tells, so any may.
func (cl *Client) linePendingTo(target string) bool {
	conn := cl.currentConn()
	if conn == nil || !cl.unlabeledEchoes(conn) {
		return true
	}
	return cl.echoes.waiting(conn, cl.fold(target))
}

// rejoinRefused tells the channel's portal that the automatic rejoin of a
// saved channel was refused for a reason that may pass (see
// isFinalJoinRefusal). The channel stays saved, and the Matrix user in
// the room, so the next connect tries again.
func (cl *Client) rejoinRefused(msg *irc.Message, channel, reason string) {
	cl.log.Warn().Str("numeric", msg.Command).Str("channel", channel).Str("reason", reason).
		Msg("IRC server refused the automatic rejoin; keeping the channel to retry on the next connect")
	text := cl.refusedSaying("Ferry could not rejoin "+network.Literal(channel)+" as "+network.Literal(cl.currentNick()), reason) +
		". It will try again when it next connects to " + cl.netName + "."
	cl.queueNotice(msg, cl.channelKey(channel), cl.userID(serverName(msg)), channel, reason, text)
}

// relayRefused tells channel's portal that the server refused a line
// the relay bot sent there, where this login relayed last (see
// relayBot.refusal): the relayed message did not reach IRC.
func (cl *Client) relayRefused(msg *irc.Message, channel, reason string) {
	text := cl.refusedSaying("A relayed message in "+network.Literal(channel)+" did not reach IRC", reason)
	cl.queueNotice(msg, cl.channelKey(channel), cl.userID(serverName(msg)), channel, reason, text)
}

// relayJoinRefused tells channel's portal that the server refused the
// relay bot's JOIN there after the relayed message that sent it stopped
// waiting (see relayBot.answerJoin): in the server's words, why the
// relayed messages did not reach IRC.
func (cl *Client) relayJoinRefused(msg *irc.Message, channel, reason string) {
	text := cl.refusedSaying("The relay bot could not join "+network.Literal(channel)+", so relayed messages there do not reach IRC", reason)
	cl.queueNotice(msg, cl.channelKey(channel), cl.userID(serverName(msg)), channel, reason, text)
}

// refusedSaying is a refusal notice's Markdown: what did not happen (its
// words from outside already through network.Literal), then who refused
// it, in the server's own words, quoted once.
func (cl *Client) refusedSaying(what, reason string) string {
	return "⚠️ " + what + ": " + cl.refusedBy("it", reason, "")
}

// refusedBy is Markdown saying that the network refused what (its words
// from outside already through network.Literal), in the server's words
// (reason, quoted once) or, when it gave none, by its numeric (numeric;
// "": not named).
func (cl *Client) refusedBy(what, reason, numeric string) string {
	reason = strings.TrimSpace(stripControl(reason))
	switch {
	case reason != "":
		return cl.netName + " refused " + what + ", saying \"" + network.Literal(reason) + "\""
	case numeric != "":
		return cl.netName + " refused " + what + " (" + network.Literal(numeric) + ")"
	}
	return cl.netName + " refused " + what + "."
}

// queueNotice posts text, Markdown, as an m.notice by sender in portal,
// about a refusal of target by msg.
func (cl *Client) queueNotice(msg *irc.Message, portal network.PortalKey, sender network.UserID, target, reason, text string) {
	ts := cl.msgTime(msg)
	content := format.RenderMarkdown(text, true, false)
	content.MsgType = event.MsgNotice
	cl.queue(&network.Message{
		Meta: network.Meta{Portal: portal, Sender: network.Sender{User: sender}, Timestamp: ts},
		// Hashed like a message without msgid, so that the same refusal
		// repeated within the window (one per line of a multi-line
		// message) is one notice: the core skips an ID it has bridged.
		ID:    messageID(cl.netName, cl.cm(), target, cl.currentNick(), msg.Command+" "+reason, "", ts, false, ts),
		Parts: []network.Part{{Content: &content}},
	})
}

// refusalNotice is where a refusal of target (of a chat line: line, else
// of a change) is told, by whom, and what (see refusalRoom). ok is false
// when no room is concerned.
func (cl *Client) refusalNotice(msg *irc.Message, target, reason string, line bool) (portal network.PortalKey, sender network.UserID, text string, ok bool) {
	me, where := network.Literal(cl.currentNick()), network.Literal(target)
	what := "What " + me + " sent to " + where + " did not arrive"
	if !line {
		if !cl.isChannelName(target) || (msg.Command == "442" && cl.isParting(target)) {
			// A change refused for a nick is none of a room's; a 442 for
			// a channel we leave is our PART crossing its end: nothing
			// lost.
			return portal, "", "", false
		}
		what = me + "'s change in " + where + " was not made" // a TOPIC, MODE or KICK
	}
	portal, sender = cl.refusalRoom(msg, target)
	return portal, sender, cl.refusedSaying(what, reason), true
}

// refusalRoom is where a refusal of what we sent to target is told, and
// by whom: a channel's portal, by the server that refused (a name with a
// dot, so never a nick's ghost); a nick's PM portal, by that nick.
func (cl *Client) refusalRoom(msg *irc.Message, target string) (network.PortalKey, network.UserID) {
	if cl.isChannelName(target) {
		return cl.channelKey(target), cl.userID(serverName(msg))
	}
	return cl.currentPMKey(target), cl.pmSender(target)
}

// refusesLine reports whether command, a numeric handleRefusal gets,
// refuses a chat line (PRIVMSG, NOTICE, TAGMSG) rather than a change.
func refusesLine(command string) bool {
	switch command {
	case "401", "404", "408", "477", "486", "492", "531", "716":
		return true
	}
	return false
}

// serverName is who sent msg, a server's name with a dot (so never a
// nick's ghost); "server" when the line had no prefix.
func serverName(msg *irc.Message) string {
	if msg.Prefix != nil && msg.Prefix.Name != "" {
		return msg.Prefix.Name
	}
	return "server"
}

// isLabeledReply reports whether msg answers one of our labeled commands:
// it carries a label, or sits in a labeled-response batch.
func (cl *Client) isLabeledReply(msg *irc.Message) bool {
	return msg.Tags["label"] != "" || cl.inBatchOf(msg, "labeled-response")
}

// joinPending reports whether we sent JOIN for channel and have had no
// answer yet. A JOIN to a channel we are in (`irc join` of one joined
// already) is answered by nothing, so its mark stays: there, a 477 is a
// line of ours refused, never the JOIN's answer.
func (cl *Client) joinPending(channel string) bool {
	folded := cl.fold(channel)
	cl.lock.Lock()
	defer cl.lock.Unlock()
	_, pending := cl.pending[folded]
	return pending && cl.channels[folded] == nil
}

// isParting reports whether we sent PART for channel.
func (cl *Client) isParting(channel string) bool {
	folded := cl.fold(channel)
	cl.lock.Lock()
	defer cl.lock.Unlock()
	return cl.parting[folded]
}
