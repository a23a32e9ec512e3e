package puppets

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// A send refused because its ghost was out of the room is one send to
// its portal, made of several requests, each retried (Retry): the send,
// the ghost's join again, the send once more. The portal counts on a
// send being given up as unreachable within RetryFor (durable_outage.go
// in portals keeps it then, and holds what follows behind it): a join
// answered late, and a retry that meets an outage, must not add their
// own RetryFor to the send's. So these requests share one deadline, a
// retry budget carried in the context, RetryFor from the first of them;
// each still makes one attempt once it has passed, so that what fails is
// told from what is unreachable.

type retryBudgetKey struct{}

// retryBudget is the deadline of the requests of one operation; zero
// until its first Retry.
type retryBudget struct {
	mu       sync.Mutex
	deadline time.Time
}

// withRetryBudget has the Retry calls made with ctx share one deadline,
// RetryFor from the first of them, or from start if it is not zero. A
// budget ctx already has is kept.
func withRetryBudget(ctx context.Context, start time.Time, retryFor time.Duration) context.Context {
	if _, ok := ctx.Value(retryBudgetKey{}).(*retryBudget); ok {
		return ctx
	}
	b := &retryBudget{}
	if !start.IsZero() {
		b.deadline = start.Add(retryFor)
	}
	return context.WithValue(ctx, retryBudgetKey{}, b)
}

// retryDeadline is the deadline of a Retry starting now with ctx: RetryFor
// from now, or the budget's if ctx has one and it is earlier.
func (m *Matrix) retryDeadline(ctx context.Context) time.Time {
	deadline := time.Now().Add(m.RetryFor)
	b, ok := ctx.Value(retryBudgetKey{}).(*retryBudget)
	if !ok {
		return deadline
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.deadline.IsZero() {
		b.deadline = deadline
	}
	return b.deadline
}

// budgetBound is ctx ending at the deadline of a Retry starting now with
// it (retryDeadline), for a request that may hang: its attempt is cut
// there and, as any attempt that met no answer in time, counts as the
// homeserver unreachable. With the deadline passed already, ctx is left
// as it is: Retry's last attempt past the budget is still made, bound by
// the HTTP client's timeout only, so that what fails is still told from
// what is unreachable.
func (m *Matrix) budgetBound(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline := m.retryDeadline(ctx)
	if !time.Now().Before(deadline) {
		return ctx, func() {}
	}
	return context.WithDeadline(ctx, deadline)
}

// errBudgetCut marks a request cut by budgetBound at the end of its
// operation's retry budget.
var errBudgetCut = errors.New("no answer within the send's retry budget")

// budgetCut is err, the outcome of a request made with bound, a context
// budgetBound made of ctx: a failure because bound ended and ctx did not
// (cut at the budget, not by the caller) comes back marked ErrUnreachable
// and errBudgetCut, as the homeserver did not answer in time, as in an
// outage, and refused nothing.
func budgetCut(ctx, bound context.Context, err error) error {
	if err != nil && bound.Err() != nil && ctx.Err() == nil {
		return fmt.Errorf("%w: %w (%v)", ErrUnreachable, errBudgetCut, err)
	}
	return err
}
