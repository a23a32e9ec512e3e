package wasim

import (
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types/events"
)

// TestQRPairingLogsIn: an unmodified whatsmeow client with an empty store
// gets QR codes from the simulator, the phone scans one, and the client
// reports PairSuccess with the phone's JID and LID, reconnects after 515,
// logs in and reports Connected, with its store holding both IDs.
func TestQRPairingLogsIn(t *testing.T) {
	e := newEnv(t)
	phone := e.phone("15550001111", "Alice")
	c := e.newClient("alice")

	if err := c.cli.Connect(); err != nil {
		t.Fatalf("connect: %v", err)
	}
	qr := waitFor[*events.QR](t, c, 10*time.Second)
	if len(qr.Codes) != qrRefCount {
		t.Fatalf("QR event has %d codes, want %d", len(qr.Codes), qrRefCount)
	}
	if err := phone.ScanQR(t.Context(), qr.Codes[0]); err != nil {
		t.Fatalf("scan: %v", err)
	}
	ps := waitFor[*events.PairSuccess](t, c, 10*time.Second)
	if ps.ID.User != phone.JID().User || ps.ID.Device == 0 {
		t.Errorf("PairSuccess ID = %s, want a companion device of %s", ps.ID, phone.JID())
	}
	if ps.LID.User != phone.LID().User || ps.LID.Device != ps.ID.Device {
		t.Errorf("PairSuccess LID = %s, want %s with device %d", ps.LID, phone.LID(), ps.ID.Device)
	}
	waitFor[*events.Connected](t, c, 10*time.Second)
	if !c.cli.IsLoggedIn() {
		t.Error("client not logged in after Connected")
	}
	st := c.cli.Store
	if st.ID == nil || *st.ID != ps.ID {
		t.Errorf("store ID = %v, want %s", st.ID, ps.ID)
	}
	if st.LID != ps.LID {
		t.Errorf("store LID = %s, want %s", st.LID, ps.LID)
	}
	if devs := phone.Devices(); len(devs) != 1 || devs[0] != ps.ID {
		t.Errorf("phone devices = %v, want [%s]", devs, ps.ID)
	}
}

// TestPairingCodeLogsIn: instead of a QR code the client asks for a
// pairing code for the phone's number (PairPhone); typing it on the phone
// links the client, which logs in; a wrong code is refused first.
func TestPairingCodeLogsIn(t *testing.T) {
	e := newEnv(t)
	phone := e.phone("15550001111", "Alice")
	c := e.newClient("alice")
	if err := c.cli.Connect(); err != nil {
		t.Fatalf("connect: %v", err)
	}
	// PairPhone needs the pairing connection, which exists once the
	// server offered QR refs.
	waitFor[*events.QR](t, c, 10*time.Second)
	code, err := c.cli.PairPhone(t.Context(), "+1 555 000 1111", true, whatsmeow.PairClientChrome, "Chrome (Linux)")
	if err != nil {
		t.Fatalf("pair phone: %v", err)
	}
	if err = phone.EnterPairingCode(t.Context(), "AAAA-AAAA"); err == nil {
		t.Fatal("a wrong pairing code was accepted")
	}
	// whatsmeow accepts one code exchange per PairPhone call; ask again.
	if code, err = c.cli.PairPhone(t.Context(), "15550001111", true, whatsmeow.PairClientChrome, "Chrome (Linux)"); err != nil {
		t.Fatalf("pair phone again: %v", err)
	}
	if err = phone.EnterPairingCode(t.Context(), code); err != nil {
		t.Fatalf("enter code: %v", err)
	}
	ps := waitFor[*events.PairSuccess](t, c, 10*time.Second)
	if ps.ID.User != phone.JID().User || ps.LID.User != phone.LID().User {
		t.Errorf("paired as %s / %s", ps.ID, ps.LID)
	}
	waitFor[*events.Connected](t, c, 10*time.Second)
	if c.cli.Store.ID == nil || *c.cli.Store.ID != ps.ID {
		t.Errorf("store ID %v, want %s", c.cli.Store.ID, ps.ID)
	}
}

// TestPhoneUnlinksDevice: logging a device out from the phone reaches a
// connected client as LoggedOut (not on connect), and a disconnected
// client as LoggedOut when it next connects; the phone lists neither.
func TestPhoneUnlinksDevice(t *testing.T) {
	e := newEnv(t)
	phone := e.phone("15550001111", "Alice")
	online, offline := e.newClient("online"), e.newClient("offline")
	e.pair(online, phone)
	e.pair(offline, phone)
	offline.cli.Disconnect()

	for _, c := range []*client{online, offline} {
		if err := phone.Unlink(*c.cli.Store.ID); err != nil {
			t.Fatalf("unlink: %v", err)
		}
	}
	lo := waitFor[*events.LoggedOut](t, online, 10*time.Second)
	if lo.OnConnect || lo.Reason != events.ConnectFailureLoggedOut {
		t.Errorf("connected client: %+v, want logged out while connected", lo)
	}
	if err := offline.cli.Connect(); err != nil {
		t.Fatalf("reconnect: %v", err)
	}
	lo = waitFor[*events.LoggedOut](t, offline, 10*time.Second)
	if !lo.OnConnect || lo.Reason != events.ConnectFailureLoggedOut {
		t.Errorf("disconnected client: %+v, want logged out on connect", lo)
	}
	if devs := phone.Devices(); len(devs) != 0 {
		t.Errorf("phone still lists %v", devs)
	}
}

// TestClientLogout: whatsmeow's Logout unlinks the device on the server.
func TestClientLogout(t *testing.T) {
	e := newEnv(t)
	phone := e.phone("15550001111", "Alice")
	c := e.newClient("alice")
	e.pair(c, phone)
	if err := c.cli.Logout(t.Context()); err != nil {
		t.Fatalf("logout: %v", err)
	}
	if devs := phone.Devices(); len(devs) != 0 {
		t.Errorf("phone still lists %v after logout", devs)
	}
}
