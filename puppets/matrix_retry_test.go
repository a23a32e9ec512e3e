package puppets

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// A send whose answer is lost (here a proxy's 504 after the homeserver
// took the event) is retried under the same transaction ID, so that the
// homeserver recognises it and does not post the event twice. mautrix
// makes a new ID for each request it is not given one for.
func TestRetriedSendKeepsItsTransactionID(t *testing.T) {
	var mu sync.Mutex
	var txnIDs []string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/send/m.room.message/") {
			txnIDs = append(txnIDs, r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:])
			if len(txnIDs) == 1 {
				w.WriteHeader(http.StatusGatewayTimeout)
				_, _ = io.WriteString(w, `{}`)
				return
			}
			_, _ = io.WriteString(w, `{"event_id":"$e"}`)
			return
		}
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"errcode":"M_NOT_FOUND","error":"no"}`)
	}))
	defer hs.Close()
	m := matrixFor(t, hs.URL)
	as := m.AS
	m.FirstBackoff = time.Millisecond
	ctx := context.Background()
	room := id.RoomID("!r:example.org")
	if err := as.StateStore.MarkRegistered(ctx, m.BotMXID()); err != nil {
		t.Fatal(err)
	}
	if err := as.StateStore.SetMembership(ctx, room, m.BotMXID(), event.MembershipJoin); err != nil {
		t.Fatal(err)
	}
	if _, err := m.SendNotice(ctx, room, &event.MessageEventContent{MsgType: event.MsgNotice, Body: "hi"}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(txnIDs) != 2 || txnIDs[0] != txnIDs[1] {
		t.Fatalf("transaction IDs of the attempts: %q; want one, used twice", txnIDs)
	}
}
