package portals

import (
	"context"
	"fmt"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// sendNotice posts one of the bridge's notices (a failed send, events
// dropped) in the portal's room: as the bot where it is a member, and in
// a direct chat the user opened with a ghost, where the bot was never
// invited, as that ghost, the one user of Ferry's there.
func (p *Portal) sendNotice(ctx context.Context, content *event.MessageEventContent) (id.EventID, error) {
	bot := p.m.matrix.Bot()
	if !p.IsDirect || p.OtherUser == "" || p.m.matrix.AS.StateStore.IsInRoom(ctx, p.RoomID, bot.UserID) {
		return p.m.matrix.SendNotice(ctx, p.RoomID, content)
	}
	ghost, err := p.m.ghosts.Get(ctx, network.GhostKey{Network: p.Key.Network, User: p.OtherUser})
	if err != nil {
		return "", fmt.Errorf("find the direct chat's ghost to post as: %w", err)
	}
	return p.m.matrix.SendMessage(ctx, ghost.Intent, p.RoomID, event.EventMessage, content, time.Time{}, "")
}

// SendNotice posts a notice of the bridge's in room: through its portal
// when the room is one (see sendNotice), otherwise as the bot.
func (m *Manager) SendNotice(ctx context.Context, room id.RoomID, content *event.MessageEventContent) (id.EventID, error) {
	p, err := m.ByRoom(ctx, room)
	if err != nil || p == nil {
		return m.matrix.SendNotice(ctx, room, content)
	}
	return p.sendNotice(ctx, content)
}
