package whatsapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/whatsapp/waconv"
)

// waClient is the part of *whatsmeow.Client that Ferry calls to act on
// WhatsApp. Production passes the client itself; tests put a recorder in
// front of a real, unconnected client.
type waClient interface {
	waconv.Builder
	Connect() error
	Disconnect()
	IsConnected() bool
	IsLoggedIn() bool
	Logout(ctx context.Context) error
	PairPhone(ctx context.Context, phone string, showPushNotification bool, clientType whatsmeow.PairClientType, clientDisplayName string) (string, error)
	GenerateMessageID() types.MessageID
	SendMessage(ctx context.Context, to types.JID, message *waE2E.Message, extra ...whatsmeow.SendRequestExtra) (whatsmeow.SendResponse, error)
	UploadReader(ctx context.Context, plaintext io.Reader, tempFile io.ReadWriteSeeker, appInfo whatsmeow.MediaType) (whatsmeow.UploadResponse, error)
	DownloadToFile(ctx context.Context, msg whatsmeow.DownloadableMessage, file whatsmeow.File) error
	SendMediaRetryReceipt(ctx context.Context, message *types.MessageInfo, mediaKey []byte) error
	DecryptReaction(ctx context.Context, reaction *events.Message) (*waE2E.ReactionMessage, error)
	DecryptSecretEncryptedMessage(ctx context.Context, evt *events.Message) (*waE2E.Message, error)
	IsOnWhatsApp(ctx context.Context, phones []string) ([]types.IsOnWhatsAppResponse, error)
	GetGroupInfo(ctx context.Context, jid types.JID) (*types.GroupInfo, error)
	GetJoinedGroups(ctx context.Context) ([]*types.GroupInfo, error)
	GetProfilePictureInfo(ctx context.Context, jid types.JID, params *whatsmeow.GetProfilePictureParams) (*types.ProfilePictureInfo, error)
	SendChatPresence(ctx context.Context, jid types.JID, state types.ChatPresence, media types.ChatPresenceMedia) error
	MarkRead(ctx context.Context, ids []types.MessageID, timestamp time.Time, chat, sender types.JID, receiptTypeExtra ...types.ReceiptType) error
}

var _ waClient = (*whatsmeow.Client)(nil)

// loginMetadata is the network's part of a stored login. JID is the full
// device JID ("<digits>:<device>@s.whatsapp.net"): whatsmeow's store finds
// the session by it.
type loginMetadata struct {
	JID string `json:"jid"`
	LID string `json:"lid,omitempty"`
}

var (
	_ network.Client        = (*Client)(nil)
	_ network.Editor        = (*Client)(nil)
	_ network.Reactor       = (*Client)(nil)
	_ network.Redactor      = (*Client)(nil)
	_ network.Logouter      = (*Client)(nil)
	_ network.ChatLeaver    = (*Client)(nil)
	_ network.DMStarter     = (*Client)(nil)
	_ network.TypingSender  = (*Client)(nil)
	_ network.ReceiptSender = (*Client)(nil)
	_ network.CurrentStater = (*Client)(nil)
)

// Client is one linked WhatsApp account.
type Client struct {
	conn   *Connector
	id     network.LoginID
	remote network.UserID
	// user is the Matrix user who owns the login.
	user id.UserID
	log  zerolog.Logger
	// quiet holds back state reports while a login is being completed:
	// the core learns of the login only afterwards.
	quiet atomic.Bool
	// device, cli and wa are nil when the stored session is gone (logged
	// out while Ferry was down): the login then only reports that.
	device *store.Device
	cli    *whatsmeow.Client
	wa     waClient

	lock sync.Mutex
	// stop ends the background connect of a running Connect.
	stop context.CancelFunc
	// slow fires when connecting takes longer than connect_timeout.
	slow *time.Timer
	// banEnd connects again when a temporary ban ends, banGen counts the
	// bans (connection_stops.go).
	banEnd    *time.Timer
	banGen    uint64
	connected bool
	// lastKind and lastMessage are the state reported last (or held
	// back while quiet).
	lastKind    network.StateKind
	lastMessage string
	// failures counts failed attempts to bridge a message, so that one
	// that can never be bridged is not redelivered for ever.
	failures map[string]int

	// history hands history syncs over and gates live messages behind them.
	history *historyQueue
	// lookups limits questions to WhatsApp about phone numbers.
	lookups *tokenBucket
	// retries limits requests to the phone to upload expired media again.
	retries *tokenBucket
	// lidChecked holds the LIDs whose DM room was looked for under the
	// LID's key this run (lid_rekey.go); guarded by lock.
	lidChecked map[types.JID]bool
	// started is when the client was made; mediaAnswersResumed says the
	// media re-upload answers of earlier runs were taken up (media_retry.go).
	started             time.Time
	mediaAnswersResumed atomic.Bool
	// replaces is the client of the account's previous link, unlinked
	// once this one connects, and replacedLeft the devices of earlier
	// links that a stop left to remove then (relink.go); guarded by lock.
	replaces     *Client
	replacedLeft []types.JID
	// unlinkWait is closed by a Connect that cancels the pending unlink of
	// this replaced link (relink.go), unlinkDecided once that wait is over
	// either way, and letGo says the core disconnected it for the new link
	// and no Connect took it back; guarded by lock.
	unlinkWait    chan struct{}
	unlinkDecided chan struct{}
	letGo         bool
}

