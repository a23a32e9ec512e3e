package puppets

import (
	"context"
	"encoding/json"
	"net/http"

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
func putState(ctx context.Context, intent *appservice.IntentAPI, room id.RoomID, evtType event.Type, stateKey string, content any) (*mautrix.RespSendEvent, error) {
	if evtType != event.StateMember || stateKey != string(intent.UserID) {
		if err := intent.EnsureJoined(ctx, room); err != nil {
			return nil, err
		}
	} else if err := intent.EnsureRegistered(ctx); err != nil {
		return nil, err
	}
	var resp *mautrix.RespSendEvent
	u := intent.Client.BuildClientURL("v3", "rooms", room, "state", evtType.String(), stateKey)
	_, err := intent.Client.MakeRequest(ctx, http.MethodPut, u, content, &resp)
	return resp, err
}

// recordOwnState puts a state event Ferry sent, and the homeserver
// accepted as eventID, in the state store.
func (m *Matrix) recordOwnState(ctx context.Context, sender id.UserID, room id.RoomID, evtType event.Type, stateKey string, content any, eventID id.EventID) {
	evtType.Class = event.StateEventType
	evt := &event.Event{ID: eventID, Sender: sender, RoomID: room, Type: evtType, StateKey: &stateKey}
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
		store.UpdateOwnState(ctx, evt)
		return
	}
	mautrix.UpdateStateStore(ctx, m.AS.StateStore, evt)
}
