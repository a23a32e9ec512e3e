package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/portals"
)

// Messages written in a direct chat before its ghost joined. The
// homeserver pushes a room's events to Ferry only once one of Ferry's
// users is joined, and a ghost is only invited when the user's client
// (Element does) sends the first message right after creating the room.
// Once the ghost has joined, Ferry reads those events back from the
// room's history and takes them as a transaction would have brought them:
// stored under their event IDs, so that each is bridged once, whichever
// way it comes.

// earlierHistoryBound is how many of a new DM's most recent events are
// read; a fresh room's creation, the ghost's invite and join and the
// user's first messages fit well within it.
const earlierHistoryBound = 50

// errHistoryCut says that the events read did not reach back to the
// room's creation, so that older messages may have been missed.
var errHistoryCut = network.UserErrorf("only the last %d events of the room were looked at", earlierHistoryBound)

// earlierDMEvents implements portals.EarlierEvents: it reads the room's
// history as reader, the ghost that has just joined it.
func (b *Bridge) earlierDMEvents(ctx context.Context, room id.RoomID, reader *appservice.IntentAPI) ([]portals.EarlierEvent, error) {
	history, err := reader.Messages(ctx, room, "", "", mautrix.DirectionBackward, nil, earlierHistoryBound)
	if err != nil {
		return nil, fmt.Errorf("read the room's history: %w", err)
	}
	for _, evt := range history.Chunk {
		evt.RoomID = room // the store and the portal need it; a server may leave it out here
	}
	before, whole := beforeJoin(history.Chunk, reader.UserID)
	queued, err := b.bridgeable(ctx, before)
	if err != nil {
		return nil, err
	}
	fresh, err := b.claimEarlier(ctx, queued)
	if err != nil {
		return nil, fmt.Errorf("store the earlier events: %w", err)
	}
	out := make([]portals.EarlierEvent, 0, len(fresh))
	for _, qe := range fresh {
		evt, err := parseEvent(qe.Data)
		if err != nil {
			// Parsed once already (bridgeable); cannot happen.
			b.markHandled(qe.EventID)
			continue
		}
		evt.Mautrix.ReceivedAt = qe.ReceivedAt
		evtID := qe.EventID
		out = append(out, portals.EarlierEvent{Event: evt, Hooks: portals.MatrixHooks{Done: func() { b.markHandled(evtID) }}})
	}
	zerolog.Ctx(ctx).Info().Stringer("room_id", room).Int("read", len(history.Chunk)).Int("before_join", len(before)).Int("recovered", len(out)).
		Bool("whole", whole).Msg("Read the DM's history from before the ghost joined")
	if !whole {
		return out, errHistoryCut
	}
	return out, nil
}

// beforeJoin takes a page of history, newest first, and returns the
// events older than ghost's join, oldest first. whole says that the page
// holds both the join and the room's creation, so nothing older exists.
// Events after the join are not needed: the homeserver pushes them.
func beforeJoin(newestFirst []*event.Event, ghost id.UserID) (before []*event.Event, whole bool) {
	joined, created := false, false
	for _, evt := range newestFirst {
		switch {
		case !joined:
			joined = isJoinOf(evt, ghost)
		case evt.Type == event.StateCreate:
			created = true
		default:
			before = append(before, evt)
		}
	}
	slices.Reverse(before)
	return before, joined && created
}

func isJoinOf(evt *event.Event, user id.UserID) bool {
	if evt.Type != event.StateMember || evt.StateKey == nil || id.UserID(*evt.StateKey) != user {
		return false
	}
	// Content of /messages events is not parsed yet.
	var member event.MemberEventContent
	return json.Unmarshal(evt.Content.VeryRaw, &member) == nil && member.Membership == event.MembershipJoin
}

// bridgeable keeps the events a portal would bridge had a transaction
// brought them: no state (the room's setup, the invite), nothing from
// Ferry's own users, no bot command. They come back in the form a
// transaction stores.
func (b *Bridge) bridgeable(ctx context.Context, evts []*event.Event) ([]*database.QueuedEvent, error) {
	received := time.Now()
	out := make([]*database.QueuedEvent, 0, len(evts))
	for _, evt := range evts {
		if evt.StateKey != nil || b.isOwnUser(evt.Sender) {
			continue
		}
		data, err := json.Marshal(evt)
		if err != nil {
			return nil, fmt.Errorf("encode event %s: %w", evt.ID, err)
		}
		parsed, err := parseEvent(data)
		if err != nil {
			zerolog.Ctx(ctx).Warn().Err(err).Stringer("event_id", evt.ID).Msg("Skipping unparseable earlier event")
			continue
		}
		if b.isCommand(parsed, true) {
			zerolog.Ctx(ctx).Info().Stringer("event_id", evt.ID).Msg("Not running a command sent before the ghost joined")
			continue
		}
		out = append(out, &database.QueuedEvent{EventID: evt.ID, RoomID: evt.RoomID, Data: data, ReceivedAt: received})
	}
	return out, nil
}

// claimEarlier stores events read from history and returns those new to
// the store, which are the caller's to bridge. Under txnLock, so that a
// transaction bringing one of them at the same time either finds it
// stored, or has stored (or routed, see unstored) it first.
func (b *Bridge) claimEarlier(ctx context.Context, evts []*database.QueuedEvent) ([]*database.QueuedEvent, error) {
	if len(evts) == 0 {
		return nil, nil
	}
	b.txnLock.Lock()
	defer b.txnLock.Unlock()
	evts = slices.DeleteFunc(evts, func(qe *database.QueuedEvent) bool { return b.unstored[qe.EventID] != nil })
	return b.DB.MatrixEvents.Enqueue(ctx, evts)
}