// maxReconnectErrors caps whatsmeow's reconnect delay (2 s per error).
const maxReconnectErrors = 30

// errNoSession is what actions on a login without a session answer.
var errNoSession = network.UserErrorf("this WhatsApp login has no session any more; send `login whatsapp` to link again")

// newClient wraps a device (nil for a lost session) for login, and makes
// it the login's running client. cli may be given (a login's client that
// is already connected), or is made here.
func (c *Connector) newClient(login *network.Login, device *store.Device, cli *whatsmeow.Client) *Client {
	return c.makeClient(login, device, cli, true)
}

// makeClient is newClient; running says whether the client becomes the
// login's running client now. A relink's does not: the earlier link
// serves the login until the core starts the new one (login.go, finish).
func (c *Connector) makeClient(login *network.Login, device *store.Device, cli *whatsmeow.Client, running bool) *Client {
	cl := &Client{
		conn:     c,
		id:       login.ID,
		remote:   login.RemoteUser,
		user:     login.User,
		log:      c.log.With().Str("login", string(login.ID)).Logger(),
		device:   device,
		failures: make(map[string]int),
		started:  time.Now(),
		lookups:  newTokenBucket(lookupBurst, lookupEvery),
		retries:  newTokenBucket(mediaRetryBurst, mediaRetryEvery),
	}
	if cl.remote == "" {
		cl.remote = network.UserID(login.ID)
	}
	cl.history = newHistoryQueue(cl)
	if device != nil {
		if cli == nil {
			cli = c.newWAClient(device, cl.log)
		}
		// A message whose handler failed stays unacknowledged and comes
		// again; the buffer keeps its plaintext meanwhile (the ratchet has
		// moved on: the ciphertext alone would fail with an old counter).
		cli.SynchronousAck = true
		cli.EnableDecryptedEventBuffer = true
		cli.EnableAutoReconnect = true
		cli.InitialAutoReconnect = true
		cli.AutomaticMessageRerequestFromPhone = true
		// whatsmeow waits 2 s longer after every failed reconnect, without
		// end; capping its error count caps the wait at about a minute, so
		// a long outage is not followed by a long silence.
		cli.AutoReconnectHook = func(error) bool {
			cli.AutoReconnectErrors = min(cli.AutoReconnectErrors, maxReconnectErrors)
			return true
		}
		cl.cli, cl.wa = cli, c.wrap(cli)
		cli.AddEventHandlerWithSuccessStatus(cl.handleEvent)
	}
	c.lock.Lock()
	if running {
		c.clients[login.ID] = cl
		// A login that could not be loaded has this client in its
		// place now: after its logout, nothing is left to replace.
		delete(c.unloaded, login.ID)
	}
	if old := c.pendingUnlinks[login.ID]; old != nil && device != nil {
		delete(c.pendingUnlinks, login.ID)
		cl.replaces = old
	}
	c.lock.Unlock()
	return cl
}

// ownJID is the account's phone-number JID (without device).
func (c *Client) ownJID() types.JID {
	if c.device == nil || c.device.ID == nil {
		return types.NewJID(string(c.remote), types.DefaultUserServer)
	}
	return c.device.ID.ToNonAD()
}

// isMe tells whether jid is the account itself, by phone number or LID.
func (c *Client) isMe(jid types.JID) bool {
	jid = jid.ToNonAD()
	if jid.IsEmpty() {
		return false
	}
	if jid.User == c.ownJID().User && (jid.Server == types.DefaultUserServer || jid.Server == types.LegacyUserServer) {
		return true
	}
	return c.device != nil && !c.device.LID.IsEmpty() && jid.User == c.device.LID.User && jid.Server == types.HiddenUserServer
}

func (c *Client) report(kind network.StateKind, message string) {
	c.lock.Lock()
	c.lastKind, c.lastMessage = kind, message
	c.lock.Unlock()
	if c.quiet.Load() {
		return
	}
	c.conn.host.ReportState(c.id, network.State{Kind: kind, Message: message})
}

