package whatsapp

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/ferrybridge/ferry/bridge/network"
)

// oldDev is the device of the account's earlier link.
var oldDev = types.JID{User: ownPN.User, Server: types.DefaultUserServer, Device: 7}

type loginResult struct {
	step *network.LoginStep
	err  error
}

// linkedBefore makes the account's running client on its earlier device,
// as the core loaded it; its fake is env.fake(0).
func linkedBefore(t *testing.T, env *loginEnv) *Client {
	t.Helper()
	device := storeDevice(t, env.conn, oldDev, ownLID)
	return env.conn.newClient(testLogin(device), device, nil)
}

// relinkUntilReconnect links the same account again by QR code and
// returns once the new device dials as the linked account (its fake is
// env.fake(2)); the login's Wait runs in the background.
func relinkUntilReconnect(t *testing.T, env *loginEnv) (*loginProcess, chan loginResult) {
	t.Helper()
	p := linkByQR(t, env, 1)
	done := make(chan loginResult, 1)
	go func() {
		step, err := p.Wait(context.Background())
		done <- loginResult{step, err}
	}()
	waitConnect(t, env.waitFake(t, 2))
	return p, done
}

// handOverConnected has the new device of a relink (p, its Wait's result
// coming on done) connect, and returns the result: the login handed to the
// core with its client.
func handOverConnected(t *testing.T, p *loginProcess, done chan loginResult) loginResult {
	t.Helper()
	p.cli.DangerousInternals().DispatchEvent(&events.Connected{})
	res := waitResult(t, done)
	if res.err != nil || res.step.Client == nil {
		t.Fatalf("Wait = %+v, %v", res.step, res.err)
	}
	return res
}

// relinkHandedOver links the account again until the new device has
// connected and the login is handed to the core with its client, and
// returns the login's Wait result.
func relinkHandedOver(t *testing.T, env *loginEnv) loginResult {
	t.Helper()
	p, done := relinkUntilReconnect(t, env)
	return handOverConnected(t, p, done)
}

func waitResult(t *testing.T, done chan loginResult) loginResult {
	t.Helper()
	select {
	case res := <-done:
		return res
	case <-time.After(10 * time.Second):
		t.Fatal("the login's Wait never returned")
		return loginResult{}
	}
}

func (f *fakeWA) logoutCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logouts
}

// checkOldDeviceKept: the earlier link is still linked, stored and the
// login's running client.
func checkOldDeviceKept(t *testing.T, env *loginEnv, old *Client) {
	t.Helper()
	if n := env.fake(0).logoutCount(); n != 0 {
		t.Errorf("the earlier device was unlinked (%d logouts)", n)
	}
	if d, err := env.conn.container.GetDevice(context.Background(), oldDev); err != nil || d == nil {
		t.Errorf("the earlier device is no longer stored: %v", err)
	}
	if env.conn.client(ownLogin) != old {
		t.Error("the earlier link is no longer the login's running client")
	}
}

// TestRelinkCancelledKeepsTheOldDevice: the user links the account again
// and cancels while the new device connects. The earlier link must stay
// as it was: linked, stored and running.
func TestRelinkCancelledKeepsTheOldDevice(t *testing.T) {
	env := newLoginEnv(t, "connect_timeout: 5s")
	old := linkedBefore(t, env)
	p, done := relinkUntilReconnect(t, env)
	p.Cancel()
	<-p.cleaned
	if res := waitResult(t, done); !errors.Is(res.err, context.Canceled) {
		t.Fatalf("Wait = %+v, %v", res.step, res.err)
	}
	checkOldDeviceKept(t, env, old)
	if d, err := env.conn.container.GetDevice(context.Background(), ownDev); err != nil || d != nil {
		t.Errorf("the cancelled link's device is still stored: %v", err)
	}
}

// waitLogouts waits until f was asked to unlink its device n times.
func waitLogouts(t *testing.T, f *fakeWA, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); f.logoutCount() < n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("asked WhatsApp to unlink the device %d times, want %d", f.logoutCount(), n)
		}
	}
}

