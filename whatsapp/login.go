package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"
	"go.mau.fi/util/exsync"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

const loginUsage = "usage: `login whatsapp` to scan a QR code, or `login whatsapp +<phone number>` " +
	"(international format, e.g. +4915112345678) to get a code to type in on the phone"

const (
	qrInstructions = "Scan this QR code with WhatsApp on your phone: Settings → Linked devices → Link a device. " +
		"A new code replaces it every 20 seconds or so; send `cancel` to stop."
	codeInstructions = "On your phone, open WhatsApp → Settings → Linked devices → Link a device → " +
		"Link with phone number instead, and type in this code. Send `cancel` to stop."
)

// StartLogin prepares a login: a new device and its whatsmeow client, with
// the QR channel open before any connection (whatsmeow requires that). It
// does no network I/O; Start connects.
func (c *Connector) StartLogin(ctx context.Context, user id.UserID, args []string) (network.LoginProcess, error) {
	var phone string
	if len(args) > 0 {
		// A number as people write it may have spaces: "+49 151 2345678".
		digits, ok := normalisePhone(strings.Join(args, ""))
		if !ok {
			return nil, network.UserErrorf("%s", loginUsage)
		}
		phone = digits
	}
	if c.container == nil {
		return nil, fmt.Errorf("the WhatsApp network has not been started")
	}
	c.askWAVersion()
	log := c.log.With().Str("action", "login").Stringer("user_id", user).Logger()
	device := c.container.NewDevice()
	cli := c.newWAClient(device, log)
	cli.SynchronousAck = true
	// After pairing WhatsApp closes the connection (515); Ferry reconnects
	// itself, as the linked account's client.
	cli.DisableLoginAutoReconnect = true
	p := &loginProcess{
		conn: c, user: user, phone: phone, log: log,
		device: device, cli: cli, wa: c.wrap(cli),
		reconnect: exsync.NewEvent(), connected: exsync.NewEvent(),
		done: make(chan struct{}), cleaned: make(chan struct{}),
	}
	// Registered before the QR channel's own handler, so that the pairing
	// details are kept before the channel reports success.
	p.handlerID = cli.AddEventHandler(p.handleEvent)
	qr, err := cli.GetQRChannel(ctx)
	if err != nil {
		cli.RemoveEventHandler(p.handlerID)
		return nil, fmt.Errorf("open QR channel: %w", err)
	}
	p.qr = qr
	return p, nil
}

type loginProcess struct {
	conn      *Connector
	user      id.UserID
	phone     string // digits for the pairing-code flow, "" for QR
	log       zerolog.Logger
	device    *store.Device
	cli       *whatsmeow.Client
	wa        waClient
	qr        <-chan whatsmeow.QRChannelItem
	handlerID uint32

	lock    sync.Mutex
	success *events.PairSuccess
	pairErr *events.PairError
	// linked is the paired account's client while finish connects it;
	// old the client it replaces when the account was linked already.
	linked, old *Client
	// completed: the login is handed to the core, which owns the device
	// from then on; set together with the check for a Cancel.
	completed bool
	// alone: it was handed over without a client, and the core owns the
	// device only once LoadLogin took it (login_discard.go); discarded:
	// Cancel came first (guarded by conn.lock).
	alone, discarded bool
	aloneJID         types.JID

	reconnect *exsync.Event // WhatsApp closed the socket after pairing
	connected *exsync.Event // the linked account is connected
	done      chan struct{} // closed by Cancel
	cancel    sync.Once
	cleaned   chan struct{} // closed when Cancel's clean-up is done
}

func (p *loginProcess) handleEvent(raw any) {
	switch evt := raw.(type) {
	case *events.PairSuccess:
		p.log.Info().Stringer("jid", evt.ID).Str("platform", evt.Platform).Msg("WhatsApp pairing succeeded")
		p.lock.Lock()
		p.success = evt
		p.lock.Unlock()
	case *events.PairError:
		p.log.Warn().Err(evt.Error).Stringer("jid", evt.ID).Msg("WhatsApp pairing failed")
		p.lock.Lock()
		p.pairErr = evt
		p.lock.Unlock()
	case *events.ManualLoginReconnect:
		p.reconnect.Set()
	case *events.Connected:
		p.connected.Set()
	}
}

