package portals

import (
	"context"
	"time"
)

// MatrixHooks tell whoever queued a Matrix event (Manager.QueueMatrix) how
// it gets on. Either may be nil.
type MatrixHooks struct {
	// Left is called as soon as the event no longer needs the processor in
	// a hurry: its first line or frame has been written to the network's
	// connection, or it waits behind other work of its portal, or its
	// handling ended. The bridge stores the event then, after routing it,
	// so that the write does not compete with the message on its way. It
	// may be called more than once and from any goroutine; it must be
	// quick.
	Left func()
	// Done is called once the event has been handled (successfully or
	// with the user told why not).
	Done func()
}

type leftKey struct{}

// withLeft hands item's Left hook to the code that sends it.
func withLeft(ctx context.Context, item *queueItem) context.Context {
	if item.left == nil {
		return ctx
	}
	return context.WithValue(ctx, leftKey{}, item.left)
}

// alsoLeft makes a network's report of the first line written also call
// the Left hook of the event being handled.
func alsoLeft(ctx context.Context, written func(at time.Time)) func(at time.Time) {
	left, _ := ctx.Value(leftKey{}).(func())
	if left == nil {
		return written
	}
	return func(at time.Time) {
		if written != nil {
			written(at)
		}
		left()
	}
}

// wouldWait says whether an item queued now would wait behind other work.
func (p *Portal) wouldWait() bool {
	return len(p.queue) > 0 || p.busy.Load()
}
