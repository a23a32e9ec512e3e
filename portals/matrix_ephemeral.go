package portals

import (
	"context"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// Typing and read receipts from Matrix. They are best effort: they carry
// no event ID, are stale within seconds, and a failure is only logged
// (telling the room that a typing notice failed would be noise).

// QueueTyping tells the portal who is typing in its room now.
func (m *Manager) QueueTyping(p *Portal, typing []id.UserID) {
	m.queueEphemeral(p, func(ctx context.Context) error {
		p.matrixTyping(ctx, typing)
		return nil
	})
}

// QueueReceipt tells the portal that user has read up to eventID.
func (m *Manager) QueueReceipt(p *Portal, user id.UserID, eventID id.EventID) {
	m.queueEphemeral(p, func(ctx context.Context) error {
		p.matrixReceipt(ctx, user, eventID)
		return nil
	})
}

// queueEphemeral drops the item when the portal is busy rather than
// making the homeserver wait for a typing notice.
func (m *Manager) queueEphemeral(p *Portal, fn func(ctx context.Context) error) {
	if !p.tryEnqueue(&queueItem{fn: fn}) {
		m.log.Debug().Stringer("portal", p.Key).Msg("Portal busy, dropping ephemeral event")
	}
}

func (p *Portal) matrixTyping(ctx context.Context, typing []id.UserID) {
	now := make(map[id.UserID]bool, len(typing))
	for _, user := range typing {
		if p.isRealUser(user) {
			now[user] = true
		}
	}
	for user := range now {
		if !p.typing[user] {
			p.sendTyping(ctx, user, true)
		}
	}
	for user := range p.typing {
		if !now[user] {
			p.sendTyping(ctx, user, false)
		}
	}
	p.typing = now
}

func (p *Portal) isRealUser(user id.UserID) bool {
	if user == p.m.matrix.BotMXID() {
		return false
	}
	_, ghost := p.m.ghosts.ParseMXID(user)
	return !ghost
}

func (p *Portal) sendTyping(ctx context.Context, user id.UserID, typing bool) {
	client, _, relay, err := p.sender(ctx, user)
	if err != nil || relay != nil {
		return
	}
	if ts, ok := client.(network.TypingSender); ok {
		if err = ts.SendTyping(ctx, p.Key, typing); err != nil {
			zerolog.Ctx(ctx).Debug().Err(err).Msg("Failed to send typing notice")
		}
	}
}

func (p *Portal) matrixReceipt(ctx context.Context, user id.UserID, eventID id.EventID) {
	if !p.isRealUser(user) {
		return
	}
	msg, err := p.messageByEvent(ctx, eventID)
	if err != nil || msg == nil {
		return
	}
	client, _, relay, err := p.sender(ctx, user)
	if err != nil || relay != nil {
		return
	}
	if rs, ok := client.(network.ReceiptSender); ok {
		if err = rs.SendReceipt(ctx, p.Key, msg.ID); err != nil {
			zerolog.Ctx(ctx).Debug().Err(err).Msg("Failed to send read receipt")
		}
	}
}
