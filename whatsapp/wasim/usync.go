package wasim

import (
	"strings"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// handleUsync answers user-sync queries (whatsmeow user.go usync): for
// each listed user it answers the protocols named in <query>. Device
// lists name linked devices only (see Phone), in the addressing mode the
// user was asked in; the lid protocol is how whatsmeow learns a phone
// number's LID before sending a DM.
func (s *Sim) handleUsync(c *conn, node *waBinary.Node) {
	usync, ok := node.GetOptionalChildByTag("usync")
	if !ok {
		s.reply(c, iqError(node, 400, "bad-request"))
		return
	}
	var protocols []string
	lidContacts := false
	for _, q := range childrenOf(usync.GetChildByTag("query")) {
		protocols = append(protocols, q.Tag)
		if q.Tag == "contact" && q.Attrs["addressing_mode"] == "lid" {
			lidContacts = true
		}
	}
	var users []waBinary.Node
	s.mu.Lock()
	for _, u := range childrenOf(usync.GetChildByTag("list")) {
		if u.Tag != "user" {
			continue
		}
		if jid, ok := u.Attrs["jid"].(types.JID); ok {
			jid = jid.ToNonAD()
			p := s.lookupUserLocked(jid)
			users = append(users, waBinary.Node{Tag: "user", Attrs: waBinary.Attrs{"jid": jid},
				Content: usyncProtocols(p, protocols, "")})
			continue
		}
		// A phone-number lookup (IsOnWhatsApp): <user><contact>+1555…</contact></user>.
		query, _ := u.GetChildByTag("contact").Content.(string)
		if b, ok := u.GetChildByTag("contact").Content.([]byte); ok {
			query = string(b)
		}
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, strings.TrimSuffix(query, "@"+types.LegacyUserServer))
		if digits == "" {
			continue
		}
		pn := types.NewJID(digits, types.DefaultUserServer)
		p := s.lookupUserLocked(pn)
		attrs := waBinary.Attrs{"jid": pn}
		if p != nil && lidContacts {
			attrs["jid"], attrs["pn_jid"] = p.lid, p.pn
		} else if lidContacts {
			attrs["pn_jid"] = pn
		}
		users = append(users, waBinary.Node{Tag: "user", Attrs: attrs, Content: usyncProtocols(p, protocols, query)})
	}
	s.mu.Unlock()
	result := waBinary.Node{Tag: "usync", Attrs: waBinary.Attrs{
		"sid": usync.Attrs["sid"], "mode": usync.Attrs["mode"], "context": usync.Attrs["context"],
		"index": "0", "last": "true",
	}, Content: []waBinary.Node{{Tag: "list", Content: users}}}
	s.reply(c, iqResult(node, result))
}

// usyncProtocols answers each queried protocol for one user (p is
// nil for someone not on WhatsApp; needs s.mu held); query is the contact lookup string,
// echoed in <contact> as the real server does.
func usyncProtocols(p *Phone, protocols []string, query string) []waBinary.Node {
	var content []waBinary.Node
	for _, proto := range protocols {
		switch proto {
		case "devices":
			var devs []waBinary.Node
			if p != nil {
				for _, id := range p.deviceIDs() {
					devs = append(devs, waBinary.Node{Tag: "device", Attrs: waBinary.Attrs{"id": int(id), "key-index": int(id)}})
				}
			}
			content = append(content, waBinary.Node{Tag: "devices", Content: []waBinary.Node{
				{Tag: "device-list", Content: devs},
			}})
		case "lid":
			if p != nil {
				content = append(content, waBinary.Node{Tag: "lid", Attrs: waBinary.Attrs{"val": p.lid}})
			} else {
				content = append(content, waBinary.Node{Tag: "lid"})
			}
		case "contact":
			typ := "out"
			if p != nil {
				typ = "in"
			}
			n := waBinary.Node{Tag: "contact", Attrs: waBinary.Attrs{"type": typ}}
			if query != "" {
				n.Content = []byte(query)
			}
			content = append(content, n)
		case "status", "picture", "business", "disappearing_mode", "username":
			// Empty answers: no status text, no picture, not a business.
			content = append(content, waBinary.Node{Tag: proto})
		default:
			content = append(content, waBinary.Node{Tag: proto, Content: []waBinary.Node{
				{Tag: "error", Attrs: waBinary.Attrs{"code": 501, "text": "feature-not-implemented"}},
			}})
		}
	}
	return content
}
