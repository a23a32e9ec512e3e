package whatsapp

import (
	"errors"
	"testing"

	"go.mau.fi/whatsmeow/types"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestDMRoomMovesFromLIDToPhoneNumber: Bob writes by LID while his number
// is unknown, so his DM is keyed by the LID. Once the number is known, the
// next message asks the core to move that room to the number's key (once),
// moves the stored message keys, and resyncs the room's members so that
// the LID ghost gives way to the number's.
func TestDMRoomMovesFromLIDToPhoneNumber(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	lidKey, pnKey := privatePortal(bobLID, ownLogin), privatePortal(bobPN, ownLogin)

	env.dispatch(textEvent("L1", types.MessageSource{Chat: bobLID, Sender: bobLID}, "by LID"))
	_, handled := env.host.take()
	if len(handled) != 1 || handled[0].EventMeta().Portal != lidKey {
		t.Fatalf("a message from an unknown LID landed in %+v, want the LID's DM", handled)
	}
	if len(env.host.rekeys) != 0 {
		t.Fatalf("moved %v before the number was known", env.host.rekeys)
	}

	if err := env.device.LIDs.PutLIDMapping(env.ctx, bobLID, bobPN); err != nil {
		t.Fatal(err)
	}
	env.dispatch(textEvent("L2", types.MessageSource{Chat: bobLID, Sender: bobLID}, "number known"))
	env.dispatch(textEvent("P3", types.MessageSource{Chat: bobPN, Sender: bobPN}, "by number"))
	queued, handled := env.host.take()
	if len(handled) != 2 || handled[0].EventMeta().Portal != pnKey || handled[1].EventMeta().Portal != pnKey {
		t.Fatalf("messages after the number became known: %s", describe(handled))
	}
	if len(env.host.rekeys) != 1 || env.host.rekeys[0] != [2]network.PortalKey{lidKey, pnKey} {
		t.Fatalf("moves asked: %v; want one, from the LID's key to the number's", env.host.rekeys)
	}
	var resync *network.ChatResync
	for _, evt := range queued {
		if r, ok := evt.(*network.ChatResync); ok {
			resync = r
		}
	}
	if resync == nil || resync.Portal != pnKey || resync.Info.Members == nil || !resync.Info.Members.IsFull ||
		resync.Info.OtherUser != "4915100000002" {
		t.Fatalf("after the move: %+v; want a full member resync of the number's DM", resync)
	}
	if key, err := env.conn.msgs.get(env.ctx, ownLogin, pnKey.Chat, "L1"); err != nil || key == nil || key.Sender != bobLID {
		t.Errorf("the key of the message from before the move: %+v, %v; want it under the number's chat", key, err)
	}

	// Carl: the move fails for a passing reason, so the next message tries
	// again; a room under both keys is left as it is, and not retried.
	carlPN := types.NewJID("4915100000003", types.DefaultUserServer)
	if err := env.device.LIDs.PutLIDMapping(env.ctx, carlLID, carlPN); err != nil {
		t.Fatal(err)
	}
	env.host.rekeyErr = errors.New("database busy")
	env.dispatch(textEvent("C1", types.MessageSource{Chat: carlPN, Sender: carlPN}, "one"))
	env.host.rekeyErr = network.ErrPortalExists
	env.dispatch(textEvent("C2", types.MessageSource{Chat: carlPN, Sender: carlPN}, "two"))
	env.dispatch(textEvent("C3", types.MessageSource{Chat: carlPN, Sender: carlPN}, "three"))
	if len(env.host.rekeys) != 3 {
		t.Errorf("moves asked for Carl: %d, want 2 (a failure is retried, a refusal is not)", len(env.host.rekeys)-1)
	}
}
