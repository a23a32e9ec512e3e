package bridge_test

import (
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge"
	"github.com/ferrybridge/ferry/bridge/config"
	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/pgtest"
)

// TestLoginAnswerHandledAsFerryStopsIsNotReplayed: Stop cancelled the
// bridge's context before it waited for the events being handled, and
// their handled mark used that context. A password handled then was
// replayed at the next start, with no login left asking: "Unknown
// command `hunter2-carol`", the password shown back, its stored body
// never emptied. The mark is made now, the body emptied. On PostgreSQL,
// whose statements watch their context (SQLite's do not, see
// database/sqlite_execable.go).
func TestLoginAnswerHandledAsFerryStopsIsNotReplayed(t *testing.T) {
	s := newSceneWith(t, false, ferrytest.Options{DatabaseType: config.DatabasePostgres, DatabaseURI: pgtest.URI(t)})
	stopping := s.h.Bridge.Stopping()
	handled := make(chan struct{})
	var once sync.Once
	// The password's handling ends while Stop begins: its mark comes
	// once the bridge's context is cancelled.
	bridge.HoldHandledEvents(t, func(evt *event.Event) {
		if msg := evt.Content.AsMessage(); msg != nil && msg.Body == "hunter2-carol" {
			once.Do(func() {
				close(handled)
				<-stopping
			})
		}
	})
	s.h.Command(s.alice, s.mgmt, "login test carol", "password")
	secret := s.alice.SendText(t, s.mgmt, "hunter2-carol")
	s.h.WaitForBotNotice(s.alice, s.mgmt, "Logged in to Testnet as carol")
	<-handled
	s.h.StopBridge()
	s.h.StartBridge()

	// Anything replayed in the room is answered before this.
	s.h.Command(s.alice, s.mgmt, "version", "Ferry ")
	if said := botSaidSince(s.h, s.alice, s.mgmt, nil, "hunter2"); len(said) != 0 {
		t.Errorf("the password handled at the stop was shown back after the restart: %q", said)
	}
	waitHandledWithout(t, s.h, secret, "hunter2")
}

// queuedAtStop has alice send held, a `version` command, then body in her
// management room, whose queue held waits in until Stop has begun, so
// that body waits for the next start; it runs beforeStop, and restarts
// Ferry.
func queuedAtStop(t *testing.T, s *scene, held, body string, beforeStop func()) {
	t.Helper()
	stopping := s.h.Bridge.Stopping()
	var once sync.Once
	bridge.HoldHandledEvents(t, func(evt *event.Event) {
		if msg := evt.Content.AsMessage(); msg != nil && msg.Body == held {
			once.Do(func() { <-stopping })
		}
	})
	s.h.Command(s.alice, s.mgmt, held, "Ferry ")
	queued := s.alice.SendText(t, s.mgmt, body)
	waitStored(t, s.h, queued)
	beforeStop()
	s.h.StopBridge()
	s.h.StartBridge()
}

// notShownBack waits for the answer to alice's message replayed at the
// start, "hunter2-…", which must not show it back.
func notShownBack(t *testing.T, s *scene) {
	t.Helper()
	s.h.WaitForBotNotice(s.alice, s.mgmt, "sent before Ferry restarted names no command")
	if said := botSaidSince(s.h, s.alice, s.mgmt, nil, "hunter2"); len(said) != 0 {
		t.Errorf("the message replayed at the start was shown back: %q", said)
	}
}

// TestCommandQueuedAtStopIsAnsweredAfterTheRestart: a message waiting in
// the management room's queue when Ferry stops is not handled on the
// stopping bridge, whose answer could not be sent (and which, marked
// handled, was never answered): it waits for the next start. There it is
// not shown back as an unknown command when the login questions stored
// at the stop cannot be read: sent before the stop, it may be the
// password a login asked for then.
func TestCommandQueuedAtStopIsAnsweredAfterTheRestart(t *testing.T) {
	s := newScene(t, false)
	queuedAtStop(t, s, "version", "hunter2-queued", func() {
		if err := s.h.Bridge.DB.KV.Set(s.h.Context(waitLong), "login.ended_questions", "unreadable"); err != nil {
			t.Fatal(err)
		}
	})
	notShownBack(t, s)
}

// TestAnswerQueuedAtStopToAQuestionNotStoredIsNotShownBack: a login asks
// for a password as Ferry stops, and ends with the stop; its question
// could not be stored. The password waiting in the queue is replayed
// at the start with no question recalled: not shown back.
func TestAnswerQueuedAtStopToAQuestionNotStoredIsNotShownBack(t *testing.T) {
	s := newScene(t, false)
	if _, err := s.h.Bridge.DB.Exec(s.h.Context(waitLong), `CREATE TRIGGER refuse_questions BEFORE INSERT ON kv_store
		WHEN NEW.key = 'login.ended_questions' BEGIN SELECT RAISE(ABORT, 'the disk is full'); END`); err != nil {
		t.Fatal(err)
	}
	s.h.Command(s.alice, s.mgmt, "login test carol", "password")
	queuedAtStop(t, s, "!ferry version", "hunter2-unstored", func() {})
	notShownBack(t, s)
}

