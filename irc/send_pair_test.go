package irc

import (
	"context"
	"testing"

	"github.com/ferrybridge/ferry/bridge/network"
)

// sendWhileFirstWaits sends msg, and once the server got it (a line on
// sent) sends it again while the first still waits for its answer. The
// server refuses the first and echoes the second with msgid m2: the
// second must take id:m2, and the refused first must not. what names the
// message in failures ("PM", "message").
func sendWhileFirstWaits(t *testing.T, ctx context.Context, cl *Client, msg *network.OutgoingMessage, sent <-chan string, what string) {
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
	if res.ID != "id:m2" {
		t.Errorf("the %s sent again took the ID %q, want id:m2", what, res.ID)
	}
	if <-firstID == "id:m2" {
		t.Errorf("the refused first %s took the msgid of the one sent again", what)
	}
}
