package bridge_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/internal/testnet"
	"github.com/ferrybridge/ferry/portals"
)

// assertInOrder checks that the messages with prefix arrived 0..n-1, each
// once, in order.
func assertInOrder(t *testing.T, alice *testbed.Client, room id.RoomID, bob id.UserID, prefix string, n int) {
	t.Helper()
	alice.WaitForEvent(t, room, 2*time.Minute, bodyIs(bob, fmt.Sprintf("%s %d", prefix, n-1)))
	next := 0
	for _, evt := range alice.Events(room) {
		if msg := evt.Content.AsMessage(); evt.Sender == bob && msg != nil && strings.HasPrefix(msg.Body, prefix+" ") {
			if want := fmt.Sprintf("%s %d", prefix, next); msg.Body != want {
				t.Fatalf("got %q, want %q", msg.Body, want)
			}
			next++
		}
	}
	if next != n {
		t.Errorf("%d of %d %q messages arrived", next, n, prefix)
	}
}

// storedThroughAStop opens the portal, has bob send "<prefix> 0" to
// "<prefix> n-1" while the homeserver is down, and stops Ferry with them
// stored; the homeserver is back when it returns, Ferry still stopped.
func storedThroughAStop(t *testing.T, s *scene, prefix string, n int) id.RoomID {
	t.Helper()
	room := s.openPortal(t, "before")
	s.proxy.Down(testbed.OutageRefuse)
	for i := 0; i < n; i++ {
		s.cl.Queue(textMessage(s.portal, network.MessageID(fmt.Sprintf("%s-%d", prefix, i)), "bob", time.Now(), fmt.Sprintf("%s %d", prefix, i)))
	}
	time.Sleep(time.Second)
	s.h.StopBridge()
	s.proxy.Up()
	return room
}

// TestQueueSurvivesRestartDuringOutage: remote events that arrive while
// the homeserver is down wait in the database, survive a restart of
// Ferry, and arrive in order once the homeserver is back.
func TestQueueSurvivesRestartDuringOutage(t *testing.T) {
	s := newScene(t, true)
	room := storedThroughAStop(t, s, "outage", 5)
	s.h.StartBridge()
	assertInOrder(t, s.alice, room, s.bob, "outage", 5)
}

// TestLiveEventAtStartWaitsForTheStoredOnes: events stored before a
// restart go before one that arrives as soon as the login connects again,
// which happens before the stored ones are handed back to their portal.
func TestLiveEventAtStartWaitsForTheStoredOnes(t *testing.T) {
	s := newScene(t, true)
	room := storedThroughAStop(t, s, "restart", 3)
	s.tn.OnConnect = func(cl *testnet.Client) {
		cl.Queue(textMessage(s.portal, "o3", "bob", time.Now(), "restart 3"))
	}
	s.h.StartBridge()
	assertInOrder(t, s.alice, room, s.bob, "restart", 4)
}

// TestQueueOverflowsToDatabase: far more events than a portal's in-memory
// queue holds arrive during an outage; none is lost or reordered.
func TestQueueOverflowsToDatabase(t *testing.T) {
	s := newScene(t, true)
	room := s.openPortal(t, "before")
	s.proxy.Down(testbed.OutageRefuse)
	n := portals.QueueSize + 50
	for i := 0; i < n; i++ {
		s.cl.Queue(textMessage(s.portal, network.MessageID(fmt.Sprintf("f%d", i)), "bob", time.Now(), fmt.Sprintf("flood %d", i)))
	}
	s.proxy.Up()
	assertInOrder(t, s.alice, room, s.bob, "flood", n)
}

// TestQueueBoundIsReported: past the per-portal bound, events are refused
// and the room hears how many once the portal has caught up.
func TestQueueBoundIsReported(t *testing.T) {
	withQueueBound(t, 3)
	s := newScene(t, true)
	h, alice, bob := s.h, s.alice, s.bob
	room := s.openPortal(t, "before")
	s.proxy.Down(testbed.OutageRefuse)
	for i := 0; i < 6; i++ {
		s.cl.Queue(textMessage(s.portal, network.MessageID(fmt.Sprintf("b%d", i)), "bob", time.Now(), fmt.Sprintf("bounded %d", i)))
	}
	s.proxy.Up()
	h.WaitForBotNotice(alice, room, "could not be bridged")
	got := 0
	for _, evt := range alice.Events(room) {
		if msg := evt.Content.AsMessage(); evt.Sender == bob && msg != nil && strings.HasPrefix(msg.Body, "bounded ") {
			got++
		}
		if msg := evt.Content.AsMessage(); evt.Sender == h.BotMXID && msg != nil && strings.Contains(msg.Body, "could not be bridged") && !strings.HasPrefix(msg.Body, "⚠️ 3 messages") {
			t.Errorf("drop notice %q, want 3 messages", msg.Body)
		}
	}
	if got != 3 {
		t.Errorf("%d messages arrived; the bound is 3", got)
	}
}

