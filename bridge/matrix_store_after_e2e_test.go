package bridge_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge"
	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/ferrytest"
)

// withStoreAfterWait sets bridge.StoreAfterWait for one test. The tests
// set it long, so that only an event's leaving ends the wait: a slow
// machine must not make them pass or fail by the clock.
func withStoreAfterWait(t *testing.T, d time.Duration) {
	old := bridge.StoreAfterWait
	bridge.StoreAfterWait = d
	t.Cleanup(func() { bridge.StoreAfterWait = old })
}

// storeAfterScene opens an idle portal for alice, with a long
// StoreAfterWait, and the means to put transactions to its room.
func storeAfterScene(t *testing.T) (*scene, transactions) {
	t.Helper()
	withStoreAfterWait(t, time.Hour)
	sc := newScene(t, false)
	room := openIdlePortal(t, sc)
	return sc, transactions{h: sc.h, room: room, from: sc.alice.UserID}
}

// transactions puts hand-made homeserver transactions to Ferry's
// appservice API, as Dendrite would.
type transactions struct {
	h    *ferrytest.Harness
	room id.RoomID
	from id.UserID
}

func (tx transactions) message(eventID id.EventID, body string) string {
	return fmt.Sprintf(`{"events":[{"type":"m.room.message","event_id":%q,"room_id":%q,"sender":%q,"origin_server_ts":%d,"content":{"msgtype":"m.text","body":%q}}]}`,
		eventID, tx.room, tx.from, time.Now().UnixMilli(), body)
}

// put sends a transaction and answers its status code on the channel
// (0 when the request failed), so that a test can watch for the answer.
func (tx transactions) put(txnID, body string) <-chan int {
	answer := make(chan int, 1)
	go func() {
		req, err := http.NewRequest(http.MethodPut, tx.h.Config.AppService.Address+"/_matrix/app/v1/transactions/"+txnID, strings.NewReader(body))
		if err != nil {
			answer <- 0
			return
		}
		req.Header.Set("Authorization", "Bearer "+tx.h.Config.AppService.HSToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answer <- 0
			return
		}
		resp.Body.Close()
		answer <- resp.StatusCode
	}()
	return answer
}

// heldUntil returns a channel closed by letGo, or at the end of the test:
// a failing test must not leave Ferry waiting on it, since stopping waits.
func heldUntil(t *testing.T) (release <-chan struct{}, letGo func()) {
	ch := make(chan struct{})
	var once sync.Once
	letGo = func() { once.Do(func() { close(ch) }) }
	t.Cleanup(letGo)
	return ch, letGo
}

func expectAnswer(t *testing.T, answer <-chan int, what string) {
	t.Helper()
	select {
	case code := <-answer:
		if code != http.StatusOK {
			t.Fatalf("%s answered %d", what, code)
		}
	case <-time.After(waitLong):
		t.Fatalf("%s was not answered within %s", what, waitLong)
	}
}

