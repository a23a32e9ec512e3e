package irc

import (
	"crypto/sha256"
	"hash/maphash"
	"slices"
	"sync"
	"time"

	"gopkg.in/irc.v4"
)

// History replays that nothing marks. InspIRCd's chanhistory (and
// servers like it) sends a channel's recent lines to every client that
// joins it, right after the JOIN's NAMES and before anything else: the
// lines are written while the server handles our JOIN, so no other line
// can come between them. With server-time a replayed line is older than
// our JOIN, inside a chathistory batch it is marked, and with msgid it
// keeps its ID, which the core bridged once already. With none of them
// (the replay's "Replaying up to N lines" notice is the only hint, and
// nothing ends the replay) a replayed line looks like a new one, and each
// JOIN, each reconnect and each further Ferry login bridged the channel's
// history again.
//
// So the network's logins remember, per channel, the last lines they
// bridged without msgid and server-time (untimedLines), and a line read
// in a channel's replay window that is one of them, by the same
// nick!user@host with the same text, is a replay and not bridged. The
// window opens at our JOIN and closes at the first line that cannot be
// part of a replay (anything but the JOIN's own numerics and a message to
// the channel: a replay is never interrupted), or after replayWindow. A
// new line said right after our JOIN is bridged unless it repeats, word
// for word, one of the sender's recent lines there. Lines said while no
// Ferry login was in the channel are replayed once as new (they were
// never bridged), and after a restart of Ferry the memory is empty, so
// the next replay is bridged once more.
//
// A channel's lines are forgotten once no login of the network is in the
// channel or wants to be (all parted, were kicked or logged out): held
// for every channel ever joined, they were never freed. A login that is
// only disconnected still wants its channels, and the replay at its
// rejoin is what the memory is for, so it keeps them. The next JOIN
// after they are forgotten bridges the replay once more, as after a
// restart.

// replayWindow bounds how long after our JOIN a line may be replayed
// history: the replay comes in one burst right after the JOIN.
const replayWindow = 5 * time.Second

// untimedKeep is how many lines per channel untimedLines remembers:
// more than chanhistory keeps by default (50). Hashes in a ring,
// searched in full: 1.6 KB per channel.
const untimedKeep = 100

// untimedLines remembers, per network and channel, the lines bridged
// without msgid or server-time, for all logins together (the second
// login's replay holds the first's lines). Every line read on such a
// network is looked up and remembered, so it is on the read path of all
// the network's logins: it is sharded by channel, as repeatCounter is by
// ID, so that logins reading different channels rarely wait for one
// lock.
type untimedLines struct {
	shards [untimedShards]untimedShard
}

// untimedShards is how many locks the channels are spread over: many
// more than the cores that read lines at once.
const untimedShards = 64

// untimedShard holds the lines of the channels that hash to it.
type untimedShard struct {
	mu    sync.Mutex
	chans map[string]*lineRing
}

// untimedSeed seeds the hash that picks a channel's shard.
var untimedSeed = maphash.MakeSeed()

// shard is the shard that holds channel's lines.
func (u *untimedLines) shard(channel string) *untimedShard {
	return &u.shards[maphash.String(untimedSeed, channel)%untimedShards]
}

// lineRing is the last untimedKeep line hashes of one channel.
type lineRing struct {
	ring []lineHash
	next int // where the next hash goes once the ring is full
}

type lineHash [16]byte

func hashLine(msg *irc.Message) lineHash {
	h := sha256.New()
	h.Write([]byte(msg.Prefix.String()))
	h.Write([]byte{0})
	h.Write([]byte(msg.Params[1]))
	var out lineHash
	copy(out[:], h.Sum(nil))
	return out
}

// seen reports whether msg is among the lines remembered for channel
// (netName and casefolded name).
func (u *untimedLines) seen(channel string, msg *irc.Message) bool {
	h := hashLine(msg)
	sh := u.shard(channel)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r := sh.chans[channel]
	return r != nil && slices.Contains(r.ring, h)
}

