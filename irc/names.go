package irc

import (
	"fmt"
	"strings"

	"gopkg.in/irc.v4"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

// info describes a channel; cl.lock must be held. Other Ferry users'
// nicks (ferry) are left out of the members: they are Matrix users.
func (ch *channelState) info(cl *Client, withMembers bool, ferry map[string]bool) *network.ChatInfo {
	name := ch.name
	info := &network.ChatInfo{Name: &name}
	if ch.topicSet {
		topic := ch.topic
		info.Topic = &topic
	}
	if withMembers || ch.synced {
		list := &network.MemberList{IsFull: true, Lazy: cl.cfg.LazyGhosts}
		me := ircFold(cl, cl.nick)
		for folded, modes := range ch.members {
			if ferry[folded] && folded != me {
				continue
			}
			level := powerFor(modes)
			list.Members = append(list.Members, network.Member{
				User: network.UserID(cl.netName + "/" + folded), IsMe: folded == me, PowerLevel: &level,
			})
		}
		info.Members = list
	}
	return info
}

// ircFold folds without taking cl.lock (the connector's lock only).
func ircFold(cl *Client, s string) string { return cl.fold(s) }

func (cl *Client) handleNames(msg *irc.Message) {
	// 353 <me> <symbol> <channel> :<entries>
	if len(msg.Params) < 4 {
		return
	}
	conn := cl.currentConn()
	if conn == nil {
		return
	}
	is := conn.ISupport()
	folded := cl.fold(msg.Params[2])
	cl.lock.Lock()
	defer cl.lock.Unlock()
	ch := cl.channels[folded]
	if ch == nil {
		return
	}
	if ch.names == nil {
		ch.names = make(map[string]string)
	}
	for _, entry := range strings.Fields(msg.Params[3]) {
		modes, nick := parseNamesEntry(is, entry)
		if nick == "" {
			continue
		}
		f := cl.fold(nick)
		ch.names[f] = modes
		if cl.nicks == nil {
			cl.nicks = make(map[string]string)
		}
		if len(cl.nicks) < 10000 {
			cl.nicks[f] = nick
		}
	}
}

func (cl *Client) handleEndOfNames(msg *irc.Message) {
	// 366 <me> <channel> :End of /NAMES list.
	if len(msg.Params) < 2 {
		return
	}
	folded := cl.fold(msg.Params[1])
	ferry := cl.c.ferryNicks(cl.netName)
	cl.lock.Lock()
	ch := cl.channels[folded]
	if ch == nil || ch.names == nil {
		cl.lock.Unlock()
		return
	}
	ch.members, ch.names = ch.names, nil
	ch.synced = true
	info := ch.info(cl, true, ferry)
	name := ch.name
	cl.lock.Unlock()
	// The portal room is created (or this login's user invited into it)
	// with the channel's name, topic and members.
	cl.queue(&network.ChatResync{Meta: network.Meta{Portal: cl.channelKey(name), Timestamp: cl.msgTime(msg), CreatePortal: true}, Info: info})
}

func (cl *Client) handleTopicReply(msg *irc.Message) {
	// 332 <me> <channel> :<topic>
	if len(msg.Params) < 3 {
		return
	}
	cl.setTopic(msg.Params[1], msg.Params[2])
}

func (cl *Client) setTopic(channel, topic string) bool {
	folded := cl.fold(channel)
	cl.lock.Lock()
	defer cl.lock.Unlock()
	ch := cl.channels[folded]
	if ch == nil {
		return false
	}
	ch.topic, ch.topicSet = topic, true
	return true
}

func (cl *Client) handleTopic(msg *irc.Message) {
	if msg.Prefix == nil || len(msg.Params) < 2 {
		return
	}
	channel, topic := msg.Params[0], msg.Params[1]
	if !cl.setTopic(channel, topic) {
		return
	}
	if cl.c.isPrimary(cl.netName, cl.loginID, cl.fold(channel)) {
		cl.queue(&network.ChatInfoChange{Meta: cl.evtMeta(msg, cl.channelKey(channel), msg.Prefix.Name), Info: &network.ChatInfo{Topic: &topic}})
	}
}

func (cl *Client) handleChannelModeIs(msg *irc.Message) {
	// 324 <me> <channel> <modes> [args...]
	if len(msg.Params) < 3 {
		return
	}
	cl.answerModeQuery(msg.Params[1])
	cl.applyModes(msg, msg.Params[1], msg.Params[2:], true)
}

// askModes sends a MODE query for channel, one we are in; for a channel
// without modes it is counted until its answer (see
// channelState.modeQueries).
func (cl *Client) askModes(conn *ircconn.Conn, channel string) {
	if withoutModes(channel) {
		folded := cl.fold(channel)
		cl.lock.Lock()
		if ch := cl.channels[folded]; ch != nil {
			ch.modeQueries++
		}
		cl.lock.Unlock()
	}
	_ = conn.Send(&irc.Message{Command: "MODE", Params: []string{channel}})
}

// withoutModes reports whether channel is one without modes ("+", RFC
// 2811 4.2.1), the only kind IRCnet answers a MODE query for with 477
// ERR_NOCHANMODES. Elsewhere a 477 for a channel refuses a line (Hybrid,
// ratbox), even one that crossed our MODE query on the wire.
func withoutModes(channel string) bool {
	return strings.HasPrefix(channel, "+")
}

// answerModeQuery takes the answer to our oldest MODE query for channel;
// it reports whether one was waiting.
func (cl *Client) answerModeQuery(channel string) bool {
	folded := cl.fold(channel)
	cl.lock.Lock()
	defer cl.lock.Unlock()
	ch := cl.channels[folded]
	if ch == nil || ch.modeQueries == 0 {
		return false
	}
	ch.modeQueries--
	return true
}

func (cl *Client) handleMode(msg *irc.Message) {
	if len(msg.Params) < 2 || !cl.isChannelName(msg.Params[0]) {
		return
	}
	cl.applyModes(msg, msg.Params[0], msg.Params[1:], false)
}

// applyModes tracks membership modes and the invite-only state. full is
// set for RPL_CHANNELMODEIS, which lists every flag that is on.
func (cl *Client) applyModes(msg *irc.Message, channel string, params []string, full bool) {
	conn := cl.currentConn()
	if conn == nil {
		return
	}
	changes, inviteOnly, keyed, key := parseModeChanges(conn.ISupport(), params)
	folded := cl.fold(channel)
	ferry := cl.c.ferryNicks(cl.netName)
	cl.lock.Lock()
	ch := cl.channels[folded]
	if ch == nil {
		cl.lock.Unlock()
		return
	}
	var members []network.Member
	for _, chg := range changes {
		f := cl.fold(chg.nick)
		if ferry[f] && f != cl.fold(cl.nick) {
			continue
		}
		modes, ok := ch.members[f]
		if !ok {
			continue
		}
		if chg.add {
			if strings.IndexByte(modes, chg.mode) < 0 {
				modes += string(chg.mode)
			}
		} else {
			modes = strings.ReplaceAll(modes, string(chg.mode), "")
		}
		modes = sortModes(conn.ISupport(), modes)
		ch.members[f] = modes
		level := powerFor(modes)
		members = append(members, network.Member{User: network.UserID(cl.netName + "/" + f), IsMe: f == cl.fold(cl.nick), PowerLevel: &level})
	}
	cl.lock.Unlock()
	if keyed != nil {
		cl.rememberKey(folded, *keyed, key)
	}
	info := &network.ChatInfo{}
	changed := false
	if full {
		// +i or +k keeps the room invite-only; neither opens it.
		closed := inviteOnly != nil && *inviteOnly || keyed != nil && *keyed
		info.InviteOnly, changed = &closed, true
	} else if inviteOnly != nil || keyed != nil {
		// A change: ask for the whole mode string to decide.
		cl.askModes(conn, channel)
	}
	if len(members) > 0 {
		// A partial list: the core sets these members' power levels
		// and leaves everyone else as they are.
		info.Members = &network.MemberList{Members: members, Lazy: cl.cfg.LazyGhosts}
		changed = true
	}
	sender := ""
	if msg.Prefix != nil && msg.Prefix.User != "" {
		sender = msg.Prefix.Name
	}
	if changed && cl.c.isPrimary(cl.netName, cl.loginID, folded) {
		cl.queue(&network.ChatInfoChange{Meta: cl.evtMeta(msg, cl.channelKey(channel), sender), Info: info})
	}
}

// rememberKey saves a change of a saved channel's key (+k key, -k), so
// that the automatic rejoin after a reconnect or a restart uses the key
// the channel has now rather than the one it was joined with. A key the
// server hides ("*", "<key>") changes nothing.
func (cl *Client) rememberKey(folded string, keyed bool, key string) {
	if keyed && !isShownKey(key) {
		return
	}
	cl.lock.Lock()
	saved, ok := cl.meta.Channels[folded]
	cl.lock.Unlock()
	if !ok || saved.Key == key {
		return
	}
	cl.saveMeta(func(m *loginMeta) {
		if ch, ok := m.Channels[folded]; ok {
			ch.Key = key
			m.Channels[folded] = ch
		}
	})
}

// isShownKey reports whether a +k argument is the key itself rather than
// what servers show those not allowed to see it.
func isShownKey(key string) bool {
	return key != "" && key != "*" && key != "<key>"
}

// joinOrigin is why we sent a JOIN: it decides what a refusal does.
type joinOrigin uint8

const (
	joinAutomatic joinOrigin = iota + 1 // a saved channel, rejoined on connect
	joinAsked                           // the Matrix user joined the channel's room
	// joinCommanded: the Matrix user sent `irc join`, which answered
	// before the server did. A refusal has no room to be told in when
	// the channel has none yet, so it is told in the management room.
	joinCommanded
)

// isFinalJoinRefusal reports whether a JOIN refusal will not pass by
// itself: 474 (banned from the channel), 403/479/476 (no such channel,
// an illegal name). Full (471), invite-only (473), a changed key (475), a
// registered nick needed while services are down (477), throttled (480)
// or TLS-only (489) may pass, or be fixed on IRC, by the next connect.
func isFinalJoinRefusal(numeric string) bool {
	switch numeric {
	case "474", "403", "479", "476":
		return true
	}
	return false
}

// refusesJoin reports whether command is a numeric that refuses a JOIN
// and nothing else: 405 too many channels, 470 forwarded (linked) to
// another channel, 471 full, 473 invite only, 474 banned, 475 a wrong
// key, 476 a bad name, 479 an illegal name, 480 throttled, 489 TLS only,
// 495 kicked too recently (InspIRCd), 520 opers only (InspIRCd). 403,
// 437 and 477 refuse other things too (see dispatch).
func refusesJoin(command string) bool {
	switch command {
	case "405", "470", "471", "473", "474", "475", "476", "479", "480", "489", "495", "520":
		return true
	}
	return false
}

// joinRefusalReason is the server's reason for refusing a JOIN (msg), with
// the channel it forwards us to on a 470 (which it joins us to
// instead, a room of its own).
func joinRefusalReason(msg *irc.Message) string {
	reason := stripControl(msg.Params[len(msg.Params)-1])
	if msg.Command == "470" && len(msg.Params) > 3 {
		reason += " (forwarded to " + stripControl(msg.Params[2]) + ")"
	}
	return reason
}

// handleJoinError turns a refused JOIN into the Matrix user's removal from
// the room, with the server's reason; an automatic rejoin refused for a
// passing reason keeps the channel instead (rejoinRefused).
func (cl *Client) handleJoinError(msg *irc.Message) {
	// <numeric> <me> <channel> :<reason>
	if len(msg.Params) < 3 {
		return
	}
	channel, reason := msg.Params[1], joinRefusalReason(msg)
	folded := cl.fold(channel)
	cl.lock.Lock()
	origin := cl.pending[folded]
	delete(cl.pending, folded)
	cl.lock.Unlock()
	if origin == 0 {
		return
	}
	if origin == joinAutomatic && !isFinalJoinRefusal(msg.Command) {
		cl.rejoinRefused(msg, channel, reason)
		return
	}
	if origin == joinCommanded {
		text := fmt.Sprintf("Could not join %s on %s: %s", network.Literal(stripControl(channel)), cl.netName, network.Literal(stripControl(reason)))
		if msg.Command == "475" {
			text += ". Send " + network.CodeSpan("irc join "+cl.netName+" "+stripControl(channel)+" <key>") + " with the channel's key."
		}
		go cl.c.host.NotifyUser(cl.c.ctx, cl.loginID, text)
	}
	cl.leftChannel(folded)
	cl.queue(&network.Membership{
		Meta:       network.Meta{Portal: cl.channelKey(channel), Timestamp: cl.msgTime(msg)},
		TargetIsMe: true, Action: network.MembershipKick,
		Reason: "cannot join " + channel + ": " + reason,
	})
}