// stopDuringTheUnlink has the core start the relinked login (it
// disconnects old, the earlier link, whose fake is env.fake(0)) while
// WhatsApp does not answer the earlier device's unlink, and stops the
// connector once that unlink was asked. It returns the Stop's context,
// whose deadline is 10 s, and the earlier device's fake.
func stopDuringTheUnlink(t *testing.T, env *loginEnv, old *Client) (context.Context, *fakeWA) {
	t.Helper()
	unanswered := make(chan struct{})
	t.Cleanup(func() { close(unanswered) })
	f := env.fake(0)
	f.mu.Lock()
	f.logoutWait = unanswered
	f.mu.Unlock()

	old.Disconnect() // the core started the new login
	waitLogouts(t, f, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	env.conn.Stop(ctx)
	return ctx, f
}

// anotherUserLinksTheAccount has @mallory:example.org link the account
// ownPN already linked by alice: the login's client is env.fake(n) (made
// by StartLogin), its phone pairs a device (14) of that account. It
// returns the login's Wait.
func anotherUserLinksTheAccount(t *testing.T, env *loginEnv, n int) (*network.LoginStep, error) {
	t.Helper()
	proc, err := env.conn.StartLogin(context.Background(), "@mallory:example.org", nil)
	if err != nil {
		t.Fatal(err)
	}
	p := proc.(*loginProcess)
	t.Cleanup(p.Cancel)
	qrOnConnect(t, p, env.fake(n), "2@first")
	if _, err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	dev := types.JID{User: ownPN.User, Server: types.DefaultUserServer, Device: 14}
	p.device.ID, p.device.LID = &dev, ownLID
	p.device.Account = &waAdv.ADVSignedDeviceIdentity{
		Details: randomBytes(16), AccountSignature: randomBytes(64), AccountSignatureKey: randomBytes(32), DeviceSignature: randomBytes(64),
	}
	if err := p.device.Save(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.cli.DangerousInternals().DispatchEvent(&events.PairSuccess{ID: dev, LID: ownLID, Platform: "android"})
	p.cli.DangerousInternals().DispatchEvent(&events.ManualLoginReconnect{})
	return p.Wait(context.Background())
}

// TestRelinkUnlinksTheOldDeviceOnceTheCoreStartedTheNew: the new device
// connects and the login is handed to the core with its client; the old
// device stays until the core has stored and started the new login, which
// it shows by disconnecting the old client. Then the old device is
// unlinked, over its connection (not closed first).
func TestRelinkUnlinksTheOldDeviceOnceTheCoreStartedTheNew(t *testing.T) {
	env := newLoginEnv(t, "")
	old := linkedBefore(t, env)
	p, done := relinkUntilReconnect(t, env)
	if n := env.fake(0).logoutCount(); n != 0 {
		t.Errorf("the earlier device was unlinked before the new one connected (%d logouts)", n)
	}
	p.cli.DangerousInternals().DispatchEvent(&events.Connected{})
	res := waitResult(t, done)
	if res.err != nil || res.step.Type != network.StepComplete || res.step.Client == nil {
		t.Fatalf("Wait = %+v, %v", res.step, res.err)
	}
	if n := env.fake(0).logoutCount(); n != 0 {
		t.Errorf("the earlier device was unlinked before the core stored the new login (%d logouts)", n)
	}

	old.Disconnect() // the core, having stored and started the new login
	waitLogouts(t, env.fake(0), 1)
	if n := env.fake(0).disconnectCount(); n != 0 {
		t.Errorf("the earlier device was disconnected (%d times) before it could ask to be unlinked", n)
	}
	if !old.quiet.Load() {
		t.Error("the replaced client still reports the login's states")
	}
	if env.conn.client(ownLogin) != res.step.Client {
		t.Error("the new link is not the login's running client")
	}
	time.Sleep(50 * time.Millisecond)
	if n := env.fake(0).logoutCount(); n != 1 {
		t.Errorf("the earlier device was unlinked %d times, want once", n)
	}
}

// TestRelinkTheCoreDiscardsKeepsTheOldDevice: the new device connects but
// the core cannot store or start its login, and logs its client out. The
// new device is unlinked; the earlier link stays, with the login's data.
func TestRelinkTheCoreDiscardsKeepsTheOldDevice(t *testing.T) {
	env := newLoginEnv(t, "")
	ctx := context.Background()
	old, res := relinkConnectedWithAKey(t, env)
	// The core's discard of a login it could not store.
	if err := res.step.Client.(network.Logouter).Logout(ctx); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	checkOldDeviceKept(t, env, old)
	if n := env.fake(2).logoutCount(); n != 1 {
		t.Errorf("the discarded new device was unlinked %d times, want once", n)
	}
	if k, err := env.conn.msgs.get(ctx, ownLogin, dmPortal(bobPN).Chat, "M1"); err != nil || k == nil {
		t.Errorf("the login's message keys went with the discarded link: %+v, %v", k, err)
	}
	if old.quiet.Load() {
		t.Error("the earlier link no longer reports the login's states")
	}
	old.Disconnect() // later, as any disconnect: nothing is unlinked
	time.Sleep(50 * time.Millisecond)
	if n := env.fake(0).logoutCount(); n != 0 {
		t.Errorf("the earlier device was unlinked at a later disconnect (%d logouts)", n)
	}
}

// TestRelinkSlowToConnectUnlinksTheOldDeviceWhenItConnects: the new
// device does not connect within connect_timeout, so the core gets the
// login without a client and connects it itself. The earlier device stays
// until that client connects; by then the core has disconnected it, so it
// is deleted here and the user is told to remove it on the phone.
func TestRelinkSlowToConnectUnlinksTheOldDeviceWhenItConnects(t *testing.T) {
	env := newLoginEnv(t, "connect_timeout: 1s")
	// The core loads the login, replaces the old client and connects.
	old, cl := slowRelinkStarted(t, env)
	if n := env.fake(0).logoutCount(); n != 0 {
		t.Errorf("the earlier device was unlinked before the new one connected (%d logouts)", n)
	}
	if d, err := env.conn.container.GetDevice(context.Background(), oldDev); err != nil || d == nil {
		t.Fatalf("the earlier device went before the new one connected: %v", err)
	}
	// WhatsApp cannot be reached: the earlier device cannot connect to
	// unlink itself either (relink_offline.go).
	env.setup = func(f *fakeWA) { f.connectErr = errors.New("unreachable") }
	cl.cli.DangerousInternals().DispatchEvent(&events.Connected{})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		d, err := env.conn.container.GetDevice(context.Background(), oldDev)
		if err != nil {
			t.Fatal(err)
		}
		if d == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the earlier device was never removed after the new one connected")
		}
	}
	if n := env.fake(0).logoutCount(); n != 1 {
		t.Errorf("asked WhatsApp to unlink the earlier device %d times, want once", n)
	}
	if !old.quiet.Load() {
		t.Error("the replaced client still reports the login's states")
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		env.host.mu.Lock()
		notices := strings.Join(env.host.notices, "\n")
		env.host.mu.Unlock()
		if strings.Contains(notices, "Linked devices") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the user was not told to remove the earlier device; notices: %q", notices)
		}
	}
	if d, err := env.conn.container.GetDevice(context.Background(), ownDev); err != nil || d == nil {
		t.Errorf("the new device is gone: %v", err)
	}
}

