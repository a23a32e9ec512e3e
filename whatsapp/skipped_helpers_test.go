package whatsapp

import (
	"testing"

	"go.mau.fi/whatsmeow/types/events"
)

// assertSkipped dispatches evts, each of which must be acknowledged, and
// fails t if any of them was bridged.
func assertSkipped(t *testing.T, env *testEnv, evts ...*events.Message) {
	t.Helper()
	for _, evt := range evts {
		if !env.dispatch(evt) {
			t.Errorf("%s: not acknowledged", evt.Info.ID)
		}
	}
	if q, h := env.host.take(); len(q)+len(h) > 0 {
		t.Errorf("bridged %d+%d events: %+v %+v", len(q), len(h), q, h)
	}
}