// TestMatrixMessageLeavesBeforeItIsStored: a message goes to the network
// before its event is stored, and the transaction is answered only once
// it is. The test holds SQLite's write lock, so Ferry cannot store
// anything while the message travels; then the event handled before its
// store is still marked handled once stored.
func TestMatrixMessageLeavesBeforeItIsStored(t *testing.T) {
	sc, tx := storeAfterScene(t)
	h, cl := sc.h, sc.cl
	ctx := h.Context(time.Minute)
	lock := holdWriteLock(t, h)

	answer := tx.put("while-locked", tx.message("$sent-while-locked", "sent while the store is locked"))
	if got := expectOut[*network.OutgoingMessage](t, cl).Content.Body; got != "sent while the store is locked" {
		t.Fatalf("the network got %q", got)
	}
	var stored int
	if err := lock.QueryRowContext(ctx, `SELECT COUNT(*) FROM matrix_event WHERE event_id = '$sent-while-locked'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != 0 {
		t.Fatal("the event was stored while the test held the write lock")
	}
	// Ferry's insert waits for the lock, and the answer for the insert.
	select {
	case code := <-answer:
		t.Fatalf("the transaction was answered (%d) before its event could be stored", code)
	case <-time.After(300 * time.Millisecond):
	}
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	expectAnswer(t, answer, "the transaction")
	waitHandled(t, h, "$sent-while-locked")
}

// holdWriteLock takes SQLite's write lock from a connection of the test's
// own, until the test rolls it back or ends: Ferry can store nothing
// meanwhile.
func holdWriteLock(t *testing.T, h *ferrytest.Harness) *sql.Tx {
	t.Helper()
	if h.Bridge.DB.Dialect != dbutil.SQLite {
		t.Skip("the write lock is taken on SQLite, the harness's database")
	}
	lockDB, err := sql.Open("sqlite3", h.Config.Database.URI)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lockDB.Close() })
	ctx := h.Context(time.Minute)
	// The harness's URI says _txlock=immediate: BEGIN takes the write lock.
	lock, err := lockDB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lock.Rollback() })
	if _, err = lock.ExecContext(ctx, `UPDATE kv_store SET value = value WHERE key = 'nothing'`); err != nil {
		t.Fatal(err)
	}
	return lock
}

// TestWithoutTheWaitAnEventIsStoredBeforeItLeaves: StoreAfterWait 0 keeps
// the order from before events were routed first: an event is stored,
// then routed, so while the store cannot write nothing reaches the
// network.
func TestWithoutTheWaitAnEventIsStoredBeforeItLeaves(t *testing.T) {
	sc, tx := storeAfterScene(t)
	bridge.StoreAfterWait = 0 // storeAfterScene's cleanup restores it
	h, cl := sc.h, sc.cl
	lock := holdWriteLock(t, h)

	answer := tx.put("store-first", tx.message("$stored-first", "stored before it leaves"))
	select {
	case got := <-cl.Outbox:
		t.Fatalf("the network got %+v before its event could be stored", got)
	case code := <-answer:
		t.Fatalf("the transaction was answered (%d) before its event could be stored", code)
	case <-time.After(300 * time.Millisecond):
	}
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	expectAnswer(t, answer, "the transaction")
	if got := expectOut[*network.OutgoingMessage](t, cl).Content.Body; got != "stored before it leaves" {
		t.Fatalf("the network got %q", got)
	}
	waitHandled(t, h, "$stored-first")
}

// TestTransactionIsNotHeldByABusyPortal: an event that must wait behind
// its portal's other work is stored, and its transaction answered, at
// once; it is bridged when the portal gets to it, and marked handled.
func TestTransactionIsNotHeldByABusyPortal(t *testing.T) {
	sc, tx := storeAfterScene(t)
	h, cl := sc.h, sc.cl
	ctx := h.Context(time.Minute)
	portal, err := h.Bridge.Portals.ByRoom(ctx, tx.room)
	if err != nil || portal == nil {
		t.Fatalf("portal of %s: %v, %v", tx.room, portal, err)
	}

	started, held := make(chan struct{}), make(chan error, 1)
	release, letGo := heldUntil(t)
	go func() {
		held <- h.Bridge.Portals.Do(ctx, portal, func(context.Context) error {
			close(started)
			<-release
			return nil
		})
	}()
	<-started
	expectAnswer(t, tx.put("behind", tx.message("$queued-behind", "queued behind other work")), "the transaction for a busy portal")
	select {
	case got := <-cl.Outbox:
		t.Fatalf("the network got %+v while the portal was busy", got)
	default:
	}
	letGo()
	if err = <-held; err != nil {
		t.Fatal(err)
	}
	if got := expectOut[*network.OutgoingMessage](t, cl).Content.Body; got != "queued behind other work" {
		t.Fatalf("the network got %q", got)
	}
	waitHandled(t, h, "$queued-behind")
}

// TestRedeliveredEventIsNotSentAgain: an event the homeserver delivers
// again, in a transaction of its own, is found in the store before it is
// routed, and not sent twice.
func TestRedeliveredEventIsNotSentAgain(t *testing.T) {
	sc, tx := storeAfterScene(t)
	cl := sc.cl
	once := tx.message("$delivered-twice", "delivered twice")
	expectAnswer(t, tx.put("first", once), "the first delivery")
	if got := expectOut[*network.OutgoingMessage](t, cl).Content.Body; got != "delivered twice" {
		t.Fatalf("the network got %q", got)
	}
	expectAnswer(t, tx.put("again", once), "the second delivery")
	expectAnswer(t, tx.put("marker", tx.message("$marker", "marker")), "the marker")
	if got := expectOut[*network.OutgoingMessage](t, cl).Content.Body; got != "marker" {
		t.Fatalf("after the second delivery the network got %q, want the marker", got)
	}
}

// TestEventHandledBeforeItsStoreIsMarkedHandled: an event whose handling
// ends before it is stored (here one Ferry cannot read, and drops) is
// marked handled once stored, so that no restart replays it.
func TestEventHandledBeforeItsStoreIsMarkedHandled(t *testing.T) {
	sc, tx := storeAfterScene(t)
	unreadable := fmt.Sprintf(`{"events":[{"type":"m.room.message","event_id":"$unreadable","room_id":%q,"sender":%q,"origin_server_ts":"yesterday","content":{"msgtype":"m.text","body":"x"}}]}`,
		tx.room, tx.from)
	expectAnswer(t, tx.put("unreadable", unreadable), "the transaction")
	waitHandled(t, sc.h, "$unreadable")
}

// TestTransactionIsAnsweredOnceTheLineIsWritten: a network that reports
// the message written (OutgoingMeta.Written, as IRC does for its first
// line) lets the transaction be stored and answered while the network
// still waits for its server to confirm the message.
func TestTransactionIsAnsweredOnceTheLineIsWritten(t *testing.T) {
	sc, tx := storeAfterScene(t)
	h, cl := sc.h, sc.cl
	release, letGo := heldUntil(t)
	confirm := func(ctx context.Context, msg *network.OutgoingMessage) error {
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	cl.Confirm.Store(&confirm)

	answer := tx.put("unconfirmed", tx.message("$unconfirmed", "written, not yet confirmed"))
	if got := expectOut[*network.OutgoingMessage](t, cl).Content.Body; got != "written, not yet confirmed" {
		t.Fatalf("the network got %q", got)
	}
	expectAnswer(t, answer, "the transaction of an unconfirmed message")
	letGo()
	waitHandled(t, h, "$unconfirmed")
}
