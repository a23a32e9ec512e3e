package puppets

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// creationNonceKey is the field of a room's creation content (its
// m.room.create event, which nobody can change) that holds the nonce of
// the CreateRoom call that made it.
const creationNonceKey = "io.github.ferrybridge.creation_nonce"

func creationNonce() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("room creation nonce: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// answerLost says whether a failed createRoom may have made the room
// all the same: the request may have reached the homeserver and its
// answer been lost on the way back (no answer, or a gateway's error). A
// homeserver's own refusal, or a rate limit, made nothing.
func answerLost(err error) bool {
	status, ok := answerStatus(err)
	switch {
	case !ok:
		return false
	case status == 0, status == http.StatusInternalServerError, status == http.StatusBadGateway,
		status == http.StatusServiceUnavailable, status == http.StatusGatewayTimeout:
		return true
	}
	return false
}

// createRoomSettle is how long a retry after a createRoom that may have
// made the room keeps looking for it before it makes one. A front proxy
// may answer 504 before its homeserver has even begun on the request
// (the homeserver is slow: it is why the proxy gave up); the room then
// appears only later, and a retry that looked once, at once, made a
// second one. Nothing tells when the first request is over, so this is a
// bound, not a proof: it covers a homeserver up to this much behind.
var createRoomSettle = 10 * time.Second

// awaitCreatedRoom is findCreatedRoom, looked again with growing pauses
// (from half a second) while it finds nothing, for up to createRoomSettle.
// A look reads the create events of the rooms the last did not.
func (m *Matrix) awaitCreatedRoom(ctx context.Context, req *mautrix.ReqCreateRoom, nonce string) (id.RoomID, error) {
	deadline := time.Now().Add(createRoomSettle)
	pause := 500 * time.Millisecond
	checked := make(map[id.RoomID]bool)
	for {
		room, err := m.findCreatedRoom(ctx, req, nonce, checked)
		if err != nil || room != "" || time.Now().Add(pause).After(deadline) {
			return room, err
		}
		zerolog.Ctx(ctx).Debug().Dur("look_again_in", pause).Msg("The room of a createRoom whose answer was lost is not there yet")
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(pause):
		}
		pause *= 2
	}
}

// findCreatedRoom looks among the bot's rooms for the one req made
// (carrying nonce) and returns it, "" if there is none. Only after a
// createRoom whose answer was lost: it reads every room's create event,
// newest first in the homeserver's usual order, but for the rooms in
// checked, to which it adds those it read. A room found is recorded in
// the state store as a created one is.
func (m *Matrix) findCreatedRoom(ctx context.Context, req *mautrix.ReqCreateRoom, nonce string, checked map[id.RoomID]bool) (id.RoomID, error) {
	bot := m.Bot()
	joined, err := bot.JoinedRooms(ctx)
	if err != nil {
		return "", fmt.Errorf("list the bot's rooms: %w", err)
	}
	for i := len(joined.JoinedRooms) - 1; i >= 0; i-- {
		room := joined.JoinedRooms[i]
		if checked[room] {
			continue
		}
		var create map[string]any
		// The client's own call: the intent's would first make sure the
		// bot is in the room, by the state store, which does not know
		// the room being looked for.
		if err = bot.Client.StateEvent(ctx, room, event.StateCreate, "", &create); err != nil {
			if errors.Is(err, mautrix.MNotFound) || errors.Is(err, mautrix.MForbidden) {
				continue
			}
			return "", fmt.Errorf("read the create event of %s: %w", room, err)
		}
		checked[room] = true
		if create[creationNonceKey] != nonce {
			continue
		}
		zerolog.Ctx(ctx).Info().Stringer("room_id", room).Msg("Found the room a createRoom with a lost answer made")
		m.recordCreated(ctx, room, req)
		return room, nil
	}
	return "", nil
}

// recordCreated puts in the state store what mautrix records after a
// createRoom it saw succeed: the bot joined, the initial state. Not the
// invitees as invited: the room was made a while ago, and an invitee may
// have joined since, which Ferry may have heard already; recording
// "invite" over that would stand until the invitee's next membership
// event, and as Ferry's own change it would even have that join, still
// on its way, taken for an older event. The room's members are read from
// the homeserver instead, and only those the store has no record of are
// filled in (room_create_members.go); failing the read, the store learns
// them from the room's events as they come.
func (m *Matrix) recordCreated(ctx context.Context, room id.RoomID, req *mautrix.ReqCreateRoom) {
	store := m.AS.StateStore
	log := zerolog.Ctx(ctx).With().Stringer("room_id", room).Logger()
	if err := store.SetMembership(ctx, room, m.BotMXID(), event.MembershipJoin); err != nil {
		log.Warn().Err(err).Msg("Failed to record the bot's membership of a found room")
	}
	for _, evt := range req.InitialState {
		copied := *evt
		copied.RoomID = room
		if copied.StateKey == nil {
			copied.StateKey = new(string)
		}
		mautrix.UpdateStateStore(ctx, store, &copied)
	}
	if err := m.fillFoundMembers(ctx, room); err != nil {
		log.Warn().Err(err).Msg("Failed to record the members of a found room; the state store learns them from its events")
	}
}