// TestRelinkDiscardedAfterAStopKeepsTheLoginsData: the bridge stops while
// the core is completing a relinked login; the core's Stop ends its login
// flows before it stops the connector, but waits for them only until its
// deadline, and this one's completion fails after the connector's Stop
// and logs the new client out. That Logout must still be the
// discard of a relink (the new device unlinked, the login's data, which
// is the earlier link's, kept), not the logout of the whole login.
func TestRelinkDiscardedAfterAStopKeepsTheLoginsData(t *testing.T) {
	env := newLoginEnv(t, "")
	ctx := context.Background()
	old, res := relinkConnectedWithAKey(t, env)

	env.conn.Stop(ctx)
	// The core's discard of the login its stopping flow could not store.
	if err := res.step.Client.(network.Logouter).Logout(ctx); err != nil {
		t.Logf("Logout: %v", err)
	}
	if k, err := env.conn.msgs.get(ctx, ownLogin, dmPortal(bobPN).Chat, "M1"); err != nil || k == nil {
		t.Errorf("the login's message keys went with a relink discarded after the stop: %+v, %v", k, err)
	}
	if n := env.fake(0).logoutCount(); n != 0 {
		t.Errorf("the earlier device was unlinked (%d logouts)", n)
	}
	if d, err := env.conn.container.GetDevice(ctx, oldDev); err != nil || d == nil {
		t.Errorf("the earlier device is no longer stored: %v", err)
	}
	if c := env.conn.client(ownLogin); c != old {
		t.Errorf("the login's client is %p after the discard, want the earlier link's %p", c, old)
	}
}

