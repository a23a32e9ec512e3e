package puppets

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// OwnStateStore is a state store that keeps Ferry's own state changes
// from being undone by older events still on their way to Ferry. The
// homeserver sends the appservice a room's events in order, Ferry's own
// included; a change Ferry made is in the store from the moment the
// homeserver accepted it, so an event of someone else that comes in
// before its echo is older than it and must not replace it. Telling the
// echo apart needs the event's ID, which mautrix's own record of a sent
// state event lacks (bridge/statestore.go implements this).
type OwnStateStore interface {
	// UpdateOwnState records evt, which Ferry has just sent and the
	// homeserver accepted (it has its ID and sender).
	UpdateOwnState(ctx context.Context, evt *event.Event)
}

// putState is IntentAPI.SendStateEvent without its record of the change
// in the state store, which has no event ID: recordOwnState makes it.
// answered is the homeserver's time of its answer (its Date header), zero
// if it gave none.
func putState(ctx context.Context, intent *appservice.IntentAPI, room id.RoomID, evtType event.Type, stateKey string, content any) (resp *mautrix.RespSendEvent, answered time.Time, err error) {
	if evtType != event.StateMember || stateKey != string(intent.UserID) {
		if err := intent.EnsureJoined(ctx, room); err != nil {
			return nil, time.Time{}, err
		}
	} else if err := intent.EnsureRegistered(ctx); err != nil {
		return nil, time.Time{}, err
	}
	u := intent.Client.BuildClientURL("v3", "rooms", room, "state", evtType.String(), stateKey)
	_, httpResp, err := intent.Client.MakeFullRequestWithResp(ctx, mautrix.FullRequest{
		Method: http.MethodPut, URL: u, RequestJSON: content, ResponseJSON: &resp,
	})
	if httpResp != nil {
		answered, _ = http.ParseTime(httpResp.Header.Get("Date"))
	}
	return resp, answered, err
}

// OwnStateSlack is how much older than the answer to a state change the
// event it names may be and still be the one the change made: a busy
// homeserver takes a while between making the event and answering, and
// its Date header counts whole seconds. A variable for tests.
var OwnStateSlack = 10 * time.Second

// madeEarlier reports whether eventID, the answer to a state change sent
// as intent, is an event from before the change: a homeserver (Dendrite
// and Synapse) answers a change to what the state already is with the
// event that set it, and makes none. No echo of that event is still to
// come; it may have come long ago, or before a restart. Only the event's
// time tells, so it is read; when that fails the change counts as new.
func madeEarlier(ctx context.Context, intent *appservice.IntentAPI, room id.RoomID, eventID id.EventID, answered time.Time) bool {
	if answered.IsZero() {
		return false
	}
	evt, err := intent.Client.GetEvent(ctx, room, eventID)
	if err != nil {
		zerolog.Ctx(ctx).Debug().Err(err).Stringer("event_id", eventID).Msg("Failed to read a sent state event; taking it as new")
		return false
	}
	return time.UnixMilli(evt.Timestamp).Before(answered.Add(-OwnStateSlack))
}

// recordOwnState puts a state event Ferry sent, and the homeserver
// accepted as eventID at answered, in the state store.
func (m *Matrix) recordOwnState(ctx context.Context, intent *appservice.IntentAPI, room id.RoomID, evtType event.Type, stateKey string, content any, eventID id.EventID, answered time.Time) {
	evtType.Class = event.StateEventType
	evt := &event.Event{ID: eventID, Sender: intent.UserID, RoomID: room, Type: evtType, StateKey: &stateKey}
	raw, err := json.Marshal(content)
	if err == nil {
		evt.Content.VeryRaw = raw
		err = json.Unmarshal(raw, &evt.Content.Raw)
	}
	if err == nil {
		err = evt.Content.ParseRaw(evt.Type)
	}
	if err != nil {
		// Only the types the store knows matter, and Ferry's content
		// of those always parses; the echo records it in any case.
		zerolog.Ctx(ctx).Debug().Err(err).Str("event_type", evtType.Type).Msg("Failed to parse a sent state event for the state store")
		return
	}
	if store, ok := m.AS.StateStore.(OwnStateStore); ok {
		if madeEarlier(ctx, intent, room, eventID, answered) {
			// The state was so already: there is no change of Ferry's
			// for the events after it to wait behind, and no echo to
			// wait for. Held as Ferry's own, those events (someone
			// changing it since) would be taken as older ones and left
			// out of the store.
			mautrix.UpdateStateStore(ctx, m.AS.StateStore, evt)
			return
		}
		store.UpdateOwnState(ctx, evt)
		return
	}
	mautrix.UpdateStateStore(ctx, m.AS.StateStore, evt)
}

// FreshPowerLevels reads room's power levels from the homeserver as
// intent, not from the state store, and records them there. A change of
// power levels is sent whole: built on the store's, which hears of a
// change the user made a moment ago only with a later transaction (a
// minute later, while the homeserver backs off a failed one), it would
// undo it. The room's create event, which gives its creators their power
// in rooms of version 12 and never changes, is the store's where it has
// one.
func (m *Matrix) FreshPowerLevels(ctx context.Context, intent *appservice.IntentAPI, room id.RoomID) (*event.PowerLevelsEventContent, error) {
	var levels *event.PowerLevelsEventContent
	err := m.Retry(ctx, "read power levels", func(ctx context.Context) (err error) {
		levels, err = m.readPowerLevels(ctx, intent, room)
		return err
	})
	if err != nil {
		return nil, err
	}
	return levels, nil
}

// readPowerLevels is FreshPowerLevels' one attempt, not retried.
func (m *Matrix) readPowerLevels(ctx context.Context, intent *appservice.IntentAPI, room id.RoomID) (*event.PowerLevelsEventContent, error) {
	levels := &event.PowerLevelsEventContent{}
	// The client's read, not the intent's, which would first join
	// intent's user where the store does not have it in the room.
	if err := intent.Client.StateEvent(ctx, room, event.StatePowerLevels, "", levels); err != nil {
		return nil, err
	}
	create, err := m.AS.StateStore.GetCreate(ctx, room)
	if err == nil && create == nil {
		create, err = intent.Client.FullStateEvent(ctx, room, event.StateCreate, "")
	}
	if err != nil {
		return nil, err
	}
	levels.CreateEvent = create
	return levels, nil
}
