package wasim

import (
	"encoding/binary"

	"go.mau.fi/libsignal/ecc"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// handleEncryptIQ serves the "encrypt" namespace (whatsmeow prekeys.go):
// <count/> asks how many one-time prekeys the server holds, a set with
// <registration>, <identity>, <list> and <skey> uploads keys, and a get
// with <key><user jid=…/></key> fetches other devices' bundles.
func (s *Sim) handleEncryptIQ(c *conn, node *waBinary.Node) {
	typ, _ := node.Attrs["type"].(string)
	switch {
	case typ == "get" && hasChild(node, "count"):
		s.mu.Lock()
		n := len(c.dev.preKeys)
		s.mu.Unlock()
		s.reply(c, iqResult(node, waBinary.Node{Tag: "count", Attrs: waBinary.Attrs{"value": n}}))
	case typ == "set" && hasChild(node, "list"):
		s.uploadPreKeys(c, node)
	case typ == "get" && hasChild(node, "key"):
		s.fetchPreKeys(c, node)
	default:
		s.unknownIQ(c, node, "encrypt")
	}
}

func hasChild(node *waBinary.Node, tag string) bool {
	_, ok := node.GetOptionalChildByTag(tag)
	return ok
}

// parsePreKey reads a <key> or <skey> node: a 3-byte id, a 32-byte value
// and, for signed prekeys, a 64-byte signature.
func parsePreKey(n waBinary.Node) (preKey, bool) {
	id, _ := n.GetChildByTag("id").Content.([]byte)
	val, _ := n.GetChildByTag("value").Content.([]byte)
	if len(id) != 3 || len(val) != 32 {
		return preKey{}, false
	}
	pk := preKey{id: uint32(id[0])<<16 | uint32(id[1])<<8 | uint32(id[2]), pub: [32]byte(val)}
	if n.Tag == "skey" {
		sig, _ := n.GetChildByTag("signature").Content.([]byte)
		if len(sig) != 64 {
			return preKey{}, false
		}
		pk.signature = sig
	}
	return pk, true
}

func (s *Sim) uploadPreKeys(c *conn, node *waBinary.Node) {
	reg, _ := node.GetChildByTag("registration").Content.([]byte)
	ident, _ := node.GetChildByTag("identity").Content.([]byte)
	skey, skeyOK := parsePreKey(node.GetChildByTag("skey"))
	if len(reg) != 4 || len(ident) != 32 || !skeyOK {
		c.log.Warn().Msg("Malformed prekey upload")
		s.reply(c, iqError(node, 400, "bad-request"))
		return
	}
	list := node.GetChildByTag("list")
	var keys []preKey
	for _, k := range list.GetChildren() {
		if pk, ok := parsePreKey(k); ok && k.Tag == "key" {
			keys = append(keys, pk)
		}
	}
	s.mu.Lock()
	d := c.dev
	d.registrationID = binary.BigEndian.Uint32(reg)
	d.identityKey = [32]byte(ident)
	d.signedPreKey = &skey
	d.preKeys = append(d.preKeys, keys...)
	total := len(d.preKeys)
	s.mu.Unlock()
	c.log.Debug().Int("uploaded", len(keys)).Int("total", total).Msg("Prekeys uploaded")
	s.reply(c, iqResult(node))
}

// fetchPreKeys answers a bundle request. Each <user> in the answer
// carries the exact JID requested, because whatsmeow matches bundles to
// its request by JID value. A one-time prekey is consumed per fetch.
func (s *Sim) fetchPreKeys(c *conn, node *waBinary.Node) {
	var users []waBinary.Node
	s.mu.Lock()
	for _, u := range childrenOf(node.GetChildByTag("key")) {
		jid, ok := u.Attrs["jid"].(types.JID)
		if u.Tag != "user" || !ok {
			continue
		}
		d := s.lookupDeviceLocked(jid)
		if d == nil || d.signedPreKey == nil {
			users = append(users, waBinary.Node{Tag: "user", Attrs: waBinary.Attrs{"jid": jid},
				Content: []waBinary.Node{{Tag: "error", Attrs: waBinary.Attrs{"code": 404, "text": "item-not-found"}}}})
			continue
		}
		var regID [4]byte
		binary.BigEndian.PutUint32(regID[:], d.registrationID)
		content := []waBinary.Node{
			{Tag: "registration", Content: regID[:]},
			{Tag: "type", Content: []byte{ecc.DjbType}},
			{Tag: "identity", Content: d.identityKey[:]},
		}
		if len(d.preKeys) > 0 {
			content = append(content, preKeyNode("key", d.preKeys[0]))
			d.preKeys = d.preKeys[1:]
		}
		content = append(content, preKeyNode("skey", *d.signedPreKey))
		users = append(users, waBinary.Node{Tag: "user", Attrs: waBinary.Attrs{"jid": jid}, Content: content})
	}
	s.mu.Unlock()
	s.reply(c, iqResult(node, waBinary.Node{Tag: "list", Content: users}))
}

func preKeyNode(tag string, k preKey) waBinary.Node {
	id := []byte{byte(k.id >> 16), byte(k.id >> 8), byte(k.id)}
	content := []waBinary.Node{{Tag: "id", Content: id}, {Tag: "value", Content: k.pub[:]}}
	if tag == "skey" {
		content = append(content, waBinary.Node{Tag: "signature", Content: k.signature})
	}
	return waBinary.Node{Tag: tag, Content: content}
}
