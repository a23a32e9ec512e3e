package whatsapp

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.mau.fi/util/dbutil"
	"go.mau.fi/whatsmeow/proto/waHistorySync"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// holdBackfills makes the core take every Backfill until Ferry stops, as
// a slow homeserver would: the hand-over is under way at the stop.
func holdBackfills(env *testEnv) {
	env.host.handleCtx = func(ctx context.Context, evt network.Event) error {
		if _, ok := evt.(*network.Backfill); ok {
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}
}

// queueThreeChats has WhatsApp send the history of Bob's chat (the most
// recent), the group's and Dana's, and waits until the first is with the
// core.
func queueThreeChats(t *testing.T, env *testEnv) {
	t.Helper()
	now := time.Now().Truncate(time.Second)
	env.dispatch(historySync(waHistorySync.HistorySync_INITIAL_BOOTSTRAP,
		conversation(group, webMsg(group, "G1", false, bobPN, now.Add(-2*time.Hour), plain("g1"))),
		conversation(danaPN, webMsg(danaPN, "D1", false, types.EmptyJID, now.Add(-3*time.Hour), plain("d1"))),
		conversation(bobPN,
			webMsg(bobPN, "B2", false, types.EmptyJID, now.Add(-time.Hour), plain("b2")),
			webMsg(bobPN, "B1", true, types.EmptyJID, now.Add(-90*time.Minute), plain("b1")),
		),
	))
	env.waitHandled(t, 1)
}

// restartWithHistory is Ferry started again on db with historyConfig,
// its login connected.
func restartWithHistory(t *testing.T, db *dbutil.Database, env *testEnv) *testEnv {
	t.Helper()
	conn, host := startConnector(t, db, historyConfig)
	restarted := loadEnv(t, conn, host, env.device)
	restarted.cl.Connect(restarted.ctx)
	return restarted
}

// waitFirstInQueue waits until portal is the next chat of the history
// queue to hand over.
func waitFirstInQueue(t *testing.T, env *testEnv, portal network.PortalKey) {
	t.Helper()
	q := env.cl.history
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		q.mu.Lock()
		first := len(q.order) > 0 && q.order[0] == portal
		q.mu.Unlock()
		if first {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never became the next chat to get its history", portal.Chat)
		}
	}
}

