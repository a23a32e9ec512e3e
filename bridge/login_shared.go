package bridge

import (
	"context"
	"errors"
	"fmt"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// A login asks its questions, shows its codes and takes its answers in
// the room it started in, which was its user's alone then. Once someone
// else is invited into that room or joins it, a password typed there is
// typed in front of them, and a QR code shown there could link their
// phone: the login stops, and says why, so that its user does not answer
// it there. This holds as well for an earlier management room, where a
// login still asks (login_rooms.go), and for a room opened to anyone
// (roomOpened).

// stopSharedFlows stops the login flows asking in room of users other
// than newcomer, who was just invited into it or joined it ("" when the
// room was opened to anyone).
func (b *Bridge) stopSharedFlows(ctx context.Context, room id.RoomID, newcomer id.UserID) {
	b.flowLock.Lock()
	var shared []*loginFlow
	for _, flow := range b.flows {
		if flow.room == room && flow.user != newcomer {
			shared = append(shared, flow)
		}
	}
	b.flowLock.Unlock()
	for _, flow := range shared {
		flow.lock.Lock()
		// A flow that kept its login, or ended on its own, has told
		// its user itself how it ended.
		stop := !flow.kept && !flow.ending
		if stop {
			flow.shared = true
		}
		flow.lock.Unlock()
		if !stop {
			continue
		}
		zerolog.Ctx(ctx).Info().Stringer("user_id", flow.user).Str("network", string(flow.net)).
			Stringer("newcomer", newcomer).Msg("Stopping a login flow: its room is no longer its user's alone")
		b.cancelFlow(flow)
	}
}

// noticeShared tells the user of flow, stopped by stopSharedFlows, why.
func (b *Bridge) noticeShared(ctx context.Context, flow *loginFlow) {
	b.notice(ctx, flow.room, fmt.Sprintf("Someone else can read this room now, so I stopped your %s login here: do not send your password here. "+
		"Send `login %s` in a direct chat with me, where no one else reads it.", b.NetworkName(flow.net), flow.net))
}

// stoppedShared reports whether stopSharedFlows stopped f.
func (f *loginFlow) stoppedShared() bool {
	f.lock.Lock()
	defer f.lock.Unlock()
	return f.shared
}

// memberJoined handles newcomer's join of room, not a portal. A room
// they could join uninvited (a public one) may be someone's management
// room, or hold a login: neither is private any more.
func (b *Bridge) memberJoined(ctx context.Context, room id.RoomID, newcomer id.UserID) {
	b.stopSharedFlows(ctx, room, newcomer)
	members, err := b.AS.StateStore.GetRoomJoinedOrInvitedMembers(ctx, room)
	if err != nil {
		zerolog.Ctx(ctx).Err(err).Msg("Failed to list the members of a room someone joined")
		return
	}
	var others []id.UserID
	for _, member := range members {
		if member != newcomer && member != b.Matrix.BotMXID() {
			others = append(others, member)
		}
	}
	// A management room holds its owner and the bot alone: in a room
	// with more people the newcomer shares no one's management room
	// (an invite or a join before made it one no more).
	if len(others) == 1 {
		b.managementRoomShared(ctx, others[0], room)
	}
}

// roomOpened handles a change of the join rules or the history
// visibility of room, not a portal. A room made public can be joined by
// anyone at any moment, and one made world_readable read by anyone
// without joining: a login asking there is no longer asking its user
// alone, as after an invite, and stops with the same word why. A knock
// is not enough: the knocker reads nothing until let in, and the invite
// that lets them in stops the login then.
func (b *Bridge) roomOpened(ctx context.Context, evt *event.Event) {
	var opened string
	switch evt.Type {
	case event.StateJoinRules:
		opened = openedByJoinRules(evt.Content.AsJoinRules())
	case event.StateHistoryVisibility:
		opened = openedByHistory(evt.Content.AsHistoryVisibility())
	}
	if opened == "" {
		return
	}
	log := zerolog.Ctx(ctx).With().Str("opened", opened).Logger()
	b.stopSharedFlows(log.WithContext(ctx), evt.RoomID, "")
}

// openedByJoinRules says how rules open a room to anyone, "" if not.
func openedByJoinRules(rules *event.JoinRulesEventContent) string {
	if rules.JoinRule == event.JoinRulePublic {
		return "join rules public"
	}
	return ""
}

// openedByHistory says how vis opens a room to anyone, "" if not.
func openedByHistory(vis *event.HistoryVisibilityEventContent) string {
	if vis.HistoryVisibility == event.HistoryVisibilityWorldReadable {
		return "history world_readable"
	}
	return ""
}

// roomOpenedBefore says how room is already open to anyone ("" if it is
// not): a login must not start there. roomOpened stops a login when the
// room is opened while it runs, but a room opened before the login began
// sends no change to stop it, and the login would ask for the password
// where anyone may read it. An error means the room could not be
// checked: the login does not start then either, since the room may be
// open (a public room whose read failed once was asked in before).
func (b *Bridge) roomOpenedBefore(ctx context.Context, room id.RoomID) (string, error) {
	bot := b.Matrix.Bot()
	var rules event.JoinRulesEventContent
	if err := bot.StateEvent(ctx, room, event.StateJoinRules, "", &rules); err != nil && !errors.Is(err, mautrix.MNotFound) {
		return "", fmt.Errorf("read the join rules: %w", err)
	} else if err == nil {
		if opened := openedByJoinRules(&rules); opened != "" {
			return opened, nil
		}
	}
	// A room without either event has the default ("invite" join rules,
	// "shared" history): not found is no error here.
	var vis event.HistoryVisibilityEventContent
	if err := bot.StateEvent(ctx, room, event.StateHistoryVisibility, "", &vis); err != nil && !errors.Is(err, mautrix.MNotFound) {
		return "", fmt.Errorf("read the history visibility: %w", err)
	} else if err == nil {
		return openedByHistory(&vis), nil
	}
	return "", nil
}
