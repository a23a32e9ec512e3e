package whatsapp

import (
	"testing"
	"time"

	"go.mau.fi/whatsmeow/types"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestSentChangeRecordedOnlyForSharedRooms: the IDs of changes sent from
// Matrix are kept so that another Ferry login in the same room does not
// bridge them again. A DM's room is its login's alone (its portal has a
// Receiver): a change sent there is not written to the table, as no
// other login can ever look it up; one sent in a group is.
func TestSentChangeRecordedOnlyForSharedRooms(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	env.wa.sendTime = time.Now()
	rows := func() int {
		t.Helper()
		var n int
		if err := env.cl.conn.msgs.db.QueryRow(env.ctx, `SELECT COUNT(*) FROM whatsapp_sent_change`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	res, err := env.cl.Send(env.ctx, &network.OutgoingMessage{OutgoingMeta: outMeta(dmPortal(bobPN)), Content: text("helo")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err = env.cl.React(env.ctx, &network.OutgoingReaction{OutgoingMeta: outMeta(dmPortal(bobPN)), Target: network.MessageRef{ID: res.ID}, Key: "❤️"}); err != nil {
		t.Fatal(err)
	}
	if err = env.cl.Edit(env.ctx, &network.OutgoingEdit{OutgoingMeta: outMeta(dmPortal(bobPN)), Target: network.MessageRef{ID: res.ID}, Content: text("hello")}); err != nil {
		t.Fatal(err)
	}
	if n := rows(); n != 0 {
		t.Errorf("changes sent in a DM wrote %d rows, want none", n)
	}
	env.seen(t, "G1", types.MessageSource{Chat: group, Sender: bobPN, IsGroup: true})
	if _, err = env.cl.React(env.ctx, &network.OutgoingReaction{OutgoingMeta: outMeta(groupPortal(group)), Target: network.MessageRef{ID: "G1"}, Key: "👍"}); err != nil {
		t.Fatal(err)
	}
	if n := rows(); n != 1 {
		t.Errorf("a reaction sent in a group wrote %d rows, want 1", n)
	}
}
