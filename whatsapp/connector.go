// Package whatsapp is Ferry's WhatsApp network: whatsmeow behind the
// contract of bridge/network.
//
// Files go by direction: remote_to_matrix.go turns whatsmeow's events into
// contract events, matrix_to_remote.go sends what Matrix users do, login.go
// links a phone (relink.go: again, for an account linked already),
// client.go keeps a linked account connected, info.go answers the core's
// questions about chats and people. Message content is converted by the
// waconv package. IDs are pinned in ids.go.
//
// whatsmeow's device store lives in Ferry's database (its own tables and
// version table), beside a few small tables of this network's own
// (upgrades/: message keys, msgstore.go; media re-upload requests,
// media_retry.go; the numbers groups show, group_numbers.go; chats
// waiting for their history, history_store.go; devices of replaced links
// still to remove, relink_store.go).
//
// History after linking becomes one Backfill per chat within the
// history_sync limits (history.go, history_gate.go). Expired media is
// asked of the phone again (media_retry.go); status updates go to one
// room per login when status_broadcasts is on. Not bridged: channels and
// communities, reported to the user once (unbridged.go).
package whatsapp

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"go.mau.fi/util/dbutil"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/store/sqlstore/upgrades"
	"go.mau.fi/whatsmeow/types"
	waLog "go.mau.fi/whatsmeow/util/log"
	"google.golang.org/protobuf/proto"
	"gopkg.in/yaml.v3"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

var (
	_ network.Connector  = (*Connector)(nil)
	_ network.GhostNamer = (*Connector)(nil)
)

// Connector is the WhatsApp network.
type Connector struct {
	host      network.Host
	cfg       Config
	log       zerolog.Logger
	container *sqlstore.Container
	msgs      *msgStore
	// uploadSlots bounds the files uploaded to WhatsApp at once, across
	// all logins.
	uploadSlots chan struct{}
	// mediaRetries are the pending requests to re-upload expired media.
	mediaRetries *mediaRetryStore
	// groupNumbers are the phone numbers groups show beside LIDs.
	groupNumbers *groupNumberStore
	// historyChats are the chats still waiting for their history.
	historyChats *historyChatStore
	// replacedDevices are the devices of replaced links still to remove.
	replacedDevices *replacedDeviceStore

	// wrap puts the narrow interface in front of a whatsmeow client; tests
	// replace it with a recorder.
	wrap func(*whatsmeow.Client) waClient
	// configure, when set, adjusts every whatsmeow client made (tests
	// point the clients' HTTP at a WhatsApp simulator).
	configure func(*whatsmeow.Client)
	// fetchAvatar downloads a profile picture URL (WhatsApp's CDN).
	fetchAvatar func(ctx context.Context, url string) ([]byte, error)
	// fetchVersion asks WhatsApp for its current web client version.
	fetchVersion func(ctx context.Context) (*store.WAVersionContainer, error)

	// bg lives from Start to Stop, for background work (ghost refreshes);
	// Stop waits for that work through wg.
	bg       context.Context
	bgCancel context.CancelFunc
	wg       sync.WaitGroup
	// versionAsked: the current web client version was asked for since
	// Start (askWAVersion).
	versionAsked atomic.Bool

	lock    sync.Mutex
	clients map[network.LoginID]*Client
	// relinks are the running clients of accounts linked again, by the
	// new link's client, until the core starts or discards it;
	// pendingUnlinks those whose new link connects later (relink.go).
	relinks        map[*Client]*Client
	pendingUnlinks map[network.LoginID]*Client
	// handedAlone are the devices of logins handed to the core without a
	// client, until LoadLogin takes them or their discard completes
	// (login_discard.go).
	handedAlone map[types.JID]*loginProcess
	// discardedAlone are the devices of such logins whose discard has
	// completed, for a LoadLogin still to come to refuse, for
	// discardedMemory (login_discard.go).
	discardedAlone map[types.JID]bool
	// unloaded are the users of the logins whose stored device could not
	// be read when the core loaded them (at start): the core keeps such a
	// login, without a client, until the next start tries it again, and
	// its user's link of its account replaces it (relinkNote), another
	// user's is refused (finish). A client of the login running
	// (makeClient) takes it out.
	unloaded map[network.LoginID]id.UserID
	// stopped: Stop has run (since the last Start). A relink still in
	// relinks then unlinks no device at a Disconnect, but the core's
	// Logout of its new client is still the discard of a relink.
	stopped bool
	// unbridged remembers channels and communities the users were told
	// are not bridged (unbridged.go).
	unbridged unbridgedChats
}

