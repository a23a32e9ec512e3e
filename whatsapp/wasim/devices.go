package wasim

import (
	"crypto/sha256"
	"encoding/base64"
	"sort"
	"strconv"
	"strings"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// participantHash is whatsmeow's participantListHashV2 (send.go), the
// "phash" of a device list. The server puts the hash of the devices it
// knows into message acks; on a mismatch whatsmeow drops its cached
// device list, so a sender with a stale list heals on its next message.
func participantHash(devices []types.JID) string {
	strs := make([]string, len(devices))
	for i, d := range devices {
		strs[i] = d.ADString()
	}
	sort.Strings(strs)
	h := sha256.Sum256([]byte(strings.Join(strs, "")))
	return "2:" + base64.RawStdEncoding.EncodeToString(h[:6])
}

// devicesOfLocked lists an account's linked devices in one addressing.
func devicesOfLocked(p *Phone, lid bool) []types.JID {
	ids := p.deviceIDs()
	out := make([]types.JID, len(ids))
	for i, id := range ids {
		out[i] = p.deviceJID(id, lid)
	}
	return out
}

// devicesNotificationLocked tells every other device in the simulator
// (contacts are not modelled, so everyone counts as one) that p linked
// (tag "add") or unlinked ("remove") device devID, with the new list
// hash whatsmeow checks its cache against (notification.go
// handleDeviceNotification). whatsmeow looks its cache up by the
// notification's from only, and caches device lists under whichever
// addressing it queried (LID for DMs since 2025), so one notification is
// sent per addressing mode. A cache that gets both ends up with a
// mismatching hash and is dropped, which only costs a refetch.
func (s *Sim) devicesNotificationLocked(p *Phone, tag string, devID uint16) []delivery {
	var out []delivery
	for _, lid := range []bool{false, true} {
		s.idSeq++
		n := waBinary.Node{
			Tag: "notification",
			Attrs: waBinary.Attrs{
				"from": p.deviceJID(0, lid), "type": "devices",
				"id": "wasim-dev-" + strconv.FormatUint(s.idSeq, 10), "t": time.Now().Unix(),
			},
			Content: []waBinary.Node{{
				Tag:   tag,
				Attrs: waBinary.Attrs{"device_hash": participantHash(devicesOfLocked(p, lid))},
				Content: []waBinary.Node{{Tag: "device", Attrs: waBinary.Attrs{
					"jid": p.deviceJID(devID, lid),
				}}},
			}},
		}
		for _, other := range s.byPN {
			for _, id := range other.deviceIDs() {
				if other == p && id == devID {
					continue
				}
				out = append(out, s.enqueueLocked(other.devices[id], n))
			}
		}
	}
	return out
}
