package portals

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/format"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// noticeContent is one of the bridge's notices, written in Markdown as a
// network.UserError's message is (a network's reason is put in them as
// it came): rendered, its code spans (network.CodeSpan) show as code, and
// words from outside, which go in through network.Literal, as written,
// not with the backslashes of their escapes.
func noticeContent(markdown string) *event.MessageEventContent {
	content := format.RenderMarkdown(markdown, true, false)
	content.MsgType = event.MsgNotice
	return &content
}

// sendNotice posts one of the bridge's notices (a failed send, events
// dropped) in the portal's room: as the bot where it is a member, and in
// a direct chat the user opened with a ghost, where the bot was never
// invited, as that ghost, the one user of Ferry's there.
func (p *Portal) sendNotice(ctx context.Context, content *event.MessageEventContent) (id.EventID, error) {
	return p.sendNoticeTxn(ctx, content, "")
}

// sendNoticeTxn is sendNotice with the transaction ID txnID ("": a new
// one): a notice tried again with the ID of a try whose answer was lost
// (cut short by the stop as the homeserver took it) is answered with the
// event that try made, not posted twice.
func (p *Portal) sendNoticeTxn(ctx context.Context, content *event.MessageEventContent, txnID string) (id.EventID, error) {
	intent, err := p.botStandIn(ctx)
	if err != nil {
		return "", fmt.Errorf("find who posts for the bot: %w", err)
	}
	return p.m.matrix.SendMessage(ctx, intent, p.RoomID, event.EventMessage, content, time.Time{}, txnID)
}

// botStandIn is who acts for the bot in the portal's room: the bot, or,
// in a direct chat the user opened with a ghost, where the bot was never
// invited (botOutside), that ghost, with the power the user's client
// gave it. puppets' rejoinInviter, which finds who invites a refused
// ghost back from the room's members and levels alone, says why the two
// are not one.
func (p *Portal) botStandIn(ctx context.Context) (*appservice.IntentAPI, error) {
	if !p.botOutside(ctx) {
		return p.m.matrix.Bot(), nil
	}
	ghost, err := p.m.ghosts.Get(ctx, network.GhostKey{Network: p.Key.Network, User: p.OtherUser})
	if err != nil {
		return nil, fmt.Errorf("find the direct chat's ghost: %w", err)
	}
	return ghost.Intent(), nil
}

// noticeTxnSeq makes newNoticeTxn's IDs unique within the process.
var noticeTxnSeq atomic.Uint64

// newNoticeTxn is a transaction ID for a notice that may be tried more
// than once (notice_held.go, durable_outage_lost.go): unique within the
// process, and across runs by the time it was made.
func newNoticeTxn() string {
	return fmt.Sprintf("ferry-notice-%d-%d", time.Now().UnixNano(), noticeTxnSeq.Add(1))
}

// botOutside says whether the portal's room is a direct chat the user
// opened with a ghost, where the bot was never invited: that ghost, the
// one user of Ferry's there, acts for the bot.
func (p *Portal) botOutside(ctx context.Context) bool {
	return p.IsDirect && p.OtherUser != "" && !p.m.matrix.AS.StateStore.IsInRoom(ctx, p.RoomID, p.m.matrix.BotMXID())
}

// inviterFor is who invites user's ghost where it must be invited to
// join: the bot, or, where the bot is outside, the direct chat's ghost
// (botStandIn), a member with the power the user's client gave it.
// Without it the network could never send there as another ghost (an
// IRC peer whose ghost changed with the server's CASEMAPPING): only
// members may invite, and every message would fail with M_FORBIDDEN. The
// direct chat's own ghost is the stand-in and is never invited by itself
// (nil: the bot).
func (p *Portal) inviterFor(ctx context.Context, user network.UserID) (*appservice.IntentAPI, error) {
	if user == p.OtherUser {
		return nil, nil
	}
	inviter, err := p.botStandIn(ctx)
	if err != nil {
		return nil, fmt.Errorf("find who invites the ghost: %w", err)
	}
	return inviter, nil
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