// remember notes msg as bridged in channel, forgetting the oldest line
// past untimedKeep.
func (u *untimedLines) remember(channel string, msg *irc.Message) {
	h := hashLine(msg)
	sh := u.shard(channel)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.chans == nil {
		sh.chans = make(map[string]*lineRing)
	}
	r := sh.chans[channel]
	if r == nil {
		r = &lineRing{}
		sh.chans[channel] = r
	}
	if len(r.ring) < untimedKeep {
		r.ring = append(r.ring, h)
		return
	}
	r.ring[r.next] = h
	r.next = (r.next + 1) % untimedKeep
}

// forget drops the lines remembered for channel.
func (u *untimedLines) forget(channel string) {
	sh := u.shard(channel)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	delete(sh.chans, channel)
}

// held reports whether lines are remembered for channel.
func (u *untimedLines) held(channel string) bool {
	sh := u.shard(channel)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	_, ok := sh.chans[channel]
	return ok
}

// releaseUntimed forgets the untimed lines of channel (casefolded) on
// netName once no login of the network is in it, joining it, or keeping
// it to rejoin after a reconnect. Callers must not hold any client's
// lock.
func (c *Connector) releaseUntimed(netName, folded string) {
	c.lock.Lock()
	clients := c.clientsOn(netName)
	c.lock.Unlock()
	for _, cl := range clients {
		if cl.wantsChannel(folded) {
			return
		}
	}
	c.untimed.forget(untimedKey(netName, folded))
}

// releaseUntimedOf is releaseUntimed for every channel of cl, a client
// the connector no longer lists (logged out).
func (c *Connector) releaseUntimedOf(cl *Client) {
	cl.lock.Lock()
	channels := make([]string, 0, len(cl.meta.Channels)+len(cl.channels))
	for folded := range cl.meta.Channels {
		channels = append(channels, folded)
	}
	for folded := range cl.channels {
		channels = append(channels, folded)
	}
	cl.lock.Unlock()
	for _, folded := range channels {
		c.releaseUntimed(cl.netName, folded)
	}
}

// wantsChannel reports whether cl is in channel (casefolded), has sent
// JOIN for it, or keeps it to rejoin at its next connect.
func (cl *Client) wantsChannel(folded string) bool {
	cl.lock.Lock()
	defer cl.lock.Unlock()
	_, in := cl.channels[folded]
	_, joining := cl.pending[folded]
	_, saved := cl.meta.Channels[folded]
	return in || joining || saved
}

// untimedKey names channel (casefolded) of netName in untimedLines.
func untimedKey(netName, folded string) string { return netName + "\x00" + folded }

// openReplayLocked starts channel's (casefolded) replay window at our JOIN.
func (cl *Client) openReplayLocked(folded string, now time.Time) {
	if cl.replays == nil {
		cl.replays = make(map[string]time.Time)
	}
	cl.replays[folded] = now.Add(replayWindow)
}

// endReplays closes the replay windows msg shows to be over: every one
// but that of the channel msg is a message to or a JOIN numeric of (our
// own JOIN opens the window again, handleJoin).
func (cl *Client) endReplays(msg *irc.Message, now time.Time) {
	cl.lock.Lock()
	open := len(cl.replays)
	cl.lock.Unlock()
	if open == 0 {
		return
	}
	keep := ""
	switch msg.Command {
	case "PRIVMSG", "NOTICE":
		keep = msg.Param(0)
	case "332", "333", "366": // RPL_TOPIC, RPL_TOPICWHOTIME, RPL_ENDOFNAMES
		keep = msg.Param(1)
	case "353": // RPL_NAMREPLY
		keep = msg.Param(2)
	}
	if keep != "" {
		keep = cl.fold(keep)
	}
	cl.lock.Lock()
	defer cl.lock.Unlock()
	for folded, until := range cl.replays {
		if folded != keep || now.After(until) {
			delete(cl.replays, folded)
		}
	}
}

// isReplay reports whether msg, a channel line without msgid or
// server-time, is history replayed to us: read in the channel's replay
// window and bridged before. Any other such line is remembered as
// bridged.
func (cl *Client) isReplay(folded string, msg *irc.Message) bool {
	key := untimedKey(cl.netName, folded)
	cl.lock.Lock()
	_, replaying := cl.replays[folded]
	cl.lock.Unlock()
	if replaying && cl.c.untimed.seen(key, msg) {
		return true
	}
	cl.c.untimed.remember(key, msg)
	return false
}
