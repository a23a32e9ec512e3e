package wasim

import (
	"fmt"
	"strconv"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// picture is a profile or group picture, stored in the media store.
type picture struct {
	id         string
	directPath string
}

// setPictureLocked stores an image as the picture of an account or group.
func (s *Sim) setPictureLocked(data []byte) *picture {
	s.idSeq++
	id := strconv.FormatUint(s.idSeq, 10)
	// Profile pictures are served unencrypted from the media hosts.
	dp := fmt.Sprintf("/v/t61.24694-24/wasim-pp-%s.jpg?ccb=11-4&oh=wasim&oe=0", id)
	s.media[blobKey(dp)] = data
	return &picture{id: id, directPath: dp}
}

// SetProfilePicture sets the account's profile picture, as the phone's
// settings would, and returns its picture ID.
func (p *Phone) SetProfilePicture(jpeg []byte) string {
	s := p.sim
	s.mu.Lock()
	defer s.mu.Unlock()
	p.picture = s.setPictureLocked(jpeg)
	return p.picture.id
}

// handlePictureIQ serves w:profile:picture (whatsmeow user.go
// GetProfilePictureInfo, group.go SetGroupPhoto): get answers the
// target's current picture (404 when none, status 304 when the caller
// already has it); set stores a new picture for the caller's own account
// or for a group the caller administers.
func (s *Sim) handlePictureIQ(c *conn, node *waBinary.Node) {
	target, _ := node.Attrs["target"].(types.JID)
	typ, _ := node.Attrs["type"].(string)
	s.mu.Lock()
	var current **picture
	allowedSet := false
	switch {
	case target.IsEmpty():
		current, allowedSet = &c.dev.phone.picture, true
	case target.Server == types.GroupServer:
		if g := s.groups[target.User]; g != nil {
			current, allowedSet = &g.picture, g.admins[c.dev.phone]
		}
	default:
		if p := s.lookupUserLocked(target); p != nil {
			current, allowedSet = &p.picture, p == c.dev.phone
		}
	}
	if current == nil {
		s.mu.Unlock()
		s.reply(c, iqError(node, 404, "item-not-found"))
		return
	}
	switch typ {
	case "get":
		pic := *current
		s.mu.Unlock()
		req := node.GetChildByTag("picture")
		switch {
		case pic == nil:
			s.reply(c, iqError(node, 404, "item-not-found"))
		case req.Attrs["id"] == pic.id:
			s.reply(c, iqResult(node, waBinary.Node{Tag: "picture", Attrs: waBinary.Attrs{"status": 304}}))
		default:
			s.reply(c, iqResult(node, waBinary.Node{Tag: "picture", Attrs: waBinary.Attrs{
				"id": pic.id, "type": req.Attrs["type"], "direct_path": pic.directPath,
				"url": "https://" + mediaHost + pic.directPath,
			}}))
		}
	case "set":
		if !allowedSet {
			s.mu.Unlock()
			s.reply(c, iqError(node, 403, "forbidden"))
			return
		}
		img, ok := node.GetChildByTag("picture").Content.([]byte)
		if !ok {
			*current = nil
			s.mu.Unlock()
			s.reply(c, iqResult(node))
			return
		}
		*current = s.setPictureLocked(img)
		id := (*current).id
		s.mu.Unlock()
		s.reply(c, iqResult(node, waBinary.Node{Tag: "picture", Attrs: waBinary.Attrs{"id": id}}))
	default:
		s.mu.Unlock()
		s.unknownIQ(c, node, "w:profile:picture")
	}
}