// CurrentState is the state reported last, including one held back while
// the login was being completed: the core asks a client handed over with
// its login for it.
func (c *Client) CurrentState() network.State {
	c.lock.Lock()
	defer c.lock.Unlock()
	if c.lastKind == "" {
		return network.State{Kind: network.StateConnecting}
	}
	return network.State{Kind: c.lastKind, Message: c.lastMessage}
}

// Connect starts connecting in the background. whatsmeow reconnects on its
// own after network errors; the states are reported from its events.
func (c *Client) Connect(ctx context.Context) {
	if c.cancelUnlink() {
		// The Disconnect before was a reconnect's, which it left
		// connected (relink.go): it closes the connection now.
		c.disconnect()
	}
	if c.wa == nil {
		c.report(network.StateLoggedOut, "the WhatsApp session is gone: send `login whatsapp` to link again")
		return
	}
	c.lock.Lock()
	if c.stop != nil {
		c.lock.Unlock()
		return
	}
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	c.stop = stop
	c.connected = false
	c.armSlowLocked()
	c.lock.Unlock()
	// Before any live message can come: one of a chat still waiting for
	// its history must wait for it.
	c.history.load(c.log.WithContext(ctx))
	c.report(network.StateConnecting, "")
	go c.connectLoop(runCtx)
}

// armSlowLocked reports a connection that takes too long as transiently
// down, so that the user hears of an outage even when WhatsApp never
// answers at all.
func (c *Client) armSlowLocked() {
	if c.slow != nil {
		c.slow.Stop()
	}
	timeout := c.conn.cfg.connectTimeout()
	c.slow = time.AfterFunc(timeout, func() {
		// Only a connection that has said nothing yet: an outage already
		// reported keeps its reason (and the core its down timer).
		c.lock.Lock()
		still := c.stop != nil && !c.connected && c.lastKind == network.StateConnecting
		c.lock.Unlock()
		if still {
			c.report(network.StateTransientDisconnect, fmt.Sprintf("still connecting to WhatsApp after %s; Ferry keeps trying", timeout))
		}
	})
}

func (c *Client) connectLoop(ctx context.Context) {
	backoff := 5 * time.Second
	for {
		err := c.wa.Connect()
		switch {
		case err == nil, errors.Is(err, whatsmeow.ErrAlreadyConnected):
			return
		case errors.Is(err, store.ErrDeviceDeleted):
			c.report(network.StateLoggedOut, "the WhatsApp session was deleted: send `login whatsapp` to link again")
			return
		}
		c.log.Warn().Err(err).Dur("retry_in", backoff).Msg("Failed to connect to WhatsApp")
		c.report(network.StateTransientDisconnect, "cannot reach WhatsApp ("+err.Error()+"); Ferry keeps trying")
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Minute)
	}
}

// Disconnect closes the connection; Connect may be called again. For the
// client of a link the core has just replaced with a new link of the same
// account, it unlinks the device instead, unless Connect follows at once
// (relink.go).
func (c *Client) Disconnect() {
	if c.conn.replacedBy(c, false) != nil {
		c.unlinkUnlessReconnected()
		return
	}
	c.disconnect()
}

func (c *Client) disconnect() {
	c.stopConnecting()
	c.disconnectWA()
}

// stopConnecting ends Connect's background attempts and timer.
func (c *Client) stopConnecting() {
	c.lock.Lock()
	stop := c.stop
	c.stop = nil
	c.connected = false
	if c.slow != nil {
		c.slow.Stop()
		c.slow = nil
	}
	if c.banEnd != nil {
		c.banEnd.Stop()
		c.banEnd = nil
	}
	c.lock.Unlock()
	if stop != nil {
		stop()
	}
}

func (c *Client) disconnectWA() {
	if c.wa != nil {
		c.wa.Disconnect()
	}
}

// handleConnEvent turns whatsmeow's connection events into states. It
// reports whether evt was one.
func (c *Client) handleConnEvent(evt any) bool {
	switch evt := evt.(type) {
	case *events.Connected, *events.KeepAliveRestored:
		c.lock.Lock()
		c.connected = true
		if c.slow != nil {
			c.slow.Stop()
		}
		c.lock.Unlock()
		c.report(network.StateConnected, "")
		// History left from an earlier run is handed over once media can
		// be downloaded again.
		c.history.resume()
		c.resumeMediaRetryAnswers()
		c.unlinkReplaced()
	case *events.Disconnected:
		c.setDown()
		c.report(network.StateTransientDisconnect, "disconnected from WhatsApp; reconnecting")
	case *events.KeepAliveTimeout:
		c.report(network.StateTransientDisconnect, "WhatsApp's servers stopped answering; reconnecting")
	case *events.LoggedOut:
		c.setDown()
		c.report(network.StateLoggedOut, loggedOutText(evt.Reason))
	case *events.StreamReplaced, *events.ClientOutdated, *events.ConnectFailure, *events.CATRefreshError, *events.TemporaryBan:
		c.handleStop(evt)
	case *events.StreamError:
		// whatsmeow reconnects after an unknown stream error.
		c.report(network.StateUnknownError, "WhatsApp closed the connection with error "+evt.Code)
	default:
		return false
	}
	return true
}

