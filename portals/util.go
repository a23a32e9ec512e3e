package portals

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/ferrybridge/ferry/bridge/network"
)

// txnID makes the Matrix transaction ID of one part of a remote message
// deterministic, so a retried send after a lost answer is deduplicated by
// the homeserver rather than posted twice.
func txnID(key network.PortalKey, msg network.MessageID, part network.PartID, kind string) string {
	h := sha256.New()
	for _, s := range []string{string(key.Network), string(key.Chat), string(key.Receiver), string(msg), string(part), kind} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return "ferry_" + hex.EncodeToString(h.Sum(nil)[:16])
}
