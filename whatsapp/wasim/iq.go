package wasim

import (
	"strings"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// handleNode dispatches one stanza from a client.
func (s *Sim) handleNode(c *conn, node *waBinary.Node) {
	if c.dev == nil && node.Tag != "iq" && node.Tag != "ib" {
		// Before pairing completes a connection has no account to act
		// for; only IQs (pairing answers, pairing-code requests) count.
		c.log.Warn().Str("tag", node.Tag).Msg("Stanza from an unpaired connection ignored")
		return
	}
	switch node.Tag {
	case "iq":
		s.handleIQ(c, node)
	case "message":
		s.handleMessage(c, node)
	case "receipt":
		s.handleReceipt(c, node)
	case "ack":
		s.handleClientAck(c, node)
	case "presence":
		s.handlePresence(c, node)
	case "chatstate":
		s.handleChatState(c, node)
	case "ib":
		// Client telemetry (unified_session); nothing to answer.
		c.log.Debug().Str("tag", node.Tag).Msg("Ignoring stanza")
	default:
		c.log.Warn().Str("tag", node.Tag).Stringer("node", node).Msg("Unhandled stanza")
	}
}

// iqResult builds a result IQ answering req. IQ answers must come from
// types.ServerJID as a JID value: whatsmeow drops IQs whose from is
// anything else (pair.go handleIQ).
func iqResult(req *waBinary.Node, content ...waBinary.Node) waBinary.Node {
	n := waBinary.Node{Tag: "iq", Attrs: waBinary.Attrs{
		"from": types.ServerJID, "id": req.Attrs["id"], "type": "result",
	}}
	if len(content) > 0 {
		n.Content = content
	}
	return n
}

// iqError builds an error IQ in the form whatsmeow's parseIQError reads.
func iqError(req *waBinary.Node, code int, text string) waBinary.Node {
	return waBinary.Node{Tag: "iq", Attrs: waBinary.Attrs{
		"from": types.ServerJID, "id": req.Attrs["id"], "type": "error",
	}, Content: []waBinary.Node{{Tag: "error", Attrs: waBinary.Attrs{"code": code, "text": text}}}}
}

func (s *Sim) reply(c *conn, n waBinary.Node) {
	if err := c.send(n); err != nil {
		c.log.Debug().Err(err).Msg("Failed to send IQ answer")
	}
}

// handleIQ answers a client IQ. Answers to the server's own IQs (type
// result or error) are routed to whoever waits for them.
func (s *Sim) handleIQ(c *conn, node *waBinary.Node) {
	typ, _ := node.Attrs["type"].(string)
	if typ == "result" || typ == "error" {
		if !s.handlePairAnswer(c, node) {
			c.log.Debug().Any("id", node.Attrs["id"]).Str("type", typ).Msg("Client answered a server IQ")
		}
		return
	}
	xmlns, _ := node.Attrs["xmlns"].(string)
	if c.dev == nil && xmlns == "md" && hasChild(node, "link_code_companion_reg") {
		s.handleLinkCodeIQ(c, node)
		return
	}
	if c.dev == nil && xmlns == "w:p" && hasChild(node, "ping") {
		// whatsmeow's keepalive also runs while the QR code is shown.
		s.reply(c, iqResult(node))
		return
	}
	if c.dev == nil {
		// Before login only pairing-related answers are expected.
		c.log.Warn().Str("xmlns", xmlns).Msg("IQ from an unpaired connection")
		s.reply(c, iqError(node, 401, "not-authorized"))
		return
	}
	switch xmlns {
	case "encrypt":
		s.handleEncryptIQ(c, node)
	case "usync":
		s.handleUsync(c, node)
	case "privacy":
		if hasChild(node, "privacy") {
			s.reply(c, iqResult(node, defaultPrivacy()))
		} else {
			// Privacy-token issuance (<tokens>) needs only a result.
			s.reply(c, iqResult(node))
		}
	case "passive", "w:p", "urn:xmpp:ping":
		// passive/active and keepalive pings need nothing but a result.
		s.reply(c, iqResult(node))
	case "w:sync:app:state":
		s.handleAppStateIQ(c, node)
	case "md":
		s.handleMDIQ(c, node)
	case "w:g2":
		s.handleGroupIQ(c, node)
	case "w:profile:picture":
		s.handlePictureIQ(c, node)
	case "w:m":
		s.handleMediaConnIQ(c, node)
	default:
		s.unknownIQ(c, node, xmlns)
	}
}

// defaultPrivacy is WhatsApp's default privacy settings: everything
// visible to everyone, group adds by anyone, read receipts on.
func defaultPrivacy() waBinary.Node {
	var cats []waBinary.Node
	for _, c := range [][2]string{
		{"groupadd", "all"}, {"last", "all"}, {"status", "contacts"}, {"profile", "all"},
		{"readreceipts", "all"}, {"online", "all"}, {"calladd", "all"},
	} {
		cats = append(cats, waBinary.Node{Tag: "category", Attrs: waBinary.Attrs{"name": c[0], "value": c[1]}})
	}
	return waBinary.Node{Tag: "privacy", Content: cats}
}

// handleAppStateIQ answers app-state sync as an account whose app state
// is empty: every requested collection comes back at the version asked
// for, with no snapshot and no patches. Patches a client uploads are
// accepted and dropped (not modelled).
func (s *Sim) handleAppStateIQ(c *conn, node *waBinary.Node) {
	var cols []waBinary.Node
	for _, col := range childrenOf(node.GetChildByTag("sync")) {
		if col.Tag != "collection" {
			continue
		}
		attrs := waBinary.Attrs{"name": col.Attrs["name"], "version": 0}
		if v, ok := col.Attrs["version"]; ok {
			attrs["version"] = v
		}
		cols = append(cols, waBinary.Node{Tag: "collection", Attrs: attrs})
	}
	s.reply(c, iqResult(node, waBinary.Node{Tag: "sync", Content: cols}))
}

// unknownIQ logs an IQ the simulator does not model and answers it with
// an error, so the client's request fails fast instead of waiting 75 s.
func (s *Sim) unknownIQ(c *conn, node *waBinary.Node, xmlns string) {
	var tags []string
	for _, child := range node.GetChildren() {
		tags = append(tags, child.Tag)
	}
	c.log.Warn().Str("xmlns", xmlns).Any("type", node.Attrs["type"]).
		Str("children", strings.Join(tags, ",")).Msg("Unmodelled IQ, answering 501")
	s.reply(c, iqError(node, 501, "feature-not-implemented"))
}

// childrenOf lists a node's children; GetChildren has a pointer receiver,
// so this lets callers chain it after GetChildByTag.
func childrenOf(n waBinary.Node) []waBinary.Node { return n.GetChildren() }
