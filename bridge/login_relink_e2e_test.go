package bridge_test

import (
	"bytes"
	"testing"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// TestRelinkThatCannotStartKeepsTheStoredLogin: alice logs in again to
// her account (a relink, which gets a device of its own), and the new
// login cannot be started. The flow had stored the new device over her
// running login's record: her old client ran on while the store named a
// device that was never started, and the next start of Ferry loaded that
// one. Now the record is put back, and she is told her login stays.
func TestRelinkThatCannotStartKeepsTheStoredLogin(t *testing.T) {
	s := newScene(t, false)
	stored := func() []byte {
		t.Helper()
		row, err := s.h.Bridge.DB.Logins.Get(s.h.Context(waitLong), testnet.ID, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if row == nil {
			t.Fatal("alice's login is no longer stored")
		}
		return row.Metadata
	}
	before := stored()
	if !bytes.Equal(before, s.cl.Login.Metadata) {
		t.Fatalf("premise: stored metadata %s, the running client's %s", before, s.cl.Login.Metadata)
	}

	down := "the test network is down"
	s.tn.FailLoad.Store(&down)
	s.h.Command(s.alice, s.mgmt, "login test alice", "password")
	s.alice.SendText(t, s.mgmt, "hunter2")
	s.h.WaitForBotNotice(s.alice, s.mgmt, "Login failed: the test network is down. Your earlier login stays as it was")
	if after := stored(); !bytes.Equal(after, before) {
		t.Errorf("after the failed relink the stored login has metadata %s; the running one's is %s", after, before)
	}
	s.h.Command(s.alice, s.mgmt, "status", "alice: connected")

	// What the next start loads is the login that ran.
	s.h.StopBridge()
	s.tn.FailLoad.Store(nil)
	s.h.StartBridge()
	s.h.Command(s.alice, s.mgmt, "status", "alice: connected")
	cl := s.tn.Client(network.LoginID("alice"))
	if cl == nil {
		t.Fatal("alice's login was not loaded at the restart")
	}
	if !bytes.Equal(cl.Login.Metadata, before) {
		t.Errorf("after a restart Ferry loaded alice's login with metadata %s; want the running one's, %s", cl.Login.Metadata, before)
	}
}
