package irc

import (
	"context"
	"testing"

	"github.com/ferrybridge/ferry/bridge/network"
)

// sendWhileFirstWaits sends msg, and once the server got it (a line on
// sent) sends it again while the first still waits for its answer. It
// returns the IDs both sends took (the first "" when it failed); what
// names the message in failures ("PM", "message").
func sendWhileFirstWaits(t *testing.T, ctx context.Context, cl *Client, msg *network.OutgoingMessage, sent <-chan string, what string) (first, second network.MessageID) {
	t.Helper()
	firstID := make(chan network.MessageID, 1)
	go func() {
		res, err := cl.Send(ctx, msg)
		if err != nil {
			t.Errorf("the first Send: %v", err)
			firstID <- ""
			return
		}
		firstID <- res.ID
	}()
	select {
	case <-sent:
	case <-ctx.Done():
		t.Fatalf("the server never got the first %s", what)
	}
	res, err := cl.Send(ctx, msg)
	if err != nil {
		t.Fatalf("the second Send: %v", err)
	}
	return <-firstID, res.ID
}
