package wasim

import (
	"slices"
	"strconv"
	"strings"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// group is a WhatsApp group. Groups are LID-addressed, as new groups on
// WhatsApp are: participants appear by LID with their phone number
// alongside, and messages carry participant (LID) and participant_pn.
type group struct {
	jid     types.JID
	subject string
	subjAt  time.Time
	creator *Phone
	created time.Time
	members []*Phone
	admins  map[*Phone]bool
	picture *picture
}

func (g *group) isMember(p *Phone) bool { return slices.Contains(g.members, p) }

// groupBase makes simulated group IDs look like real ones.
const groupBase = 120363000000000000

// handleGroupIQ serves the w:g2 namespace (whatsmeow group.go): create
// (to g.us), and query, add, remove, promote, demote and subject (to the
// group). Everything else is answered 501.
func (s *Sim) handleGroupIQ(c *conn, node *waBinary.Node) {
	to, _ := node.Attrs["to"].(types.JID)
	children := node.GetChildren()
	if len(children) != 1 {
		s.unknownIQ(c, node, "w:g2")
		return
	}
	op := children[0]
	if to == types.GroupServerJID {
		switch op.Tag {
		case "create":
			s.createGroup(c, node, op)
		case "participating":
			s.joinedGroups(c, node)
		default:
			s.unknownIQ(c, node, "w:g2")
		}
		return
	}
	s.mu.Lock()
	g := s.groups[to.User]
	me := c.dev.phone
	switch {
	case g == nil || to.Server != types.GroupServer:
		s.mu.Unlock()
		s.reply(c, iqError(node, 404, "item-not-found"))
		return
	case !g.isMember(me):
		s.mu.Unlock()
		s.reply(c, iqError(node, 403, "forbidden"))
		return
	}
	switch op.Tag {
	case "query":
		info := groupNodeLocked(g)
		s.mu.Unlock()
		s.reply(c, iqResult(node, info))
	case "add", "remove", "promote", "demote":
		if !g.admins[me] {
			s.mu.Unlock()
			s.reply(c, iqError(node, 403, "forbidden"))
			return
		}
		before := slices.Clone(g.members)
		answer, changed := s.changeParticipantsLocked(g, op)
		// Removed members hear about their removal too.
		removed := slices.DeleteFunc(before, g.isMember)
		notify := s.groupNotificationLocked(g, c.dev, waBinary.Node{Tag: op.Tag, Content: changed}, removed)
		s.mu.Unlock()
		s.reply(c, iqResult(node, answer))
		s.deliver(notify)
	case "subject":
		subject, _ := op.Content.([]byte)
		g.subject, g.subjAt = string(subject), time.Now()
		notify := s.groupNotificationLocked(g, c.dev, waBinary.Node{Tag: "subject", Attrs: waBinary.Attrs{
			"subject": g.subject, "s_t": g.subjAt.Unix(), "s_o": me.lid, "s_o_pn": me.pn,
		}}, nil)
		s.mu.Unlock()
		s.reply(c, iqResult(node))
		s.deliver(notify)
	default:
		s.mu.Unlock()
		s.unknownIQ(c, node, "w:g2")
	}
}

// createGroup makes a group of the creator and every known participant;
// unknown participants come back with error 404 in the answer, as
// whatsmeow's parseParticipant reads it.
func (s *Sim) createGroup(c *conn, node *waBinary.Node, op waBinary.Node) {
	now := time.Now()
	s.mu.Lock()
	me := c.dev.phone
	s.groupSeq++
	g := &group{
		jid:     types.NewJID(strconv.FormatUint(groupBase+s.groupSeq, 10), types.GroupServer),
		creator: me,
		created: now,
		subjAt:  now,
		members: []*Phone{me},
		admins:  map[*Phone]bool{me: true},
	}
	if subj, ok := op.Attrs["subject"].(string); ok {
		g.subject = subj
	}
	var failed []waBinary.Node
	for _, p := range op.GetChildrenByTag("participant") {
		jid, _ := p.Attrs["jid"].(types.JID)
		if member := s.lookupUserLocked(jid); member == nil {
			failed = append(failed, waBinary.Node{Tag: "participant", Attrs: waBinary.Attrs{"jid": jid, "error": 404}})
		} else if !g.isMember(member) {
			g.members = append(g.members, member)
		}
	}
	s.groups[g.jid.User] = g
	info := groupNodeLocked(g)
	info.Content = append(info.GetChildren(), failed...)
	notify := s.groupNotificationLocked(g, c.dev, waBinary.Node{
		Tag: "create", Attrs: waBinary.Attrs{"reason": "create", "type": "new"},
		Content: []waBinary.Node{groupNodeLocked(g)},
	}, nil)
	s.mu.Unlock()
	c.log.Info().Stringer("group", g.jid).Int("members", len(g.members)).Msg("Group created")
	s.reply(c, iqResult(node, info))
	s.deliver(notify)
}

// joinedGroups lists the groups the caller is in (GetJoinedGroups).
func (s *Sim) joinedGroups(c *conn, node *waBinary.Node) {
	s.mu.Lock()
	var mine []*group
	for _, g := range s.groups {
		if g.isMember(c.dev.phone) {
			mine = append(mine, g)
		}
	}
	slices.SortFunc(mine, func(a, b *group) int { return strings.Compare(a.jid.User, b.jid.User) })
	list := make([]waBinary.Node, 0, len(mine))
	for _, g := range mine {
		list = append(list, groupNodeLocked(g))
	}
	s.mu.Unlock()
	s.reply(c, iqResult(node, waBinary.Node{Tag: "groups", Content: list}))
}

// changeParticipantsLocked applies add/remove/promote/demote and returns
// the IQ answer and the participant nodes that changed.
func (s *Sim) changeParticipantsLocked(g *group, op waBinary.Node) (answer waBinary.Node, changed []waBinary.Node) {
	var results []waBinary.Node
	for _, p := range op.GetChildrenByTag("participant") {
		jid, _ := p.Attrs["jid"].(types.JID)
		member := s.lookupUserLocked(jid)
		code := 0
		switch {
		case member == nil:
			code = 404
		case op.Tag == "add" && g.isMember(member), op.Tag != "add" && !g.isMember(member):
			code = 409
		case op.Tag == "add":
			g.members = append(g.members, member)
		case op.Tag == "remove":
			g.members = slices.DeleteFunc(g.members, func(m *Phone) bool { return m == member })
			delete(g.admins, member)
		case op.Tag == "promote":
			g.admins[member] = true
		case op.Tag == "demote":
			delete(g.admins, member)
		}
		res := waBinary.Node{Tag: "participant", Attrs: waBinary.Attrs{"jid": jid}}
		if code != 0 {
			res.Attrs["error"] = code
		} else {
			changed = append(changed, participantNode(g, member))
		}
		results = append(results, res)
	}
	return waBinary.Node{Tag: op.Tag, Content: results}, changed
}

func participantNode(g *group, p *Phone) waBinary.Node {
	attrs := waBinary.Attrs{"jid": p.lid, "phone_number": p.pn}
	if p == g.creator && g.admins[p] {
		attrs["type"] = "superadmin"
	} else if g.admins[p] {
		attrs["type"] = "admin"
	}
	return waBinary.Node{Tag: "participant", Attrs: attrs}
}

// groupNodeLocked renders a group as whatsmeow's parseGroupNode reads it.
func groupNodeLocked(g *group) waBinary.Node {
	content := make([]waBinary.Node, 0, len(g.members))
	for _, m := range g.members {
		content = append(content, participantNode(g, m))
	}
	return waBinary.Node{Tag: "group", Attrs: waBinary.Attrs{
		"id":              g.jid.User,
		"subject":         g.subject,
		"s_t":             g.subjAt.Unix(),
		"s_o":             g.creator.lid,
		"s_o_pn":          g.creator.pn,
		"creator":         g.creator.lid,
		"creator_pn":      g.creator.pn,
		"creation":        g.created.Unix(),
		"addressing_mode": string(types.AddressingModeLID),
		"size":            len(g.members),
	}, Content: content}
}

// groupNotificationLocked queues a w:gp2 notification about change for
// every device of every member (and of extra, e.g. someone just removed)
// except the acting device, and returns the deliveries to make now.
func (s *Sim) groupNotificationLocked(g *group, actor *device, change waBinary.Node, extra []*Phone) []delivery {
	s.idSeq++
	id := "wasim-gp-" + strconv.FormatUint(s.idSeq, 10)
	attrs := waBinary.Attrs{
		"from": g.jid, "type": "w:gp2", "id": id, "t": time.Now().Unix(),
		"participant":     actor.phone.lid,
		"participant_pn":  actor.phone.pn,
		"addressing_mode": string(types.AddressingModeLID),
	}
	if actor.phone.pushName != "" {
		attrs["notify"] = actor.phone.pushName
	}
	n := waBinary.Node{Tag: "notification", Attrs: attrs, Content: []waBinary.Node{change}}
	var out []delivery
	for _, p := range append(slices.Clone(g.members), extra...) {
		for _, devID := range p.deviceIDs() {
			if d := p.devices[devID]; d != actor {
				out = append(out, s.enqueueLocked(d, n))
			}
		}
	}
	return out
}

// handleGroupMessage relays a group message: every member device except
// the sender's gets the shared sender-key ciphertext (skmsg) plus, if the
// sender included one for it, its own pairwise <enc> carrying the sender
// key distribution message.
func (s *Sim) handleGroupMessage(c *conn, node *waBinary.Node, id string, to types.JID) {
	s.mu.Lock()
	g := s.groups[to.User]
	sender := c.dev
	if g == nil || !g.isMember(sender.phone) {
		s.mu.Unlock()
		c.log.Warn().Stringer("group", to).Msg("Message to a group the sender is not in")
		s.ack(c, node, 403)
		return
	}
	if target, ok := node.Attrs["participant"].(types.JID); ok {
		// One device only: whatsmeow's answer to a retry receipt.
		var deliveries []delivery
		if d := s.lookupDeviceLocked(target); d != nil && g.isMember(d.phone) {
			out := groupMessage(g, node, sender, id, node.GetChildren())
			deliveries = append(deliveries, s.enqueueLocked(d, out))
		}
		s.mu.Unlock()
		s.ack(c, node, 0)
		s.deliver(deliveries)
		return
	}
	pairwise := make(map[*device][]waBinary.Node)
	for _, part := range childrenOf(node.GetChildByTag("participants")) {
		target, _ := part.Attrs["jid"].(types.JID)
		if d := s.lookupDeviceLocked(target); d != nil && part.Tag == "to" {
			pairwise[d] = part.GetChildren()
		}
	}
	var shared []waBinary.Node
	for _, child := range node.GetChildren() {
		switch child.Tag {
		case "participants", "tctoken", "cstoken", "reporting":
		default:
			shared = append(shared, child)
		}
	}
	var deliveries []delivery
	var all []types.JID
	for _, m := range g.members {
		all = append(all, devicesOfLocked(m, true)...)
		for _, devID := range m.deviceIDs() {
			d := m.devices[devID]
			if d == sender {
				continue
			}
			content := append(slices.Clone(pairwise[d]), shared...)
			deliveries = append(deliveries, s.enqueueLocked(d, groupMessage(g, node, sender, id, content)))
		}
	}
	s.mu.Unlock()
	c.log.Debug().Str("id", id).Stringer("group", to).Int("devices", len(deliveries)).Msg("Relaying group message")
	s.ackWith(c, node, 0, waBinary.Attrs{"phash": participantHash(all)})
	s.deliver(deliveries)
}

// groupMessage is the stanza a member device receives: from the group,
// with the sender's LID device as participant and its phone number as
// participant_pn.
func groupMessage(g *group, node *waBinary.Node, sender *device, id string, content []waBinary.Node) waBinary.Node {
	attrs := waBinary.Attrs{
		"from": g.jid, "id": id, "t": time.Now().Unix(), "type": node.Attrs["type"],
		"participant":     sender.phone.deviceJID(sender.id, true),
		"participant_pn":  sender.phone.deviceJID(sender.id, false),
		"addressing_mode": string(types.AddressingModeLID),
	}
	if sender.phone.pushName != "" {
		attrs["notify"] = sender.phone.pushName
	}
	if edit, ok := node.Attrs["edit"]; ok {
		attrs["edit"] = edit
	}
	return waBinary.Node{Tag: "message", Attrs: attrs, Content: content}
}
