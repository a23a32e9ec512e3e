package portals

import "sync"

// RemoteWait is a network's wait for the outcome of a remote event it
// handed over (Manager.QueueRemote). A network may stop waiting (its
// context ends) while the event is still queued; the portal must then
// know that nobody hears a failure any more, or an event it gives up on
// because the homeserver cannot be reached is lost without a word. So the
// outcome and the leaving meet under one lock: either the network takes
// an outcome that came, or the portal learns that it left.
type RemoteWait struct {
	outcome chan error
	lock    sync.Mutex
	left    bool
}

func newRemoteWait() *RemoteWait {
	return &RemoteWait{outcome: make(chan error, 1)}
}

// Outcome is where the outcome comes: nil once the event is bridged (or
// kept safe in the store), else why it was not.
func (w *RemoteWait) Outcome() <-chan error { return w.outcome }

// Leave ends the wait. An outcome that came already is returned with
// came set, and the network treats it as if it had waited for it;
// otherwise the portal takes any later failure as unheard.
func (w *RemoteWait) Leave() (err error, came bool) {
	w.lock.Lock()
	defer w.lock.Unlock()
	select {
	case err = <-w.outcome:
		return err, true
	default:
		w.left = true
		return nil, false
	}
}

// tell gives the waiter the outcome, and reports whether it still
// waited to hear it.
func (w *RemoteWait) tell(err error) bool {
	w.lock.Lock()
	defer w.lock.Unlock()
	if w.left {
		return false
	}
	select {
	case w.outcome <- err:
	default: // told already (not expected): the first outcome stands
	}
	return true
}

// tell gives item's waiter, if any, its outcome, and reports whether
// anyone heard it: a network waiting through a RemoteWait, or the plain
// buffered channel of a stored event's waiter or of Manager.Do, taken as
// heard (a stored event is kept through an outage whoever waits, and a
// function run by Do is no remote event to lose).
func (item *queueItem) tell(err error) bool {
	if item.wait != nil {
		return item.wait.tell(err)
	}
	if item.result != nil {
		item.result <- err
		return true
	}
	return false
}
