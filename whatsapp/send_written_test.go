package whatsapp

import (
	"sync"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestSendReportsWhenTheMessageWasWritten: the core times its own share
// of a Matrix message's way (and stores the event once it has left) from
// the moment the network wrote it to its connection (OutgoingMeta.Written).
// whatsmeow's SendMessage returns only once WhatsApp acknowledged the
// message, and says how long it waited for that: Send reports the write,
// once, that long before SendMessage returned, not the return itself.
func TestSendReportsWhenTheMessageWasWritten(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	const ackWait = 300 * time.Millisecond
	env.wa.sendTimings = whatsmeow.MessageDebugTimings{Resp: ackWait}
	var (
		mu      sync.Mutex
		written []time.Time
	)
	out := &network.OutgoingMessage{OutgoingMeta: outMeta(dmPortal(bobPN)), Content: text("hello")}
	out.Written = func(at time.Time) {
		mu.Lock()
		written = append(written, at)
		mu.Unlock()
	}
	before := time.Now()
	if _, err := env.cl.Send(env.ctx, out); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	mu.Lock()
	defer mu.Unlock()
	if len(written) != 1 {
		t.Fatalf("Written was called %d times, want once", len(written))
	}
	if at := written[0]; at.Before(before.Add(-ackWait)) || at.After(after.Add(-ackWait)) {
		t.Errorf("written at %s, want %s before SendMessage returned (Send ran from %s to %s)",
			at.Format(time.StampMicro), ackWait, before.Format(time.StampMicro), after.Format(time.StampMicro))
	}
}
