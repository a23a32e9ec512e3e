package bridge

import (
	"sync"
	"time"

	"maunium.net/go/mautrix/id"
)

// editWindow is how long a command the bot did not know may be corrected
// by editing it. An edit later than that, or of a command that ran, is
// not run: clients offer to edit any message, and an edit fixing a typo
// in a `logout` that already worked must not log out again.
const editWindow = 10 * time.Minute

// commandEdits remembers the commands answered "Unknown command", by
// event ID, for editWindow. In memory only: after a restart, an edit is
// not run, and the user is told to send the command anew.
type commandEdits struct {
	lock    sync.Mutex
	unknown map[id.EventID]time.Time
}

// wasUnknown records that the command in evtID named no command.
func (e *commandEdits) wasUnknown(evtID id.EventID) {
	e.lock.Lock()
	defer e.lock.Unlock()
	now := time.Now()
	if e.unknown == nil {
		e.unknown = make(map[id.EventID]time.Time)
	}
	for evt, at := range e.unknown {
		if now.Sub(at) > editWindow {
			delete(e.unknown, evt)
		}
	}
	e.unknown[evtID] = now
}

// takeCorrection reports whether an edit of original may run as a
// command, and forgets original: a correction runs once (it is
// remembered again if the correction names no command either).
func (e *commandEdits) takeCorrection(original id.EventID) bool {
	e.lock.Lock()
	defer e.lock.Unlock()
	at, ok := e.unknown[original]
	delete(e.unknown, original)
	return ok && time.Since(at) <= editWindow
}
