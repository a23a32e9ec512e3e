package irc

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"gopkg.in/irc.v4"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

// DefaultRelayNick is the relay bot's nick when relay_nick is not set.
const DefaultRelayNick = "ferry-relay"

// relayJoinTimeout bounds the wait for the server's echo of the relay
// bot's JOIN (or its refusal).
var relayJoinTimeout = 15 * time.Second

// relayNickLinger is how long a nick the relay bot stopped using (its
// connection ended, or the server changed its nick: services' SVSNICK, an
// oper's SANICK) stays a Ferry nick, so that the bot's QUIT and its late
// lines seen by the logins are not bridged. As for a login's nick (see
// ferryHeldBy), someone else who takes the nick meanwhile is told apart by
// user@host where the bot's was known.
var relayNickLinger = newDuration(30 * time.Second)

// relayBot is Ferry's own connection to one network, through which relayed
// messages go out. It is dialed on first use and again on the first use
// after it dropped; it joins channels as they are relayed to.
type relayBot struct {
	c       *Connector
	cfg     *NetworkConfig
	netName string
	log     zerolog.Logger

	use sync.Mutex // serializes dialing and joining

	lock     sync.Mutex
	conn     *ircconn.Conn
	nick     string                 // current (or, once conn ended, last) nick
	channels map[string]bool        // casefolded channels joined
	waiting  map[string]chan string // JOIN waiters: "" joined, else the refusal
	// lateJoins holds the casefolded channels whose JOIN, on conn, was
	// given up on unanswered (see ready): a refusal that comes after is
	// the JOIN's, told as such, never a relayed line's. nil until one is.
	lateJoins map[string]bool
	// cm is the casemapping conn registered with, which the bot folds
	// with until it connects again, as a login does: a 005 changing
	// CASEMAPPING mid-session would otherwise leave the channels joined
	// under the old folding, and the next relayed line would JOIN again
	// (which a server ignores for a channel one is in) and time out.
	cm ircconn.CaseMapping
	// relayers holds, by casefolded channel, the login that relayed there
	// last: a refusal the server does not label is told in the channel's
	// room through it (see refusal), while it is still running. nil until
	// something is relayed.
	relayers map[string]*Client
	// labeledBatches are the open labeled-response batches: their lines
	// answer a labeled send, whose sender hears of them itself.
	labeledBatches map[string]bool
	// lingering holds the casefolded nicks the bot stopped using lately,
	// each until its own end (see relayNickLinger): one entry per nick, so
	// that a later linger of a nick is not cut short by an earlier one's
	// end, and nicks of an ended connection and of a rename linger alike.
	// nil until a nick lingers.
	lingering map[string]lingeringNick
}

// relayBotFor is the network's relay bot, made on first use.
func (c *Connector) relayBotFor(netName string, cfg *NetworkConfig) *relayBot {
	c.lock.Lock()
	defer c.lock.Unlock()
	if b := c.relays[netName]; b != nil {
		return b
	}
	var log zerolog.Logger
	if c.host != nil {
		log = c.host.Log().With().Str("relay_bot", netName).Logger()
	}
	b := &relayBot{
		c: c, cfg: cfg, netName: netName, log: log,
		channels: make(map[string]bool),
		waiting:  make(map[string]chan string),
	}
	c.relays[netName] = b
	return b
}

// isRelayBot reports whether the casefolded nick folded, used from
// userHost ("" if unknown), is the relay bot's on netName: its nick while
// connected; a nick it stopped using while that lingers (see
// relayNickLinger), unless the bot had another user@host then (see
// sameUserHost).
func (c *Connector) isRelayBot(netName, folded, userHost string) bool {
	cm := c.caseMapping(netName)
	c.lock.Lock()
	b := c.relays[netName]
	c.lock.Unlock()
	if b == nil {
		return false
	}
	b.lock.Lock()
	defer b.lock.Unlock()
	if b.conn != nil && b.nick != "" && ircconn.Casefold(cm, b.nick) == folded {
		return true
	}
	l, ok := b.lingering[folded]
	return ok && time.Now().Before(l.until) && sameUserHost(l.userHost, userHost)
}