func storedHistoryChats(t *testing.T, db *dbutil.Database) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM whatsapp_history_chat WHERE login_id = $1`, ownLogin).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestHistoryWaitingAtAStopIsHandedOverAfterTheRestart: WhatsApp sends a
// login's history once, and handing its chats over takes a while. Ferry
// stops while the first of three chats is with the core; after the
// restart every chat gets its history, in the order queued, once, and a
// live message of a chat still waiting waits for it again. A further
// restart hands nothing over again.
func TestHistoryWaitingAtAStopIsHandedOverAfterTheRestart(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		env := newEnv(t, db.Database, historyConfig)
		holdBackfills(env)
		queueThreeChats(t, env)
		env.conn.Stop(env.ctx)

		restarted := restartWithHistory(t, db.Database, env)
		// Dana's chat is the last in the queue; a live message of hers
		// makes it jump ahead and waits for it.
		acked := make(chan bool, 1)
		go func() {
			acked <- restarted.dispatch(&events.Message{
				Info: types.MessageInfo{
					MessageSource: types.MessageSource{Chat: danaPN, Sender: danaPN},
					ID:            "LD", Timestamp: time.Now(),
				},
				RawMessage: plain("live"),
			})
		}()
		waitFirstInQueue(t, restarted, dmPortal(danaPN))
		restarted.dispatch(&events.Connected{})
		got := restarted.waitHandled(t, 4)
		time.Sleep(200 * time.Millisecond)
		if got = restarted.waitHandled(t, 4); len(got) != 4 {
			t.Fatalf("after the restart: %s", describe(got))
		}
		pos := map[string]int{}
		for i, evt := range got {
			switch e := evt.(type) {
			case *network.Backfill:
				pos[fmt.Sprintf("backfill %s %v", e.Portal.Chat, len(e.Messages))] = i
			case *network.Message:
				pos[string(e.ID)] = i
			}
		}
		want := []string{
			fmt.Sprintf("backfill %s 1", chatIDOf(danaPN)),
			fmt.Sprintf("backfill %s 2", chatIDOf(bobPN)),
			fmt.Sprintf("backfill %s 1", groupPortal(group).Chat),
		}
		for _, w := range want {
			if _, ok := pos[w]; !ok {
				t.Fatalf("no %s after the restart: %s", w, describe(got))
			}
		}
		if !(pos[want[0]] < pos["LD"] && pos[want[0]] < pos[want[1]] && pos[want[1]] < pos[want[2]]) {
			t.Errorf("order after the restart: %s", describe(got))
		}
		select {
		case ok := <-acked:
			if !ok {
				t.Error("live message not acknowledged")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("live message never acknowledged")
		}
		if n := storedHistoryChats(t, db.Database); n != 0 {
			t.Errorf("%d chats still stored after their history was handed over", n)
		}
		restarted.conn.Stop(restarted.ctx)

		again := restartWithHistory(t, db.Database, env)
		again.dispatch(&events.Connected{})
		time.Sleep(200 * time.Millisecond)
		if _, handled := again.host.take(); len(handled) != 0 {
			t.Errorf("history handed over again at a second restart: %s", describe(handled))
		}
	})
}

// TestHistoryWaitingAtALogoutIsForgotten: a logout ends the history still
// waiting, and leaves none of it behind for a later run.
func TestHistoryWaitingAtALogoutIsForgotten(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		env := newEnv(t, db.Database, historyConfig)
		holdBackfills(env)
		queueThreeChats(t, env)
		if err := env.cl.Logout(env.ctx); err != nil {
			t.Fatalf("Logout: %v", err)
		}
		env.conn.Stop(env.ctx)
		if n := storedHistoryChats(t, db.Database); n != 0 {
			t.Errorf("%d chats still stored after the logout", n)
		}
		var given int
		if err := db.QueryRow(env.ctx, `SELECT COUNT(*) FROM whatsapp_history_given`).Scan(&given); err != nil || given != 0 {
			t.Errorf("%d chats still noted as given history after the logout (%v)", given, err)
		}

		restarted := restartWithHistory(t, db.Database, env)
		restarted.dispatch(&events.Connected{})
		time.Sleep(200 * time.Millisecond)
		if _, handled := restarted.host.take(); len(handled) != 0 {
			t.Errorf("history of a logged-out login handed over: %s", describe(handled))
		}
	})
}

// TestHistoryAfterARestartKeepsMaxChats: WhatsApp sends a new login's
// history in several blobs, and Ferry restarts between two of them. The
// first gave max_chats chats their history; the later one, after the
// restart, gives none to a further chat (nor again to one of the first),
// as it would not without the restart: max_chats counts across runs.
func TestHistoryAfterARestartKeepsMaxChats(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		env := newEnv(t, db.Database, historyConfig) // max_chats: 3
		queueThreeChats(t, env)
		env.waitHandled(t, 3)
		env.conn.Stop(env.ctx)

		restarted := restartWithHistory(t, db.Database, env)
		restarted.dispatch(&events.Connected{})
		now := time.Now().Truncate(time.Second)
		restarted.dispatch(historySync(waHistorySync.HistorySync_FULL,
			conversation(bobPN, webMsg(bobPN, "B0", false, types.EmptyJID, now.Add(-4*time.Hour), plain("b0"))),
			conversation(carlLID, webMsg(carlLID, "C1", false, types.EmptyJID, now.Add(-5*time.Hour), plain("c1"))),
		))
		// A live message of Carl's would wait behind his history.
		restarted.dispatch(&events.Message{
			Info:       types.MessageInfo{MessageSource: types.MessageSource{Chat: carlLID, Sender: carlLID}, ID: "LC", Timestamp: now},
			RawMessage: plain("live"),
		})
		if got := restarted.waitHandled(t, 1); describe(got) != "message LC" {
			t.Errorf("handed over after the restart: %s", describe(got))
		}
	})
}
