package portals

import (
	"context"
	"errors"
	"fmt"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
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

// AdoptDM makes room, a direct chat the login's user opened with ghost,
// the portal of key. The ghost joins it.
func (m *Manager) AdoptDM(ctx context.Context, key network.PortalKey, room id.RoomID, login *network.Login, other network.UserID) (existing id.RoomID, err error) {
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
		if _, err := p.joinGhost(ctx, login, other); err != nil {
			return err
		}
		return p.link(ctx, login)
	})
	return existing, err
}
