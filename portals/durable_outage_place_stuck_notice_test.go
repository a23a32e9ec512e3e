package portals

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// refusingHomeserver is a stand-in homeserver that refuses every event
// sent to it with M_FORBIDDEN (a refusal, not an outage) while refuse is
// set, and posts them once it is not.
type refusingHomeserver struct {
	mu     sync.Mutex
	refuse bool
	posted []string // the bodies of the events posted, in order
}

func (h *refusingHomeserver) send(w http.ResponseWriter, _ *http.Request, body string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.refuse {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"errcode":"M_FORBIDDEN","error":"not now"}`)
		return
	}
	h.posted = append(h.posted, body)
	fmt.Fprintf(w, `{"event_id":"$e%d"}`, len(h.posted))
}

// The room is told once that its messages are held up when the move of
// kept events keeps failing. A notice the homeserver refused (not one it
// could not be reached for, which is held and posted later) did not tell
// the room: it must be tried again at the move's next failure, not
// counted as told for the rest of the episode.
func TestHeldUpNoticeRefusedOnceIsTriedAgainAtTheNextFailedMove(t *testing.T) {
	hs := &refusingHomeserver{refuse: true}
	p := stubRoomPortal(t, dbtest.Open(t, database.DefaultType, dbtest.SQLiteURI(t)), hs.send)
	ctx := context.Background()
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
