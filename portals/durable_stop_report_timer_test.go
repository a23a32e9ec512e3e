package portals

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// errorLog collects the lines logged at error level or above.
type errorLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *errorLog) WriteLevel(level zerolog.Level, p []byte) (int, error) {
	if level >= zerolog.ErrorLevel {
		l.mu.Lock()
		l.lines = append(l.lines, string(bytes.TrimSpace(p)))
		l.mu.Unlock()
	}
	return len(p), nil
}

func (l *errorLog) Write(p []byte) (int, error) { return len(p), nil }

func (l *errorLog) errors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// The timers of the lost-messages report and of the held notices may
// fire after the stop has begun (its cancel) and before the stop's last
// try posts what they hold (reportAtStop). With the portal's queue full,
// as behind a slow portal, the timer's hand-over failed and it logged
// that the report and notices were not sent, which the stop's try then
// sent. A timer that fires once the stop has begun leaves them to that
// try: posted once, and no error logged.
func TestReportTimersFiringAsTheBridgeStopsLeaveThemToTheStop(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		setForTest(t, &ResumeAfterOutage, time.Hour) // the timers are fired by hand
		_, p, dir, login := roomlessScene(t, db)
		logged := &errorLog{}
		p.log = zerolog.New(logged)
		p.noteLostInOutage(login, textFrom(p, "bob", "lost"))
		p.holdNotices([]heldNotice{{user: login.User, body: "⚠️ a held notice"}})

		// The stop's first step; the portal's queue is full.
		p.m.cancel()
		for len(p.queue) < cap(p.queue) {
			p.queue <- &queueItem{fn: func(context.Context) error { return nil }}
		}
		p.reportLostLater()
		p.sendHeldLater()

		p.m.Stop()
		got := dir.noticesOf(login.User)
		if len(got) != 2 || !strings.Contains(got[0], "A message from Testnet") || got[1] != "⚠️ a held notice" {
			t.Errorf("alice's management room got %q; want the lost-messages report and the held notice, once each", got)
		}
		if errs := logged.errors(); len(errs) != 0 {
			t.Errorf("logged as errors: %q; want nothing, the stop posted them", errs)
		}
	})
}