// TestAnswerQueuedAtStopToAQuestionStaleAtStartIsNotShownBack: the
// question ended within its window before the stop, which passed while
// Ferry was down: the message replayed from its room may be the answer
// sent in time, and is not shown back.
func TestAnswerQueuedAtStopToAQuestionStaleAtStartIsNotShownBack(t *testing.T) {
	s := newScene(t, false)
	queuedAtStop(t, s, "version", "hunter2-stale", func() {
		stale := fmt.Sprintf(`{%q: {"room": %q, "network": "test", "field": "password", "at": %q}}`,
			s.alice.UserID, s.mgmt, time.Now().Add(-time.Hour).Format(time.RFC3339))
		if err := s.h.Bridge.DB.KV.Set(s.h.Context(waitLong), "login.ended_questions", stale); err != nil {
			t.Fatal(err)
		}
	})
	notShownBack(t, s)
}

// TestTypoQueuedAtStopIsAnsweredAsAnyUnknownCommand: where the questions
// stored at the stop tell that no login asked for a password, a typo
// replayed at the start (`stauts`) is answered as any unknown command,
// no longer "not shown back, in case it held a password".
func TestTypoQueuedAtStopIsAnsweredAsAnyUnknownCommand(t *testing.T) {
	s := newScene(t, false)
	queuedAtStop(t, s, "version", "stauts", func() {})
	s.h.WaitForBotNotice(s.alice, s.mgmt, "Unknown command `stauts`")
	if said := botSaidSince(s.h, s.alice, s.mgmt, nil, "not shown back"); len(said) != 0 {
		t.Errorf("the typo replayed at the start was answered %q", said)
	}
}

// TestCommandMarkedHandledAfterASlowDatabaseIsNotReplayed: the handled
// mark was given up after markHandledWait even while Ferry ran, not only
// once it stopped. A database that held the mark longer (a lock, a
// failover) left the event unmarked, and the next start replayed it: a
// command run twice, a message sent twice. The mark now waits as long as
// it did before, and is bounded only once Stop has begun.
func TestCommandMarkedHandledAfterASlowDatabaseIsNotReplayed(t *testing.T) {
	s := newSceneWith(t, false, ferrytest.Options{DatabaseType: config.DatabasePostgres, DatabaseURI: pgtest.URI(t)})
	ctx := s.h.Context(waitLong)
	type lockedRow struct {
		evt id.EventID
		tx  *sql.Tx
	}
	locked := make(chan lockedRow, 1)
	var once sync.Once
	// Before "version" is marked handled, its stored row is locked: the
	// mark waits for the lock.
	bridge.HoldHandledEvents(t, func(evt *event.Event) {
		if msg := evt.Content.AsMessage(); msg == nil || msg.Body != "version" {
			return
		}
		once.Do(func() {
			waitStored(t, s.h, evt.ID)
			tx, err := s.h.Bridge.DB.RawDB.BeginTx(ctx, nil)
			if err != nil {
				t.Error(err)
				close(locked)
				return
			}
			if _, err = tx.ExecContext(ctx, `SELECT 1 FROM matrix_event WHERE event_id = $1 FOR UPDATE`, evt.ID); err != nil {
				t.Error(err)
			}
			locked <- lockedRow{evt: evt.ID, tx: tx}
		})
	})
	s.h.Command(s.alice, s.mgmt, "version", "Ferry ")
	row, ok := <-locked
	if !ok {
		return
	}
	// Longer than the bound the mark had while Ferry ran.
	time.Sleep(bridge.MarkHandledWait + 2*time.Second)
	if err := row.tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	waitHandledWithout(t, s.h, row.evt, "no secret in it")
}

// TestAnswerQueuedAtStopWhereTheLastMarkWasLeftIsNotShownBack: the mark
// of the login questions stored whole, written at a stop, could not be
// removed at the next start. Left, it told the start after this run that
// its questions were stored whole, which they were not: a password typed
// for a login that asked in this run was shown back. No login starts
// while it is left; once it can be removed, it is, and the password
// replayed is not shown back.
func TestAnswerQueuedAtStopWhereTheLastMarkWasLeftIsNotShownBack(t *testing.T) {
	s := newScene(t, false)
	exec := func(query string) {
		t.Helper()
		if _, err := s.h.Bridge.DB.Exec(s.h.Context(waitLong), query); err != nil {
			t.Fatal(err)
		}
	}
	exec(`CREATE TRIGGER keep_mark BEFORE DELETE ON kv_store
		WHEN OLD.key = 'login.ended_questions_complete' BEGIN SELECT RAISE(ABORT, 'the database is locked'); END`)
	exec(`CREATE TRIGGER refuse_questions BEFORE INSERT ON kv_store
		WHEN NEW.key = 'login.ended_questions' BEGIN SELECT RAISE(ABORT, 'the disk is full'); END`)
	s.h.StopBridge()
	s.h.StartBridge()
	s.h.Command(s.alice, s.mgmt, "login test carol", "could not prepare the login")
	exec(`DROP TRIGGER keep_mark`)
	s.h.Command(s.alice, s.mgmt, "login test carol", "password")
	queuedAtStop(t, s, "!ferry version", "hunter2-left", func() {})
	s.h.WaitForBotNotice(s.alice, s.mgmt, "sent before Ferry restarted names no command")
	if said := botSaidSince(s.h, s.alice, s.mgmt, nil, "hunter2"); len(said) != 0 {
		t.Errorf("the password replayed at the start was shown back: %q", said)
	}
}
