package portals

import (
	"context"
	"errors"
	"fmt"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/puppets"
)

// Events lost in an outage. A remote event the homeserver could not take
// is kept in the durable queue (durable_outage.go). One that cannot be
// kept is lost: handed over unstored and its store failed as well, or one
// that cannot be stored (lazy media) that no network waits for, or whose
// network stopped waiting (its Host.HandleEvent context ended) before the
// failure came. (A storable one whose network stopped waiting is stored
// then, and kept: keepUnheard.)
// Its room must hear of it, but not at once: the homeserver that could
// not take the event would not take the notice either. So the portal
// counts it, and tells the room once the homeserver takes a notice
// again: tried ResumeAfterOutage later, on the portal's goroutine (in
// order with the room's other work), and again while it cannot go.

// noteLostInOutage notes evt, which came through login, given up
// because the homeserver could not be reached and not kept, for a notice
// once it can be reached, unless another hand-over of it gets it there
// first (lost_notes.go).
func (p *Portal) noteLostInOutage(login *network.Login, evt network.Event) {
	if _, reportable := notBridgedWhat(evt); !reportable {
		return // typing, receipts and the like: the next of their kind sets things right
	}
	if !p.noteLost(login, evt) {
		p.noteLostUser(login)
		p.durable.lost.Add(1)
	}
	p.armLostReport()
}

// armLostReport has reportLost tried ResumeAfterOutage from now, unless
// a try is already due.
func (p *Portal) armLostReport() {
	p.durable.lock.Lock()
	defer p.durable.lock.Unlock()
	if p.durable.lostTimer == nil {
		p.durable.lostTimer = time.AfterFunc(ResumeAfterOutage, p.reportLostLater)
	}
}

// reportLostLater queues reportLost on the portal's goroutine. Once the
// stop has begun, the stop's last try (reportAtStop) posts the report,
// and the timer leaves it to it.
func (p *Portal) reportLostLater() {
	p.durable.lock.Lock()
	p.durable.lostTimer = nil
	p.durable.lock.Unlock()
	if p.m.ctx.Err() != nil {
		return
	}
	// It fails only once the stop has begun (its context is the
	// bridge's), and the stop's try takes over then.
	_ = p.enqueue(p.m.ctx, &queueItem{fn: p.reportLost})
}

// reportLost tells the room how many remote events were lost in an
// outage. While the homeserver still cannot be reached, it tries again
// later: the room's report with the count of any lost meanwhile, a
// roomless portal's per user (reportLostToUsers). Any other failure only
// leaves the log to tell. Losses another hand-over of the same event may
// still make good wait for a later report (takeLostNotes).
func (p *Portal) reportLost(ctx context.Context) error {
	if p.takeLostNotes(p.mayRetryLater(ctx)) {
		p.armLostReport()
	}
	n := p.durable.lost.Swap(0)
	users := p.takeLostUsers()
	if n == 0 {
		return nil
	}
	net := p.m.dir.NetworkName(p.Key.Network)
	where := ""
	if p.RoomID == "" {
		// Told in the management rooms of the users they came for.
		where = " in " + p.roomlessChat() + ","
	}
	body := fmt.Sprintf("⚠️ %d messages from %s%s were not bridged: Matrix could not be reached, and Ferry could not keep them to try again (see the bridge log).", n, net, where)
	if n == 1 {
		body = fmt.Sprintf("⚠️ A message from %s%s was not bridged: Matrix could not be reached, and Ferry could not keep it to try again (see the bridge log).", net, where)
	}
	if p.RoomID == "" {
		p.reportLostToUsers(ctx, users, n, body)
		return nil
	}
	txn := p.lostTxn(n)
	_, err := p.sendNoticeTxn(ctx, noticeContent(body), txn)
	switch {
	case err == nil:
	case errors.Is(err, puppets.ErrUnreachable) && p.mayRetryLater(ctx):
		// The count goes back to be told with any lost meanwhile, in
		// one report.
		p.log.Warn().Err(err).Int64("lost", n).Dur("retry_in", ResumeAfterOutage).
			Msg("Homeserver unreachable; remote events lost in the outage are reported later")
		p.failedLostTry(n, txn)
		p.armLostReport()
	case p.cutByStop(ctx):
		p.log.Warn().Err(err).Int64("lost", n).Msg("The report of remote events lost in an outage was cut short by the stop; it is tried once more as Ferry stops")
		p.failedLostTry(n, txn)
		p.armLostReport()
	default:
		p.log.Err(err).Int64("lost", n).Msg("Failed to report remote events lost in a homeserver outage")
	}
	return nil
}

// reportLostToUsers tells users, in their management rooms, of the n
// events lost for a portal that has no room. A user the homeserver could
// not be reached for gets the report held on its own (noticeOrHold), so
// that those who got it do not get it again with the next try.
func (p *Portal) reportLostToUsers(ctx context.Context, users []id.UserID, n int64, body string) {
	err := p.noticeOrHold(ctx, users, body)
	switch {
	case err == nil:
	case errors.Is(err, errNoRoom):
		p.log.Error().Int64("lost", n).Msg("Remote events lost in a homeserver outage, and the portal has no room nor user to say so to")
	default:
		p.log.Err(err).Int64("lost", n).Msg("Failed to report remote events lost in a homeserver outage")
	}
}

// lostTry is a try of the room's lost report that failed: the count it
// told and its transaction ID. Its answer may have been lost after the
// homeserver took it (the stop cut the try short as it arrived, an
// outage lost the answer): tried again with the same ID, the report is
// answered with the event that try made, not posted twice.
type lostTry struct {
	n   int64
	txn string
}

// failedLostTry gives the count n of the report tried with txn back, to
// be told at the next try.
func (p *Portal) failedLostTry(n int64, txn string) {
	p.durable.lock.Lock()
	p.durable.lostTry = lostTry{n: n, txn: txn}
	p.durable.lock.Unlock()
	p.durable.lost.Add(n)
}

// lostTxn is the transaction ID of the room's report of n lost events:
// the failed try's when it told the same count (nothing lost since), so
// that the homeserver posts the report once; else a new one, the report
// telling more than the failed try did (which, if the homeserver took
// it after all, then counts those events twice: better than never).
func (p *Portal) lostTxn(n int64) string {
	p.durable.lock.Lock()
	last := p.durable.lostTry
	p.durable.lostTry = lostTry{}
	p.durable.lock.Unlock()
	if last.txn != "" && last.n == n {
		return last.txn
	}
	return newNoticeTxn()
}
