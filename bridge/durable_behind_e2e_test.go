package bridge_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/portals"
)

// withStoreBehind sets portals.StoreBehind for one test.
func withStoreBehind(t *testing.T, d time.Duration) {
	old := portals.StoreBehind
	portals.StoreBehind = d
	t.Cleanup(func() { portals.StoreBehind = old })
}

// openIdlePortal opens the portal and waits until it has handled alice's
// join: a message of hers reaches the network after it, and is done. A portal busy
// with the join would make the first message be stored, which these
// tests tell apart from not being stored.
func openIdlePortal(t *testing.T, s *scene) id.RoomID {
	t.Helper()
	room := s.openPortal(t, "before")
	settled := s.alice.SendText(t, room, "settled")
	if got := expectOut[*network.OutgoingMessage](t, s.cl).Content.Body; got != "settled" {
		t.Fatalf("the network got %q, want alice's message", got)
	}
	waitHandled(t, s.h, settled) // and the portal is done with it
	return room
}

// withQueueBound sets portals.MaxPendingPerPortal for one test.
func withQueueBound(t *testing.T, n int64) {
	old := portals.MaxPendingPerPortal
	portals.MaxPendingPerPortal = n
	t.Cleanup(func() { portals.MaxPendingPerPortal = old })
}

// storedMessageIDs lists the remote message IDs in the durable queue, in
// the queue's order.
func storedMessageIDs(t *testing.T, s *scene) []network.MessageID {
	t.Helper()
	rows, err := s.h.Bridge.DB.RemoteEvents.Pending(s.h.Context(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	var ids []network.MessageID
	for _, row := range rows {
		evt, err := network.UnmarshalEvent(row.Payload)
		if err != nil {
			t.Fatalf("stored event %d: %v", row.Seq, err)
		}
		if msg, ok := evt.(*network.Message); ok {
			ids = append(ids, msg.ID)
		}
	}
	return ids
}

// recordStores has a trigger record every event written to the durable
// queue; the function returned lists the message IDs written so far.
func recordStores(t *testing.T, s *scene) func() map[network.MessageID]bool {
	t.Helper()
	ctx := s.h.Context(time.Minute)
	db := s.h.Bridge.DB
	for _, stmt := range []string{
		`CREATE TABLE ferrytest_stores (payload TEXT)`,
		`CREATE TRIGGER ferrytest_record_stores AFTER INSERT ON remote_event BEGIN INSERT INTO ferrytest_stores VALUES (NEW.payload); END`,
	} {
		if _, err := db.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	return func() map[network.MessageID]bool {
		rows, err := db.Query(ctx, `SELECT payload FROM ferrytest_stores`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		stored := make(map[network.MessageID]bool)
		for rows.Next() {
			var payload string
			if err = rows.Scan(&payload); err != nil {
				t.Fatal(err)
			}
			evt, err := network.UnmarshalEvent([]byte(payload))
			if err != nil {
				t.Fatal(err)
			}
			if msg, ok := evt.(*network.Message); ok {
				stored[msg.ID] = true
			}
		}
		return stored
	}
}

// TestIdlePortalBridgesWithoutStoring: a message that finds its portal idle
// is bridged without a write to the durable queue; with StoreBehind 0,
// every message is stored first.
func TestIdlePortalBridgesWithoutStoring(t *testing.T) {
	s := newScene(t, false)
	room := openIdlePortal(t, s)
	stored := recordStores(t, s)
	send := func(i int) {
		s.cl.Queue(textMessage(s.portal, network.MessageID(fmt.Sprintf("q%d", i)), "bob", time.Now(), fmt.Sprintf("quiet %d", i)))
		s.alice.WaitForEvent(t, room, waitLong, bodyIs(s.bob, fmt.Sprintf("quiet %d", i)))
	}

	withStoreBehind(t, time.Minute)
	for i := 0; i < 3; i++ {
		send(i)
	}
	if got := stored(); len(got) != 0 {
		t.Errorf("messages into an idle portal were stored: %v", got)
	}
	portals.StoreBehind = 0
	for i := 3; i < 6; i++ {
		send(i)
	}
	got := stored()
	for _, want := range []network.MessageID{"q3", "q4", "q5"} {
		if !got[want] {
			t.Errorf("with StoreBehind 0, %s was not stored (stored: %v)", want, got)
		}
	}
}

// TestUnstoredEventIsStoredBeforeALaterOne: a message handed over unstored
// is stored, ahead of the next, once the next finds the portal busy, so
// that a restart would replay them in the order they came.
func TestUnstoredEventIsStoredBeforeALaterOne(t *testing.T) {
	withStoreBehind(t, time.Minute)
	s := newScene(t, true)
	room := openIdlePortal(t, s)
	// A reply waits for its answer (it does not go ahead), so its slow
	// send keeps the portal busy.
	s.proxy.DelayNext("PUT /_matrix/client/v3/rooms/"+room.String()+"/send/", 1, 3*time.Second)
	reply := textMessage(s.portal, "r1", "bob", time.Now(), "a slow reply")
	reply.ReplyTo = &network.MessageRef{ID: "m0"}
	s.cl.Queue(reply)
	time.Sleep(500 * time.Millisecond) // the reply's send is held by the proxy
	if ids := storedMessageIDs(t, s); len(ids) != 0 {
		t.Fatalf("the reply into an idle portal was stored at once: %v", ids)
	}
	s.cl.Queue(textMessage(s.portal, "n2", "bob", time.Now(), "the next one"))
	if ids := storedMessageIDs(t, s); fmt.Sprint(ids) != "[r1 n2]" {
		t.Errorf("with the portal busy, the queue holds %v, want [r1 n2]", ids)
	}
	s.alice.WaitForEvent(t, room, waitLong, bodyIs(s.bob, "the next one"))
	var bodies []string
	for _, evt := range s.alice.Events(room) {
		if msg := evt.Content.AsMessage(); evt.Sender == s.bob && msg != nil && (msg.Body == "a slow reply" || msg.Body == "the next one") {
			bodies = append(bodies, msg.Body)
		}
	}
	if fmt.Sprint(bodies) != "[a slow reply the next one]" {
		t.Errorf("arrived: %q", bodies)
	}
}

// TestUnstoredEventSurvivesAStop: a message on its way when Ferry stops is
// stored then, and arrives after the restart.
func TestUnstoredEventSurvivesAStop(t *testing.T) {
	withStoreBehind(t, time.Minute)
	s := newScene(t, true)
	room := openIdlePortal(t, s)
	s.proxy.Down(testbed.OutageRefuse)
	s.cl.Queue(textMessage(s.portal, "s1", "bob", time.Now(), "sent into an outage"))
	time.Sleep(500 * time.Millisecond)
	if ids := storedMessageIDs(t, s); len(ids) != 0 {
		t.Fatalf("stored before the stop: %v", ids)
	}
	s.h.StopBridge()
	s.proxy.Up()
	s.h.StartBridge()
	s.alice.WaitForEvent(t, room, waitLong, bodyIs(s.bob, "sent into an outage"))
}

// TestUnstoredEventIsStoredWhenSlow: a message not bridged within
// StoreBehind is stored while it is still on its way.
func TestUnstoredEventIsStoredWhenSlow(t *testing.T) {
	withStoreBehind(t, 100*time.Millisecond)
	s := newScene(t, true)
	room := openIdlePortal(t, s)
	s.proxy.DelayNext("PUT /_matrix/client/v3/rooms/"+room.String()+"/send/", 1, 3*time.Second)
	s.cl.Queue(textMessage(s.portal, "w1", "bob", time.Now(), "a slow one"))
	deadline := time.Now().Add(2 * time.Second)
	for len(storedMessageIDs(t, s)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("a message still on its way after 2 s is not stored")
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.alice.WaitForEvent(t, room, waitLong, bodyIs(s.bob, "a slow one"))
	waitQueueEmpty(t, s)
}

// waitQueueEmpty waits until the durable queue is empty.
func waitQueueEmpty(t *testing.T, s *scene) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for len(storedMessageIDs(t, s)) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("still stored after the message arrived: %v", storedMessageIDs(t, s))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBoundCountsUnstoredEvents: events handed to an idle portal before
// they are stored count against the per-portal bound while they wait for
// the homeserver, as stored ones do.
func TestBoundCountsUnstoredEvents(t *testing.T) {
	withStoreBehind(t, time.Minute)
	withQueueBound(t, 3)
	s := newScene(t, true)
	room := openIdlePortal(t, s)
	stored := recordStores(t, s)
	// The first send is held, and the ones written after it on the same
	// connection wait behind it: every message finds the portal idle, and
	// waits for its answer unstored.
	s.proxy.DelayNext("PUT /_matrix/client/v3/rooms/"+room.String()+"/send/", 1, 3*time.Second)
	for i := 0; i < 6; i++ {
		s.cl.Queue(textMessage(s.portal, network.MessageID(fmt.Sprintf("u%d", i)), "bob", time.Now(), fmt.Sprintf("unstored %d", i)))
		time.Sleep(100 * time.Millisecond)
	}
	s.h.WaitForBotNotice(s.alice, room, "could not be bridged")
	if got := stored(); len(got) != 0 {
		t.Errorf("stored: %v; every message should have found the portal idle", got)
	}
	arrived := 0
	for _, evt := range s.alice.Events(room) {
		msg := evt.Content.AsMessage()
		if evt.Sender == s.bob && msg != nil && strings.HasPrefix(msg.Body, "unstored ") {
			arrived++
		}
		if evt.Sender == s.h.BotMXID && msg != nil && strings.Contains(msg.Body, "could not be bridged") && !strings.HasPrefix(msg.Body, "⚠️ 3 messages") {
			t.Errorf("drop notice %q, want 3 messages", msg.Body)
		}
	}
	if arrived != 3 {
		t.Errorf("%d messages arrived; the bound is 3", arrived)
	}
}
