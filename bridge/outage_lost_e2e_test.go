package bridge_test

import (
	"strings"
	"testing"
	"time"

	"go.mau.fi/util/dbutil"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestEventLostInAnOutageIsReported: an event handed to its idle portal
// unstored, given up because the homeserver stays unreachable, is stored
// then to be tried again. When that store fails too, the event is lost;
// it was only logged. The room now hears of it once the homeserver is
// back.
func TestEventLostInAnOutageIsReported(t *testing.T) {
	withStoreBehind(t, time.Hour)
	withResumeAfterOutage(t, 300*time.Millisecond)
	s := newScene(t, true)
	room := openIdlePortal(t, s)
	db := s.h.Bridge.DB
	if db.Dialect != dbutil.SQLite {
		t.Skip("the refusing trigger is written for SQLite, the harness's database")
	}
	ctx := s.h.Context(time.Minute)
	if _, err := db.Exec(ctx, `CREATE TRIGGER ferrytest_refuse BEFORE INSERT ON remote_event
		BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`); err != nil {
		t.Fatal(err)
	}
	s.h.Bridge.Matrix.RetryFor = time.Second
	s.proxy.Down(testbed.Outage502)
	s.cl.Queue(textMessage(s.portal, "l0", "bob", time.Now(), "lost 0"))
	// Long past RetryFor: the send has been given up, and the store.
	time.Sleep(4 * time.Second)
	if _, err := db.Exec(ctx, `DROP TRIGGER ferrytest_refuse`); err != nil {
		t.Fatal(err)
	}
	s.proxy.Up()
	notice := s.h.WaitForBotNotice(s.alice, room, "not bridged")
	if body := notice.Content.AsMessage().Body; !strings.Contains(body, "A message from Testnet was not bridged: Matrix could not be reached") {
		t.Errorf("notice %q does not say that a message was lost in the outage", body)
	}
}
