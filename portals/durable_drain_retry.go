package portals

import (
	"context"
	"time"
)

// A backlog the store could not be read for. The drain reads stored
// events in batches; when a read fails (the database restarting, a lock
// held too long), nothing else may wake the portal for a long while: no
// new event comes, and the idle timer is minutes away. So the drain is
// tried again after a short wait, doubled at each failure up to a bound,
// for as long as the bridge runs.

const (
	drainRetryFirst = time.Second
	drainRetryMax   = 30 * time.Second
)

// retryDrainLater wakes the portal to drain its backlog again after a
// read of the store failed with err, or the move of the events kept
// through an outage into their places (placeKept) did. On the portal's
// goroutine.
func (p *Portal) retryDrainLater(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return // stopping: the next start reads the store
	}
	d := &p.durable
	d.drainRetry = min(max(2*d.drainRetry, drainRetryFirst), drainRetryMax)
	p.log.Err(err).Dur("retry_in", d.drainRetry).Msg("Failed to load or order queued remote events; trying again")
	if d.drainTimer != nil {
		d.drainTimer.Stop()
	}
	d.drainTimer = time.AfterFunc(d.drainRetry, p.wake)
}

// drainReadOK ends the retries after a read of the store that worked,
// and the episode of failed reads with them (durable_read_stuck.go).
func (p *Portal) drainReadOK() {
	d := &p.durable
	d.drainRetry = 0
	d.readStuck = placeStuck{}
	if d.drainTimer != nil {
		d.drainTimer.Stop()
		d.drainTimer = nil
	}
}
