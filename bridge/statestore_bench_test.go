package bridge

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"
	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
	"maunium.net/go/mautrix/sqlstatestore"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
	"github.com/ferrybridge/ferry/internal/pgtest"
)

// BenchmarkSetMembershipParallelRooms records memberships Ferry changes
// (a ghost's join, a kick) in many rooms at once, each goroutine in its
// own room, as portals do: how much one room's record holds up another's.
//
//	go test -run '^$' -bench SetMembershipParallelRooms -cpu 1,4,8 ./bridge/
func BenchmarkSetMembershipParallelRooms(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			var db *database.Database
			if dialect == "sqlite" {
				db = dbtest.Open(b, database.DefaultType, dbtest.SQLiteURI(b))
			} else {
				db = dbtest.Open(b, "postgres", pgtest.URI(b))
			}
			db.SetPool(16, 16)
			plain := sqlstatestore.NewSQLStateStore(db.Database, dbutil.ZeroLogger(zerolog.Nop()), false)
			if err := plain.Upgrade(context.Background()); err != nil {
				b.Fatal(err)
			}
			store := newMemberStateStore(plain)
			ctx := context.Background()
			var rooms atomic.Int64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				room := id.RoomID(fmt.Sprintf("!bench%d:example.org", rooms.Add(1)))
				memberships := [2]event.Membership{event.MembershipJoin, event.MembershipLeave}
				for i := 0; pb.Next(); i++ {
					if err := store.SetMembership(ctx, room, stateGhost, memberships[i%2]); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
