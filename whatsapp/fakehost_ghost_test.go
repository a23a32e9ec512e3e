package whatsapp

import (
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// GhostMXID completes fakeHost for the contract's Host.GhostMXID.
func (h *fakeHost) GhostMXID(user network.UserID) id.UserID {
	return id.NewUserID("whatsapp_"+string(user), "example.org")
}
