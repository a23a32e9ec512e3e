package bridge

import (
	"context"
	"fmt"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// TestMembershipOfOneRoomDoesNotWaitForAnother: the state store
// serialises one room's membership changes (the read, the decision on
// Ferry's pending change, the write), not the whole bridge's. While one
// room's change is held up (its lock held here, as by a slow database
// round trip), another room's join is recorded, and the held room's own
// next change waits for it.
func TestMembershipOfOneRoomDoesNotWaitForAnother(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		ctx := context.Background()
		store, _ := stateStores(t, db)
		held := store.roomLock(stateRoom)
		other := id.RoomID("")
		for i := 0; other == "" && i < 1000; i++ {
			if room := id.RoomID(fmt.Sprintf("!other%d:example.org", i)); store.roomLock(room) != held {
				other = room
			}
		}
		if other == "" {
			t.Fatal("a thousand rooms share one lock with the held room")
		}
		held.Lock()
		sameRoom := make(chan error, 1)
		go func() { sameRoom <- store.SetMembership(ctx, stateRoom, stateGhost, event.MembershipJoin) }()
		otherRoom := make(chan error, 1)
		go func() { otherRoom <- store.SetMembership(ctx, other, stateGhost, event.MembershipJoin) }()
		select {
		case err := <-otherRoom:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			held.Unlock()
			t.Fatal("another room's join waited for the held room's change")
		}
		if !store.IsInRoom(ctx, other, stateGhost) {
			t.Error("another room's join is not recorded")
		}
		select {
		case <-sameRoom:
			t.Error("the held room's change did not wait for the one before it")
		default:
		}
		held.Unlock()
		if err := <-sameRoom; err != nil {
			t.Fatal(err)
		}
		if !store.IsInRoom(ctx, stateRoom, stateGhost) {
			t.Error("the held room's join is not recorded once it went on")
		}
	})
}
