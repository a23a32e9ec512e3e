package portals

import (
	"context"
	"fmt"
	"sync"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// spaces creates and fills one Matrix space per login, so that a user's
// WhatsApp chats and IRC channels do not mix in one flat room list.
type spaces struct {
	lock  sync.Mutex
	locks map[network.LoginID]*sync.Mutex
}

func (s *spaces) loginLock(login network.LoginID) *sync.Mutex {
	s.lock.Lock()
	defer s.lock.Unlock()
	if s.locks == nil {
		s.locks = make(map[network.LoginID]*sync.Mutex)
	}
	l, ok := s.locks[login]
	if !ok {
		l = &sync.Mutex{}
		s.locks[login] = l
	}
	return l
}

// addToSpace puts room into the space of login, creating the space first
// when the login has none. Failures are logged, not returned: a missing
// space entry must not stop a message.
func (m *Manager) addToSpace(ctx context.Context, net network.NetworkID, login *network.Login, room id.RoomID) {
	log := zerolog.Ctx(ctx)
	space, err := m.loginSpace(ctx, net, login)
	if err != nil {
		log.Warn().Err(err).Msg("Failed to get the login's space")
		return
	}
	via := []string{m.matrix.BotMXID().Homeserver()}
	if _, err = m.matrix.SendState(ctx, m.matrix.Bot(), space, event.StateSpaceChild, room.String(), &event.SpaceChildEventContent{Via: via}); err != nil {
		log.Warn().Err(err).Stringer("space_id", space).Msg("Failed to add portal to space")
	}
}

func (m *Manager) loginSpace(ctx context.Context, net network.NetworkID, login *network.Login) (id.RoomID, error) {
	l := m.spaces.loginLock(login.ID)
	l.Lock()
	defer l.Unlock()
	row, err := m.db.Logins.Get(ctx, net, login.ID)
	if err != nil {
		return "", fmt.Errorf("load login: %w", err)
	}
	if row == nil {
		return "", fmt.Errorf("login %s is not stored", login.ID)
	}
	if row.SpaceRoom != "" {
		return row.SpaceRoom, nil
	}
	bot := m.matrix.BotMXID()
	space, err := m.matrix.CreateRoom(ctx, &mautrix.ReqCreateRoom{
		Visibility:      "private",
		Preset:          "private_chat",
		Name:            fmt.Sprintf("%s (%s)", m.dir.NetworkName(net), login.RemoteName),
		Topic:           fmt.Sprintf("Your %s chats, bridged by Ferry", m.dir.NetworkName(net)),
		Invite:          []id.UserID{login.User},
		CreationContent: map[string]any{"type": event.RoomTypeSpace},
		PowerLevelOverride: &event.PowerLevelsEventContent{
			Users: map[id.UserID]int{bot: botPowerLevel},
			// Only the bridge adds and removes rooms.
			EventsDefault: botPowerLevel,
		},
	})
	if err != nil {
		return "", fmt.Errorf("create space: %w", err)
	}
	row.SpaceRoom = space
	if err = m.db.Logins.Put(ctx, row); err != nil {
		return "", fmt.Errorf("store space: %w", err)
	}
	zerolog.Ctx(ctx).Info().Stringer("space_id", space).Msg("Created space for login")
	return space, nil
}
