package portals

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/puppets"
)

// A store that can be read but not written (a full disk, an SQLite file
// made read-only) fails the move of an event kept through an outage for
// good. The drain tries it again at its back-off and bridges nothing
// meanwhile: the portal's backlog stood still for as long as Ferry ran,
// and only the log said why. Once the move has failed for a while (two
// tries ResumeAfterOutage apart, the drain where it stood), the room is
// told, once.
func TestRoomHearsOnceWhenKeptEventsCannotBeMovedForAWhile(t *testing.T) {
	hs, reg := testbed.StartDendriteForAppservice(t)
	as := testbed.NewAppservice(t, reg, hs.URL)
	ctx := context.Background()
	room := testbed.CreateRoom(t, as, nil)
	db := dbtest.Open(t, database.DefaultType, dbtest.SQLiteURI(t))
	_, p := keptAheadScene(t, db)
	p.m.matrix = puppets.NewMatrix(as, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
	p.RoomID = room
	passQueued(p)
	// The test plays the portal's goroutine (outageScene): the manager
	// starts none, so the retry's timer, which wakes the portal, drains
	// nothing alongside the test's drains.
	defer p.drainReadOK() // the retry's timer

	// Reads work; every write fails.
	_, err := db.Exec(ctx, `CREATE TRIGGER disk_full BEFORE INSERT ON remote_event BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`)
	if err != nil {
		t.Fatal(err)
	}
	setForTest(t, &ResumeAfterOutage, 200*time.Millisecond)
	p.drainBacklog(ctx) // the first failed move
	if n := heldUpNotices(t, as, room); n != 0 {
		t.Fatalf("the room heard of %d held-up messages at the first failed move; want none yet (it may heal)", n)
	}
	time.Sleep(ResumeAfterOutage)
	p.drainBacklog(ctx) // the back-off's next try, a while later
	p.drainBacklog(ctx) // and more
	time.Sleep(ResumeAfterOutage)
	p.drainBacklog(ctx)
	if n := heldUpNoticesOnceSettled(t, as, room); n != 1 {
		t.Errorf("the room heard of held-up messages %d times after the move failed for a while; want once", n)
	}
	if p.durable.drainTimer == nil {
		t.Errorf("the drain is no longer tried again after the move failed")
	}
}

// heldUpNoticesOnceSettled is heldUpNotices once the homeserver's
// history shows one, and a moment more (Dendrite's follows its sends a
// moment behind).
func heldUpNoticesOnceSettled(t *testing.T, as *appservice.AppService, room id.RoomID) int {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); heldUpNotices(t, as, room) == 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	return heldUpNotices(t, as, room)
}

// heldUpNotices counts the notices in room that its messages are held up.
func heldUpNotices(t *testing.T, as *appservice.AppService, room id.RoomID) int {
	t.Helper()
	msgs, err := as.BotClient().Messages(context.Background(), room, "", "", mautrix.DirectionBackward, nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, evt := range msgs.Chunk {
		if evt.Type != event.EventMessage {
			continue
		}
		if err := evt.Content.ParseRaw(evt.Type); err != nil {
			continue
		}
		if strings.Contains(evt.Content.AsMessage().Body, "are held up") {
			n++
		}
	}
	return n
}
