package portals

import (
	"context"
	"net/http/httptrace"
	"sync"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/metrics"
	"github.com/ferrybridge/ferry/bridge/network"
)

// Stage timings for the metrics. They cost nothing with metrics off, and
// with metrics on a few clock reads per message and, towards Matrix, one
// httptrace context per send.

// startedRemote notes that the portal starts on a remote event: the end of
// its wait in the queue.
func (p *Portal) startedRemote(evt network.Event) {
	reg := p.m.Metrics
	if reg == nil {
		return
	}
	p.handlingSince = time.Now()
	if _, ok := evt.(*network.Message); ok {
		reg.ObserveSince(metrics.StageKey{Direction: metrics.RemoteToMatrix, Network: string(p.Key.Network), Stage: metrics.StageQueue},
			evt.EventMeta().ReceivedAt, p.handlingSince)
	}
}

// timeStored notes that a remote message read off the network has been
// stored (the durable queue's insert committed).
func (p *Portal) timeStored(evt network.Event) {
	reg := p.m.Metrics
	if reg == nil {
		return
	}
	if _, ok := evt.(*network.Message); ok { // ObserveSince skips an untimed one
		reg.ObserveSince(metrics.StageKey{Direction: metrics.RemoteToMatrix, Network: string(p.Key.Network), Stage: metrics.StageStore},
			evt.EventMeta().ReceivedAt, time.Now())
	}
}

// startedMatrix is startedRemote for Matrix messages.
func (p *Portal) startedMatrix(evt *event.Event) {
	reg := p.m.Metrics
	if reg == nil || (evt.Type != event.EventMessage && evt.Type != event.EventSticker) {
		return
	}
	reg.ObserveSince(metrics.StageKey{Direction: metrics.MatrixToRemote, Network: string(p.Key.Network), Stage: metrics.StageQueue},
		evt.Mautrix.ReceivedAt, time.Now())
}

// timeRemoteSend times one send to the homeserver of a remote event read
// off the network at *received (zero: not timed). It consumes *received:
// of a message in several parts only the first event sent is timed, since
// the later ones also wait for the earlier ones' answers. Ferry's share ends when
// the first attempt's request has been written to the homeserver's
// connection; the homeserver's time runs from there to the answer, so
// retries count as the homeserver's. Call done with whether it succeeded.
func (p *Portal) timeRemoteSend(ctx context.Context, receivedp *time.Time) (_ context.Context, done func(ok bool)) {
	received := *receivedp
	*receivedp = time.Time{}
	reg := p.m.Metrics
	if reg == nil || received.IsZero() {
		return ctx, func(bool) {}
	}
	var (
		mu    sync.Mutex
		wrote time.Time
	)
	trace := &httptrace.ClientTrace{
		// Called on the transport's writer goroutine.
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err != nil {
				return
			}
			now := time.Now()
			mu.Lock()
			if wrote.IsZero() {
				wrote = now
			}
			mu.Unlock()
		},
	}
	net := string(p.Key.Network)
	since := p.handlingSince // read now: a tail calls done while the portal handles later items
	return httptrace.WithClientTrace(ctx, trace), func(ok bool) {
		answered := time.Now()
		mu.Lock()
		w := wrote
		mu.Unlock()
		if !ok || w.IsZero() {
			return
		}
		reg.ObserveSince(metrics.StageKey{Direction: metrics.RemoteToMatrix, Network: net, Stage: metrics.StageFerry}, received, w)
		if !since.IsZero() && !since.Before(received) {
			reg.ObserveSince(metrics.StageKey{Direction: metrics.RemoteToMatrix, Network: net, Stage: metrics.StageHandling}, since, w)
		}
		reg.ObserveSince(metrics.StageKey{Direction: metrics.RemoteToMatrix, Network: net, Stage: metrics.StageHomeserver}, w, answered)
	}
}

// timeOutgoing times a Matrix event on its way to a network, from the
// homeserver's transaction received (zero: not timed). It sets
// out.Written, through which the network reports the first line written
// to its connection (Ferry's share); call done once Send returned.
func (p *Portal) timeOutgoing(out *network.OutgoingMeta, received time.Time) (done func(ok bool)) {
	reg := p.m.Metrics
	if reg == nil || received.IsZero() {
		return func(bool) {}
	}
	net := string(p.Key.Network)
	var once sync.Once
	out.Written = func(at time.Time) {
		once.Do(func() {
			reg.ObserveSince(metrics.StageKey{Direction: metrics.MatrixToRemote, Network: net, Stage: metrics.StageFerry}, received, at)
		})
	}
	return func(ok bool) {
		if ok {
			reg.ObserveSince(metrics.StageKey{Direction: metrics.MatrixToRemote, Network: net, Stage: metrics.StageSend}, received, time.Now())
		}
	}
}
