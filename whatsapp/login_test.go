package whatsapp

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mau.fi/util/dbutil"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/ferrybridge/ferry/bridge/network"
)

const alice = "@alice:example.org"

// loginEnv is a started connector whose whatsmeow clients sit behind
// fakes (collected in order of creation).
type loginEnv struct {
	conn  *Connector
	host  *fakeHost
	mu    sync.Mutex
	fakes []*fakeWA
	setup func(*fakeWA)
}

func newLoginEnv(t *testing.T, cfgYAML string) *loginEnv {
	return newLoginEnvOn(t, sqliteDB(t), cfgYAML)
}

// newLoginEnvOn is newLoginEnv on db, which a test may start Ferry on
// again (a restart).
func newLoginEnvOn(t *testing.T, db *dbutil.Database, cfgYAML string) *loginEnv {
	conn, host := startConnector(t, db, cfgYAML)
	env := &loginEnv{conn: conn, host: host}
	conn.wrap = func(cli *whatsmeow.Client) waClient {
		f := newFakeWA(cli)
		if env.setup != nil {
			env.setup(f)
		}
		env.mu.Lock()
		env.fakes = append(env.fakes, f)
		env.mu.Unlock()
		return f
	}
	return env
}

func (env *loginEnv) fake(i int) *fakeWA {
	env.mu.Lock()
	defer env.mu.Unlock()
	return env.fakes[i]
}

// waitFake waits until the i-th client exists.
func (env *loginEnv) waitFake(t *testing.T, i int) *fakeWA {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		env.mu.Lock()
		n := len(env.fakes)
		env.mu.Unlock()
		if n > i {
			return env.fake(i)
		}
	}
	t.Fatalf("client %d was never made", i)
	return nil
}

func (env *loginEnv) start(t *testing.T, args ...string) *loginProcess {
	t.Helper()
	proc, err := env.conn.StartLogin(context.Background(), alice, args)
	if err != nil {
		t.Fatalf("StartLogin: %v", err)
	}
	p := proc.(*loginProcess)
	t.Cleanup(p.Cancel)
	return p
}

// qrOnConnect makes WhatsApp "answer" the login's connection with codes.
func qrOnConnect(t *testing.T, p *loginProcess, f *fakeWA, codes ...string) {
	go func() {
		select {
		case <-f.connects:
			p.cli.DangerousInternals().DispatchEvent(&events.QR{Codes: codes})
		case <-time.After(10 * time.Second):
		}
	}()
}

func waitConnect(t *testing.T, f *fakeWA) {
	t.Helper()
	select {
	case <-f.connects:
	case <-time.After(10 * time.Second):
		t.Fatal("Connect was not called")
	}
}