// TestIdlePortalsWakeUp: a portal whose goroutine ended after idling
// takes up work from either side again, in order.
func TestIdlePortalsWakeUp(t *testing.T) {
	old := portals.PortalIdleTimeout
	portals.PortalIdleTimeout = 20 * time.Millisecond
	t.Cleanup(func() { portals.PortalIdleTimeout = old })
	s := newScene(t, false)
	room := s.openPortal(t, "before")
	for round := 0; round < 3; round++ {
		time.Sleep(200 * time.Millisecond)
		s.alice.SendText(t, room, fmt.Sprintf("matrix %d", round))
		if got := expectOut[*network.OutgoingMessage](t, s.cl); got.Content.Body != fmt.Sprintf("matrix %d", round) {
			t.Fatalf("round %d: the network got %q", round, got.Content.Body)
		}
		time.Sleep(200 * time.Millisecond)
		for i := 0; i < 3; i++ {
			s.cl.Queue(textMessage(s.portal, network.MessageID(fmt.Sprintf("w%d-%d", round, i)), "bob", time.Now(), fmt.Sprintf("wake %d", round*3+i)))
		}
	}
	assertInOrder(t, s.alice, room, s.bob, "wake", 9)
}

// TestFailedStoreSendsOnce: an event is handled only once it is stored.
// When the store fails, the homeserver gets an error and sends the
// transaction again; the message reaches the network once, the command is
// answered once, and neither is replayed by a restart.
func TestFailedStoreSendsOnce(t *testing.T) {
	sc := newScene(t, false)
	h, alice, cl := sc.h, sc.alice, sc.cl
	ctx := h.Context(2 * time.Minute)
	room := sc.openPortal(t, "open the room")
	db := h.Bridge.DB

	// A trigger refuses to store the transaction's second event, as a full
	// disk or a lost database connection would. The first must not be
	// stored either, or the retry would take it for a redelivery.
	if db.Dialect != dbutil.SQLite {
		t.Skip("the refusing trigger is written for SQLite, the harness's database")
	}
	if _, err := db.Exec(ctx, `CREATE TRIGGER ferrytest_refuse BEFORE INSERT ON matrix_event
		WHEN NEW.event_id = '$command-stored-at-the-second-try' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`); err != nil {
		t.Fatal(err)
	}
	event := func(eventID string, room id.RoomID, body string) string {
		return fmt.Sprintf(`{"type":"m.room.message","event_id":%q,"room_id":%q,"sender":%q,"origin_server_ts":%d,"content":{"msgtype":"m.text","body":%q}}`,
			eventID, room, alice.UserID, time.Now().UnixMilli(), body)
	}
	message := func(eventID, body string) string {
		return `{"events":[` + event(eventID, room, body) + `]}`
	}
	base := h.Config.AppService.Address + "/_matrix/app/v1/transactions/"
	token := h.Config.AppService.HSToken
	// A message to the network and a command to the bot.
	once := `{"events":[` + event("$stored-at-the-second-try", room, "stored at the second try") + "," +
		event("$command-stored-at-the-second-try", sc.mgmt, "version") + `]}`
	if code := appserviceRequest(t, http.MethodPut, base+"refused", token, once); code != http.StatusInternalServerError {
		t.Fatalf("a transaction that could not be stored answered %d, want 500", code)
	}

	if _, err := db.Exec(ctx, `DROP TRIGGER ferrytest_refuse`); err != nil {
		t.Fatal(err)
	}
	if code := appserviceRequest(t, http.MethodPut, base+"retried", token, once); code != http.StatusOK {
		t.Fatalf("the retried transaction answered %d", code)
	}
	if got := expectOut[*network.OutgoingMessage](t, cl).Content.Body; got != "stored at the second try" {
		t.Fatalf("the network got %q", got)
	}
	if code := appserviceRequest(t, http.MethodPut, base+"marker", token, message("$marker", "marker")); code != http.StatusOK {
		t.Fatalf("the marker's transaction answered %d", code)
	}
	if got := expectOut[*network.OutgoingMessage](t, cl).Content.Body; got != "marker" {
		t.Fatalf("after the retried transaction the network got %q, want the marker", got)
	}

	// The bot answers commands in a room one after the other, so once it
	// has answered a later one, every answer to the retried one is in.
	h.Command(alice, sc.mgmt, "help", "Show Ferry's version.")
	if answers := botAnswers(h, alice, sc.mgmt, "Ferry "); answers != 1 {
		t.Errorf("the bot answered the version command %d times, want once", answers)
	}

	// All are marked handled, so a restart replays none.
	waitNothingPending(t, h)
	h.StopBridge()
	h.StartBridge()
	if code := appserviceRequest(t, http.MethodPut, base+"after-restart", token, message("$after-restart", "after restart")); code != http.StatusOK {
		t.Fatalf("the transaction after the restart answered %d", code)
	}
	if got := expectOut[*network.OutgoingMessage](t, sc.tn.Client("alice")).Content.Body; got != "after restart" {
		t.Fatalf("after the restart the network got %q first", got)
	}
}

