package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"runtime/debug"
	"strings"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/portals"
)

// dispatch hands Matrix events, in the order they arrived, to the room's
// portal queue or to the management room's serial queue. It replays
// events left pending by the previous run first.
func (b *Bridge) dispatch(pending []*database.QueuedEvent) {
	defer b.wg.Done()
	for _, qe := range pending {
		b.route(inbound{qe: qe}, false)
	}
	for {
		select {
		case <-b.ctx.Done():
			return
		case in := <-b.events:
			b.route(in, true)
		}
	}
}

// route hands an event to its portal or to its room's serial queue.
// firstSeen says that the event was new to the store when it arrived;
// events replayed at start are not.
func (b *Bridge) route(in inbound, firstSeen bool) {
	ctx := b.ctx
	qe := in.qe
	log := b.Log.With().Stringer("event_id", qe.EventID).Stringer("room_id", qe.RoomID).Logger()
	if !firstSeen {
		b.replayed.Store(qe.EventID, struct{}{})
	}
	done := func() {
		b.replayed.Delete(qe.EventID)
		if in.early != nil {
			b.earlyHandled(in.early, qe.EventID)
		} else {
			b.markHandled(qe.EventID)
		}
	}
	hooks := portals.MatrixHooks{Done: done}
	if in.early != nil {
		hooks.Left = in.early.leave
	}
	evt, err := parseEvent(qe.Data)
	if err != nil {
		log.Warn().Err(err).Msg("Dropping unparseable event")
		done()
		return
	}
	evt.Mautrix.ReceivedAt = qe.ReceivedAt // for the metrics' timing of Ferry's share
	log = log.With().Str("event_type", evt.Type.Type).Stringer("sender", evt.Sender).Logger()
	ctx = log.WithContext(ctx)
	log.Trace().Msg("Routing Matrix event")
	// Its state, if any, is in the state store already: putTransaction
	// put it there as it arrived, in the homeserver's order.
	if b.isOwnUser(evt.Sender) {
		// Ferry's own bot and ghosts: Dendrite sends these back to us.
		done()
		return
	}
	portal, err := b.Portals.ByRoom(ctx, evt.RoomID)
	if err != nil {
		log.Err(err).Msg("Failed to look up portal")
		// Leave it pending: a database hiccup must not lose the event.
		return
	}
	// An edit of a command or a secret the bot deleted is the bot's
	// too, even one whose new text lacks the prefix: bridged, it would
	// stay in the chat ("never bridged"), a corrected secret readable.
	// Its command's own handling may still wait in the room's queue:
	// the edit waits behind it (editsForBot).
	if portal != nil {
		switch {
		case b.isCommand(evt, true):
			b.edits.forTheBot(evt.ID)
		case !b.editsForBot(evt):
			b.Portals.QueueMatrix(portal, evt, firstSeen, hooks)
			return
		}
	}
	b.rooms.run(string(evt.RoomID), func() {
		if b.ctx.Err() != nil {
			// Ferry is stopping: the event waits for the next start, as
			// one waiting in a portal does. Handled now, its answer
			// could not be sent, and it would be marked handled all the
			// same (markHandled), the command never answered.
			b.replayed.Delete(qe.EventID)
			return
		}
		defer done()
		defer handledHook(evt)
		defer func() {
			if r := recover(); r != nil {
				log.Error().Any("panic", r).Str("stack", string(debug.Stack())).Msg("Panic while handling event")
				if evt.Type == event.EventMessage {
					// A command: its sender waits for an answer, given
					// where the command's own would have been.
					answer := &commandContext{b: b, room: evt.RoomID, inManagementRoom: portal == nil}
					answer.reply("⚠️ That failed: an internal error (see the bridge log).")
				}
			}
		}()
		b.handleNonPortalEvent(ctx, evt, portal != nil)
	})
}

// updateStateStore records a state event in the state store without
// handling it.
func (b *Bridge) updateStateStore(ctx context.Context, raw json.RawMessage) {
	if evt, err := parseEvent(raw); err == nil && evt.Type.IsState() {
		mautrix.UpdateStateStore(ctx, b.AS.StateStore, evt)
	}
}