// pair does what whatsmeow does when the phone scans the code: it stores
// the device under its new JID and reports success.
func pair(t *testing.T, p *loginProcess) {
	t.Helper()
	jid := ownDev
	p.device.ID, p.device.LID = &jid, ownLID
	p.device.Account = &waAdv.ADVSignedDeviceIdentity{
		Details: randomBytes(16), AccountSignature: randomBytes(64), AccountSignatureKey: randomBytes(32), DeviceSignature: randomBytes(64),
	}
	if err := p.device.Save(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.cli.DangerousInternals().DispatchEvent(&events.PairSuccess{ID: ownDev, LID: ownLID, Platform: "android"})
}

// linkByQR starts a login, shows its QR code (the pairing socket is
// env.fake(fake)), pairs it and has whatsmeow reconnect as the linked
// account: where the login's Wait takes over.
func linkByQR(t *testing.T, env *loginEnv, fake int) *loginProcess {
	t.Helper()
	p := env.start(t)
	qrOnConnect(t, p, env.fake(fake), "2@first")
	if _, err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	pair(t, p)
	p.cli.DangerousInternals().DispatchEvent(&events.ManualLoginReconnect{})
	return p
}

func TestLoginArguments(t *testing.T) {
	env := newLoginEnv(t, "")
	for _, args := range [][]string{{"015112345678"}, {"+49", "alice"}, {"alice"}} {
		_, err := env.conn.StartLogin(context.Background(), alice, args)
		if !strings.Contains(network.UserMessage(err, ""), "usage: `login whatsapp`") {
			t.Errorf("%q: %v", args, err)
		}
	}
	// A number written with spaces is one number.
	proc, err := env.conn.StartLogin(context.Background(), alice, []string{"+49", "151", "12345678"})
	if err != nil {
		t.Fatal(err)
	}
	defer proc.Cancel()
	if p := proc.(*loginProcess); p.phone != "4915112345678" {
		t.Errorf("+49 151 12345678 became %q", p.phone)
	}
}

// TestLoginUnreachable runs the real whatsmeow client against the missing
// network: the login fails at once with a reason, it does not wait for
// QR codes that never come.
func TestLoginUnreachable(t *testing.T) {
	conn, _ := startConnector(t, sqliteDB(t), "")
	proc, err := conn.StartLogin(context.Background(), alice, nil)
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	_, err = proc.Start(context.Background())
	msg := network.UserMessage(err, "")
	if !strings.HasPrefix(msg, "Could not reach WhatsApp (") || !strings.HasSuffix(msg, "Check the bridge's internet connection and try again.") {
		t.Errorf("Start = %v", err)
	}
	if took := time.Since(started); took > 15*time.Second {
		t.Errorf("failing took %s", took)
	}
	proc.Cancel()
	<-proc.(*loginProcess).cleaned
}

func TestLoginConnectTimeout(t *testing.T) {
	env := newLoginEnv(t, "connect_timeout: 1s")
	block := make(chan struct{})
	defer close(block)
	env.setup = func(f *fakeWA) { f.connectWait = block }
	p := env.start(t)
	started := time.Now()
	_, err := p.Start(context.Background())
	if !strings.Contains(network.UserMessage(err, ""), "Could not reach WhatsApp (no answer within 1s)") {
		t.Errorf("Start = %v", err)
	}
	if took := time.Since(started); took > 5*time.Second {
		t.Errorf("timing out took %s", took)
	}
}

// TestLoginQRComplete drives a whole QR login through the real client and
// its QR channel, with WhatsApp's events made up by the test.
func TestLoginQRComplete(t *testing.T) {
	env := newLoginEnv(t, "")
	p := env.start(t)
	qrOnConnect(t, p, env.fake(0), "2@first", "2@second")
	step, err := p.Start(context.Background())
	if err != nil || step.Type != network.StepDisplayQR || step.Data != "2@first" || !strings.Contains(step.Instructions, "Linked devices") {
		t.Fatalf("Start = %+v, %v", step, err)
	}
	pair(t, p)
	p.cli.DangerousInternals().DispatchEvent(&events.ManualLoginReconnect{})
	type result struct {
		step *network.LoginStep
		err  error
	}
	done := make(chan result, 1)
	go func() {
		step, err := p.Wait(context.Background())
		done <- result{step, err}
	}()
	// The linked account reconnects through its own client, after the
	// pairing socket was closed: whatsmeow leaves it open after the 515,
	// and until then Connect would find it "already connected".
	waitConnect(t, env.waitFake(t, 1))
	if f := env.fake(0); f.disconnectCount() != 1 {
		t.Errorf("the pairing socket was closed %d times before the reconnect, want 1", f.disconnectCount())
	}
	p.cli.DangerousInternals().DispatchEvent(&events.Connected{})
	res := <-done
	if res.err != nil || res.step.Type != network.StepComplete || res.step.Client == nil {
		t.Fatalf("Wait = %+v, %v", res.step, res.err)
	}
	login := res.step.Login
	if login.ID != "4915100000001" || login.RemoteName != "+4915100000001" || login.RemoteUser != "4915100000001" || login.User != alice {
		t.Errorf("login %+v", login)
	}
	var meta loginMetadata
	if err = json.Unmarshal(login.Metadata, &meta); err != nil || meta.JID != "4915100000001:12@s.whatsapp.net" || meta.LID != ownLID.String() {
		t.Errorf("metadata %s, %v", login.Metadata, err)
	}
	if env.conn.client(login.ID) != res.step.Client {
		t.Error("the completed client is not the login's running client")
	}
	if st := env.host.lastState(); st.Kind != "" {
		t.Errorf("state %+v reported before the core knew the login", st)
	}
	// Cancel after completion leaves the new login alone.
	p.Cancel()
	<-p.cleaned
	if d, err := env.conn.container.GetDevice(context.Background(), ownDev); err != nil || d == nil {
		t.Errorf("device gone after a late cancel: %v", err)
	}
}

func TestLoginCompletesWithoutClientWhenReconnectStalls(t *testing.T) {
	env := newLoginEnv(t, "connect_timeout: 1s")
	p := linkByQR(t, env, 0)
	step, err := p.Wait(context.Background())
	if err != nil || step.Type != network.StepComplete || step.Client != nil || step.Login.ID != ownLogin {
		t.Fatalf("Wait = %+v, %v", step, err)
	}
	if env.conn.client(ownLogin) != nil {
		t.Error("a stalled client stayed registered; the core will load its own")
	}
}

func TestLoginQROutcomes(t *testing.T) {
	cases := []struct {
		name  string
		item  *whatsmeow.QRChannelItem // nil: the channel closes
		phone string
		want  string
	}{
		{"QR expired", &whatsmeow.QRChannelTimeout, "", "The QR code expired before it was scanned. Send `login whatsapp` to get a new one."},
		{"pairing code expired", &whatsmeow.QRChannelTimeout, "+4915100000001", "The pairing code expired before it was entered. Send `login whatsapp +4915100000001`"},
		{"pair error", &whatsmeow.QRChannelItem{Event: whatsmeow.QRChannelEventError, Error: errors.New("bad signature")}, "", "WhatsApp refused to link Ferry (bad signature)"},
		{"outdated", &whatsmeow.QRChannelClientOutdated, "", "outdated (405)"},
		{"no multidevice", &whatsmeow.QRChannelScannedWithoutMultidevice, "", "Update WhatsApp on your phone"},
		{"unexpected", &whatsmeow.QRChannelErrUnexpectedEvent, "", "ended the login unexpectedly"},
		{"closed", nil, "", "ended the login unexpectedly"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newLoginEnv(t, "")
			var args []string
			if tc.phone != "" {
				args = []string{tc.phone}
			}
			p := env.start(t, args...)
			qr := make(chan whatsmeow.QRChannelItem, 8)
			p.qr = qr
			qr <- whatsmeow.QRChannelItem{Event: whatsmeow.QRChannelEventCode, Code: "2@one"}
			step, err := p.Start(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if tc.phone != "" {
				f := env.fake(0)
				if step.Type != network.StepDisplayCode || step.Data != "ABCD-EFGH" || !strings.Contains(step.Instructions, "Link with phone number") ||
					len(f.pairCalls) != 1 || f.pairCalls[0] != (pairCall{"4915100000001", true, whatsmeow.PairClientChrome, "Chrome (Linux)"}) {
					t.Errorf("pairing code step %+v, calls %+v", step, f.pairCalls)
				}
				// Later QR codes are not shown in the pairing-code flow.
				qr <- whatsmeow.QRChannelItem{Event: whatsmeow.QRChannelEventCode, Code: "2@two"}
			} else {
				qr <- whatsmeow.QRChannelItem{Event: whatsmeow.QRChannelEventCode, Code: "2@two"}
				if step, err = p.Wait(context.Background()); err != nil || step.Type != network.StepDisplayQR || step.Data != "2@two" {
					t.Fatalf("rotated code: %+v, %v", step, err)
				}
			}
			if tc.item != nil {
				qr <- *tc.item
			} else {
				close(qr)
			}
			_, err = p.Wait(context.Background())
			if !strings.Contains(network.UserMessage(err, ""), tc.want) {
				t.Errorf("Wait = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestLoginPairErrorThroughClient(t *testing.T) {
	env := newLoginEnv(t, "")
	p := env.start(t)
	qrOnConnect(t, p, env.fake(0), "2@first")
	if _, err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.cli.DangerousInternals().DispatchEvent(&events.PairError{ID: ownDev, Error: errors.New("bad signature")})
	_, err := p.Wait(context.Background())
	if !strings.Contains(network.UserMessage(err, ""), "bad signature") {
		t.Errorf("Wait = %v", err)
	}
}

func TestLoginCancelDeletesHalfMadeDevice(t *testing.T) {
	env := newLoginEnv(t, "")
	env.setup = func(f *fakeWA) { f.logoutErr = whatsmeow.ErrNotConnected }
	p := env.start(t)
	pair(t, p)
	p.Cancel()
	<-p.cleaned
	if d, err := env.conn.container.GetDevice(context.Background(), ownDev); err != nil || d != nil {
		t.Errorf("half-made device still stored: %v, %v", d, err)
	}
	if f := env.fake(0); f.disconnects == 0 || f.logouts != 1 {
		t.Errorf("disconnects %d, logouts %d", f.disconnects, f.logouts)
	}
	if _, err := p.Wait(context.Background()); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait after Cancel = %v", err)
	}
}

func TestLoginRefusesAnotherUsersAccount(t *testing.T) {
	env := newLoginEnv(t, "")
	other := testLogin(storeDevice(t, env.conn, ownDev, ownLID))
	other.User = "@mallory:example.org"
	env.conn.newClient(other, nil, nil)
	p := linkByQR(t, env, 0)
	_, err := p.Wait(context.Background())
	if !strings.Contains(network.UserMessage(err, ""), "already linked to another Matrix user") {
		t.Errorf("Wait = %v", err)
	}
}

// TestLoginCancelWhileLinkedAccountReconnects: the user sends `cancel`
// while the freshly paired account reconnects (finish waits up to
// connect_timeout for it). The core has given up on the flow and will not
// store the login, so the device must be unlinked and deleted, as for a
// cancel before pairing, and Wait must report the cancel.
func TestLoginCancelWhileLinkedAccountReconnects(t *testing.T) {
	env := newLoginEnv(t, "connect_timeout: 5s")
	p := linkByQR(t, env, 0)
	type result struct {
		step *network.LoginStep
		err  error
	}
	done := make(chan result, 1)
	go func() {
		step, err := p.Wait(context.Background())
		done <- result{step, err}
	}()
	waitConnect(t, env.waitFake(t, 1)) // the linked account is dialling
	p.Cancel()
	<-p.cleaned
	var res result
	select {
	case res = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return after Cancel")
	}
	if !errors.Is(res.err, context.Canceled) {
		t.Errorf("Wait = %+v, %v; want context.Canceled", res.step, res.err)
	}
	d, err := env.conn.container.GetDevice(context.Background(), ownDev)
	if err != nil {
		t.Fatal(err)
	}
	if d != nil {
		t.Error("the cancelled login's device is still stored")
	}
	if logouts := env.fake(0).logouts + env.fake(1).logouts; logouts == 0 {
		t.Error("the cancelled login's device was not unlinked")
	}
	if env.conn.client(loginIDOf(ownDev.ToNonAD())) != nil {
		t.Error("the cancelled login's client is still registered")
	}
}
