package puppets

import (
	"context"
	"fmt"
	"net/http"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// The members of a room read from the homeserver: those of a found room
// (recordCreated), of a portal whose ghosts that left the chat are taken
// out (portals' departedGhosts), of a room the bot is invited into (the
// bridge's management rooms). The homeserver's list is older than any
// membership event Ferry hears after it was read: the room's events keep
// coming in while the list is on its way and being recorded. mautrix's
// Members and JoinedMembers replace the room's memberships in the store
// with the list, and so undid a join, leave or kick heard in the moment
// between the read and the write, until that member's next event. So the
// list only fills in the members the store has no record of; for the
// others, what the store heard is as new as the list, or newer (and a
// membership the list has newer than the store's record is on its way to
// Ferry as an event).

// MemberFiller is a state store that records members only where it has
// no record of them, in one step with respect to the membership events
// it is given (bridge/statestore.go). Other stores are asked and written
// member by member.
type MemberFiller interface {
	FillMembers(ctx context.Context, room id.RoomID, members []*event.Event) error
}

// membersRead, when set (by a test only), is called between the read of
// a room's members and their record.
var membersRead func()

// fillFoundMembers reads room's members from the homeserver and records
// those the store has no record of.
func (m *Matrix) fillFoundMembers(ctx context.Context, room id.RoomID) error {
	_, err := m.RoomMembers(ctx, room)
	return err
}

// RoomMembers reads room's member events (every membership, leaves
// included) from the homeserver as the bot, records in the state store
// those it has no record of, and returns the list. An error is returned
// only if the list could not be read; if it could, it is returned with
// the error of its record.
func (m *Matrix) RoomMembers(ctx context.Context, room id.RoomID) ([]*event.Event, error) {
	return m.RoomMembersAs(ctx, m.Bot(), room)
}

// RoomMembersAs is RoomMembers read as reader: in a room the bot is no
// member of (a direct chat the user opened with a ghost), the homeserver
// shows the members only to one who is, and the bot's read is refused.
func (m *Matrix) RoomMembersAs(ctx context.Context, reader *appservice.IntentAPI, room id.RoomID) ([]*event.Event, error) {
	// The client's own request: its Members would replace the room's
	// memberships in the store, and the intent's would first make sure
	// the reader is joined.
	cli := reader.Client
	var resp mautrix.RespMembers
	if _, err := cli.MakeRequest(ctx, http.MethodGet, cli.BuildClientURL("v3", "rooms", room, "members"), nil, &resp); err != nil {
		return nil, fmt.Errorf("read the room's members: %w", err)
	}
	members := make([]*event.Event, 0, len(resp.Chunk))
	for _, evt := range resp.Chunk {
		if evt.StateKey == nil || evt.Content.ParseRaw(evt.Type) != nil {
			continue
		}
		if _, ok := evt.Content.Parsed.(*event.MemberEventContent); !ok {
			continue
		}
		evt.RoomID = room
		members = append(members, evt)
	}
	if membersRead != nil {
		membersRead()
	}
	return members, m.fillMembers(ctx, room, members)
}

// fillMembers records the members the store has no record of.
func (m *Matrix) fillMembers(ctx context.Context, room id.RoomID, members []*event.Event) error {
	store := m.AS.StateStore
	if filler, ok := store.(MemberFiller); ok {
		return filler.FillMembers(ctx, room, members)
	}
	for _, evt := range members {
		user := id.UserID(*evt.StateKey)
		known, err := store.TryGetMember(ctx, room, user)
		if err != nil {
			return fmt.Errorf("read %s's membership: %w", user, err)
		}
		if known != nil {
			continue
		}
		if err = store.SetMember(ctx, room, user, evt.Content.AsMember()); err != nil {
			return fmt.Errorf("record %s's membership: %w", user, err)
		}
	}
	return nil
}
