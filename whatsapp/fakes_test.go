package whatsapp

import (
	"context"
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.mau.fi/util/dbutil"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"gopkg.in/yaml.v3"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
	"github.com/ferrybridge/ferry/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// fakeHost records what the network hands the core and lets a test decide
// what HandleEvent answers.
type fakeHost struct {
	db  *dbutil.Database
	log zerolog.Logger

	mu      sync.Mutex
	queued  []network.Event
	handled []network.Event
	states  []network.State
	ghosts  []ghostUpdate
	notices []string
	// rekeys are the portal moves asked for, as {from, to}.
	rekeys   [][2]network.PortalKey
	rekeyErr error
	// handle answers HandleEvent; nil accepts everything. handleCtx, when
	// set, answers instead, for a core that watches the context.
	handle    func(evt network.Event) error
	handleCtx func(ctx context.Context, evt network.Event) error
	seen      chan struct{}

	// saved are the logins stored with SaveLogin.
	saved []*network.Login
}

type ghostUpdate struct {
	User network.UserID
	Info *network.UserInfo
}

func newFakeHost(t testing.TB, db *dbutil.Database) *fakeHost {
	return &fakeHost{db: db, log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel), seen: make(chan struct{}, 1000)}
}

func (h *fakeHost) ping() {
	select {
	case h.seen <- struct{}{}:
	default:
	}
}

func (h *fakeHost) QueueEvent(login network.LoginID, evt network.Event) {
	h.mu.Lock()
	h.queued = append(h.queued, evt)
	h.mu.Unlock()
	h.ping()
}

func (h *fakeHost) HandleEvent(ctx context.Context, login network.LoginID, evt network.Event) error {
	h.mu.Lock()
	h.handled = append(h.handled, evt)
	handle, handleCtx := h.handle, h.handleCtx
	h.mu.Unlock()
	h.ping()
	if handleCtx != nil {
		return handleCtx(ctx, evt)
	}
	if handle != nil {
		return handle(evt)
	}
	return nil
}

func (h *fakeHost) ReportState(login network.LoginID, st network.State) {
	h.mu.Lock()
	h.states = append(h.states, st)
	h.mu.Unlock()
	h.ping()
}

func (h *fakeHost) UpdateGhost(ctx context.Context, user network.UserID, info *network.UserInfo) error {
	h.mu.Lock()
	h.ghosts = append(h.ghosts, ghostUpdate{user, info})
	h.mu.Unlock()
	h.ping()
	return nil
}

func (h *fakeHost) SaveLogin(ctx context.Context, login *network.Login) error {
	h.mu.Lock()
	h.saved = append(h.saved, login)
	h.mu.Unlock()
	return nil
}

// RekeyPortal records the move and says it moved a room; rekeyErr, when
// set, is its answer instead.
func (h *fakeHost) RekeyPortal(ctx context.Context, from, to network.PortalKey) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rekeys = append(h.rekeys, [2]network.PortalKey{from, to})
	return h.rekeyErr == nil, h.rekeyErr
}
func (h *fakeHost) Database() *dbutil.Database { return h.db }
func (h *fakeHost) Log() *zerolog.Logger       { return &h.log }

// take returns and clears what was recorded.
func (h *fakeHost) take() (queued, handled []network.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	queued, handled = h.queued, h.handled
	h.queued, h.handled = nil, nil
	return
}

func (h *fakeHost) lastState() network.State {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.states) == 0 {
		return network.State{}
	}
	return h.states[len(h.states)-1]
}

// waitState waits until a state of kind is reported.
func (h *fakeHost) waitState(t *testing.T, kind network.StateKind, within time.Duration) network.State {
	t.Helper()
	deadline := time.After(within)
	for {
		h.mu.Lock()
		for _, st := range h.states {
			if st.Kind == kind {
				h.mu.Unlock()
				return st
			}
		}
		h.mu.Unlock()
		select {
		case <-h.seen:
		case <-deadline:
			t.Fatalf("no %s state within %s; states: %+v", kind, within, h.states)
		}
	}
}

