package portals

import (
	"context"
	"errors"
	"fmt"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// Rooms that come to a portal from the Matrix side: a room made for an
// alias query, and a direct chat a user opened with a ghost.

// EnsureAliasRoom makes sure the portal of key has a room that people can
// join by its alias, creating an empty one named name when there is none.
// It does not touch the remote network: the joiner's login does that.
func (m *Manager) EnsureAliasRoom(ctx context.Context, key network.PortalKey, name string, alias id.RoomAlias) error {
	p, err := m.Get(ctx, key)
	if err != nil {
		return err
	}
	return m.Do(ctx, p, func(ctx context.Context) error {
		if p.RoomID == "" {
			return p.createRoom(ctx, nil, name, nil)
		}
		_, err := m.matrix.Bot().CreateAlias(ctx, alias, p.RoomID)
		if err != nil && !errors.Is(err, mautrix.MRoomInUse) {
			return fmt.Errorf("create alias: %w", err)
		}
		return nil
	})
}

// ErrPortalExists is returned by AdoptDM when the chat has a room already.
var ErrPortalExists = errors.New("the chat already has a room")

// EarlierEvents returns the events of room sent before reader, the
// ghost that has just joined it, that Ferry has yet to bridge, oldest
// first, each with the hooks that record its handling. An error says that
// some may be missing; the events returned are bridged all the same.
type EarlierEvents func(ctx context.Context, room id.RoomID, reader *appservice.IntentAPI) ([]EarlierEvent, error)

// EarlierEvent is a Matrix event no transaction brought.
type EarlierEvent struct {
	Event *event.Event
	Hooks MatrixHooks
}

// AdoptDM makes room, a direct chat the login's user opened with ghost,
// the portal of key. The ghost joins it, and what the user wrote before
// (earlier finds it; nil: nothing) is bridged ahead of what follows.
func (m *Manager) AdoptDM(ctx context.Context, key network.PortalKey, room id.RoomID, login *network.Login, other network.UserID, earlier EarlierEvents) (existing id.RoomID, err error) {
	p, err := m.Get(ctx, key)
	if err != nil {
		return "", err
	}
	err = m.Do(ctx, p, func(ctx context.Context) error {
		if p.RoomID != "" {
			existing = p.RoomID
			return ErrPortalExists
		}
		p.RoomID, p.IsDirect, p.OtherUser = room, true, other
		if err := m.db.Portals.Put(ctx, p.Portal); err != nil {
			return fmt.Errorf("store portal room: %w", err)
		}
		m.setRoom(p, room)
		zerolog.Ctx(ctx).Info().Stringer("room_id", room).Stringer("portal", key).Msg("Adopted direct chat as portal")
		ghost, err := p.joinGhost(ctx, login, other)
		if err != nil {
			return err
		}
		if err = p.link(ctx, login); err != nil {
			return err
		}
		if earlier != nil {
			p.bridgeEarlier(ctx, ghost.Intent(), earlier)
		}
		return nil
	})
	return existing, err
}

// bridgeEarlier bridges the events the room had before the ghost joined:
// a client that opens a DM and writes at once (Element does) sends its
// first message while the ghost is only invited, and the homeserver
// pushes nothing to Ferry until one of its users is joined. It runs on
// the portal's goroutine, so the events go before any that came with a
// transaction since the join, which wait in the queue.
func (p *Portal) bridgeEarlier(ctx context.Context, ghost *appservice.IntentAPI, earlier EarlierEvents) {
	evts, err := earlier(ctx, p.RoomID, ghost)
	for _, e := range evts {
		p.handle(ctx, &queueItem{matrix: e.Event, firstSeen: true, done: e.Hooks.Done, left: e.Hooks.Left})
	}
	if err == nil {
		return
	}
	zerolog.Ctx(ctx).Err(err).Stringer("room_id", p.RoomID).Int("recovered", len(evts)).Msg("Failed to recover the messages sent before the ghost joined")
	// The network's message is Markdown (network.UserError).
	notice := noticeContent(fmt.Sprintf("⚠️ Messages sent here before I joined may not have reached %s (%s). Please send them again if they are missing.",
		p.m.dir.NetworkName(p.Key.Network), network.UserMessage(err, "see the bridge log")))
	if _, err = p.sendNotice(ctx, notice); err != nil {
		zerolog.Ctx(ctx).Err(err).Msg("Failed to report unrecovered messages in the room")
	}
}
