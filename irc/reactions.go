package irc

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/irc.v4"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

// Reactions travel as TAGMSG with the client tags +draft/react (or
// +draft/unreact) and +draft/reply=<msgid>, where the server lets clients
// send tags (the message-tags cap). Only messages known by their server
// msgid (MessageID "id:<msgid>") can be reacted to. A reaction's EmojiID
// is its text: IRC people may react with several.

const (
	tagReact   = "+draft/react"
	tagUnreact = "+draft/unreact"
	tagReply   = "+draft/reply"
)

// maxReactionLen caps a reaction's text in bytes, both ways.
const maxReactionLen = 64

var _ network.Reactor = (*Client)(nil)

// validReaction: a short, valid UTF-8 text without control characters.
func validReaction(s string) bool {
	if s == "" || len(s) > maxReactionLen || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}

// validMsgID: a msgid we accept in a +draft/reply tag, both ways.
func validMsgID(s string) bool {
	if !validTagValue(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f {
			return false
		}
	}
	return true
}

func (cl *Client) React(ctx context.Context, r *network.OutgoingReaction) (network.EmojiID, error) {
	if !validReaction(r.Key) {
		return "", network.UserErrorf("this reaction cannot be sent to IRC (at most %d bytes, no control characters)", maxReactionLen)
	}
	if err := cl.sendReaction(r.Portal, r.Target.ID, tagReact, r.Key); err != nil {
		return "", err
	}
	return network.EmojiID(r.Key), nil
}

func (cl *Client) Unreact(ctx context.Context, r *network.OutgoingUnreaction) error {
	if !validReaction(string(r.Emoji)) {
		return network.UserErrorf("this reaction cannot be removed on IRC")
	}
	return cl.sendReaction(r.Portal, r.Target.ID, tagUnreact, string(r.Emoji))
}

// sendReaction sends TAGMSG <target> with tag=value and +draft/reply.
func (cl *Client) sendReaction(portal network.PortalKey, msg network.MessageID, tag, value string) error {
	target, err := cl.target(portal)
	if err != nil {
		return err
	}
	conn := cl.currentConn()
	if conn == nil {
		return cl.errNotConnected()
	}
	if !conn.HasCap("message-tags") {
		return network.UserErrorf("reactions are not supported on the IRC network %s", cl.netName)
	}
	msgid, ok := strings.CutPrefix(string(msg), "id:")
	if !ok || !validMsgID(msgid) {
		return network.UserErrorf("this message cannot be reacted to on IRC")
	}
	if err = validateParam(target); err != nil {
		return network.UserErrorf("bad IRC target: %s", err)
	}
	m := &irc.Message{Tags: irc.Tags{tag: value, tagReply: msgid}, Command: "TAGMSG", Params: []string{target}}
	if err = cl.sendNoted(conn, m); err != nil {
		return &network.UserError{Message: "could not send the reaction to " + cl.netName, Err: err}
	}
	return nil
}

// handleTagMsg bridges a TAGMSG reaction (or its removal) from IRC.
func (cl *Client) handleTagMsg(msg *irc.Message) {
	if msg.Prefix == nil || len(msg.Params) < 1 {
		return
	}
	source, target := msg.Prefix.Name, msg.Params[0]
	if cl.isMe(source) {
		// Our own reaction's echo: it answers its line (echoes_untracked.go).
		cl.echoes.resolve(cl.currentConn(), msg, cl.fold(target))
		return
	}
	react, isReact := msg.Tags[tagReact]
	unreact, isUnreact := msg.Tags[tagUnreact]
	reply := msg.Tags[tagReply]
	if isReact == isUnreact || !validMsgID(reply) {
		return
	}
	key := react
	if isUnreact {
		key = unreact
	}
	// Replayed history never gets here (replayedChat).
	if !validReaction(key) {
		return
	}
	portal, ok := cl.tagMsgPortal(msg, source, target)
	if !ok {
		return
	}
	ts := time.Now().UTC()
	if t, ok := timeOf(msg); ok {
		ts = t
	}
	meta := network.Meta{Portal: portal, Sender: network.Sender{User: cl.senderIn(portal, source)}, Timestamp: ts}
	ref := network.MessageRef{ID: network.MessageID("id:" + reply)}
	if isReact {
		cl.queue(&network.Reaction{Meta: meta, Target: ref, Emoji: network.EmojiID(key), Key: key})
		return
	}
	remove := &network.ReactionRemove{Meta: meta, Target: ref, Emoji: network.EmojiID(key)}
	if own := cl.accountLogin(msg, portal); own != nil {
		// The user's own, through their login (reactions_own_account.go).
		remove.Sender.FromMe = true
		own.queue(remove)
		return
	}
	cl.queue(remove)
}

// tagMsgPortal is the portal of a TAGMSG: a channel we are in (bridged by
// the channel's primary login only, and never for another Ferry login's
// reactions, which came from Matrix), or our PM with the source. It never
// creates a portal.
func (cl *Client) tagMsgPortal(msg *irc.Message, source, target string) (network.PortalKey, bool) {
	is := ircconn.DefaultISupport()
	if conn := cl.currentConn(); conn != nil {
		is = conn.ISupport()
	}
	_, channel := is.SplitStatusMsg(target)
	if is.IsChannel(channel) {
		folded := cl.fold(channel)
		cl.lock.Lock()
		ch := cl.channels[folded]
		var joinedAt time.Time
		if ch != nil {
			channel, joinedAt = ch.name, ch.joinedAt
		}
		cl.lock.Unlock()
		if ch == nil || cl.c.isFerrySource(cl.netName, msg.Prefix) || !cl.c.isPrimary(cl.netName, cl.loginID, folded) {
			return network.PortalKey{}, false
		}
		if t, ok := timeOf(msg); ok && t.Before(joinedAt.Add(-historySlack)) {
			return network.PortalKey{}, false
		}
		return cl.channelKey(channel), true
	}
	if cl.isMe(target) {
		return cl.currentPMKey(source), true
	}
	return network.PortalKey{}, false
}
