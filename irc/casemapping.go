package irc

import (
	"context"
	"sort"
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

// refoldPMsLocked rekeys the login's PM peers from casemapping from to
// to, and returns the moves of their DM portals (every generation's, so
// an older room still names its nick the new way): kept at the old
// folding, a PM from "Bob[" after rfc1459 -> ascii would open a new room,
// and the user's replies in the old one would go to "bob{", someone else
// under ascii. A peer saved without its spelling keeps its folded key as
// its name (correct unless it held []\~ under rfc1459). Two peers that
// are one nick now keep the one seen with a spelling, then the first by
// key; the other's rooms stay where they are. A peer whose user ID the
// change moves keeps the old one as Ghost (see pmSender), unless it has
// one from an earlier change. cl.lock must be held.
func (cl *Client) refoldPMsLocked(from, to ircconn.CaseMapping) []portalMove {
	if from == "" || from == to || len(cl.meta.PMs) == 0 {
		return nil
	}
	keys := make([]string, 0, len(cl.meta.PMs))
	for k := range cl.meta.PMs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	refolded := make(map[string]pmPeer, len(cl.meta.PMs))
	oldKey := make(map[string]string, len(cl.meta.PMs))
	for _, k := range keys {
		peer := cl.meta.PMs[k]
		name := peer.Nick
		if name == "" {
			name = k
		}
		folded := ircconn.Casefold(to, name)
		if prev, ok := refolded[folded]; ok {
			if prev.Nick != "" || peer.Nick == "" {
				cl.log.Warn().Str("nick", name).Str("kept", oldKey[folded]).
					Msg("Two PM peers are one nick under the network's new CASEMAPPING; this one's room is left behind")
				continue
			}
		}
		refolded[folded], oldKey[folded] = peer, k
	}
	var moves []portalMove
	for folded, peer := range refolded {
		name := peer.Nick
		if name == "" {
			name = oldKey[folded]
		}
		if oldID, newID := makeUserID(cl.netName, from, name), makeUserID(cl.netName, to, name); peer.Ghost == "" && oldID != newID {
			peer.Ghost = oldID
		} else if peer.Ghost == newID {
			peer.Ghost = "" // changed back: the ghost in the rooms is theirs again
		}
		refolded[folded] = peer
		for gen := 0; gen <= peer.Gen; gen++ {
			old, now := pmChatID(cl.netName, from, name, gen), pmChatID(cl.netName, to, name, gen)
			if old != now {
				moves = append(moves, portalMove{
					from: network.PortalKey{Network: NetworkID, Chat: old, Receiver: cl.loginID},
					to:   network.PortalKey{Network: NetworkID, Chat: now, Receiver: cl.loginID},
				})
			}
		}
	}
	cl.meta.PMs = refolded
	return moves
}

// ghostNick is the nick a user ID's casefolded nick names now, for a
// pill of its ghost or the sender of a line answered. An ID minted
// before the network's last CASEMAPPING change is folded the old way:
// rfc1459 made Bob[ "bob{", which under ascii is another nick, who would
// be named (and highlighted) instead. So when folded is no nick seen
// under the new folding, the one nick seen that the previous casemapping
// folds to it is taken. Seen nicks win: an ID minted since the change
// for someone seen names them. The miss left: an ID minted since the
// change for someone this login has not seen, while a nick the old
// folding confuses with theirs is seen.
func (cl *Client) ghostNick(folded string) string {
	cl.lock.Lock()
	defer cl.lock.Unlock()
	if n, ok := cl.nicks[folded]; ok {
		return n
	}
	prev := ircconn.CaseMapping(cl.meta.PrevCaseMapping)
	if prev == "" {
		return folded
	}
	found := ""
	for _, n := range cl.nicks {
		if ircconn.Casefold(prev, n) != folded {
			continue
		}
		if found != "" {
			return folded // two candidates: not a guess to make
		}
		found = n
	}
	if found == "" {
		return folded
	}
	return found
}
