package portals

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
	"github.com/ferrybridge/ferry/puppets"
)

// refusingHomeserver is a stand-in homeserver that refuses every event
// sent to it with M_FORBIDDEN (a refusal, not an outage) while refuse is
// set, and posts them once it is not.
type refusingHomeserver struct {
	mu     sync.Mutex
	refuse bool
	posted []string // the bodies of the events posted, in order
}

func (h *refusingHomeserver) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodPut || !strings.Contains(r.URL.Path, "/send/") {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"errcode":"M_NOT_FOUND","error":"no"}`)
		return
	}
	var content struct{ Body string }
	body, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(body, &content)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.refuse {
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"errcode":"M_FORBIDDEN","error":"not now"}`)
		return
	}
	h.posted = append(h.posted, content.Body)
	fmt.Fprintf(w, `{"event_id":"$e%d"}`, len(h.posted))
}

// The room is told once that its messages are held up when the move of
// kept events keeps failing. A notice the homeserver refused (not one it
// could not be reached for, which is held and posted later) did not tell
// the room: it must be tried again at the move's next failure, not
// counted as told for the rest of the episode.
func TestHeldUpNoticeRefusedOnceIsTriedAgainAtTheNextFailedMove(t *testing.T) {
	hs := &refusingHomeserver{refuse: true}
	srv := httptest.NewServer(http.HandlerFunc(hs.serve))
	t.Cleanup(srv.Close)
	reg := appservice.CreateRegistration()
	reg.AppToken, reg.ServerToken, reg.SenderLocalpart = "as-token", "hs-token", "ferry"
	as, err := appservice.CreateFull(appservice.CreateOpts{Registration: reg, HomeserverDomain: "example.org", HomeserverURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	matrix := puppets.NewMatrix(as, zerolog.Nop())
	matrix.RetryFor = 2 * time.Second
	ctx := context.Background()
	if err = as.StateStore.MarkRegistered(ctx, matrix.BotMXID()); err != nil {
		t.Fatal(err)
	}
	if err = as.StateStore.SetMembership(ctx, "!ferry:example.org", matrix.BotMXID(), event.MembershipJoin); err != nil {
		t.Fatal(err)
	}
	db := dbtest.Open(t, database.DefaultType, dbtest.SQLiteURI(t))
	key := network.PortalKey{Network: "test", Chat: "#ferry"}
	if err = db.Portals.Put(ctx, &database.Portal{Key: key, RoomID: "!ferry:example.org"}); err != nil {
		t.Fatal(err)
	}
	m := NewManager(db, nil, matrix, &loginDir{logins: map[network.LoginID]*network.Login{}}, zerolog.Nop())
	t.Cleanup(m.cancel)
	p, err := m.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	setForTest(t, &ResumeAfterOutage, 200*time.Millisecond)

	// The move has failed for a while with the drain where it stands.
	p.durable.placeStuck = placeStuck{since: time.Now().Add(-2 * ResumeAfterOutage), seq: p.durable.lastSeq.Load()}
	p.placeFailed(ctx) // the notice is refused
	hs.mu.Lock()
	hs.refuse = false
	hs.mu.Unlock()
	p.placeFailed(ctx) // the move fails again; the homeserver takes notices now
	p.placeFailed(ctx) // and again: told already

	hs.mu.Lock()
	defer hs.mu.Unlock()
	heard := 0
	for _, body := range hs.posted {
		if strings.Contains(body, "are held up") {
			heard++
		}
	}
	if heard != 1 {
		t.Errorf("the room heard of its held-up messages %d times after a refused notice and two more failed moves; want once (posted: %q)", heard, hs.posted)
	}
}
