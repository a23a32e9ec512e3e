package irc

import (
	"context"
	"slices"
	"strings"
	"time"

	"gopkg.in/irc.v4"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

// Deleting messages uses draft/message-redaction where the server offers
// it: REDACT <target> <msgid> [:reason] both ways. Only messages known by
// their server msgid can be deleted.

const capRedaction = "draft/message-redaction"

// wantedCaps are the capabilities the IRC network asks for: ircconn's
// defaults and message redaction.
var wantedCaps = append(slices.Clone(ircconn.DefaultCaps), capRedaction)

var _ network.Redactor = (*Client)(nil)

// Redact sends REDACT for a message known by its msgid. With
// labeled-response a refusal (FAIL REDACT ...) is reported to the user;
// without it, the refusal is told in the room (handleFail).
func (cl *Client) Redact(ctx context.Context, r *network.OutgoingRedaction) error {
	target, err := cl.target(r.Portal)
	if err != nil {
		return err
	}
	if r.Relay != nil {
		// The relay login's IRC privileges (op, say) are not the relayed
		// user's to use.
		return network.UserErrorf("deleting messages is not relayed to IRC")
	}
	conn := cl.currentConn()
	if conn == nil {
		return cl.errNotConnected()
	}
	if !conn.HasCap(capRedaction) {
		return network.UserErrorf("deleting messages is not supported on this IRC network")
	}
	msgid, ok := strings.CutPrefix(string(r.Target), "id:")
	if !ok || !validMsgID(msgid) {
		return network.UserErrorf("this message cannot be deleted on IRC")
	}
	if err = validateParam(target); err != nil {
		return network.UserErrorf("bad IRC target: %s", err)
	}
	msg := &irc.Message{Command: "REDACT", Params: []string{target, msgid}}
	if !conn.HasCap("labeled-response") {
		// Noted among the target's lines, so that its answer is not
		// taken for another line's (echoes_untracked.go).
		if err = cl.sendNoted(conn, msg); err != nil {
			return &network.UserError{Message: "could not send the deletion to " + cl.netName, Err: err}
		}
		return nil
	}
	ch, err := conn.SendLabeled(msg)
	if err != nil {
		return &network.UserError{Message: "could not send the deletion to " + cl.netName, Err: err}
	}
	reply, ok := awaitLabeled(ctx, conn, ch)
	if !ok {
		return nil
	}
	if reply.Err != nil {
		return &network.UserError{Message: "the connection to " + cl.netName + " dropped before the server confirmed the deletion", Err: reply.Err}
	}
	for _, m := range reply.Messages {
		if refusesRedact(m) {
			return network.UserErrorf("%s refused to delete the message: %s", cl.netName, network.Literal(stripControl(m.Param(len(m.Params)-1))))
		}
	}
	return nil
}

// refusesRedact reports whether m, a line of a labeled REDACT's answer,
// refuses it: FAIL REDACT, or an error numeric (Ergo: 403
// ERR_NOSUCHCHANNEL for a channel that is gone, 401 for a nick).
func refusesRedact(m *irc.Message) bool {
	if m.Command == "FAIL" {
		return m.Param(0) == "REDACT"
	}
	return isErrorNumeric(m.Command)
}

// handleRedact bridges REDACT from IRC as a Redaction of the msgid.
func (cl *Client) handleRedact(msg *irc.Message) {
	if msg.Prefix == nil || len(msg.Params) < 2 || !validMsgID(msg.Params[1]) {
		return
	}
	source, target := msg.Prefix.Name, msg.Params[0]
	if cl.isMe(source) {
		// Our own deletion's echo: it answers its line (echoes.go).
		cl.echoes.resolve(cl.currentConn(), msg, cl.fold(target))
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
	cl.queue(&network.Redaction{
		Meta:   network.Meta{Portal: portal, Sender: network.Sender{User: cl.senderIn(portal, source)}, Timestamp: ts},
		Target: network.MessageID("id:" + msg.Params[1]),
	})
}

// handleFail acts on a FAIL standard reply the labeled senders did not
// take: without labeled-response, a REDACT the server refused
// (REDACT_FORBIDDEN, UNKNOWN_MSGID, REDACT_WINDOW_EXPIRED,
// INVALID_TARGET) would be lost while Matrix shows the message deleted.
// It answers the REDACT's line, and the room is told.
func (cl *Client) handleFail(msg *irc.Message) {
	// FAIL REDACT <code> <target> [<msgid> [<window>]] :<description>
	if msg.Param(0) != "REDACT" || len(msg.Params) < 4 {
		return
	}
	code, target, reason := msg.Params[1], msg.Params[2], msg.Params[len(msg.Params)-1]
	msgid := ""
	if len(msg.Params) > 4 {
		msgid = msg.Params[3]
	}
	log := cl.log.With().Str("code", code).Str("target", target).Str("msgid", msgid).Str("reason", reason).Logger()
	if cl.isLabeledReply(msg) {
		log.Debug().Msg("IRC server refused a labeled REDACT") // Redact reports it
		return
	}
	log.Warn().Msg("IRC server refused a REDACT sent for the user")
	cl.echoes.failed(cl.currentConn(), "REDACT", cl.fold(target), msgid)
	cl.tellRedactRefused(msg, target, reason)
}

// tellRedactRefused tells target's room that the server refused (msg) a
// REDACT Ferry sent there for the user, in its words (reason): Matrix
// shows the message deleted, IRC still has it.
func (cl *Client) tellRedactRefused(msg *irc.Message, target, reason string) {
	what := "The deletion " + network.Literal(cl.currentNick()) + " sent to " + network.Literal(target) + " was not made"
	portal, sender := cl.refusalRoom(msg, target)
	cl.queueNotice(msg, portal, sender, target, reason, cl.refusedSaying(what, reason))
}
