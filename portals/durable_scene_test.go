package portals

import (
	"context"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
)

// textFrom is a text message from sender in p's chat, its body its ID.
func textFrom(p *Portal, sender network.UserID, id network.MessageID) *network.Message {
	return &network.Message{
		Meta:  network.Meta{Portal: p.Key, Sender: network.Sender{User: sender}, Timestamp: time.Now()},
		ID:    id,
		Parts: []network.Part{{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: string(id)}}},
	}
}

// storeQueued stores evt in p's durable queue as come through login,
// counts it as waiting, and returns its row.
func storeQueued(t *testing.T, ctx context.Context, db *database.Database, p *Portal, login network.LoginID, evt network.Event) *database.RemoteEvent {
	t.Helper()
	payload, err := network.MarshalEvent(evt)
	if err != nil {
		t.Fatal(err)
	}
	row := &database.RemoteEvent{Portal: p.Key, Login: login, ReceivedAt: time.Now(), Payload: payload}
	if err = db.RemoteEvents.Insert(ctx, row); err != nil {
		t.Fatal(err)
	}
	p.durable.pending.Add(1)
	return row
}

// stopResumeTimerAtEnd stops, when the test ends, the timer a kept event
// arms to resume p's drain.
func stopResumeTimerAtEnd(t *testing.T, p *Portal) {
	t.Cleanup(func() {
		p.durable.lock.Lock()
		if p.durable.resumeTimer != nil {
			p.durable.resumeTimer.Stop()
		}
		p.durable.lock.Unlock()
	})
}
