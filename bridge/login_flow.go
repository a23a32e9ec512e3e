package bridge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	qrcode "github.com/skip2/go-qrcode"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// LoginFlowTimeout bounds a whole login, whatever the network does.
var LoginFlowTimeout = 15 * time.Minute

// loginFlow is a running login of one user, driven by the bot in the room
// where it started.
type loginFlow struct {
	user   id.UserID
	room   id.RoomID
	net    network.NetworkID
	cancel context.CancelFunc

	lock sync.Mutex
	// proc is set once the network has started the login.
	proc network.LoginProcess
	// qrEvent is the image showing the current QR code; rotated codes
	// replace it. shown lists events to redact when the flow ends.
	qrEvent id.EventID
	shown   []id.EventID
	// asking holds the fields of a StepUserInput step still to be asked,
	// and answers those already given.
	asking  []network.LoginField
	answers map[string]string
	inputCh chan map[string]string
	// loggedOut, dropAll and kept decide whether a login the network
	// completes is kept (login_overruled.go).
	loggedOut map[network.LoginID]bool
	dropAll   bool
	kept      bool
	// byLogout is set when a logout stopped the flow (stopFlowOn): the
	// logout tells the user so, and the flow's end says nothing more.
	byLogout bool
	// ending is set when the flow ended without a login and tells the
	// user so itself, unless byLogout: a logout then adds nothing.
	ending bool
	// shared is set when someone else came into the flow's room, which
	// stopped it (login_shared.go); its end says so.
	shared bool
	// keptID is the login kept; told is closed once the user was told
	// it is (or the flow ended), which a logout of it waits for.
	keptID   network.LoginID
	told     chan struct{}
	tellOnce sync.Once
}

