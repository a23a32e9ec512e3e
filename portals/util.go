package portals

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"

	"maunium.net/go/mautrix"

	"github.com/ferrybridge/ferry/bridge/network"
)

func asHTTPError(err error, target *mautrix.HTTPError) bool {
	return errors.As(err, target)
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

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