// relayNick is the relay bot's nick on netName while it is connected, ""
// otherwise. Member lists and pills leave it out (ferryNicks,
// addMentions). A nick that only lingers is not left out, as a login's
// is not: the bot's QUIT takes it out of the channels' members, so
// whoever has it there afterwards is someone else who took it at once
// (the bot's own late lines are told apart by isRelayBot).
func (c *Connector) relayNick(netName string) string {
	c.lock.Lock()
	b := c.relays[netName]
	c.lock.Unlock()
	if b == nil {
		return ""
	}
	b.lock.Lock()
	defer b.lock.Unlock()
	if b.conn == nil {
		return ""
	}
	return b.nick
}

// lingerLocked keeps nick, which the bot stopped using on conn, a Ferry
// nick for relayNickLinger, for lines from the user@host conn had (see
// isRelayBot). A nick that lingers already starts over. b.lock must be
// held.
func (b *relayBot) lingerLocked(conn *ircconn.Conn, nick string) {
	if nick == "" {
		return
	}
	now := time.Now()
	// Ended entries go as new ones come, so the map holds only the nicks
	// of the last relayNickLinger.
	for n, l := range b.lingering {
		if !now.Before(l.until) {
			delete(b.lingering, n)
		}
	}
	if b.lingering == nil {
		b.lingering = make(map[string]lingeringNick)
	}
	// What the server showed others, as in the bot's late lines and QUIT.
	userHost := ""
	if _, uh, ok := strings.Cut(conn.Source(), "!"); ok {
		userHost = uh
	}
	b.lingering[b.foldLocked(nick)] = lingeringNick{nick: nick, userHost: userHost, until: now.Add(relayNickLinger.get())}
}

func (b *relayBot) current() *ircconn.Conn {
	b.lock.Lock()
	defer b.lock.Unlock()
	return b.conn
}

// foldLocked folds s as the bot's connection does (see cm); rfc1459,
// IRC's default, before it first connects. b.lock must be held.
func (b *relayBot) foldLocked(s string) string {
	cm := b.cm
	if cm == "" {
		cm = ircconn.CaseMappingRFC1459
	}
	return ircconn.Casefold(cm, s)
}

// ready returns the bot's connection, in channel: it dials and joins (with
// key, the channel key the moderator's login knows, if any) as needed.
// by is the login relaying, which hears what the server refuses there.
// Failures are UserErrors naming the reason.
func (b *relayBot) ready(ctx context.Context, by *Client, channel, key string) (*ircconn.Conn, error) {
	b.use.Lock()
	defer b.use.Unlock()
	conn := b.current()
	if conn == nil {
		var err error
		if conn, err = b.dial(ctx); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, &network.UserError{Message: "the relay bot could not connect to " + b.netName + ": " + network.Literal(err.Error()), Err: err}
		}
	}
	wait := make(chan string, 1)
	shown := network.Literal(channel) // in the errors below
	b.lock.Lock()
	folded := b.foldLocked(channel)
	if b.relayers == nil {
		b.relayers = make(map[string]*Client)
	}
	b.relayers[folded] = by
	if b.channels[folded] {
		b.lock.Unlock()
		return conn, nil
	}
	b.waiting[folded] = wait
	b.lock.Unlock()
	defer func() {
		b.lock.Lock()
		if b.waiting[folded] == wait {
			delete(b.waiting, folded)
		}
		b.lock.Unlock()
	}()
	params := []string{channel}
	if key != "" {
		params = append(params, key)
	}
	if err := conn.Send(&irc.Message{Command: "JOIN", Params: params}); err != nil {
		return nil, &network.UserError{Message: "the relay bot could not join " + shown + " on " + b.netName, Err: err}
	}
	timer := time.NewTimer(relayJoinTimeout)
	defer timer.Stop()
	select {
	case reason := <-wait:
		if reason != "" {
			return nil, &network.UserError{Message: "the relay bot cannot join " + shown + " on " + b.netName + ": " + network.Literal(reason), Err: errors.New(reason)}
		}
		return conn, nil
	case <-conn.Done():
		return nil, &network.UserError{Message: "the relay bot's connection to " + b.netName + " dropped while joining " + shown, Err: conn.Err()}
	case <-timer.C:
		b.joinGivenUp(conn, folded)
		return nil, &network.UserError{Message: "the relay bot could not join " + shown + " on " + b.netName + ": the server did not answer", Err: errors.New("join timed out")}
	case <-ctx.Done():
		b.joinGivenUp(conn, folded)
		return nil, ctx.Err()
	}
}

