package irc

import (
	"strings"
	"time"

	"gopkg.in/irc.v4"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

// channelState is a channel the connection is in.
type channelState struct {
	name     string
	topic    string
	topicSet bool
	// members: casefolded nick -> membership modes ("ov"), highest first.
	members  map[string]string
	names    map[string]string // NAMES being collected until 366
	joinedAt time.Time         // server-time of our JOIN (or receive time)
	joinRead time.Time         // when we read our JOIN, by our clock
	synced   bool              // first NAMES done
	// modeQueries counts our MODE queries (askModes) of a channel
	// without modes not answered yet: IRCnet answers them with 477
	// ERR_NOCHANMODES, which is then no line of ours refused.
	modeQueries int
}

// Power levels for channel membership modes. Matrix moderators are 50;
// nobody but the bridge bot reaches 100.
const (
	powerOwner  = 75 // q, a (founder/admin)
	powerOp     = 50 // o
	powerHalfop = 25 // h
	powerVoice  = 10 // v
)

// powerFor maps the highest membership mode to a power level.
func powerFor(modes string) int {
	if modes == "" {
		return 0
	}
	switch modes[0] {
	case 'q', 'a', 'y':
		return powerOwner
	case 'o':
		return powerOp
	case 'h':
		return powerHalfop
	case 'v':
		return powerVoice
	}
	return powerVoice
}

// parseNamesEntry splits a NAMES entry ("@+nick!user@host" with
// multi-prefix and userhost-in-names) into its modes, highest first, and
// the nick.
func parseNamesEntry(is *ircconn.ISupport, entry string) (modes, nick string) {
	i := 0
	for i < len(entry) {
		m := is.ModeForPrefix(entry[i])
		if m == 0 {
			break
		}
		modes += string(m)
		i++
	}
	nick = entry[i:]
	if bang := strings.IndexByte(nick, '!'); bang >= 0 {
		nick = nick[:bang]
	}
	return sortModes(is, modes), nick
}

// sortModes orders membership modes as PREFIX does, highest first.
func sortModes(is *ircconn.ISupport, modes string) string {
	var b strings.Builder
	for i := 0; i < len(is.PrefixModes); i++ {
		if strings.IndexByte(modes, is.PrefixModes[i]) >= 0 {
			b.WriteByte(is.PrefixModes[i])
		}
	}
	return b.String()
}

// modeChange is one membership mode change from a MODE line.
type modeChange struct {
	add  bool
	mode byte
	nick string
}

// rfcChanModes are RFC 2811's channel modes by CHANMODES type, assumed
// from a server that announces no CHANMODES: without them a +k or +l
// argument would be taken for no one's, and a key change missed.
var rfcChanModes = [4]string{"beI", "k", "l", "imnpst"}

// parseModeChanges walks a channel MODE line's mode string and arguments
// against PREFIX and CHANMODES, so each argument is consumed by the mode
// that takes it (a "+lo 10 nick" gives op to nick, not to "10"). Flags
// that make the room invite-only are reported too, and with +k its key
// (as the server showed it).
func parseModeChanges(is *ircconn.ISupport, params []string) (changes []modeChange, inviteOnly, keyed *bool, key string) {
	if len(params) == 0 {
		return nil, nil, nil, ""
	}
	args := params[1:]
	next := func() string {
		if len(args) == 0 {
			return ""
		}
		a := args[0]
		args = args[1:]
		return a
	}
	chanModes := is.ChanModes
	if chanModes == [4]string{} {
		chanModes = rfcChanModes
	}
	add := true
	for i := 0; i < len(params[0]); i++ {
		m := params[0][i]
		switch {
		case m == '+':
			add = true
		case m == '-':
			add = false
		case strings.IndexByte(is.PrefixModes, m) >= 0:
			if nick := next(); nick != "" {
				changes = append(changes, modeChange{add: add, mode: m, nick: nick})
			}
		case strings.IndexByte(chanModes[0], m) >= 0, strings.IndexByte(chanModes[1], m) >= 0:
			arg := next()
			if m == 'k' {
				v := add
				keyed, key = &v, ""
				if add {
					key = arg
				}
			}
		case strings.IndexByte(chanModes[2], m) >= 0:
			if add {
				next()
			}
		default:
			if m == 'i' {
				v := add
				inviteOnly = &v
			}
		}
	}
	return changes, inviteOnly, keyed, key
}

func (cl *Client) isMe(nick string) bool {
	cl.lock.Lock()
	me := cl.nick
	cl.lock.Unlock()
	return me != "" && cl.fold(nick) == cl.fold(me)
}

func (cl *Client) msgTime(msg *irc.Message) time.Time {
	if t, ok := ircconn.MessageTime(msg); ok {
		return t
	}
	return time.Now().UTC()
}

func (cl *Client) evtMeta(msg *irc.Message, portal network.PortalKey, sender string) network.Meta {
	m := network.Meta{Portal: portal, Timestamp: cl.msgTime(msg)}
	if sender != "" {
		m.Sender = network.Sender{User: cl.userID(sender), FromMe: cl.isMe(sender)}
	}
	return m
}

func (cl *Client) handleJoin(msg *irc.Message) {
	if msg.Prefix == nil || len(msg.Params) == 0 {
		return
	}
	channel, nick := msg.Params[0], msg.Prefix.Name
	folded := cl.fold(channel)
	if cl.isMe(nick) {
		cl.lock.Lock()
		cl.channels[folded] = &channelState{name: channel, members: map[string]string{}, joinedAt: cl.msgTime(msg), joinRead: time.Now()}
		cl.openReplayLocked(folded, time.Now())
		delete(cl.pending, folded)
		_, saved := cl.meta.Channels[folded]
		conn := cl.conn
		cl.lock.Unlock()
		if !saved {
			cl.saveMeta(func(m *loginMeta) {
				if m.Channels == nil {
					m.Channels = map[string]savedChannel{}
				}
				m.Channels[folded] = savedChannel{Name: channel}
			})
		}
		if conn != nil {
			cl.askModes(conn, channel)
		}
		return
	}
	cl.lock.Lock()
	ch := cl.channels[folded]
	if ch != nil {
		ch.members[cl.fold(nick)] = ""
	}
	cl.lock.Unlock()
	if ch != nil && cl.splitRejoined(nick, folded) {
		return // back from a netsplit: the ghost never left
	}
	// With lazy ghosts, the ghost joins when the member first speaks.
	if ch != nil && !cl.cfg.LazyGhosts && !cl.c.isFerrySource(cl.netName, msg.Prefix) && cl.c.isPrimary(cl.netName, cl.loginID, folded) {
		cl.queue(&network.Membership{Meta: cl.evtMeta(msg, cl.channelKey(channel), nick), Target: cl.userID(nick), Action: network.MembershipJoin})
	}
}

// leftChannel forgets a channel we are out of (and the network its
// untimed lines there, if no other login is in it: replay.go).
func (cl *Client) leftChannel(folded string) {
	cl.lock.Lock()
	delete(cl.channels, folded)
	delete(cl.parting, folded)
	_, saved := cl.meta.Channels[folded]
	conn := cl.conn
	cl.lock.Unlock()
	if conn != nil {
		conn.PurgeTarget(folded)
	}
	if saved {
		cl.saveMeta(func(m *loginMeta) { delete(m.Channels, folded) })
	}
	cl.c.releaseUntimed(cl.netName, folded)
}

func (cl *Client) handlePart(msg *irc.Message) {
	if msg.Prefix == nil || len(msg.Params) == 0 {
		return
	}
	channel, nick := msg.Params[0], msg.Prefix.Name
	folded := cl.fold(channel)
	if cl.isMe(nick) {
		cl.lock.Lock()
		asked := cl.parting[folded]
		cl.lock.Unlock()
		cl.leftChannel(folded)
		if !asked {
			cl.queue(&network.Membership{Meta: cl.evtMeta(msg, cl.channelKey(channel), nick), TargetIsMe: true, Target: cl.userID(nick), Action: network.MembershipLeave, Reason: msg.Param(1)})
		}
		return
	}
	primary := !cl.c.isFerrySource(cl.netName, msg.Prefix) && cl.c.isPrimary(cl.netName, cl.loginID, folded)
	cl.removeMember(folded, nick)
	if primary {
		cl.queue(&network.Membership{Meta: cl.evtMeta(msg, cl.channelKey(channel), nick), Target: cl.userID(nick), Action: network.MembershipLeave, Reason: msg.Param(1)})
	}
}

func (cl *Client) removeMember(folded, nick string) {
	cl.lock.Lock()
	defer cl.lock.Unlock()
	if ch := cl.channels[folded]; ch != nil {
		delete(ch.members, cl.fold(nick))
	}
}

func (cl *Client) handleKick(msg *irc.Message) {
	if msg.Prefix == nil || len(msg.Params) < 2 {
		return
	}
	channel, target, reason := msg.Params[0], msg.Params[1], msg.Param(2)
	folded := cl.fold(channel)
	if cl.isMe(target) {
		cl.leftChannel(folded)
		cl.queue(&network.Membership{Meta: cl.evtMeta(msg, cl.channelKey(channel), msg.Prefix.Name), TargetIsMe: true, Target: cl.userID(target), Action: network.MembershipKick, Reason: reason})
		return
	}
	primary := !cl.c.isFerryNick(cl.netName, target) && cl.c.isPrimary(cl.netName, cl.loginID, folded)
	cl.removeMember(folded, target)
	if primary {
		cl.queue(&network.Membership{Meta: cl.evtMeta(msg, cl.channelKey(channel), msg.Prefix.Name), Target: cl.userID(target), Action: network.MembershipKick, Reason: reason})
	}
}

// channelsOf lists the channels (casefolded) where nick is a member.
func (cl *Client) channelsOf(nick string) []string {
	f := cl.fold(nick)
	cl.lock.Lock()
	defer cl.lock.Unlock()
	var out []string
	for folded, ch := range cl.channels {
		if _, ok := ch.members[f]; ok {
			out = append(out, folded)
		}
	}
	return out
}

func (cl *Client) channelName(folded string) string {
	cl.lock.Lock()
	defer cl.lock.Unlock()
	if ch := cl.channels[folded]; ch != nil {
		return ch.name
	}
	return folded
}

// handleQuit has the quitting nick's ghost leave the channels it was in,
// also for a Ferry nick (another login's, or the relay bot's). Usually
// no such ghost is in the room, and the leave is nothing (the core
// checks the ghost's membership first). But once a login's connection
// ends or it renames, its nick only lingers, and lingering nicks are in
// member lists (whoever has the nick after its QUIT is someone else): a
// NAMES reply or ChatInfo made before the QUIT reaches this connection
// lists the nick, and the core joins its ghost. Without a leave, that
// ghost stayed until the next full member list. Leaving lingering nicks
// out of the lists instead would leave out someone else who takes the
// nick at once, whom a NAMES reply cannot tell apart without
// userhost-in-names.
func (cl *Client) handleQuit(msg *irc.Message) {
	if msg.Prefix == nil || cl.isMe(msg.Prefix.Name) {
		return
	}
	nick := msg.Prefix.Name
	defer cl.nickFreed(nick)
	split := isNetsplitReason(msg.Param(0))
	for _, folded := range cl.channelsOf(nick) {
		primary := cl.c.isPrimary(cl.netName, cl.loginID, folded)
		cl.removeMember(folded, nick)
		if !primary {
			continue
		}
		evt := &network.Membership{Meta: cl.evtMeta(msg, cl.channelKey(cl.channelName(folded)), nick), Target: cl.userID(nick), Action: network.MembershipLeave, Reason: quitReason(msg.Param(0))}
		if split {
			cl.holdSplitLeave(nick, folded, evt)
		} else {
			cl.queue(evt)
		}
	}
}

// quitReason is a QUIT's message as the leave's reason. Servers mark what
// a client said themselves ("Quit: bye", where InspIRCd and Solanum put
// their prefix) apart from what they say of a lost connection ("Ping
// timeout: 240 seconds"), so the message goes as it came.
func quitReason(msg string) string {
	if msg == "" {
		return "Quit"
	}
	return msg
}

func (cl *Client) handleNick(msg *irc.Message) {
	if msg.Prefix == nil || len(msg.Params) == 0 {
		return
	}
	old, nick := msg.Prefix.Name, msg.Params[0]
	cl.seeNick(nick)
	// A labeled NICK answers our own NICK command (InspIRCd 3 gives it the
	// new nick as source).
	if cl.isMe(old) || msg.Tags["label"] != "" || cl.inBatchOf(msg, "labeled-response") {
		cl.lock.Lock()
		prev := cl.fold(cl.nick)
		if prev != cl.fold(nick) {
			// Lines sent as the old nick may still reach other logins.
			cl.c.lingerNick(cl.netName, cl.loginID, cl.nick, cl.conn)
		}
		cl.nick = nick
		for _, ch := range cl.channels {
			if modes, ok := ch.members[prev]; ok {
				delete(ch.members, prev)
				ch.members[cl.fold(nick)] = modes
			}
		}
		cl.lock.Unlock()
		cl.followNick(nick)
		return
	}
	defer cl.nickFreed(old)
	// Ghosts are per nick: the new nick's ghost joins, the old one leaves.
	// (Another Ferry login's nick change: its own connection has already
	// taken the new nick, so both nicks are checked.)
	ferry := cl.c.isFerrySource(cl.netName, msg.Prefix) || cl.c.isFerry(cl.netName, nick, prefixUserHost(msg.Prefix))
	for _, folded := range cl.channelsOf(old) {
		// The old nick's ghost leaves also for a Ferry login, as at a
		// QUIT (see handleQuit); the new one's joins only for someone
		// else.
		primary := cl.c.isPrimary(cl.netName, cl.loginID, folded)
		cl.lock.Lock()
		if ch := cl.channels[folded]; ch != nil {
			modes := ch.members[cl.fold(old)]
			delete(ch.members, cl.fold(old))
			ch.members[cl.fold(nick)] = modes
		}
		cl.lock.Unlock()
		if primary {
			key := cl.channelKey(cl.channelName(folded))
			if !ferry && !cl.cfg.LazyGhosts {
				cl.queue(&network.Membership{Meta: cl.evtMeta(msg, key, nick), Target: cl.userID(nick), Action: network.MembershipJoin})
			}
			cl.queue(&network.Membership{Meta: cl.evtMeta(msg, key, old), Target: cl.userID(old), Action: network.MembershipLeave, Reason: "Now known as " + nick})
		}
	}
}
