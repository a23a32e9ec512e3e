package portals

import (
	"context"
	"errors"
	"fmt"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
)

// Rekey moves the portal of from to the key to (see network.Host's
// RekeyPortal). It runs on the old portal's goroutine, so it is ordered
// with that portal's events: everything queued before is bridged under
// the old key, and the portal object, with its room, answers to the new
// key afterwards. moved says whether a room changed key.
func (m *Manager) Rekey(ctx context.Context, from, to network.PortalKey) (moved bool, err error) {
	if from == to {
		return false, nil
	}
	if from.Network != to.Network {
		return false, fmt.Errorf("rekey portal %s to %s: the network differs", from, to)
	}
	if !m.known(ctx, from) {
		return false, nil // the common case: nothing was ever made for from
	}
	if target, err := m.db.Portals.Get(ctx, to); err != nil {
		return false, err
	} else if target != nil && target.RoomID != "" {
		return false, fmt.Errorf("rekey portal %s to %s: %w", from, to, network.ErrPortalExists)
	}
	p, err := m.Get(ctx, from)
	if err != nil {
		return false, err
	}
	err = m.Do(ctx, p, func(ctx context.Context) error {
		if p.Key != from {
			return nil // moved meanwhile by an earlier call
		}
		if p.RoomID == "" {
			return nil // nothing to move: the new key makes its own room
		}
		if err := m.claimKey(p, to); err != nil {
			return err
		}
		if err := m.db.Portals.Rekey(ctx, from, to); err != nil {
			m.releaseKey(p, to, from)
			if errors.Is(err, database.ErrDuplicate) {
				return fmt.Errorf("rekey portal %s to %s: %w", from, to, network.ErrPortalExists)
			}
			return err
		}
		oldStateKey := p.bridgeStateKey()
		p.Key = to
		p.log = m.log.With().Stringer("portal", to).Logger()
		m.lock.Lock()
		delete(m.byKey, from)
		m.lock.Unlock()
		p.log.Info().Stringer("old_key", from).Msg("Portal moved to a new key")
		p.updateBridgeState(ctx, oldStateKey)
		moved = true
		return nil
	})
	return moved, err
}

// known says whether a portal of key is stored or loaded.
func (m *Manager) known(ctx context.Context, key network.PortalKey) bool {
	m.lock.Lock()
	_, loaded := m.byKey[key]
	m.lock.Unlock()
	if loaded {
		return true
	}
	row, err := m.db.Portals.Get(ctx, key)
	return err != nil || row != nil // on error, let the move find out
}

// claimKey makes p the portal of key to in memory. A portal object that
// is there already may only be an idle one without a room (looked up,
// never used); one with work pending keeps the key.
func (m *Manager) claimKey(p *Portal, to network.PortalKey) error {
	m.lock.Lock()
	defer m.lock.Unlock()
	if q, ok := m.byKey[to]; ok && q != p {
		q.runLock.Lock()
		busy := q.running || len(q.queue) > 0
		q.runLock.Unlock()
		if busy {
			return fmt.Errorf("rekey portal %s to %s: %w (it has events waiting)", p.Key, to, network.ErrPortalExists)
		}
	}
	m.byKey[to] = p
	return nil
}

// releaseKey undoes claimKey after the database refused the move.
func (m *Manager) releaseKey(p *Portal, to, from network.PortalKey) {
	m.lock.Lock()
	defer m.lock.Unlock()
	if m.byKey[to] == p {
		delete(m.byKey, to)
	}
	m.byKey[from] = p
}

// updateBridgeState replaces the room's m.bridge state, whose state key
// names the chat, after a move: the old one is emptied so that clients do
// not show two bridges.
func (p *Portal) updateBridgeState(ctx context.Context, oldStateKey string) {
	log := zerolog.Ctx(ctx)
	if p.botOutside(ctx) {
		// A direct chat the user opened with a ghost never had m.bridge
		// state (AdoptDM sets none; the bot, no member, cannot), so there
		// is nothing to replace, and the bot's tries would only be refused.
		log.Debug().Msg("No bridge state to move in a direct chat without the bot")
		return
	}
	bot := p.m.matrix.Bot()
	info := p.bridgeInfo(p.Name)
	for _, evtType := range []event.Type{event.StateBridge, event.StateHalfShotBridge} {
		if _, err := p.m.matrix.SendState(ctx, bot, p.RoomID, evtType, p.bridgeStateKey(), info); err != nil {
			log.Warn().Err(err).Stringer("type", evtType).Msg("Failed to set the bridge state of a moved portal")
		}
		if _, err := p.m.matrix.SendState(ctx, bot, p.RoomID, evtType, oldStateKey, struct{}{}); err != nil {
			log.Warn().Err(err).Stringer("type", evtType).Msg("Failed to clear the old bridge state of a moved portal")
		}
	}
}