// New makes the WhatsApp connector; the core calls Init and Start.
func New() *Connector {
	return &Connector{
		wrap:        func(cli *whatsmeow.Client) waClient { return cli },
		fetchAvatar: httpGet,
		fetchVersion: func(ctx context.Context) (*store.WAVersionContainer, error) {
			return whatsmeow.GetLatestVersion(ctx, nil)
		},
		clients:        make(map[network.LoginID]*Client),
		relinks:        make(map[*Client]*Client),
		pendingUnlinks: make(map[network.LoginID]*Client),
		handedAlone:    make(map[types.JID]*loginProcess),
		discardedAlone: make(map[types.JID]bool),
		unloaded:       make(map[network.LoginID]id.UserID),
		uploadSlots:    make(chan struct{}, maxConcurrentUploads),
	}
}

// newWAClient makes the whatsmeow client of a device. A stored device
// already has its stores, and its contact store gets Ferry's lock here
// (contacts_lock.go) and its message secret store the mark of its errors
// (secret_store.go); a new one gets its stores when it pairs, and the
// lock and the mark then (loginProcess.finish).
func (c *Connector) newWAClient(device *store.Device, log zerolog.Logger) *whatsmeow.Client {
	lockContacts(device)
	markSecretStore(device)
	cli := whatsmeow.NewClient(device, waLog.Zerolog(log.With().Str("component", "whatsmeow").Logger()))
	if c.configure != nil {
		c.configure(cli)
	}
	return cli
}

func (c *Connector) ID() network.NetworkID { return NetworkID }
func (c *Connector) Name() string          { return "WhatsApp" }

// Init reads the `whatsapp:` section. It does no I/O.
func (c *Connector) Init(host network.Host, node *yaml.Node) error {
	cfg, err := ParseConfig(node)
	if err != nil {
		return err
	}
	c.host, c.cfg = host, cfg
	c.log = host.Log().With().Logger()
	return nil
}

// Start opens whatsmeow's store on the bridge's database (in its own
// version table, so its migrations and Ferry's never mix) and the
// network's message-key table, sets how the linked device presents
// itself on the phone, and prunes the changes sent from Matrix, now and
// hourly until Stop (msgstore.go).
func (c *Connector) Start(ctx context.Context) error {
	container, ownDB, err := UpgradeDatabase(ctx, c.host.Database(), c.log)
	if err != nil {
		return err
	}
	c.container = container
	c.msgs = &msgStore{db: ownDB}
	c.mediaRetries = &mediaRetryStore{db: ownDB}
	c.groupNumbers = &groupNumberStore{db: ownDB}
	c.historyChats = &historyChatStore{db: ownDB}
	c.replacedDevices = &replacedDeviceStore{db: ownDB}
	setDeviceProps(c.cfg)
	c.lock.Lock()
	if c.bgCancel != nil {
		c.bgCancel()
	}
	c.bg, c.bgCancel = context.WithCancel(c.log.WithContext(context.Background()))
	c.stopped = false
	c.relinks = make(map[*Client]*Client) // those of the last run ended with it
	c.lock.Unlock()
	c.versionAsked.Store(false)
	c.background(c.msgs.keepPruningSentChanges)
	return nil
}

// UpgradeDatabase brings the network's tables in db to the current
// schema: whatsmeow's device store, and the network's own. Start does it;
// the benchmark's seeding does it too, so that the database it starts
// Ferry on is that of a bridge that has run before.
func UpgradeDatabase(ctx context.Context, db *dbutil.Database, log zerolog.Logger) (*sqlstore.Container, *dbutil.Database, error) {
	waDB := db.Child("whatsmeow_version", upgrades.Table, dbutil.ZeroLogger(log.With().Str("db_section", "whatsmeow").Logger()))
	container := sqlstore.NewWithWrappedDB(waDB, waLog.Zerolog(log.With().Str("component", "whatsmeow_store").Logger()))
	if err := container.Upgrade(ctx); err != nil {
		return nil, nil, fmt.Errorf("upgrade whatsmeow store: %w", err)
	}
	ownDB := db.Child(versionTable, upgradeTable, dbutil.ZeroLogger(log.With().Str("db_section", "whatsapp").Logger()))
	if err := ownDB.Upgrade(ctx); err != nil {
		return nil, nil, fmt.Errorf("upgrade whatsapp tables: %w", err)
	}
	return container, ownDB, nil
}

