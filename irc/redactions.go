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
// labeled-response a refusal (FAIL REDACT ...) is reported to the user.
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
		if err = conn.Send(msg); err != nil {
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
		if m.Command == "FAIL" && m.Param(0) == "REDACT" {
			return network.UserErrorf("%s refused to delete the message: %s", cl.netName, stripControl(m.Param(len(m.Params)-1)))
		}
	}
	return nil
}

// handleRedact bridges REDACT from IRC as a Redaction of the msgid.
func (cl *Client) handleRedact(msg *irc.Message) {
	if msg.Prefix == nil || len(msg.Params) < 2 || !validMsgID(msg.Params[1]) {
		return
	}
	source, target := msg.Prefix.Name, msg.Params[0]
	if cl.isMe(source) || cl.inHistoryBatch(msg) {
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
