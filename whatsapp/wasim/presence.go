package wasim

import (
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// presenceState is what the simulator knows about an account's
// presence: available while any of its devices said so last.
type presenceState struct {
	available map[uint16]bool
	lastSeen  time.Time
	// subscribers are devices that asked for this account's presence, with
	// the JID they used (their addressing mode is kept in updates).
	subscribers map[*device]types.JID
}

func (p *Phone) presence() *presenceState {
	if p.pres == nil {
		p.pres = &presenceState{available: make(map[uint16]bool), subscribers: make(map[*device]types.JID)}
	}
	return p.pres
}

func (ps *presenceState) isAvailable() bool {
	for _, v := range ps.available {
		if v {
			return true
		}
	}
	return false
}

// presenceNodeLocked renders p's presence as seen under jid.
func presenceNodeLocked(p *Phone, jid types.JID) waBinary.Node {
	ps := p.presence()
	attrs := waBinary.Attrs{"from": jid.ToNonAD()}
	if !ps.isAvailable() {
		attrs["type"] = "unavailable"
		if !ps.lastSeen.IsZero() {
			attrs["last"] = ps.lastSeen.Unix()
		}
	}
	return waBinary.Node{Tag: "presence", Attrs: attrs}
}

// handlePresence handles <presence type=available|unavailable> (the
// device's own state, sent to subscribers when the account's state
// changes) and <presence type=subscribe to=…> (answered at once with the
// current state, then kept informed).
func (s *Sim) handlePresence(c *conn, node *waBinary.Node) {
	if c.dev == nil {
		return
	}
	typ, _ := node.Attrs["type"].(string)
	var deliveries []delivery
	s.mu.Lock()
	switch typ {
	case "subscribe":
		to, _ := node.Attrs["to"].(types.JID)
		if p := s.lookupUserLocked(to); p != nil {
			p.presence().subscribers[c.dev] = to.ToNonAD()
			deliveries = append(deliveries, delivery{conn: c, node: presenceNodeLocked(p, to)})
		}
	case "unsubscribe":
		to, _ := node.Attrs["to"].(types.JID)
		if p := s.lookupUserLocked(to); p != nil {
			delete(p.presence().subscribers, c.dev)
		}
	case "available", "unavailable":
		p := c.dev.phone
		ps := p.presence()
		was := ps.isAvailable()
		ps.available[c.dev.id] = typ == "available"
		if name, ok := node.Attrs["name"].(string); ok && name != "" {
			p.pushName = name
		}
		if now := ps.isAvailable(); now != was {
			if !now {
				ps.lastSeen = time.Now()
			}
			for sub, jid := range ps.subscribers {
				deliveries = append(deliveries, delivery{conn: sub.conn, node: presenceNodeLocked(p, jid)})
			}
		}
	default:
		c.log.Debug().Str("type", typ).Msg("Unmodelled presence stanza")
	}
	s.mu.Unlock()
	s.deliver(deliveries)
}

// handleChatState relays typing notifications (<chatstate to=…>
// <composing/> or <paused/>) to the other party's devices, or to the
// other members of a group with the sender as participant. Chat states
// are transient: offline devices miss them.
func (s *Sim) handleChatState(c *conn, node *waBinary.Node) {
	to, ok := node.Attrs["to"].(types.JID)
	if c.dev == nil || !ok {
		return
	}
	sender := c.dev
	var deliveries []delivery
	s.mu.Lock()
	switch to.Server {
	case types.DefaultUserServer, types.HiddenUserServer:
		if p := s.lookupUserLocked(to); p != nil {
			from := sender.phone.pn
			if to.Server == types.HiddenUserServer {
				from = sender.phone.lid
			}
			out := waBinary.Node{Tag: "chatstate", Attrs: waBinary.Attrs{"from": from}, Content: node.Content}
			for _, id := range p.deviceIDs() {
				deliveries = append(deliveries, delivery{conn: p.devices[id].conn, node: out})
			}
		}
	case types.GroupServer:
		if g := s.groups[to.User]; g != nil && g.isMember(sender.phone) {
			out := waBinary.Node{Tag: "chatstate", Attrs: waBinary.Attrs{
				"from": g.jid, "participant": sender.phone.lid, "participant_pn": sender.phone.pn,
				"addressing_mode": string(types.AddressingModeLID),
			}, Content: node.Content}
			for _, m := range g.members {
				if m == sender.phone {
					continue
				}
				for _, id := range m.deviceIDs() {
					deliveries = append(deliveries, delivery{conn: m.devices[id].conn, node: out})
				}
			}
		}
	}
	s.mu.Unlock()
	s.deliver(deliveries)
}
