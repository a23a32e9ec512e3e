package bridge

import (
	"context"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// TestFillMembersKeepsWhatWasHeard: the member list of a found room
// (puppets' recordCreated) is older than any membership event heard
// since it was read: it fills in the members the store has no record
// of, and leaves the others, cache included, as the store heard them.
func TestFillMembersKeepsWhatWasHeard(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		ctx := context.Background()
		store, _ := stateStores(t, db)
		// The ghost's leave was heard after the list was read, which has
		// it joined.
		mautrix.UpdateStateStore(ctx, store, memberEvent("$left", event.MembershipLeave, time.Now()))
		other := id.UserID("@irc_carol:example.org")
		read := []*event.Event{memberEvent("$joined", event.MembershipJoin, time.Now().Add(-time.Second))}
		invite := memberEvent("$invited", event.MembershipInvite, time.Now().Add(-time.Minute))
		key := other.String()
		invite.StateKey, invite.Sender = &key, other
		read = append(read, invite)
		if err := store.FillMembers(ctx, stateRoom, read); err != nil {
			t.Fatal(err)
		}
		if got := storedMembership(t, store); got != event.MembershipLeave {
			t.Errorf("the ghost whose leave was heard is %q after the fill; want leave", got)
		}
		member, err := store.GetMember(ctx, stateRoom, other)
		if err != nil {
			t.Fatal(err)
		}
		if member.Membership != event.MembershipInvite || !store.IsInvited(ctx, stateRoom, other) {
			t.Errorf("a member the store knew nothing of is %q after the fill; want invite", member.Membership)
		}
	})
}
