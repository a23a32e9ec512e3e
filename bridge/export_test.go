package bridge

import (
	"testing"

	"maunium.net/go/mautrix/event"
)

// HoldLoginFlows has every login flow call hold at the points "started"
// (its login stored and started, not yet kept) and "kept" (kept, its
// user not yet told), "ending" (ended without a login, its user not yet
// told), "told" (ended without a login, its user told) and "kept told"
// (kept, its user told, the flow out of the running ones), and every
// start of a login whose client the core loads at
// "registered" (running, its client not yet connected), and every
// logout or retry of a login that could not be started that waits for
// another retry's load of it at "unstarted awaited", for the rest of t.
func HoldLoginFlows(t testing.TB, hold func(point string)) {
	flowHookFn.Store(&hold)
	t.Cleanup(func() { flowHookFn.Store(nil) })
}

// HoldHandledEvents has every event a room's queue handled (the
// management room's messages, commands) call hold with it, before it is
// marked handled, for the rest of t.
func HoldHandledEvents(t testing.TB, hold func(evt *event.Event)) {
	handledHookFn.Store(&hold)
	t.Cleanup(func() { handledHookFn.Store(nil) })
}

// Stopping is closed once Stop has cancelled the bridge's work.
func (b *Bridge) Stopping() <-chan struct{} { return b.ctx.Done() }

// MarkHandledWait is how long a handled mark may take once Stop began.
const MarkHandledWait = markHandledWait