func parseEvent(data json.RawMessage) (*event.Event, error) {
	var evt event.Event
	if err := json.Unmarshal(data, &evt); err != nil {
		return nil, err
	}
	if evt.StateKey != nil {
		evt.Type.Class = event.StateEventType
	} else {
		evt.Type.Class = event.MessageEventType
	}
	if err := evt.Content.ParseRaw(evt.Type); err != nil && !errors.Is(err, event.ErrUnsupportedContentType) && !errors.Is(err, event.ErrContentAlreadyParsed) {
		return nil, err
	}
	return &evt, nil
}

// isOwnUser reports whether user is the bot or one of Ferry's ghosts.
func (b *Bridge) isOwnUser(user id.UserID) bool {
	if user == b.Matrix.BotMXID() {
		return true
	}
	key, ok := b.Ghosts.ParseMXID(user)
	if !ok {
		return false
	}
	_, known := b.networks[key.Network]
	return known
}

// commandPrefix starts a command in rooms other than the management room.
const commandPrefix = "!ferry"

// isCommand reports whether evt is a bot command; in portal rooms only
// messages with the prefix are.
func (b *Bridge) isCommand(evt *event.Event, inPortal bool) bool {
	if evt.Type != event.EventMessage {
		return false
	}
	msg := evt.Content.AsMessage()
	if msg == nil || msg.MsgType != event.MsgText {
		return false
	}
	body := strings.TrimSpace(msg.Body)
	if msg.NewContent != nil && msg.RelatesTo.GetReplaceID() != "" {
		// An edit's own body is "* " and the new text: the new text says
		// whether it is for the bot, as the message it edits did.
		body = strings.TrimSpace(msg.NewContent.Body)
	}
	if inPortal {
		_, found := cutCommandPrefix(body)
		return found
	}
	return true
}

// handleNonPortalEvent handles events of rooms that are not portals, and
// commands in portal rooms.
func (b *Bridge) handleNonPortalEvent(ctx context.Context, evt *event.Event, inPortal bool) {
	switch evt.Type {
	case event.StateMember:
		b.handleMember(ctx, evt)
	case event.StateEncryption:
		b.handleEncryption(ctx, evt.RoomID)
	case event.StateJoinRules, event.StateHistoryVisibility:
		b.roomOpened(ctx, evt)
	case event.EventMessage:
		if inPortal {
			b.handleCommandMessage(ctx, evt, true)
			return
		}
		mgmt, err := b.isManagementRoom(ctx, evt.Sender, evt.RoomID)
		if err != nil {
			zerolog.Ctx(ctx).Err(err).Msg("Failed to check management room")
			return
		}
		switch {
		case mgmt || b.isCommand(evt, true):
			b.handleCommandMessage(ctx, evt, !mgmt)
		case b.flowAsksIn(evt.Sender, evt.RoomID):
			// A login asking here began when this was the management
			// room; a newer one took its place since (login_rooms.go).
			b.handleCommandMessage(ctx, evt, false)
		case b.editsHeldSecret(evt):
			// The edit of a password deleted here (the answer to a
			// login that asked here, its late answer) holds the
			// corrected one: deleted too, as in the management room.
			b.handleCommandMessage(ctx, evt, true)
		case b.takeLateAnswerElsewhere(ctx, evt):
			// The late answer to a login question that had ended in
			// such a room (login_late.go): deleted, as in the
			// management room.
		}
	}
}

// handleEphemeral takes typing and receipt events. They carry no event ID
// and are worthless after a few seconds, so they skip the durable queue.
// Dendrite does not send them to appservices at all (MSC2409 missing);
// Synapse does.
func (b *Bridge) handleEphemeral(raw json.RawMessage) {
	var evt event.Event
	if err := json.Unmarshal(raw, &evt); err != nil || evt.RoomID == "" {
		return
	}
	evt.Type.Class = event.EphemeralEventType
	if err := evt.Content.ParseRaw(evt.Type); err != nil {
		return
	}
	portal, err := b.Portals.ByRoom(b.ctx, evt.RoomID)
	if err != nil || portal == nil {
		return
	}
	switch content := evt.Content.Parsed.(type) {
	case *event.TypingEventContent:
		b.Portals.QueueTyping(portal, content.UserIDs)
	case *event.ReceiptEventContent:
		for eventID, receipts := range *content {
			for user := range receipts[event.ReceiptTypeRead] {
				b.Portals.QueueReceipt(portal, user, eventID)
			}
		}
	}
}