// networkList names the networks this build runs, for messages: "`irc`"
// or "`whatsapp` and `irc`".
func (b *Bridge) networkList() string {
	names := make([]string, len(b.order))
	for i, net := range b.order {
		names[i] = "`" + string(net) + "`"
	}
	if len(names) <= 1 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

func (b *Bridge) startLoginFlow(ctx context.Context, user id.UserID, room id.RoomID, net network.NetworkID, args []string) error {
	entry, ok := b.networks[net]
	if !ok {
		// Typed by the user: a backtick in it would end the code span.
		return network.UserErrorf("unknown network `%s`; this Ferry bridges %s. Usage: %s", sanitizeWord(string(net)), b.networkList(), b.loginSyntax())
	}
	if err := b.removeLeftEndedQuestionsMark(ctx); err != nil {
		zerolog.Ctx(ctx).Err(err).Msg("Refused a login while the mark of the login questions stored whole is left")
		return network.UserErrorf("Ferry could not prepare the login (a database error); try again in a moment")
	}
	b.flowLock.Lock()
	if b.flowsClosed {
		b.flowLock.Unlock()
		return errStoppingLogin
	}
	if _, busy := b.flows[user]; busy {
		b.flowLock.Unlock()
		return network.UserErrorf("a login is already running; send `cancel` to stop it first")
	}
	flowCtx, cancel := context.WithTimeout(b.flowsCtx, LoginFlowTimeout)
	flow := &loginFlow{user: user, room: room, net: net, cancel: cancel, inputCh: make(chan map[string]string, 1), told: make(chan struct{})}
	b.flows[user] = flow
	b.flowsWG.Add(1)
	b.flowLock.Unlock()
	b.forgetEndedQuestion(user)

	proc, err := entry.connector.StartLogin(flowCtx, user, args)
	if err != nil {
		b.endLoginFlow(flow)
		b.flowsWG.Done()
		return err
	}
	// Under the lock: a cancel from another room (another command queue)
	// may read it meanwhile.
	flow.lock.Lock()
	flow.proc = proc
	flow.lock.Unlock()
	run := func() {
		defer b.flowsWG.Done()
		b.runLoginFlow(zerolog.Ctx(ctx).WithContext(flowCtx), flow)
	}
	if !b.background(run) {
		proc.Cancel()
		b.endLoginFlow(flow)
		b.flowsWG.Done()
		return errStoppingLogin
	}
	return nil
}

var errStoppingLogin = network.UserErrorf("Ferry is stopping; log in again once it is back")

// endLoginFlows ends the running login flows and refuses new ones, at
// Stop, and waits for them (at most until ctx ends). It reports whether
// they all ended.
func (b *Bridge) endLoginFlows(ctx context.Context) bool {
	b.flowLock.Lock()
	b.flowsClosed = true
	b.flowLock.Unlock()
	b.flowsCancel()
	ended := make(chan struct{})
	go func() {
		b.flowsWG.Wait()
		close(ended)
	}()
	select {
	case <-ended:
		return true
	case <-ctx.Done():
		b.Log.Warn().Msg("Login flows still running at stop")
		return false
	}
}

func (b *Bridge) endLoginFlow(flow *loginFlow) {
	flow.cancel()
	flow.toldKept()
	b.flowLock.Lock()
	if b.flows[flow.user] == flow {
		delete(b.flows, flow.user)
	}
	delete(b.cancelled, flow)
	b.flowLock.Unlock()
}

// cancelLoginFlow aborts the user's running login, if any.
func (b *Bridge) cancelLoginFlow(user id.UserID) bool {
	b.flowLock.Lock()
	flow := b.flows[user]
	b.flowLock.Unlock()
	if flow == nil {
		return false
	}
	b.cancelFlow(flow)
	return true
}

// cancelFlow aborts flow.
func (b *Bridge) cancelFlow(flow *loginFlow) {
	flow.lock.Lock()
	proc := flow.proc
	// A login the network completes all the same is not kept.
	flow.dropAll = true
	flow.lock.Unlock()
	if proc != nil {
		proc.Cancel()
	}
	flow.cancel()
	// Out of flows at once, so that a new login may start. But a flow
	// the network completed a login for runs on, to undo or tell it:
	// until it ends (endLoginFlow), a logout of that login must still
	// mark it, or wait for what it tells (overruleFlow), so its told
	// stays open.
	b.flowLock.Lock()
	if b.flows[flow.user] == flow {
		delete(b.flows, flow.user)
		if b.cancelled == nil {
			b.cancelled = make(map[*loginFlow]struct{})
		}
		b.cancelled[flow] = struct{}{}
	}
	b.flowLock.Unlock()
}

func (b *Bridge) runLoginFlow(ctx context.Context, flow *loginFlow) {
	log := zerolog.Ctx(ctx).With().Str("network", string(flow.net)).Stringer("user_id", flow.user).Logger()
	// Out of the running flows before the codes shown go: their
	// redactions take a round trip each, and meanwhile a new login,
	// typed the moment the user read how this one ended, was refused
	// as one already running.
	defer b.redactShown(flow)
	defer b.endLoginFlow(flow)
	step, err := flow.proc.Start(ctx)
	for err == nil {
		switch step.Type {
		case network.StepDisplayQR, network.StepDisplayCode:
			b.showStep(ctx, flow, step)
			step, err = flow.proc.Wait(ctx)
		case network.StepUserInput:
			var input map[string]string
			if input, err = b.askInput(ctx, flow, step); err == nil {
				step, err = flow.proc.Submit(ctx, input)
			}
		case network.StepComplete:
			err = b.completeLogin(ctx, flow, step)
			if err == nil {
				return
			}
		default:
			err = fmt.Errorf("network returned unknown login step %d", step.Type)
		}
	}
	log.Info().Err(err).Msg("Login flow ended without success")
	b.questionEnded(flow)
	// Decided under the flow's lock: a logout from now on finds the flow
	// ended, and leaves the answer to its notice (stopFlowOn).
	byLogout := flow.endWithoutLogin()
	flowHook(flowEnding)
	switch {
	case byLogout:
		// The logout that stopped it has told the user ("Stopped your
		// ... login in progress"); "Login cancelled." would say it twice.
	case flow.stoppedShared():
		b.noticeShared(b.ctx, flow)
	case b.flowsCtx.Err() != nil:
		// Ferry is stopping (Stop waits for this): the user should not
		// wait for a question that will never come.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(b.ctx), 5*time.Second)
		b.notice(ctx, flow.room, "Ferry is stopping, so this login was cancelled. "+b.sendLogin(ctx, flow.user, flow.room, flow.net)+" again once it is back.")
		cancel()
	case errors.Is(err, context.Canceled):
		b.notice(b.ctx, flow.room, "Login cancelled.")
	case errors.Is(err, context.DeadlineExceeded):
		b.notice(b.ctx, flow.room, "Login timed out. "+b.sendLogin(b.ctx, flow.user, flow.room, flow.net)+" to try again.")
	default:
		b.notice(b.ctx, flow.room, "Login failed: "+userMessage(err, "an internal error (see the bridge log)"))
	}
	// The user may start another login as soon as they read how this
	// one ended: it is no running flow from here on. Not before the
	// notice: a logout until then finds the flow ending, and leaves the
	// answer to it (stopFlowOn).
	b.releaseEndedFlow(flow)
	flowHook(flowEndTold)
	flow.proc.Cancel()
}

// releaseEndedFlow takes flow, ended with its user told how, out of the
// running flows, so that its user may start another; endLoginFlow does
// the rest.
func (b *Bridge) releaseEndedFlow(flow *loginFlow) {
	b.flowLock.Lock()
	if b.flows[flow.user] == flow {
		delete(b.flows, flow.user)
	}
	b.flowLock.Unlock()
}

// showStep renders a QR code as an image (replacing the previous one) or
// shows a code.
func (b *Bridge) showStep(ctx context.Context, flow *loginFlow, step *network.LoginStep) {
	log := zerolog.Ctx(ctx)
	if step.Type == network.StepDisplayCode {
		text := step.Instructions
		if text != "" {
			text += "\n\n"
		}
		flow.remember(b.notice(ctx, flow.room, text+"Your code: **"+step.Data+"**"))
		return
	}
	png, err := qrcode.Encode(step.Data, qrcode.Medium, 512)
	if err != nil {
		log.Err(err).Msg("Failed to render QR code")
		flow.remember(b.notice(ctx, flow.room, "Scan this code (I failed to draw it): "+step.Data))
		return
	}
	mxc, err := b.Matrix.Upload(ctx, b.Matrix.Bot(), png, "image/png", "qr.png")
	if err != nil {
		log.Err(err).Msg("Failed to upload QR code")
		return
	}
	content := &event.MessageEventContent{
		MsgType:  event.MsgImage,
		Body:     step.Data,
		FileName: "qr.png",
		URL:      mxc.CUString(),
		Info:     &event.FileInfo{MimeType: "image/png", Width: 512, Height: 512, Size: len(png)},
	}
	flow.lock.Lock()
	previous := flow.qrEvent
	flow.lock.Unlock()
	if previous != "" {
		// Replace in place so the room does not fill with stale codes.
		newContent := *content
		content = &event.MessageEventContent{
			MsgType: event.MsgImage, Body: content.Body, URL: content.URL, Info: content.Info, FileName: content.FileName,
			NewContent: &newContent, RelatesTo: (&event.RelatesTo{}).SetReplace(previous),
		}
		if _, err = b.Matrix.SendNotice(ctx, flow.room, content); err != nil {
			log.Err(err).Msg("Failed to replace QR code")
		}
		return
	}
	if step.Instructions != "" {
		flow.remember(b.notice(ctx, flow.room, step.Instructions))
	}
	evtID, err := b.Matrix.SendNotice(ctx, flow.room, content)
	if err != nil {
		log.Err(err).Msg("Failed to send QR code")
		return
	}
	flow.lock.Lock()
	flow.qrEvent = evtID
	flow.lock.Unlock()
	flow.remember(evtID)
}

func (f *loginFlow) remember(evt id.EventID) {
	if evt == "" {
		return
	}
	f.lock.Lock()
	f.shown = append(f.shown, evt)
	f.lock.Unlock()
}

// redactShown removes codes once they are used or expired: a QR code left
// in the room could link someone else's phone.
func (b *Bridge) redactShown(flow *loginFlow) {
	flow.lock.Lock()
	shown := flow.shown
	flow.shown = nil
	flow.lock.Unlock()
	for _, evt := range shown {
		if err := b.Matrix.Redact(b.ctx, b.Matrix.Bot(), flow.room, evt, "login code used or expired"); err != nil {
			b.Log.Warn().Err(err).Stringer("event_id", evt).Msg("Failed to redact login code")
		}
	}
}

// askInput asks for each field in turn; the user's next messages in the
// room are the answers (see takeLoginInput).
func (b *Bridge) askInput(ctx context.Context, flow *loginFlow, step *network.LoginStep) (map[string]string, error) {
	if len(step.Fields) == 0 {
		return map[string]string{}, nil
	}
	flow.lock.Lock()
	flow.asking = append([]network.LoginField(nil), step.Fields...)
	flow.answers = make(map[string]string, len(step.Fields))
	flow.lock.Unlock()
	if step.Instructions != "" {
		b.notice(ctx, flow.room, step.Instructions)
	}
	b.askField(ctx, flow, step.Fields[0])
	select {
	case input := <-flow.inputCh:
		return input, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (b *Bridge) askField(ctx context.Context, flow *loginFlow, field network.LoginField) {
	text := "Please send your " + field.Name
	if field.Description != "" {
		text += " (" + field.Description + ")"
	}
	text += ", or `cancel`."
	if field.Secret {
		text += " I will delete your message once I have read it."
	}
	// A command typed now is taken as the answer (a password may be
	// "status"): the user must know before, not from a login that did
	// the opposite of a `logout` typed here.
	b.notice(ctx, flow.room, text+" Until then I take what you send here as your answer: put `!ferry` before a command, and before an answer that starts with `!ferry` itself; to answer `cancel`, send `!ferry answer cancel`.")
}

// takeLoginInput gives a message to the user's login flow if it is waiting
// for input in this room. It reports whether the message was consumed.
func (b *Bridge) takeLoginInput(ctx context.Context, evt *event.Event, body string) bool {
	b.flowLock.Lock()
	flow := b.flows[evt.Sender]
	b.flowLock.Unlock()
	if flow == nil || flow.room != evt.RoomID {
		return false
	}
	answer, ok, asTyped := b.loginAnswer(body)
	if !ok {
		return false
	}
	flow.lock.Lock()
	if len(flow.asking) == 0 {
		flow.lock.Unlock()
		return false
	}
	field := flow.asking[0]
	flow.asking = flow.asking[1:]
	flow.answers[field.ID] = answer
	var next *network.LoginField
	if len(flow.asking) > 0 {
		next = &flow.asking[0]
	}
	answers := flow.answers
	flow.lock.Unlock()
	b.edits.hold(evt.ID, true, field.Secret)
	if field.Secret {
		b.holdsSecret(evt.ID)
		if err := b.Matrix.Redact(ctx, b.Matrix.Bot(), evt.RoomID, evt.ID, "contained a secret"); err != nil {
			b.notice(ctx, evt.RoomID, "⚠️ I could not delete your message with the secret; please delete it yourself.")
		}
	}
	if !asTyped && b.findCommand(strings.Fields(answer)) != nil {
		// Said before the login's outcome, which may be the opposite
		// of what the command meant ("logout ..." logging in). The
		// command is not named: it may be the start of a password.
		zerolog.Ctx(ctx).Info().Msg("A login answer names a command; taken as the answer")
		b.notice(ctx, evt.RoomID, fmt.Sprintf("Your message reads like a command, but your login was waiting for your %s, so I took it as that. "+
			"To run a command while a login asks, put `!ferry` before it; `cancel` stops the login.", field.Name))
	}
	if next != nil {
		b.askField(ctx, flow, *next)
	} else {
		flow.inputCh <- answers
	}
	return true
}

// loginAnswer is the answer to a login question in body, and false when
// body is no answer but a command. "cancel" alone is no answer, but the
// command, with the prefix or without. The prefix, which commands need
// in a room that was the management room when the login began, may be
// typed before an answer ("!ferry hunter2"): it is not part of it, in
// any room the login asks in. With the prefix, a command runs as such;
// without it, anything else is the answer (a password may be "status").
// The prefix is taken off once: an answer that starts with it is typed
// after it ("!ferry !ferry x" is "!ferry x"), as the question says. The
// one answer neither way gives, "cancel", is "!ferry answer cancel":
// after "!ferry answer" the rest is the answer as it is (asTyped), which
// "answer" before it typed without the prefix still is ("answer cancel").
func (b *Bridge) loginAnswer(body string) (answer string, ok, asTyped bool) {
	text := strings.TrimSpace(body)
	if rest, found := cutCommandPrefix(text); found {
		if words := strings.Fields(rest); len(words) > 1 && strings.EqualFold(words[0], answerWord) {
			return rawArgs(rest, 1), true, true
		}
		if rest == "" || b.findCommand(strings.Fields(rest)) != nil {
			return "", false, false
		}
		text = rest
	}
	return text, !strings.EqualFold(text, "cancel"), false
}

// answerWord after the prefix makes the rest of the message a login's
// answer as it is, whatever it reads as ("!ferry answer cancel").
const answerWord = "answer"

// completeLogin stores and starts a login the network completed. If that
// fails, the login is undone on both sides: the user is told it failed,
// so a device the network already linked (WhatsApp's) must not stay
// linked on the phone unknown to Ferry, and a row stored for it must not
// start at the next restart.
func (b *Bridge) completeLogin(ctx context.Context, flow *loginFlow, step *network.LoginStep) error {
	login := step.Login
	if login == nil || login.ID == "" {
		b.discardLogin(ctx, flow.net, nil, step.Client)
		return fmt.Errorf("network completed the login without an ID")
	}
	login.User = flow.user
	if flow.overruled(login.ID) {
		// Logged out (or cancelled) before it was stored.
		b.discardLogin(ctx, flow.net, nil, step.Client)
		if !flow.stoppedByLogout() {
			b.noticeNotKept(flow, login)
		}
		return nil
	}
	before, err := b.saveLogin(ctx, flow.net, login)
	if err != nil {
		b.discardLogin(ctx, flow.net, nil, step.Client)
		return err
	}
	le, err := b.startLogin(ctx, flow.net, login, step.Client)
	if err != nil {
		if before == nil {
			b.discardLogin(ctx, flow.net, login, step.Client)
			return err
		}
		// A relink: the row was there before, and belongs to a login
		// that runs on (login_relink.go).
		b.discardLogin(ctx, flow.net, nil, step.Client)
		return b.relinkFailed(ctx, flow, before, err)
	}
	flowHook(flowStarted)
	if !flow.keep(login.ID) {
		if before != nil && flow.onlyCancelled(login.ID) {
			return b.keepCancelledRelink(ctx, flow, le, step.Client != nil)
		}
		// Logged out while it was stored and started: the logout may
		// have found the login before this start, so its row and the
		// client started here are undone here.
		b.dropEntry(le)
		b.discardLogin(ctx, flow.net, login, le.client)
		// A logout of this account marked the flow while it stored and
		// started the login, and answers the user itself ("Logged out
		// of ..."): the flow's own notice would tell the same outcome a
		// second time; as does a logout that stopped the flow. A cancel
		// is not answered otherwise.
		if !flow.loggedOutOf(login.ID) && !flow.stoppedByLogout() {
			b.noticeNotKept(flow, login)
		}
		return nil
	}
	flowHook(flowKept)
	// The flow's context ends with a cancel or Ferry's stop that comes
	// now: the login is kept all the same, and the user must hear of it.
	noticeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	// The account's name may be the user's typing (an IRC nick may
	// hold a backtick): shown as it is, not as Markdown.
	b.noticef(noticeCtx, flow.room, "Logged in to %s as %s.", b.NetworkName(flow.net), network.Literal(login.RemoteName))
	cancel()
	if step.Client != nil {
		b.handedOverState(le)
	}
	flow.toldKept()
	// As after a failure: a login typed the moment the user read
	// "Logged in" is no second one running. The flow has kept its login
	// and told it (a logout from now on finds the login, and waits for
	// nothing); what it has left to do, its codes' deletion, is its own.
	b.releaseEndedFlow(flow)
	flowHook(flowKeptTold)
	return nil
}

// discardTimeout bounds the undoing of a login that could not be
// completed, which goes on after the flow's context has ended.
const discardTimeout = 30 * time.Second

// discardLogin undoes a login that could not be completed: client, when
// the network handed one over, is logged out (or at least disconnected),
// and stored, when set, is deleted. It runs even when the flow's context
// has ended (a cancel during the completion).
func (b *Bridge) discardLogin(ctx context.Context, net network.NetworkID, stored *network.Login, client network.Client) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), discardTimeout)
	defer cancel()
	log := zerolog.Ctx(ctx).With().Str("network", string(net)).Logger()
	if client != nil {
		if lo, ok := client.(network.Logouter); ok {
			if err := lo.Logout(ctx); err != nil {
				log.Err(err).Msg("Failed to log out a login that could not be completed")
			}
		} else {
			client.Disconnect()
		}
	}
	if stored != nil {
		if err := b.DB.Logins.Delete(ctx, net, stored.ID); err != nil {
			log.Err(err).Str("login", string(stored.ID)).Msg("Failed to delete a login that could not be completed")
		}
	}
}