// askWAVersion fetches the current web client version in the background,
// once per run, when the first login is loaded or started: a bridge with
// no WhatsApp account has no reason to contact WhatsApp (nor to load TLS
// roots and an HTTP transport for it).
func (c *Connector) askWAVersion() {
	if c.versionAsked.CompareAndSwap(false, true) {
		c.background(c.updateWAVersion)
	}
}

// bgContext is the context of background work: done once Stop is called.
func (c *Connector) bgContext() context.Context {
	c.lock.Lock()
	defer c.lock.Unlock()
	if c.bg == nil {
		return context.Background()
	}
	return c.bg
}

// background runs fn until Stop, which waits for it. Work started once
// Stop has begun (a login flow the core ends after it) runs on an ended
// context and is not counted: Stop may be in wg.Wait already, and a
// WaitGroup must not be added to from zero while it is waited on.
func (c *Connector) background(fn func(ctx context.Context)) {
	c.lock.Lock()
	ctx := context.Background()
	if c.bg != nil {
		ctx = c.bg
	}
	counted := !c.stopped
	if counted {
		c.wg.Add(1)
	}
	c.lock.Unlock()
	go func() {
		if counted {
			defer c.wg.Done()
		}
		// Outside whatsmeow's handler, whose recover covers live
		// events: a panic here (in work on what WhatsApp sent) would end
		// the bridge. Work with state of its own to give up recovers
		// itself first (history_gate.go, media_retry.go).
		defer func() {
			if r := recover(); r != nil {
				c.log.Error().Any("panic", r).Str("stack", string(debug.Stack())).Msg("Panic in the WhatsApp connector's background work")
			}
		}()
		fn(ctx)
	}()
}

// setDeviceProps names the linked device. whatsmeow keeps these in
// package variables, read when a device pairs.
// Unchanged values are not written again, so that bridges started one
// after another in one process (tests) do not race with running clients.
func setDeviceProps(cfg Config) {
	platform := platforms[strings.ToLower(cfg.BrowserName)]
	if store.DeviceProps.GetOs() != cfg.OSName {
		store.DeviceProps.Os = proto.String(cfg.OSName)
	}
	if store.DeviceProps.GetPlatformType() != platform {
		store.DeviceProps.PlatformType = platform.Enum()
	}
}

// updateWAVersion asks WhatsApp for the current web client version once,
// so that an older whatsmeow is not refused as outdated (405). Without
// internet access it gives up quietly after a short while.
func (c *Connector) updateWAVersion(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.connectTimeout())
	defer cancel()
	version, err := c.fetchVersion(ctx)
	if err != nil {
		c.log.Debug().Err(err).Msg("Could not fetch the current WhatsApp web version; using whatsmeow's")
		return
	}
	if current := store.GetWAVersion(); current.LessThan(*version) {
		c.log.Info().Stringer("old", current).Stringer("new", version).Msg("Updated the WhatsApp web version")
		store.SetWAVersion(*version)
	}
}

// Stop disconnects every login.
func (c *Connector) Stop(ctx context.Context) {
	c.lock.Lock()
	clients := make(map[*Client]bool, len(c.clients)+len(c.relinks))
	for _, cl := range c.clients {
		clients[cl] = true
	}
	// The earlier links of relinks handed to the core still run until
	// the core disconnects them; a stop before that must not leave them
	// connected.
	for _, old := range c.relinks {
		clients[old] = true
	}
	c.clients = make(map[network.LoginID]*Client)
	// relinks stay: the core ends its login flows before this, but
	// waits for them only until its deadline, so one may still be
	// completing; if it cannot, it logs its new client out after this,
	// which must still undo only the new link, not log the whole login
	// out (deleting the data it keeps of the earlier link).
	c.stopped = true
	c.pendingUnlinks = make(map[network.LoginID]*Client)
	if c.bgCancel != nil {
		c.bgCancel()
	}
	c.lock.Unlock()
	for cl := range clients {
		cl.disconnect() // not Disconnect: stopping unlinks no device
	}
	done := make(chan struct{})
	go func() {
		c.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		c.log.Warn().Msg("Background work still running at stop")
	}
}

