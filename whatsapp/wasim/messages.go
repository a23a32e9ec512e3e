package wasim

import (
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// handleMessage relays an outgoing message. The sender has already
// encrypted one <enc> per recipient device inside <participants><to
// jid=…>; the simulator hands each device its own ciphertext, never
// looking inside, and acks the sender.
func (s *Sim) handleMessage(c *conn, node *waBinary.Node) {
	id, _ := node.Attrs["id"].(string)
	to, ok := node.Attrs["to"].(types.JID)
	if id == "" || !ok {
		c.log.Warn().Stringer("node", node).Msg("Message without id or to")
		s.ack(c, node, 400)
		return
	}
	if to.Server == types.GroupServer {
		s.handleGroupMessage(c, node, id, to)
		return
	}
	if to.Server != types.HiddenUserServer && to.Server != types.DefaultUserServer {
		c.log.Warn().Stringer("to", to).Msg("Message to an unmodelled server")
		s.ack(c, node, 404)
		return
	}
	now := time.Now().Unix()
	var extra []waBinary.Node
	for _, child := range node.GetChildren() {
		switch child.Tag {
		case "participants", "tctoken", "cstoken", "reporting", "enc":
			// Per-device content or tokens meant for the server.
		default:
			extra = append(extra, child)
		}
	}

	s.mu.Lock()
	sender := c.dev
	recipient := s.lookupUserLocked(to)
	var deliveries []delivery
	if participants, ok := node.GetOptionalChildByTag("participants"); ok {
		for _, part := range participants.GetChildren() {
			target, ok := part.Attrs["jid"].(types.JID)
			if part.Tag != "to" || !ok {
				continue
			}
			d := s.lookupDeviceLocked(target)
			if d == nil {
				c.log.Warn().Stringer("target", target).Str("id", id).Msg("Message for unknown device dropped")
				continue
			}
			if d.phone != recipient && d.phone != sender.phone {
				c.log.Warn().Stringer("target", target).Stringer("to", to).Msg("Participant is neither recipient nor sender, dropped")
				continue
			}
			out := relayedMessage(node, sender, d, target, to, part.GetChildren(), extra, now)
			deliveries = append(deliveries, s.enqueueLocked(d, out))
		}
	} else if to.Device != 0 {
		// A message to one device with <enc> directly inside: whatsmeow
		// answers a retry receipt this way (retry.go), and the chat is
		// the recipient attribute when the sender syncs its own devices.
		if d := s.lookupDeviceLocked(to); d != nil {
			chat := to.ToNonAD()
			if r, ok := node.Attrs["recipient"].(types.JID); ok {
				chat = r
			}
			out := relayedMessage(node, sender, d, to, chat, node.GetChildrenByTag("enc"), extra, now)
			deliveries = append(deliveries, s.enqueueLocked(d, out))
		} else {
			c.log.Warn().Stringer("to", to).Str("id", id).Msg("Message for unknown device dropped")
		}
	}
	var phash waBinary.Attrs
	if recipient != nil && to.Device == 0 {
		// The device list the sender should have encrypted for: the
		// recipient's and its own, in the addressing it used.
		lid := to.Server == types.HiddenUserServer
		devs := append(devicesOfLocked(recipient, lid), devicesOfLocked(sender.phone, lid)...)
		phash = waBinary.Attrs{"phash": participantHash(devs)}
	}
	s.mu.Unlock()
	c.log.Debug().Str("id", id).Stringer("to", to).Int("devices", len(deliveries)).Msg("Relaying message")
	s.ackWith(c, node, 0, phash)
	s.deliver(deliveries)
}

// relayedMessage builds the stanza device d receives for a message sent
// by sender: from the sender's device in the addressing mode the sender
// used for d (target), with the other addressing as sender_pn/sender_lid,
// as whatsmeow's parseMessageSource reads it. The sender's own other
// devices get it "from me" with the chat as recipient.
func relayedMessage(node *waBinary.Node, sender, d *device, target, chat types.JID, encs, extra []waBinary.Node, now int64) waBinary.Node {
	lidMode := target.Server == types.HiddenUserServer
	attrs := waBinary.Attrs{
		"id":   node.Attrs["id"],
		"t":    now,
		"type": node.Attrs["type"],
		"from": sender.phone.deviceJID(sender.id, lidMode),
	}
	if lidMode {
		attrs["sender_pn"] = sender.phone.deviceJID(sender.id, false)
	} else {
		attrs["sender_lid"] = sender.phone.deviceJID(sender.id, true)
	}
	if sender.phone.pushName != "" {
		attrs["notify"] = sender.phone.pushName
	}
	if d.phone == sender.phone {
		attrs["recipient"] = chat
		if pn, ok := node.Attrs["peer_recipient_pn"]; ok {
			attrs["peer_recipient_pn"] = pn
		}
	}
	if edit, ok := node.Attrs["edit"]; ok {
		attrs["edit"] = edit
	}
	content := append(append([]waBinary.Node{}, encs...), extra...)
	return waBinary.Node{Tag: "message", Attrs: attrs, Content: content}
}

// delivery is a stanza to send to a connection after s.mu is released.
type delivery struct {
	conn *conn
	node waBinary.Node
}

// enqueueLocked records a stanza as pending for d and returns the
// delivery to make now (conn is nil when d is offline).
func (s *Sim) enqueueLocked(d *device, node waBinary.Node) delivery {
	from, _ := node.Attrs["from"].(types.JID)
	id, _ := node.Attrs["id"].(string)
	d.pending = append(d.pending, pendingStanza{key: pendingKey(node.Tag, id, from), node: node})
	return delivery{conn: d.conn, node: node}
}

func (s *Sim) deliver(ds []delivery) {
	for _, d := range ds {
		if d.conn == nil {
			continue
		}
		if err := d.conn.send(d.node); err != nil {
			d.conn.log.Debug().Err(err).Msg("Delivery failed, stays queued")
		}
	}
}

// pendingNodesLocked lists the stanzas a device has not acknowledged.
func pendingNodesLocked(d *device) []waBinary.Node {
	nodes := make([]waBinary.Node, 0, len(d.pending))
	for _, p := range d.pending {
		nodes = append(nodes, p.node)
	}
	return nodes
}

// sendBacklog sends a freshly logged-in device everything it had not
// acknowledged, then the <ib><offline/></ib> marker whatsmeow turns into
// events.OfflineSyncCompleted.
func (s *Sim) sendBacklog(c *conn, nodes []waBinary.Node) {
	for _, n := range nodes {
		if err := c.send(n); err != nil {
			return
		}
	}
	_ = c.send(waBinary.Node{Tag: "ib", Content: []waBinary.Node{{Tag: "offline", Attrs: waBinary.Attrs{"count": len(nodes)}}}})
}

// settleLocked drops a pending stanza once the device acknowledged it.
func settleLocked(d *device, class, id string, from types.JID) {
	key := pendingKey(class, id, from)
	for i, p := range d.pending {
		if p.key == key {
			d.pending = append(d.pending[:i], d.pending[i+1:]...)
			return
		}
	}
}

// ack answers a client stanza with the server <ack> whatsmeow waits for
// (keyed by id; for messages it carries the server timestamp t).
func (s *Sim) ack(c *conn, node *waBinary.Node, errCode int) {
	s.ackWith(c, node, errCode, nil)
}

// ackWith is ack with extra attributes (phash for messages).
func (s *Sim) ackWith(c *conn, node *waBinary.Node, errCode int, extra waBinary.Attrs) {
	attrs := waBinary.Attrs{"class": node.Tag, "id": node.Attrs["id"], "t": time.Now().Unix()}
	for k, v := range extra {
		attrs[k] = v
	}
	if to, ok := node.Attrs["to"]; ok {
		attrs["from"] = to
	}
	if typ, ok := node.Attrs["type"]; ok && node.Tag != "message" {
		attrs["type"] = typ
	}
	if errCode != 0 {
		attrs["error"] = errCode
	}
	if err := c.send(waBinary.Node{Tag: "ack", Attrs: attrs}); err != nil {
		c.log.Debug().Err(err).Msg("Failed to send ack")
	}
}

// handleClientAck settles a stanza the client acknowledged: receipts and
// notifications, and messages whatsmeow could not decrypt or parse
// (which it acks instead of receipting).
func (s *Sim) handleClientAck(c *conn, node *waBinary.Node) {
	id, _ := node.Attrs["id"].(string)
	to, _ := node.Attrs["to"].(types.JID)
	class, _ := node.Attrs["class"].(string)
	if c.dev == nil {
		return
	}
	s.mu.Lock()
	settleLocked(c.dev, class, id, to)
	s.mu.Unlock()
	c.log.Debug().Str("id", id).Any("class", node.Attrs["class"]).Any("error", node.Attrs["error"]).Msg("Client ack")
}

// handleReceipt settles the receipted stanzas on the receiving device and
// forwards the receipt (queued like messages until acked) to the device
// (or all devices of the user) named in to, from the receipting device in
// the same addressing mode. An
// "inactive" receipt (sent by devices not marked active) reaches the
// sender as a plain delivery receipt, as a delivery is what it reports.
func (s *Sim) handleReceipt(c *conn, node *waBinary.Node) {
	id, _ := node.Attrs["id"].(string)
	to, ok := node.Attrs["to"].(types.JID)
	if c.dev == nil || id == "" || !ok {
		s.ack(c, node, 400)
		return
	}
	ids := []string{id}
	for _, item := range childrenOf(node.GetChildByTag("list")) {
		if itemID, ok := item.Attrs["id"].(string); ok {
			ids = append(ids, itemID)
		}
	}
	typ, _ := node.Attrs["type"].(string)
	s.mu.Lock()
	for _, i := range ids {
		settleLocked(c.dev, "message", i, to)
	}
	var deliveries []delivery
	switch {
	case typ == "hist_sync" || typ == "peer_msg":
		// Addressed to the phone, which receives nothing here.
	case to.Server == types.DefaultUserServer || to.Server == types.HiddenUserServer:
		lidMode := to.Server == types.HiddenUserServer
		attrs := waBinary.Attrs{
			"id":   id,
			"t":    time.Now().Unix(),
			"from": c.dev.phone.deviceJID(c.dev.id, lidMode),
		}
		if typ != "" && typ != "inactive" {
			attrs["type"] = typ
		}
		if r, ok := node.Attrs["recipient"]; ok {
			attrs["recipient"] = r
		}
		out := waBinary.Node{Tag: "receipt", Attrs: attrs, Content: node.Content}
		for _, d := range s.receiptTargetsLocked(to) {
			if d != c.dev {
				deliveries = append(deliveries, s.enqueueLocked(d, out))
			}
		}
	case to.Server == types.GroupServer:
		// Group receipts go to the original sender's device, named in
		// participant, from the group with the receipting device as
		// participant (groups are LID-addressed).
		target, _ := node.Attrs["participant"].(types.JID)
		if d := s.lookupDeviceLocked(target); d != nil && d != c.dev {
			attrs := waBinary.Attrs{
				"id": id, "t": time.Now().Unix(), "from": to,
				"participant": c.dev.phone.deviceJID(c.dev.id, true),
			}
			if typ != "" && typ != "inactive" {
				attrs["type"] = typ
			}
			deliveries = append(deliveries, s.enqueueLocked(d, waBinary.Node{Tag: "receipt", Attrs: attrs, Content: node.Content}))
		}
	}
	s.mu.Unlock()
	s.ack(c, node, 0)
	s.deliver(deliveries)
}

// receiptTargetsLocked resolves a receipt's to: one device if it names
// one, otherwise every linked device of the user.
func (s *Sim) receiptTargetsLocked(to types.JID) []*device {
	p := s.lookupUserLocked(to)
	if p == nil {
		return nil
	}
	if to.Device != 0 {
		if d := p.devices[to.Device]; d != nil {
			return []*device{d}
		}
		return nil
	}
	out := make([]*device, 0, len(p.devices))
	for _, id := range p.deviceIDs() {
		out = append(out, p.devices[id])
	}
	return out
}
