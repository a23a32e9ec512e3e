package portals

import (
	"context"
	"sync"
	"time"
)

// Reports pending at a stop. The count of events lost in an outage
// (durable_outage_lost.go) and the notices held through one
// (notice_held.go) wait for the homeserver to come back; Ferry may stop
// first. They live only in memory, so the next start cannot tell them:
// the stop tries once more to post them, briefly, since the homeserver
// may be back by then (or never left: the timer was simply not due).
// What still cannot go is logged with its count or text.

// StopReportTimeout bounds how long a stop spends posting the reports
// and notices its portals still hold, all portals together.
var StopReportTimeout = 5 * time.Second

// stopReportsAtOnce is how many portals post their reports at once at a
// stop: a homeserver slow to answer one room then holds up only that
// room's reports, not, one after another, those of every room after it,
// while a stop with thousands of portals holding reports does not send
// them all at once to a homeserver that may just be recovering.
const stopReportsAtOnce = 4

// reportAtStop gives the portals' pending reports their try at a stop,
// stopReportsAtOnce portals at a time, all within StopReportTimeout.
// What the time left no room for is logged by each portal as it fails.
func (m *Manager) reportAtStop(portals []*Portal) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(m.ctx), StopReportTimeout)
	defer cancel()
	ctx = context.WithValue(ctx, stopReportKey{}, true)
	slots := make(chan struct{}, stopReportsAtOnce)
	var wg sync.WaitGroup
	for _, p := range portals {
		// Every try ends by ctx's deadline, so a slot is always freed
		// in time; a portal reached after it still logs what it held.
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() {
				<-slots
				wg.Done()
			}()
			p.reportAtStop(ctx)
		}()
	}
	wg.Wait()
}

// reportAtStop posts, within ctx, what the portal still holds to report
// after an outage, in order: the lost-events report, then the held
// notices. Called by Manager.Stop once the portal's goroutine has ended.
func (p *Portal) reportAtStop(ctx context.Context) {
	p.durable.lock.Lock()
	if p.durable.lostTimer != nil {
		p.durable.lostTimer.Stop()
		p.durable.lostTimer = nil
	}
	if p.durable.noticeTimer != nil {
		p.durable.noticeTimer.Stop()
		p.durable.noticeTimer = nil
	}
	p.durable.lock.Unlock()
	_ = p.reportLost(ctx)
	_ = p.sendHeld(ctx)
}

// stopReportKey marks the context of the stop's try (reportAtStop).
type stopReportKey struct{}

// cutByStop says whether a report or notice that failed on ctx was cut
// short by the bridge's stop (its context ended with the portal's
// goroutine), rather than tried by the stop: the stop's own try is still
// to come, so it is held for that try, not only logged.
func (p *Portal) cutByStop(ctx context.Context) bool {
	return p.m.ctx.Err() != nil && ctx.Value(stopReportKey{}) == nil
}

// mayRetryLater says whether a report that met an unreachable homeserver
// may wait for a later try: not once its context has ended, nor once the
// bridge is stopping (no later try would come).
func (p *Portal) mayRetryLater(ctx context.Context) bool {
	return ctx.Err() == nil && p.m.ctx.Err() == nil
}
