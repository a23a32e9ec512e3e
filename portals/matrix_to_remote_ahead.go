package portals

import (
	"context"
	"fmt"
	"sync"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
)

// sendAhead sends out and, once the network has placed it (see
// OutgoingMeta.Placed), leaves its outcome to a tail so that the next
// message can go (ahead.go).
func (p *Portal) sendAhead(ctx context.Context, item *queueItem, evt *event.Event, client network.Client, login *network.Login, out *network.OutgoingMessage, timed func(bool)) error {
	placed := make(chan struct{})
	var once sync.Once
	out.Placed = func() { once.Do(func() { close(placed) }) }
	type outcome struct {
		res *network.SendResult
		err error
	}
	result := make(chan outcome, 1)
	p.m.workers.Go(func() {
		defer func() {
			if r := recover(); r != nil {
				result <- outcome{nil, fmt.Errorf("panic in the network's Send: %v", r)}
			}
		}()
		res, err := client.Send(ctx, out)
		result <- outcome{res, err}
	})
	select {
	case o := <-result:
		return p.storeSent(ctx, evt, login, o.res, o.err, timed)
	case <-placed:
	}
	p.goAhead(ctx, item, matrixFlightKey(evt.ID), evt.Sender, func() error {
		o := <-result
		err := p.storeSent(ctx, evt, login, o.res, o.err, timed)
		if err != nil {
			p.reportFailure(ctx, evt, err)
		}
		return err
	})
	return nil
}
