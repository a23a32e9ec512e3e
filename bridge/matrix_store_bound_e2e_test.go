package bridge_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.mau.fi/util/dbutil"

	"github.com/ferrybridge/ferry/bridge"
	"github.com/ferrybridge/ferry/bridge/network"
)

// TestUnstoredEventsAreBounded: an event is routed before it is stored
// (bridge.StoreAfterWait), and kept in memory when the store fails, until
// the homeserver's retry stores it. While the database kept failing,
// every new event was routed and kept so: without bound, and for ever if
// the homeserver never sent it again. Past bridge.MaxUnstoredEvents an
// event is now routed only once stored, and a transaction whose store
// fails is refused before any of it is routed: the homeserver sends it
// again, and nothing is lost or sent twice.
func TestUnstoredEventsAreBounded(t *testing.T) {
	old := bridge.MaxUnstoredEvents
	bridge.MaxUnstoredEvents = 2
	t.Cleanup(func() { bridge.MaxUnstoredEvents = old })
	sc := newScene(t, false)
	h, alice, cl := sc.h, sc.alice, sc.cl
	ctx := h.Context(2 * time.Minute)
	room := sc.openPortal(t, "open the room")
	db := h.Bridge.DB
	if db.Dialect != dbutil.SQLite {
		t.Skip("the refusing trigger is written for SQLite, the harness's database")
	}
	if _, err := db.Exec(ctx, `CREATE TRIGGER ferrytest_refuse BEFORE INSERT ON matrix_event
		WHEN NEW.event_id LIKE '$bound-%' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`); err != nil {
		t.Fatal(err)
	}
	txn := func(bodies ...string) string {
		evts := make([]string, len(bodies))
		for i, body := range bodies {
			evts[i] = fmt.Sprintf(`{"type":"m.room.message","event_id":"$bound-%s","room_id":%q,"sender":%q,"origin_server_ts":%d,"content":{"msgtype":"m.text","body":%q}}`,
				strings.ReplaceAll(body, " ", "-"), room, alice.UserID, time.Now().UnixMilli(), body)
		}
		return `{"events":[` + strings.Join(evts, ",") + `]}`
	}
	base := h.Config.AppService.Address + "/_matrix/app/v1/transactions/"
	token := h.Config.AppService.HSToken
	put := func(id, body string, want int) {
		t.Helper()
		if code := appserviceRequest(t, http.MethodPut, base+id, token, body); code != want {
			t.Fatalf("transaction %s answered %d, want %d", id, code, want)
		}
	}
	expect := func(want string) {
		t.Helper()
		if got := expectOut[*network.OutgoingMessage](t, cl).Content.Body; got != want {
			t.Fatalf("the network got %q, want %q", got, want)
		}
	}

	// Up to the bound, events go before their store, which fails.
	first := txn("bound 1", "bound 2")
	put("first", first, http.StatusInternalServerError)
	expect("bound 1")
	expect("bound 2")
	// Past it, nothing of a transaction that cannot be stored goes.
	second := txn("bound 3")
	put("second", second, http.StatusInternalServerError)
	select {
	case got := <-cl.Outbox:
		t.Fatalf("past the bound, an event whose store failed reached the network: %+v", got)
	case <-time.After(time.Second):
	}

	// The homeserver sends both again once the database works: each
	// event reaches the network once.
	if _, err := db.Exec(ctx, `DROP TRIGGER ferrytest_refuse`); err != nil {
		t.Fatal(err)
	}
	put("first", first, http.StatusOK)
	put("second", second, http.StatusOK)
	expect("bound 3")
	put("marker", txn("marker"), http.StatusOK)
	expect("marker")
	waitNothingPending(t, h)
}
