package irc

import (
	"context"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

// A network can change its CASEMAPPING (an upgrade, a new ircd). Names
// folded with the old one then no longer match: the saved channels'
// keys, and the chat IDs of channels whose names hold []\~ or {}|^.

// portalMove is a portal to move to another key (Host.RekeyPortal).
type portalMove struct{ from, to network.PortalKey }

// refoldChannelsLocked rekeys the saved channels from casemapping from to
// to, using their names: kept under the old folding, a channel left
// later would be deleted under the new one only, and the old entry
// rejoined at every connect; and the rejoin's JOIN would save it a
// second time, without its key. It returns the portals whose chat IDs
// the change moves. cl.lock must be held.
func (cl *Client) refoldChannelsLocked(from, to ircconn.CaseMapping) []portalMove {
	if from == "" || from == to || len(cl.meta.Channels) == 0 {
		return nil
	}
	refolded := make(map[string]savedChannel, len(cl.meta.Channels))
	var moves []portalMove
	for _, ch := range cl.meta.Channels {
		folded := ircconn.Casefold(to, ch.Name)
		// Two names that are one channel now: keep the one with a key.
		if prev, ok := refolded[folded]; ok && prev.Key != "" {
			continue
		}
		refolded[folded] = ch
		old, now := channelChatID(cl.netName, from, ch.Name), channelChatID(cl.netName, to, ch.Name)
		if old != now {
			moves = append(moves, portalMove{
				from: network.PortalKey{Network: NetworkID, Chat: old},
				to:   network.PortalKey{Network: NetworkID, Chat: now},
			})
		}
	}
	cl.meta.Channels = refolded
	return moves
}

// movePortals moves the rooms of channels whose chat IDs a casemapping
// change moved, so that the rejoin finds them rather than making new
// ones. A portal another login moved already, or that never had a room,
// is not there to move; one whose new key has a room already stays.
func (cl *Client) movePortals(moves []portalMove) {
	if cl.c.host == nil {
		return
	}
	for _, m := range moves {
		ctx, cancel := context.WithTimeout(cl.c.ctx, 30*time.Second)
		moved, err := cl.c.host.RekeyPortal(ctx, m.from, m.to)
		cancel()
		log := cl.log.With().Str("from", string(m.from.Chat)).Str("to", string(m.to.Chat)).Logger()
		switch {
		case err != nil:
			log.Warn().Err(err).Msg("Failed to move a channel's portal after the network's CASEMAPPING changed")
		case moved:
			log.Info().Msg("Moved a channel's portal after the network's CASEMAPPING changed")
		}
	}
}