// The test account and people.
var (
	ownPN   = types.NewJID("4915100000001", types.DefaultUserServer)
	ownLID  = types.NewJID("100000000001", types.HiddenUserServer)
	ownDev  = types.JID{User: ownPN.User, Server: types.DefaultUserServer, Device: 12}
	bobPN   = types.NewJID("4915100000002", types.DefaultUserServer)
	bobLID  = types.NewJID("200000000002", types.HiddenUserServer)
	carlLID = types.NewJID("300000000003", types.HiddenUserServer)
	group   = types.NewJID("120363000000000001", types.GroupServer)
)

const ownLogin network.LoginID = "4915100000001"

// testEnv is a started connector with one loaded login whose whatsmeow
// client is real but never connects.
type testEnv struct {
	host   *fakeHost
	conn   *Connector
	cl     *Client
	wa     *fakeWA
	device *store.Device
	ctx    context.Context
}

// sqliteDB is a fresh, upgraded Ferry database on SQLite.
func sqliteDB(t testing.TB) *dbutil.Database {
	return dbtest.Open(t, database.DefaultType, dbtest.SQLiteURI(t)).Database
}

func startConnector(t *testing.T, db *dbutil.Database, cfgYAML string) (*Connector, *fakeHost) {
	t.Helper()
	host := newFakeHost(t, db)
	return startConnectorOn(t, host, cfgYAML), host
}

// startConnectorOn starts a connector on host, whose logger it keeps.
func startConnectorOn(t testing.TB, host *fakeHost, cfgYAML string) *Connector {
	t.Helper()
	conn := New()
	var node *yaml.Node
	if cfgYAML != "" {
		node = &yaml.Node{}
		if err := yaml.Unmarshal([]byte(cfgYAML), node); err != nil {
			t.Fatal(err)
		}
	}
	if err := conn.Init(host, node); err != nil {
		t.Fatalf("Init: %v", err)
	}
	if err := conn.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { conn.Stop(context.Background()) })
	return conn
}

// newEnv starts a connector on db with the given config and loads the
// test account's login, with fakeWA in front of its client.
func newEnv(t *testing.T, db *dbutil.Database, cfgYAML string) *testEnv {
	t.Helper()
	conn, host := startConnector(t, db, cfgYAML)
	return loadEnv(t, conn, host, storeDevice(t, conn, ownDev, ownLID))
}

// newEnvOn is Ferry started again on db, where an earlier newEnv stored
// device: a restart.
func newEnvOn(t *testing.T, db *dbutil.Database, device *store.Device) *testEnv {
	t.Helper()
	conn, host := startConnector(t, db, "")
	return loadEnv(t, conn, host, device)
}

// loadEnv loads the test account's login on a started connector, with
// fakeWA in front of its client.
func loadEnv(t testing.TB, conn *Connector, host *fakeHost, device *store.Device) *testEnv {
	t.Helper()
	env := &testEnv{host: host, conn: conn, device: device, ctx: context.Background()}
	conn.wrap = func(cli *whatsmeow.Client) waClient {
		env.wa = newFakeWA(cli)
		return env.wa
	}
	client, err := conn.LoadLogin(env.ctx, testLogin(env.device))
	if err != nil {
		t.Fatalf("LoadLogin: %v", err)
	}
	env.cl = client.(*Client)
	return env
}

func testLogin(device *store.Device) *network.Login {
	return &network.Login{
		ID: ownLogin, User: "@alice:example.org", RemoteName: "+" + ownPN.User,
		RemoteUser: network.UserID(ownPN.User), Metadata: metadataOf(device),
	}
}

// storeDevice saves a paired device the way whatsmeow does after pairing.
func storeDevice(t testing.TB, conn *Connector, jid, lid types.JID) *store.Device {
	t.Helper()
	device := conn.container.NewDevice()
	device.ID, device.LID = &jid, lid
	device.Account = &waAdv.ADVSignedDeviceIdentity{
		Details: randomBytes(16), AccountSignature: randomBytes(64), AccountSignatureKey: randomBytes(32), DeviceSignature: randomBytes(64),
	}
	if err := device.Save(context.Background()); err != nil {
		t.Fatalf("save device: %v", err)
	}
	return device
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// dispatch feeds an event through the real whatsmeow client's handlers and
// returns its success status (true: WhatsApp gets an acknowledgement).
func (env *testEnv) dispatch(evt any) bool {
	return !env.cl.cli.DangerousInternals().DispatchEvent(evt)
}
