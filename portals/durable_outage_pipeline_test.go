package portals

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
	"github.com/ferrybridge/ferry/puppets"
)

// heldPipeline is a room's pipeline that has given up a send because the
// homeserver (503 throughout) could not be reached: it refuses new sends.
func heldPipeline(t *testing.T) *puppets.Pipeline {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	pipe, err := puppets.NewPipeline(srv.URL, nil, zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pipe.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, srv.URL+"/send/a", strings.NewReader(`{}`))
	if resp, err := (&http.Client{Transport: pipe}).Do(req); err == nil {
		resp.Body.Close()
	}
	if !pipe.Held() {
		t.Fatal("the pipeline is not held after a send was given up; the scene needs it held")
	}
	return pipe
}

// A pipeline that gave up a send refuses the room's next sends until the
// portal resumes it. The portal does so as it tries its kept events
// again, and, when it kept none (the event given up could not be
// stored), before its next message goes ahead; with an event kept, the
// pipeline stays held until then, so that nothing overtakes that event.
func TestPortalResumesItsHeldPipeline(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		setForTest(t, &ResumeAfterOutage, time.Hour) // resumed by hand below
		ctx, p, _, login := memberScene(t, db)

		// Nothing kept: the next message lifts the hold.
		p.ahead.pipe = heldPipeline(t)
		p.liftNeedlessHold()
		if p.ahead.pipe.Held() {
			t.Error("the pipeline stays held though the portal kept no event")
		}

		// An event kept: held until the portal resumes.
		p.ahead.pipe = heldPipeline(t)
		kept := textFrom(p, "bob", "kept")
		row := storeQueued(t, ctx, db, p, login.ID, kept)
		if !p.keepUntilReachable(ctx, &queueItem{remote: kept, login: login, seq: row.Seq}, puppets.ErrUnreachable) {
			t.Fatal("the event the homeserver could not take was not kept")
		}
		p.durable.lock.Lock()
		p.durable.resumeTimer.Stop()
		p.durable.resumeTimer = nil
		p.durable.lock.Unlock()

		p.liftNeedlessHold()
		if !p.ahead.pipe.Held() {
			t.Fatal("the pipeline took sends again while an event kept for the homeserver waits")
		}
		p.durable.lock.Lock()
		p.durable.resumeDue = true
		p.durable.lock.Unlock()
		if !p.resumeIfDue() {
			t.Fatal("the portal did not resume when due")
		}
		if p.ahead.pipe.Held() {
			t.Error("the pipeline is still held after the portal resumed its kept events")
		}
	})
}