// joinGivenUp notes that the JOIN of folded sent on conn is no longer
// waited for, unanswered: its answer may still come (see lateJoins).
func (b *relayBot) joinGivenUp(conn *ircconn.Conn, folded string) {
	b.lock.Lock()
	defer b.lock.Unlock()
	if b.conn != conn || b.channels[folded] {
		return
	}
	if b.lateJoins == nil {
		b.lateJoins = make(map[string]bool)
	}
	b.lateJoins[folded] = true
}

func (b *relayBot) dial(ctx context.Context) (*ircconn.Conn, error) {
	select {
	case b.c.connectSem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-b.c.connectSem }()
	nick := b.cfg.RelayNick
	if nick == "" {
		nick = DefaultRelayNick
	}
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(b.c.ctx, cancel)
	defer stop()
	conn, err := ircconn.Dial(dctx, ircconn.Config{
		Addr: b.cfg.Address, TLS: b.cfg.TLS, TLSInsecure: b.cfg.TLSInsecure,
		Nick:     nick,
		User:     "ferry",
		RealName: "Ferry relay bot",
		Rate:     b.cfg.Flood.Rate, Burst: b.cfg.Flood.Burst, Unlimited: b.cfg.Flood.Unlimited,
		Caps:    wantedCaps,
		Handler: b.handle,
		Logger:  b.log,
	})
	if err != nil {
		return nil, err
	}
	if b.c.ctx.Err() != nil {
		_ = conn.Close("Ferry bridge disconnecting")
		return nil, b.c.ctx.Err()
	}
	b.lock.Lock()
	b.conn = conn
	b.nick = conn.Nick()
	b.cm = conn.ISupport().CaseMapping
	clear(b.channels)
	clear(b.lateJoins)
	b.lock.Unlock()
	b.log.Info().Str("nick", conn.Nick()).Msg("Relay bot connected")
	go b.watch(conn)
	return conn, nil
}

// watch forgets the connection when it ends; the next relayed message
// dials again. The nick stays a Ferry nick for relayNickLinger, so that
// the bot's QUIT and late lines are not bridged as a ghost's.
func (b *relayBot) watch(conn *ircconn.Conn) {
	select {
	case <-conn.Done():
	case <-b.c.ctx.Done():
		_ = conn.Close("Ferry bridge disconnecting")
		<-conn.Done()
	}
	b.log.Info().AnErr("reason", conn.Err()).Msg("Relay bot disconnected")
	b.lock.Lock()
	if b.conn != conn {
		b.lock.Unlock()
		return
	}
	b.lingerLocked(conn, b.nick)
	b.conn = nil
	clear(b.channels)
	b.lock.Unlock()
}

// close quits the bot's connection, if any.
func (b *relayBot) close() {
	if conn := b.current(); conn != nil {
		_ = conn.Close("Ferry bridge disconnecting")
	}
}

// handle is the bot's ircconn Handler: it follows its own nick and
// channels, answers JOIN waiters and has refusals told; nothing is
// bridged from it. It runs on the connection's reading goroutine, where
// a panic would end Ferry: as a login's handle does, it logs one and
// drops the line (follow's deferred unlock has released b.lock).
func (b *relayBot) handle(msg *irc.Message) {
	defer func() {
		if r := recover(); r != nil {
			b.log.Error().Interface("panic", r).Str("command", msg.Command).Msg("Panic in the relay bot's IRC handler")
		}
	}()
	b.dispatch(msg)
}

