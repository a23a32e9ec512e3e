package portals

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/ferrybridge/ferry/bridge/network"
)

// Edits handed over again. A network that stopped waiting for an event
// hands it over again (WhatsApp's redelivery after its handler timed
// out), possibly while the first copy is still queued in the portal. A
// message's second copy finds the first's mapping and is not sent again;
// a reaction's finds the stored reaction, and a deletion's finds nothing
// left to delete. An edit leaves no such trace of its own (its target's
// edit count goes up, and the next edit's transaction ID with it), so its
// second copy was sent again: a second replacement event in the room. So
// the portal remembers the edits it bridged lately, and a copy of one is
// a no-op; its network hears that it is bridged.
//
// An edit the network gives an ID of its own (WhatsApp does) is known by
// that ID instead: two edits within one second back to the same text
// (A, B, A) are three edits, where by sender, time and content the third
// looked like a copy of the first. Its replacement event is sent with a
// transaction ID made of the edit's ID, so a copy handed over after the
// portal forgot it (a restart, or a busy group pushing it out) is taken
// by the homeserver as the same request again (within its memory of
// transaction IDs, half an hour at least in Dendrite and Synapse) and
// adds no event.

// rememberedEdits is how many bridged edits a portal remembers; a copy
// comes within minutes, behind at most a full queue.
const rememberedEdits = 256

// bridgedEdits are the edits a portal bridged lately, by editKey, oldest
// first in order; owned by the portal's goroutine (edits are never sent
// ahead).
type bridgedEdits struct {
	keys  map[string]bool
	order []string
}

// editKey names edit so that another hand-over of it has the same key:
// its own ID where the network gives one, else its target, sender and
// time (as handoverKey) and its new content, so that two edits to
// different texts within the same second stay two. An edit that carries
// a file has none: its upload may have
// failed, leaving a notice in the file's place, and another try of it
// (WhatsApp's answer to a media re-upload request, handed over again by
// the network itself) may bring the file.
func editKey(edit *network.Edit) string {
	if editCarriesFile(edit) {
		return ""
	}
	if edit.ID != "" {
		return "id\x00" + string(edit.Target) + "\x00" + string(edit.ID)
	}
	h := sha256.New()
	h.Write([]byte(handoverKey(edit)))
	for _, part := range edit.Parts {
		h.Write([]byte{0})
		h.Write([]byte(part.ID))
		if part.Content != nil {
			h.Write([]byte{0})
			h.Write([]byte(part.Content.MsgType))
			h.Write([]byte{0})
			h.Write([]byte(part.Content.Body))
			h.Write([]byte{0})
			h.Write([]byte(part.Content.FormattedBody))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// editCarriesFile reports whether one of edit's parts brings a file.
func editCarriesFile(edit *network.Edit) bool {
	for _, part := range edit.Parts {
		if part.Media != nil {
			return true
		}
	}
	return false
}

// editTxnID is the transaction ID of the replacement of part sent for
// edit, its target edited editCount times before: the edit's own ID where
// it has one (see above), else the count and the edit's time, so that each
// new edit is a new request. An edit carrying a file is always a new
// request: another try of it may bring the file its first could not.
func editTxnID(key network.PortalKey, edit *network.Edit, part network.PartID, editCount int) string {
	if edit.ID != "" && !editCarriesFile(edit) {
		return txnID(key, edit.Target, part, "edit-id-"+string(edit.ID))
	}
	return txnID(key, edit.Target, part, fmt.Sprintf("edit-%d-%d", editCount, edit.Timestamp.UnixNano()))
}

// editBridged reports whether an edit of key was bridged lately.
func (p *Portal) editBridged(key string) bool {
	return key != "" && p.edits.keys[key]
}

// rememberEdit notes that the edit of key is bridged, forgetting the
// oldest past rememberedEdits.
func (p *Portal) rememberEdit(key string) {
	e := &p.edits
	if key == "" {
		return
	}
	if e.keys == nil {
		e.keys = make(map[string]bool, rememberedEdits)
	}
	if e.keys[key] {
		return
	}
	if len(e.order) >= rememberedEdits {
		delete(e.keys, e.order[0])
		e.order = e.order[1:]
	}
	e.keys[key] = true
	e.order = append(e.order, key)
}