// TestReplayedEventIsNotSentAgain: events left pending by a stop are
// replayed at the next start, once the logins run. One that had reached
// the network is recognised as bridged rather than sent again; one that
// had not is sent.
func TestReplayedEventIsNotSentAgain(t *testing.T) {
	sc := newScene(t, false)
	h, alice, cl := sc.h, sc.alice, sc.cl
	ctx := h.Context(2 * time.Minute)
	room := sc.openPortal(t, "open the room")
	db := h.Bridge.DB

	sent := alice.SendText(t, room, "sent before the stop")
	if got := expectOut[*network.OutgoingMessage](t, cl).Content.Body; got != "sent before the stop" {
		t.Fatalf("the network got %q", got)
	}
	unsent := alice.SendText(t, room, "stored before the stop")
	if got := expectOut[*network.OutgoingMessage](t, cl).Content.Body; got != "stored before the stop" {
		t.Fatalf("the network got %q", got)
	}
	// Stored and marked handled: an event may reach the network before
	// it is stored (bridge.StoreAfterWait).
	waitHandled(t, h, sent, unsent)
	// As if Ferry had stopped between sending the first and marking it
	// handled, and before sending the second.
	for _, q := range []struct {
		sql string
		evt id.EventID
	}{
		{`UPDATE matrix_event SET handled_at = NULL WHERE event_id = $1`, sent},
		{`UPDATE matrix_event SET handled_at = NULL WHERE event_id = $1`, unsent},
		{`DELETE FROM message WHERE event_id = $1`, unsent},
	} {
		if _, err := db.Exec(ctx, q.sql, q.evt); err != nil {
			t.Fatal(err)
		}
	}
	h.StopBridge()
	h.StartBridge()
	cl = sc.tn.Client("alice")
	alice.SendText(t, room, "after the restart")
	for _, want := range []string{"stored before the stop", "after the restart"} {
		if got := expectOut[*network.OutgoingMessage](t, cl).Content.Body; got != want {
			t.Fatalf("after the restart the network got %q, want %q", got, want)
		}
	}
	waitNothingPending(t, h)
}

// waitHandled waits until each of evts is stored and marked handled.
func waitHandled(t *testing.T, h *ferrytest.Harness, evts ...id.EventID) {
	t.Helper()
	ctx := h.Context(waitLong)
	for deadline := time.Now().Add(waitLong); ; time.Sleep(20 * time.Millisecond) {
		handled := 0
		for _, evt := range evts {
			var n int
			err := h.Bridge.DB.QueryRow(ctx, `SELECT COUNT(*) FROM matrix_event WHERE event_id = $1 AND handled_at IS NOT NULL`, evt).Scan(&n)
			if err != nil {
				t.Fatal(err)
			}
			handled += n
		}
		if handled == len(evts) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events stored and marked handled", handled, len(evts))
		}
	}
}

// waitNothingPending waits until every stored Matrix event is marked
// handled.
func waitNothingPending(t *testing.T, h *ferrytest.Harness) {
	t.Helper()
	ctx := h.Context(waitLong)
	for deadline := time.Now().Add(waitLong); ; time.Sleep(20 * time.Millisecond) {
		pending, err := h.Bridge.DB.MatrixEvents.Pending(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(pending) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still pending after they were handled: %v", pending[0].EventID)
		}
	}
}