// dispatch is handle without its recover, which a fuzz test must not
// have between it and a panic.
func (b *relayBot) dispatch(msg *irc.Message) {
	// Told after b.lock is released: telling takes the login's locks.
	if tell := b.follow(msg); tell != nil {
		tell()
	}
}

// follow is handle under b.lock; it returns what is to be told, if anything.
func (b *relayBot) follow(msg *irc.Message) (tell func()) {
	b.lock.Lock()
	defer b.lock.Unlock()
	conn := b.conn
	fold := b.foldLocked
	self := msg.Prefix != nil && b.nick != "" && fold(msg.Prefix.Name) == fold(b.nick)
	switch msg.Command {
	case "JOIN":
		if self && len(msg.Params) > 0 {
			folded := fold(msg.Params[0])
			b.channels[folded] = true
			delete(b.lateJoins, folded)
			b.answer(folded, "")
		}
	case "PART":
		if self && len(msg.Params) > 0 {
			delete(b.channels, fold(msg.Params[0]))
		}
	case "KICK":
		if len(msg.Params) > 1 && b.nick != "" && fold(msg.Params[1]) == fold(b.nick) {
			delete(b.channels, fold(msg.Params[0]))
		}
	case "NICK":
		// The bot sends no NICK once registered: this is the server
		// renaming it (SVSNICK, SANICK). Lines it sent as the old nick may
		// still reach the logins.
		if self && len(msg.Params) > 0 {
			if conn != nil && fold(msg.Params[0]) != fold(b.nick) {
				b.lingerLocked(conn, b.nick)
			}
			b.nick = msg.Params[0]
		}
	case "BATCH":
		b.trackBatch(msg)
	case "401", "404", "408", "442", "482", "492":
		return b.refusal(msg, fold)
	default:
		joining := len(msg.Params) > 1 && b.joiningLocked(fold(msg.Params[1]))
		switch {
		case joining && isErrorNumeric(msg.Command):
			// 477 also refuses a line (Hybrid, ratbox: the channel
			// takes lines from logged-in users only), 437 a NICK: they
			// answer a JOIN only while one is unanswered.
			return b.answerJoin(msg, fold)
		case msg.Command == "477":
			return b.refusal(msg, fold)
		}
	}
	return nil
}

// joiningLocked reports whether a JOIN of the bot to folded is
// unanswered: waited for, or given up on (lateJoins). b.lock must be held.
func (b *relayBot) joiningLocked(folded string) bool {
	return b.waiting[folded] != nil || b.lateJoins[folded]
}

// answerJoin hands the server's refusal of the bot's JOIN (msg, a
// numeric naming the channel) to the JOIN's waiter; one given up on is
// told in the channel's room (see tell), as a refused join: the relayed
// message that waited for it was refused as unanswered. b.lock must be
// held.
func (b *relayBot) answerJoin(msg *irc.Message, fold func(string) string) (tell func()) {
	if len(msg.Params) < 2 {
		return nil
	}
	reason := stripControl(msg.Trailing())
	if reason == "" || len(msg.Params) < 3 {
		reason = "refused (" + msg.Command + ")"
	} else {
		reason = joinRefusalReason(msg)
	}
	channel := msg.Params[1]
	folded := fold(channel)
	if b.waiting[folded] != nil {
		b.answer(folded, reason)
		return nil
	}
	delete(b.lateJoins, folded)
	log := b.log.With().Str("numeric", msg.Command).Str("channel", channel).Str("reason", reason).Logger()
	relayer := b.relayers[folded]
	return func() { b.tell(log, relayer, folded, (*Client).relayJoinRefused, msg, channel, reason) }
}

