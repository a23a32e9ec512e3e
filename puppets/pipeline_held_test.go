package puppets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestPipelineRefusesSendsUntilResumed: a request is given up because the
// homeserver could not be reached, with nothing waiting behind it. The
// portal keeps it, to send it again later, but it may hand over its next
// event before it has marked its backlog as held. The homeserver is back
// by then: that event must not be written ahead of the one given up. The
// pipeline refuses it (errHeldBehind, kept with the first) until the
// portal resumes it.
func TestPipelineRefusesSendsUntilResumed(t *testing.T) {
	t.Run("answered before its deadline", func(t *testing.T) { refusesSendsUntilResumed(t, false) })
	// A written last just before its deadline and answered only once the
	// homeserver is back: it cannot be called back, and the homeserver
	// takes it then.
	t.Run("written before its deadline, answered after", func(t *testing.T) { refusesSendsUntilResumed(t, true) })
}

func refusesSendsUntilResumed(t *testing.T, stall bool) {
	srv := newDownHomeserver(t)
	srv.stall = stall
	p := newTestPipeline(t, srv.URL)
	send := func(timeout time.Duration, name string) error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, srv.URL+"/send/"+name, strings.NewReader(`{}`))
		resp, err := p.httpClient().Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}

	if err := send(500*time.Millisecond, "A"); err == nil {
		t.Fatal("A was accepted while the homeserver was down")
	}
	if !p.Held() {
		t.Error("the pipeline is not held after A was given up")
	}
	srv.up()
	if err := send(5*time.Second, "B"); !errors.Is(err, errHeldBehind) {
		t.Errorf("B, handed over after A was given up: %v; want it refused, held behind A", err)
	}
	// A may have been taken meanwhile, if it was written before its
	// deadline (it cannot be called back); B must not have been.
	if early := srv.taken(); slices.Contains(early, "B") {
		t.Errorf("the homeserver took %q before A was sent again", early)
	}

	p.Resume()
	if err := send(5*time.Second, "A"); err != nil {
		t.Errorf("A, sent again once resumed: %v", err)
	}
	if err := send(5*time.Second, "B"); err != nil {
		t.Errorf("B, after A: %v", err)
	}
	if taken := srv.takenOnce(); strings.Join(taken, ",") != "A,B" {
		t.Errorf("the homeserver took %q, want A then B", srv.taken())
	}
}
