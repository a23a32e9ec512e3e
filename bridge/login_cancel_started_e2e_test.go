package bridge_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// relinkHeldAt starts alice's login again to her own account (a relink:
// the network links a new device for it) and returns once the flow is
// held at point.
func relinkHeldAt(t *testing.T, s *scene, point string) (release func()) {
	t.Helper()
	s.tn.LinkAtLogin.Store(true)
	return loginToHeldAt(t, s, "alice", point)
}

// cancelHeldFlow sends `cancel` and waits until it ended alice's flow.
func cancelHeldFlow(t *testing.T, s *scene) {
	t.Helper()
	s.alice.SendText(t, s.mgmt, "cancel")
	deadline := time.Now().Add(waitLong)
	for s.h.Bridge.LoginFlowRunning(s.alice.UserID) {
		if time.Now().After(deadline) {
			t.Fatal("the cancel never ended the login flow")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// storedMetadata is the metadata of alice's stored login to name.
func storedMetadata(t *testing.T, s *scene, name string) []byte {
	t.Helper()
	row, err := s.h.Bridge.DB.Logins.Get(s.h.Context(waitLong), testnet.ID, network.LoginID(name))
	if err != nil {
		t.Fatal(err)
	}
	if row == nil {
		t.Fatalf("alice's login %s is no longer stored", name)
	}
	return row.Metadata
}

// TestCancelOfAStartedRelinkKeepsIt: alice logs in again to her account
// and sends `cancel` once the flow has stored the new device over her
// login and started it (the earlier client already replaced). The flow
// undid the new login, row and all: she had no login left, though she
// only cancelled. Now the relinked login, complete by then, is kept, and
// she is told why.
func TestCancelOfAStartedRelinkKeepsIt(t *testing.T) {
	s := newScene(t, false)
	release := relinkHeldAt(t, s, "started")
	before := ferrytest.Seen(s.alice, s.mgmt)
	cancelHeldFlow(t, s)
	release()
	body := s.h.WaitForBotNoticeExcept(s.alice, s.mgmt, "alice", before).Content.AsMessage().Body
	if !strings.Contains(body, "kept") || strings.Contains(body, "not kept") {
		t.Errorf("after the cancel the bot said %q; want the relinked login kept", body)
	}
	relinked := s.tn.Client("alice")
	if relinked == nil || relinked == s.cl {
		t.Fatal("the network never linked a new client for the relink")
	}
	if relinked.LoggedOut.Load() {
		t.Error("the relinked client was logged out")
	}
	if got := storedMetadata(t, s, "alice"); !bytes.Equal(got, relinked.Login.Metadata) {
		t.Errorf("stored metadata %s; want the relinked device's, %s", got, relinked.Login.Metadata)
	}
	s.h.Command(s.alice, s.mgmt, "status", "alice: connected")
}

// TestStopDuringAStartedRelinkKeepsIt: Ferry stops while alice's relink
// is stored and started, not yet kept. The relinked login stays stored
// and starts again with Ferry (a stop overrules no login), but the flow
// told her "Logged in" on its context, which the stop had ended: the
// notice failed, and she never heard what became of her relink.
func TestStopDuringAStartedRelinkKeepsIt(t *testing.T) {
	s := newScene(t, false)
	release := relinkHeldAt(t, s, "started")
	before := ferrytest.Seen(s.alice, s.mgmt)
	relinked := s.tn.Client("alice")
	stopped := make(chan struct{})
	b := s.h.Bridge
	go func() {
		b.Stop()
		close(stopped)
	}()
	time.Sleep(time.Second) // the stop ends the login flows, and waits for them
	release()
	select {
	case <-stopped:
	case <-time.After(waitLong):
		t.Fatal("Ferry never stopped")
	}
	s.h.Bridge = nil
	s.h.StartBridge()
	s.h.Command(s.alice, s.mgmt, "status", "alice: connected")
	if got := storedMetadata(t, s, "alice"); !bytes.Equal(got, relinked.Login.Metadata) {
		t.Errorf("stored metadata %s; want the relinked device's, %s", got, relinked.Login.Metadata)
	}
	if cl := s.tn.Client("alice"); cl == nil || !bytes.Equal(cl.Login.Metadata, relinked.Login.Metadata) {
		t.Errorf("after the restart Ferry loaded %+v; want the relinked device", cl)
	}
	var told bool
	for _, body := range botSaid(s, idSet(before)) {
		told = told || strings.Contains(body, "Logged in to Testnet as alice")
	}
	if !told {
		t.Errorf("alice was never told what became of her relink; the bot said %q", botSaid(s, idSet(before)))
	}
}

// TestLogoutOfAStartedRelinkRemovesIt: a logout of her account, not a
// cancel, in that same window removes the relinked login, as she asked.
func TestLogoutOfAStartedRelinkRemovesIt(t *testing.T) {
	s := newScene(t, false)
	release := relinkHeldAt(t, s, "started")
	s.h.Command(s.alice, s.mgmt, "logout test alice", "Logged out of Testnet (alice)")
	release()
	waitFlowEnded(t, s)
	assertLoggedOut(t, s, "alice", s.cl)
}

func idSet[K ~string](in map[K]bool) map[string]bool {
	out := make(map[string]bool, len(in))
	for k := range in {
		out[string(k)] = true
	}
	return out
}
