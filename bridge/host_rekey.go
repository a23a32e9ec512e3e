package bridge

import (
	"context"
	"fmt"

	"github.com/ferrybridge/ferry/bridge/network"
)

// RekeyPortal moves a portal of the host's network to a new key.
func (h *host) RekeyPortal(ctx context.Context, from, to network.PortalKey) (bool, error) {
	if from.Network != h.net || to.Network != h.net {
		return false, fmt.Errorf("network %q may not move portal %s to %s", h.net, from, to)
	}
	if from.Chat == "" || to.Chat == "" {
		return false, fmt.Errorf("rekey portal %s to %s: empty chat ID", from, to)
	}
	return h.b.Portals.Rekey(ctx, from, to)
}