func (c *Connector) LoginFlows() []network.LoginFlow {
	return []network.LoginFlow{
		{Args: "", Description: "scan a QR code with WhatsApp on your phone"},
		{Args: "+<phone number>", Description: "get a code to type into WhatsApp on your phone instead"},
	}
}

// LoadLogin finds the login's session in whatsmeow's store. It does not
// connect. A session that is gone (the phone unlinked Ferry while it was
// down) still makes a client, which reports that the user must log in
// again.
func (c *Connector) LoadLogin(ctx context.Context, login *network.Login) (network.Client, error) {
	c.askWAVersion()
	var meta loginMetadata
	if err := json.Unmarshal(login.Metadata, &meta); err != nil || meta.JID == "" {
		c.log.Warn().Err(err).Str("login", string(login.ID)).Msg("Login has no WhatsApp device JID")
		return c.newClient(login, nil, nil), nil
	}
	jid, err := types.ParseJID(meta.JID)
	if err != nil {
		c.log.Warn().Err(err).Str("login", string(login.ID)).Msg("Login has a bad WhatsApp device JID")
		return c.newClient(login, nil, nil), nil
	}
	device, err := c.container.GetDevice(ctx, jid)
	// A device a login flow handed over alone is taken from the flow only
	// once it is loaded: one the core cannot load stays the flow's, whose
	// Cancel (the core's next call) discards it (login_discard.go).
	if c.takeHandedAlone(jid, err == nil) {
		return nil, errDiscardedLogin
	}
	c.noteUnloaded(login, err != nil)
	if err != nil {
		return nil, fmt.Errorf("load WhatsApp session %s: %w", jid, err)
	}
	if device == nil {
		c.log.Warn().Stringer("jid", jid).Msg("WhatsApp session not found in the store")
		return c.newClient(login, nil, nil), nil
	}
	cl := c.newClient(login, device, nil)
	c.loadReplaced(ctx, cl)
	return cl, nil
}

// noteUnloaded records whether the core's load of login failed on its
// stored device (unloaded).
func (c *Connector) noteUnloaded(login *network.Login, failed bool) {
	c.lock.Lock()
	defer c.lock.Unlock()
	if failed {
		c.unloaded[login.ID] = login.User
	} else {
		delete(c.unloaded, login.ID)
	}
}

// unloadedOwner is the user of a login of account that the core could
// not load ("" if none).
func (c *Connector) unloadedOwner(account types.JID) id.UserID {
	c.lock.Lock()
	defer c.lock.Unlock()
	return c.unloaded[loginIDOf(account)]
}

// forget drops a client from the running set (after a logout, or a login
// that did not complete). It hands no more history over: the login's next
// client does, or Logout deleted it.
func (c *Connector) forget(cl *Client) {
	c.lock.Lock()
	if c.clients[cl.id] == cl {
		delete(c.clients, cl.id)
	}
	c.lock.Unlock()
	cl.history.close()
}

// otherLogins are the logins with a running client, but for except.
func (c *Connector) otherLogins(except network.LoginID) []network.LoginID {
	c.lock.Lock()
	defer c.lock.Unlock()
	var out []network.LoginID
	for id := range c.clients {
		if id != except {
			out = append(out, id)
		}
	}
	return out
}

// client returns the running client of a login.
func (c *Connector) client(login network.LoginID) *Client {
	c.lock.Lock()
	defer c.lock.Unlock()
	return c.clients[login]
}

// handleTimeout bounds how long one WhatsApp event may wait for the core
// before it is left for WhatsApp to deliver again. A variable only so that
// tests of a Matrix outage need not wait minutes.
var handleTimeout = 3 * time.Minute