func (c *Client) setDown() {
	c.lock.Lock()
	c.connected = false
	c.lock.Unlock()
}

func loggedOutText(reason events.ConnectFailureReason) string {
	switch reason {
	case events.ConnectFailureMainDeviceGone:
		return "WhatsApp on your phone was logged out or moved to another phone: send `login whatsapp` to link again"
	case events.ConnectFailureUnknownLogout:
		return "WhatsApp logged this account out (" + reason.String() + "): send `login whatsapp` to link again"
	default:
		return "logged out from the phone: send `login whatsapp` to link again"
	}
}

// Logout unlinks the device on WhatsApp's side. whatsmeow deletes nothing
// locally when the unlink request fails (say, WhatsApp is unreachable), so
// the session is then deleted here all the same: the user asked to be
// logged out, and the core forgets the login in any case. The core also
// logs out a new link it could not store or start: when that link
// replaced a running one of the same account, only the new device goes
// (relink.go).
func (c *Client) Logout(ctx context.Context) error {
	old := c.conn.replacing(c)
	if old != nil && !old.wasLetGo(ctx) {
		return c.discardRelink(ctx, old)
	}
	// With old let go, the core had started this link in its place: no
	// discard of a relink comes after that, so this is the user's logout,
	// in the moment before old's unlink. It takes both devices: restored,
	// old would run on linked with no login in the core to end it.
	if old != nil {
		old.cancelUnlink()
	}
	defer c.conn.forget(c)
	c.history.close()
	cleanupCtx, cancelCleanup := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancelCleanup()
	// Devices this link replaced and that still wait for it to connect go
	// with the login.
	if old != nil {
		old.unlinkDevice(cleanupCtx, c)
	}
	if old, left := c.takeReplaced(); old != nil || len(left) > 0 {
		c.removeReplaced(cleanupCtx, old, left)
	}
	defer func() {
		if err := c.conn.msgs.deleteLogin(cleanupCtx, c.id); err != nil {
			c.log.Warn().Err(err).Msg("Failed to forget the login's message keys")
		}
		if err := c.conn.mediaRetries.deleteLogin(cleanupCtx, c.id); err != nil {
			c.log.Warn().Err(err).Msg("Failed to forget the login's media re-upload requests")
		}
		if err := c.conn.historyChats.deleteLogin(cleanupCtx, c.id); err != nil {
			c.log.Warn().Err(err).Msg("Failed to forget the login's chats waiting for history")
		}
		if err := c.conn.replacedDevices.deleteLogin(cleanupCtx, c.id); err != nil {
			c.log.Warn().Err(err).Msg("Failed to forget the login's replaced devices")
		}
	}()
	c.stopConnecting()
	if c.wa == nil {
		return nil
	}
	logoutCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	_, err := c.unlinkOrDelete(logoutCtx, cleanupCtx, "logged out")
	cancel()
	if err == nil {
		return nil
	}
	return &network.UserError{
		Message: "WhatsApp could not be reached to unlink Ferry; remove it on your phone under Settings → Linked devices",
		Err:     err,
	}
}

// metadataOf is the login metadata of a device.
func metadataOf(device *store.Device) json.RawMessage {
	meta := loginMetadata{JID: device.GetJID().String()}
	if lid := device.GetLID(); !lid.IsEmpty() {
		meta.LID = lid.String()
	}
	raw, _ := json.Marshal(meta)
	return raw
}

// needSession returns the WhatsApp client, or a UserError when the login
// cannot act now.
func (c *Client) needSession() (waClient, error) {
	if c.wa == nil {
		return nil, errNoSession
	}
	return c.wa, nil
}

// userFacing turns whatsmeow's "not connected" family into a message for
// the Matrix user; other errors pass through.
func userFacing(err error) error {
	if errors.Is(err, whatsmeow.ErrNotConnected) || errors.Is(err, whatsmeow.ErrNotLoggedIn) {
		return &network.UserError{Message: "WhatsApp is not connected right now (see `status`)", Err: err}
	}
	return err
}
