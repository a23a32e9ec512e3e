package portals

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/puppets"
)

// A stop gives the reports its portals still hold one short try, all
// within StopReportTimeout. A homeserver that answers one room's notice
// slowly (or not at all) must not use that time up for the others: their
// notices go at the same time, and reach their rooms.
func TestStopReportsOfOtherRoomsGoWhileOneRoomIsSlow(t *testing.T) {
	setForTest(t, &ResumeAfterOutage, time.Hour) // no try is due before the stop
	// Long enough that three rounds of the fast rooms fit with room to
	// spare on a loaded machine; one room after another (nine answers of
	// a second each) would not.
	setForTest(t, &StopReportTimeout, 8*time.Second)
	hs, reg := testbed.StartDendriteForAppservice(t)
	proxy := testbed.NewFaultProxy(t, hs.URL)
	as := testbed.NewAppservice(t, reg, proxy.URL())
	matrix := puppets.NewMatrix(as, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
	db := dbtest.Open(t, database.DefaultType, dbtest.SQLiteURI(t))
	m := NewManager(db, nil, matrix, &loginDir{logins: map[network.LoginID]*network.Login{}}, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
	t.Cleanup(m.cancel)

	// One slow room and, behind it, more rooms than one try each would fit
	// in StopReportTimeout one after another: each of their notices is
	// answered after a second.
	const fastRooms = 9
	ctx := context.Background()
	var rooms []id.RoomID
	for i := 0; i <= fastRooms; i++ {
		room := testbed.CreateRoom(t, as, nil)
		key := network.PortalKey{Network: "test", Chat: network.ChatID(fmt.Sprintf("#room%d", i))}
		if err := db.Portals.Put(ctx, &database.Portal{Key: key, RoomID: room}); err != nil {
			t.Fatal(err)
		}
		p, err := m.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		p.holdNotices([]heldNotice{{body: fmt.Sprintf("⚠️ held notice %d", i)}})
		rooms = append(rooms, room)
	}
	slow, fast := rooms[0], rooms[1:]
	sendPath := func(room id.RoomID) string { return "/_matrix/client/v3/rooms/" + room.String() + "/send/" }
	proxy.Inject(http.MethodPut+" "+sendPath(slow), -1, testbed.Fault{Delay: time.Minute})
	proxy.Inject(http.MethodPut+" /_matrix/client/v3/rooms/", -1, testbed.Fault{Delay: time.Second})

	start := time.Now()
	m.Stop()
	if took := time.Since(start); took > StopReportTimeout+2*time.Second {
		t.Errorf("the stop took %v, want about StopReportTimeout (%v)", took, StopReportTimeout)
	}
	sent := map[id.RoomID]bool{}
	for _, r := range proxy.Requests() {
		for _, room := range fast {
			if r.Method == http.MethodPut && strings.HasPrefix(r.Path, sendPath(room)) && r.Status == http.StatusOK {
				sent[room] = true
			}
		}
	}
	if len(sent) != len(fast) {
		t.Errorf("the held notices of %d of the %d rooms the homeserver answered in a second reached them at the stop; want all", len(sent), len(fast))
	}
}