// TestRelinkStartedAfterAStopUnlinksNothing: a login flow the core's
// stop did not wait for to the end still starts the relinked login and
// disconnects the earlier client. The connector is stopped (its clients
// disconnected, only a connected device can ask to be unlinked, and
// nothing may run on into the closing of the database), so that
// Disconnect unlinks nothing.
func TestRelinkStartedAfterAStopUnlinksNothing(t *testing.T) {
	env := newLoginEnv(t, "")
	old := linkedBefore(t, env)
	relinkHandedOver(t, env)

	env.conn.Stop(context.Background())
	old.Disconnect()
	time.Sleep(50 * time.Millisecond)
	if n := env.fake(0).logoutCount(); n != 0 {
		t.Errorf("the earlier device was unlinked at a disconnect after the stop (%d logouts)", n)
	}
	if d, err := env.conn.container.GetDevice(context.Background(), oldDev); err != nil || d == nil {
		t.Errorf("the earlier device was deleted at a disconnect after the stop: %v", err)
	}
}

// TestStopWaitsForTheUnlinkOfAReplacedDevice: the core started a relinked
// login and disconnected the earlier client, whose unlink is under way
// (WhatsApp slow to answer) when Ferry stops. The core closes the
// database once the connectors have stopped, so the unlink must end
// within the connector's Stop, not run on into a closed database.
func TestStopWaitsForTheUnlinkOfAReplacedDevice(t *testing.T) {
	env := newLoginEnv(t, "")
	old := linkedBefore(t, env)
	relinkHandedOver(t, env)
	ctx, f := stopDuringTheUnlink(t, env, old)
	if ctx.Err() != nil {
		t.Fatal("the connector's Stop waited for the unlink until its deadline instead of ending it")
	}
	// The unlink, given up, closes the earlier device's connection last.
	if n := f.disconnectCount(); n == 0 {
		t.Error("the unlink of the replaced device was still running after the connector's Stop")
	}
}

// relinkConnectedWithAKey links the account, stores a message key (M1 of
// bob's chat) for the login, and links the account again until the new
// device has connected and the login is handed over with its client. It
// returns the earlier link's client and the handed-over result.
func relinkConnectedWithAKey(t *testing.T, env *loginEnv) (*Client, loginResult) {
	t.Helper()
	old := linkedBefore(t, env)
	key := msgKey{ChatJID: bobPN, Sender: bobPN, Timestamp: time.Unix(1700000000, 0)}
	if err := env.conn.msgs.put(context.Background(), ownLogin, dmPortal(bobPN).Chat, "M1", key); err != nil {
		t.Fatal(err)
	}
	return old, relinkHandedOver(t, env)
}