// Start connects to WhatsApp and shows the first QR code, or asks for a
// pairing code. Every wait has a deadline: without internet access this
// fails within moments instead of waiting for codes that never come.
func (p *loginProcess) Start(ctx context.Context) (*network.LoginStep, error) {
	timeout := p.conn.cfg.connectTimeout()
	if err := p.connect(ctx, timeout); err != nil {
		return nil, err
	}
	// The first QR code shows that WhatsApp is talking to us.
	var first whatsmeow.QRChannelItem
	select {
	case item, ok := <-p.qr:
		if !ok {
			return nil, p.unexpectedEnd()
		}
		if item.Event != whatsmeow.QRChannelEventCode {
			return nil, p.itemError(item)
		}
		first = item
	case <-time.After(timeout):
		return nil, unreachable(fmt.Errorf("no login code from WhatsApp within %s", timeout))
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.done:
		return nil, context.Canceled
	}
	if p.phone == "" {
		return &network.LoginStep{Type: network.StepDisplayQR, Data: first.Code, Instructions: qrInstructions}, nil
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	code, err := p.wa.PairPhone(pctx, p.phone, true, whatsmeow.PairClientChrome, "Chrome (Linux)")
	cancel()
	switch {
	case errors.Is(err, whatsmeow.ErrPhoneNumberTooShort), errors.Is(err, whatsmeow.ErrPhoneNumberIsNotInternational):
		return nil, &network.UserError{Message: "that does not look like a phone number in international format; " + loginUsage, Err: err}
	case err != nil:
		return nil, &network.UserError{Message: fmt.Sprintf("WhatsApp gave no pairing code for +%s (%s). Try again, or log in with a QR code.", p.phone, network.Literal(err.Error())), Err: err}
	}
	instructions := codeInstructions
	if note := p.relinkNote(); note != "" {
		instructions = note + "\n\n" + instructions
	}
	return &network.LoginStep{Type: network.StepDisplayCode, Data: code, Instructions: instructions}, nil
}

// relinkNote tells a user who links by number an account they have
// linked already that the new link replaces the earlier one, and that
// this is safe (relink.go); "" for any other number. An account another
// user linked is not named here: finish refuses it once the phone has
// linked, and only someone holding the phone learns it is linked. An
// earlier link whose login could not be loaded (unloaded) is replaced
// too, but has no client to keep working or to unlink itself.
func (p *loginProcess) relinkNote() string {
	account := types.NewJID(p.phone, types.DefaultUserServer)
	owner := p.conn.handedAloneOwner(account)
	if old := p.conn.client(loginIDOf(account)); old != nil {
		owner = old.user
	} else if unloaded := p.conn.unloadedOwner(account); unloaded != "" && unloaded == p.user {
		return "+" + p.phone + " is linked to Ferry already, but that link could not be started: this link replaces it. " +
			"Ferry cannot remove the earlier one from the phone's linked devices; remove it there."
	}
	if owner == "" || owner != p.user {
		return ""
	}
	return "+" + p.phone + " is linked to Ferry already: this link replaces the earlier one. " +
		"The earlier one keeps working until the new one is connected, and is then removed from the phone's linked devices."
}

// connect runs whatsmeow's Connect with a deadline.
func (p *loginProcess) connect(ctx context.Context, timeout time.Duration) error {
	errCh := make(chan error, 1)
	go func() { errCh <- p.wa.Connect() }()
	select {
	case err := <-errCh:
		if err != nil {
			return unreachable(err)
		}
		return nil
	case <-time.After(timeout):
		go p.wa.Disconnect()
		return unreachable(fmt.Errorf("no answer within %s", timeout))
	case <-ctx.Done():
		return ctx.Err()
	case <-p.done:
		return context.Canceled
	}
}

func unreachable(err error) error {
	// The reason is the network library's words (a dial error naming
	// hosts and addresses): cut short at a whole character, and shown as
	// written, not as Markdown.
	reason := err.Error()
	if len(reason) > 200 {
		cut := 200
		for cut > 0 && !utf8.RuneStart(reason[cut]) {
			cut--
		}
		reason = reason[:cut] + "…"
	}
	return &network.UserError{
		Message: "Could not reach WhatsApp (" + network.Literal(reason) + "). Check the bridge's internet connection and try again.",
		Err:     err,
	}
}

// Wait returns the next QR code, or completes the login once the phone
// has linked Ferry.
func (p *loginProcess) Wait(ctx context.Context) (*network.LoginStep, error) {
	for {
		// A cancelled login stays cancelled, whatever else is pending.
		select {
		case <-p.done:
			return nil, context.Canceled
		default:
		}
		select {
		case item, ok := <-p.qr:
			switch {
			case !ok:
				if p.paired() {
					return p.finish(ctx)
				}
				return nil, p.unexpectedEnd()
			case item.Event == whatsmeow.QRChannelEventCode:
				if p.phone == "" {
					return &network.LoginStep{Type: network.StepDisplayQR, Data: item.Code, Instructions: qrInstructions}, nil
				}
				// The pairing-code flow ignores the QR codes WhatsApp keeps sending.
			case item.Event == whatsmeow.QRChannelSuccess.Event:
				return p.finish(ctx)
			default:
				return nil, p.itemError(item)
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-p.done:
			return nil, context.Canceled
		}
	}
}

func (p *loginProcess) paired() bool {
	p.lock.Lock()
	defer p.lock.Unlock()
	return p.success != nil
}

func (p *loginProcess) unexpectedEnd() error {
	return network.UserErrorf("WhatsApp ended the login unexpectedly. Send `login whatsapp` to try again.")
}

// itemError explains how a login ended without success.
func (p *loginProcess) itemError(item whatsmeow.QRChannelItem) error {
	switch item.Event {
	case whatsmeow.QRChannelTimeout.Event:
		if p.phone != "" {
			return network.UserErrorf("The pairing code expired before it was entered. Send `login whatsapp +%s` to get a new one.", p.phone)
		}
		return network.UserErrorf("The QR code expired before it was scanned. Send `login whatsapp` to get a new one.")
	case whatsmeow.QRChannelClientOutdated.Event:
		return network.UserErrorf("WhatsApp refused this version of Ferry as outdated (405). The bridge administrator must update Ferry.")
	case whatsmeow.QRChannelScannedWithoutMultidevice.Event:
		return network.UserErrorf("The code was scanned by a WhatsApp without linked devices. Update WhatsApp on your phone and try again.")
	case whatsmeow.QRChannelEventError:
		return &network.UserError{Message: fmt.Sprintf("WhatsApp refused to link Ferry (%s). Send `login whatsapp` to try again.", network.Literal(fmt.Sprint(item.Error))), Err: item.Error}
	case whatsmeow.QRChannelEventPasskeyRequest, whatsmeow.QRChannelEventPasskeyResponse:
		return network.UserErrorf("WhatsApp asked for a passkey, which Ferry cannot handle. Link with the QR code or a pairing code instead.")
	default:
		return p.unexpectedEnd()
	}
}

// finish completes a paired login: WhatsApp closes the connection after
// pairing, so the linked account connects again, now as a running login.
// If it does not get through in time, the core is handed the login alone
// and connects it the normal way (with reconnects and states).
func (p *loginProcess) finish(ctx context.Context) (*network.LoginStep, error) {
	p.lock.Lock()
	success := p.success
	p.lock.Unlock()
	if success == nil || p.device.ID == nil {
		return nil, fmt.Errorf("pairing reported success without a stored session")
	}
	timeout := p.conn.cfg.connectTimeout()
	select {
	case <-p.reconnect.GetChan():
	case <-time.After(timeout):
		p.log.Warn().Msg("WhatsApp did not close the pairing connection; reconnecting anyway")
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.done:
		return nil, context.Canceled
	}
	jid := p.device.ID.ToNonAD()
	loginID := loginIDOf(jid)
	old := p.conn.client(loginID)
	owner := p.conn.handedAloneOwner(jid)
	if old != nil {
		owner = old.user
	} else if owner == "" {
		// A login the core could not load stays stored under the
		// account's ID: another user's link would be stored over it.
		owner = p.conn.unloadedOwner(jid)
	}
	if owner != "" && owner != p.user {
		p.log.Warn().Stringer("owner", owner).Msg("WhatsApp account is already linked to another Matrix user")
		return nil, network.UserErrorf("This WhatsApp account is already linked to another Matrix user of this bridge.")
	}
	login := &network.Login{
		ID: loginID, User: p.user, RemoteName: "+" + jid.User,
		RemoteUser: network.UserID(jid.User), Metadata: metadataOf(p.device),
	}
	// An earlier link of the account stays the login's running client
	// until the core starts this one: it still serves the login (the
	// core sends through it), Stop disconnects it, and a link of the
	// account by another user meanwhile is refused.
	cl := p.conn.makeClient(login, p.device, p.cli, old == nil)
	cl.quiet.Store(true) // the core does not know the login until this returns
	defer cl.quiet.Store(false)
	// The same account linked again: the previous device goes only once
	// the core has stored and started this one (relink.go), so that a
	// link that fails on the way leaves the user the old one.
	p.lock.Lock()
	p.linked, p.old = cl, old
	p.lock.Unlock()
	// With DisableLoginAutoReconnect whatsmeow leaves the pairing socket
	// as it is after the 515: until WhatsApp's close arrives it still
	// counts as connected, and Connect would answer "already connected"
	// and dial nothing. (Found with the simulator, which closes the
	// socket a moment after the 515.)
	p.wa.Disconnect()
	// Pairing gave the device its stores; with the socket closed nothing
	// of whatsmeow's uses them, so this is where the contact store gets
	// the lock, and the message secret store the mark, a restored device
	// gets in newWAClient.
	lockContacts(p.device)
	markSecretStore(p.device)
	cl.Connect(ctx)
	select {
	case <-p.connected.GetChan():
		if !p.handOver() {
			return nil, context.Canceled
		}
		p.cli.RemoveEventHandler(p.handlerID)
		if old != nil {
			p.conn.replaceWhenStarted(ctx, cl, old)
		}
		return &network.LoginStep{Type: network.StepComplete, Login: login, Client: cl}, nil
	case <-time.After(timeout):
	case <-ctx.Done():
		// The core has given up on the flow and could not store the
		// login: it calls Cancel, which unlinks the device.
		return nil, ctx.Err()
	case <-p.done:
		// Cancel unlinks the device: the core never got it.
		return nil, context.Canceled
	}
	p.log.Warn().Msg("Linked account did not connect in time; the bridge will connect it")
	p.cli.RemoveEventHandler(p.handlerID)
	cl.Disconnect()
	p.conn.forget(cl)
	// Kept until the core's LoadLogin takes the device: a core that
	// cannot store the login has no client to log out, only the flow to
	// cancel (login_discard.go). All is in place before the hand-over, so
	// that a Cancel right after it finds it.
	p.lock.Lock()
	p.alone, p.aloneJID = true, *p.device.ID
	p.lock.Unlock()
	p.conn.handOverAlone(p)
	if old != nil {
		// The core stores the login and connects a client of its own: the
		// old device goes when that client connects.
		p.conn.replaceOnConnect(ctx, loginID, old)
	}
	if !p.handOver() {
		// Cancel came first; its clean-up unlinks the device.
		p.conn.takeHandedAlone(p.aloneJID, true)
		if old != nil {
			p.conn.keepPrevious(context.WithoutCancel(ctx), old)
		}
		return nil, context.Canceled
	}
	return &network.LoginStep{Type: network.StepComplete, Login: login}, nil
}

// handOver marks the login as the core's, unless Cancel came first (then
// Cancel's clean-up unlinks the device). Both decide under p.lock, so
// exactly one of them owns the device.
func (p *loginProcess) handOver() bool {
	p.lock.Lock()
	defer p.lock.Unlock()
	select {
	case <-p.done:
		return false
	default:
		p.completed = true
		return true
	}
}

// Cancel ends the login. A device that was never handed to the core is
// disconnected and, if it got as far as pairing, unlinked (or at least
// deleted here). The clean-up runs in the background: a connection attempt
// still dialling would otherwise hold it up. It is the connector's
// background work, as the discard of a login handed over alone is: Stop
// ends it and waits for it, before the core closes the database it
// writes to.
func (p *loginProcess) Cancel() {
	p.cancel.Do(func() {
		close(p.done)
		p.lock.Lock()
		completed, alone := p.completed, p.alone
		p.lock.Unlock()
		if completed && alone {
			// The core may not have taken it (login_discard.go).
			p.conn.background(func(bg context.Context) {
				defer close(p.cleaned)
				p.discardIfNotTaken(bg)
			})
			return
		}
		if completed {
			close(p.cleaned)
			return
		}
		p.conn.background(func(bg context.Context) {
			defer close(p.cleaned)
			p.cleanUp(bg)
		})
	})
}

// cleanUp disconnects a login that was cancelled before the core got it
// and unlinks its device, if it was paired. bg is the connector's
// background context: a Stop leaves the unlink requests a short grace
// (withStopGrace; WhatsApp may be what the stop is waiting for), and the
// device is then still deleted here (unlink), before the database closes.
func (p *loginProcess) cleanUp(bg context.Context) {
	p.cli.RemoveEventHandler(p.handlerID)
	p.lock.Lock()
	linked, old := p.linked, p.old
	p.lock.Unlock()
	ctx, cancel := withStopGrace(bg, unlinkReplacedTimeout)
	defer cancel()
	unlinked := false
	if linked != nil {
		p.conn.forget(linked)
		if old != nil {
			// The account's previous link stays the login's.
			p.conn.restore(old)
		}
		if p.connected.IsSet() {
			// The linked account is online: the unlink request can go
			// out now, which it cannot once disconnected.
			unlinked = p.unlink(ctx)
		}
		linked.Disconnect() // also ends its reconnect attempts
	}
	p.wa.Disconnect()
	if p.device.ID == nil || unlinked {
		return
	}
	p.unlink(ctx)
}

// unlink asks WhatsApp to remove the device and deletes it here all the
// same (a no-op after a successful whatsmeow Logout): nothing of a login
// the core never got may stay behind. It reports whether WhatsApp agreed.
// The deletion outlives the end of ctx (a Stop that ended the request),
// with a deadline of its own.
func (p *loginProcess) unlink(ctx context.Context) bool {
	err := p.wa.Logout(ctx)
	if err != nil {
		// No login of the core's knows of the device: the log is all
		// that tells of a Ferry device left among the phone's.
		p.log.Warn().Err(err).Msg("Could not unlink the half-made device; deleting it locally, and it may stay listed under the phone's linked devices")
	}
	delCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlinkReplacedTimeout)
	defer cancel()
	if delErr := p.device.Delete(delCtx); delErr != nil {
		p.log.Err(delErr).Msg("Failed to delete the half-made device")
	}
	return err == nil
}

// stopGrace is how long the unlink of a device that no login keeps may
// still run once the connector's Stop has begun. The core ends its login
// flows just before that Stop, so a cancelled login's unlink is usually
// under way then; cut at once, it leaves the device linked on the phone
// with nothing of Ferry's to tell of it. A few seconds, well within the
// core's shutdown deadline. A variable for tests.
var stopGrace = 3 * time.Second

// withStopGrace bounds a request of background work by timeout, and ends
// it stopGrace after bg (the connector's background context, which Stop
// ends) instead of at once. Work that starts once Stop has begun gets no
// grace: Stop may not be waiting for it (Connector.background).
func withStopGrace(bg context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if bg.Err() != nil {
		return context.WithCancel(bg)
	}
	// Read here, in the work Stop waits for, not in the goroutine bg's
	// end starts, which nothing waits for (a test changing stopGrace
	// would race with an earlier test's).
	grace := stopGrace
	ctx, cancel := context.WithTimeout(context.WithoutCancel(bg), timeout)
	stop := context.AfterFunc(bg, func() { time.AfterFunc(grace, cancel) })
	return ctx, func() {
		stop()
		cancel()
	}
}

// Submit is not used: the WhatsApp flows ask for nothing after they start.
func (p *loginProcess) Submit(ctx context.Context, input map[string]string) (*network.LoginStep, error) {
	return nil, fmt.Errorf("the WhatsApp login takes no input")
}