// refusal acts on the server refusing a line the bot sent (404: +m, a
// ban, +n; 477: the channel takes lines from logged-in users only; 408,
// 492: Hybrid's +c control codes, +C CTCPs; 442: not on the channel...). A labeled one fails the relayed Send, which
// the core reports. Without labeled-response nothing else hears of it,
// and the relayed message would be lost while Matrix shows it sent: it
// returns the telling of the channel's room (see tell). b.lock must be
// held.
func (b *relayBot) refusal(msg *irc.Message, fold func(string) string) (tell func()) {
	// <numeric> <me> <target> :<reason>
	if len(msg.Params) < 3 {
		return nil
	}
	target, reason := msg.Params[1], stripControl(msg.Params[len(msg.Params)-1])
	log := b.log.With().Str("numeric", msg.Command).Str("target", target).Str("reason", reason).Logger()
	if msg.Tags["label"] != "" || b.labeledBatches[msg.Tags["batch"]] {
		log.Debug().Msg("IRC server refused a labeled line of the relay bot")
		return nil
	}
	folded := fold(target)
	relayer := b.relayers[folded]
	return func() { b.tell(log, relayer, folded, (*Client).relayRefused, msg, target, reason) }
}

// tell has a refusal of what the bot sent to channel told in its room (by
// say: of a line, of a JOIN), through the login that relayed there last
// while it still runs. One that has logged out, been replaced or stopped
// since cannot queue anything the core takes (its events are refused as
// an unknown login's), so it is forgotten and another Ferry login in the
// channel tells the room instead (the smallest ID, as for membership).
// Called without b.lock: the checks take the connector's and the logins'
// locks.
func (b *relayBot) tell(log zerolog.Logger, relayer *Client, folded string, say func(cl *Client, msg *irc.Message, channel, reason string), msg *irc.Message, channel, reason string) {
	cl := relayer
	if cl != nil && !b.c.running(cl) {
		b.lock.Lock()
		if b.relayers[folded] == cl {
			delete(b.relayers, folded)
		}
		b.lock.Unlock()
		log = log.With().Str("relayed_by", string(cl.loginID)).Logger()
		cl = nil
	}
	if cl == nil {
		cl = b.c.tellerIn(b.netName, folded)
	}
	if cl == nil {
		log.Warn().Msg("IRC server refused what the relay bot sent in a channel no running Ferry login is in; nobody to tell")
		return
	}
	log.Warn().Str("told_through", string(cl.loginID)).Msg("IRC server refused what the relay bot sent")
	say(cl, msg, channel, reason)
}

// running reports whether cl is still the connector's client for its
// login and connected or connecting: not logged out, replaced by a new
// load of the login, or stopped (Disconnect). Callers must not hold
// c.lock or cl.lock.
func (c *Connector) running(cl *Client) bool {
	c.lock.Lock()
	current := c.clients[cl.loginID] == cl
	c.lock.Unlock()
	if !current {
		return false
	}
	cl.lock.Lock()
	defer cl.lock.Unlock()
	return cl.conn != nil || cl.done != nil
}

// tellerIn is the running Ferry login on netName in the casefolded
// channel with the smallest login ID, nil when there is none. Callers
// must not hold any client's lock.
func (c *Connector) tellerIn(netName, folded string) *Client {
	c.lock.Lock()
	clients := c.clientsOn(netName)
	c.lock.Unlock()
	var best *Client
	for _, cl := range clients {
		if cl.inChannel(folded) && c.running(cl) && (best == nil || cl.loginID < best.loginID) {
			best = cl
		}
	}
	return best
}

// trackBatch follows the opening and closing of labeled-response
// batches; b.lock must be held.
func (b *relayBot) trackBatch(msg *irc.Message) {
	ref := msg.Param(0)
	if len(ref) < 2 {
		return
	}
	switch {
	case ref[0] == '+' && msg.Param(1) == "labeled-response":
		if b.labeledBatches == nil {
			b.labeledBatches = make(map[string]bool)
		}
		// Bounded against a server that never closes its batches.
		if len(b.labeledBatches) < 100 {
			b.labeledBatches[ref[1:]] = true
		}
	case ref[0] == '-':
		delete(b.labeledBatches, ref[1:])
	}
}

// answer wakes the JOIN waiter of folded; b.lock must be held.
func (b *relayBot) answer(folded, reason string) {
	if ch := b.waiting[folded]; ch != nil {
		select {
		case ch <- reason:
		default:
		}
		delete(b.waiting, folded)
	}
}
