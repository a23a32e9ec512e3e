package irc

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"time"

	"gopkg.in/irc.v4"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

// Reconnect backoff: exponential from backoffBase to backoffMax, with
// ±25 % jitter; servers that throttled or banned us wait at least
// backoffPunished.
var (
	backoffBase     = newDuration(2 * time.Second)
	backoffMax      = newDuration(5 * time.Minute)
	backoffPunished = newDuration(time.Minute)
)

// stableConnection is how long a connection must have stayed up for the
// back-off to start again from backoffBase. A server that welcomes us and
// drops us at once (a K-line applied after registration, a broken bouncer)
// must not be reconnected to every backoffBase forever: a thousand logins
// would each reconnect some thirty times a minute. A connection that
// lasted the longest back-off cost the server no more than waiting it out.
func stableConnection() time.Duration { return backoffMax.get() }

// Connect starts the connection loop in the background.
func (cl *Client) Connect(ctx context.Context) {
	cl.lock.Lock()
	defer cl.lock.Unlock()
	if cl.done != nil || cl.stopped {
		return
	}
	done := make(chan struct{})
	cl.done = done
	go cl.run(done, 0, 0)
}

// Disconnect quits and stops reconnecting; Connect may start again.
func (cl *Client) Disconnect() {
	cl.lock.Lock()
	done, cancel := cl.done, cl.cancel
	cl.done, cl.cancel = nil, nil
	cl.lock.Unlock()
	if done == nil {
		return
	}
	if cancel != nil {
		cancel() // a dial or back-off in progress
	}
	// Read after clearing cl.done: a connection the loop publishes from
	// now on, it closes itself (see run).
	if conn := cl.currentConn(); conn != nil {
		_ = conn.Close("Ferry bridge disconnecting")
	}
	<-done
}

// errCredentialsChanged ends a dial whose registration used credentials
// the user has replaced since.
var errCredentialsChanged = errors.New("the credentials changed while connecting; connecting again with the new ones")

// reconnect drops the current connection so that the loop connects anew
// at once (after a credentials change).
func (cl *Client) reconnect() {
	// A registration under way has no connection to close yet; it is
	// dropped when it completes, as it used the old credentials.
	cl.credentialsGen.Add(1)
	select {
	case cl.wake <- struct{}{}:
	default:
	}
	if conn := cl.currentConn(); conn != nil {
		_ = conn.Close("Reconnecting")
	}
}

func backoff(attempt int, kind ircconn.Kind) time.Duration {
	d, most := backoffBase.get(), backoffMax.get()
	for i := 0; i < attempt && d < most; i++ {
		d *= 2
	}
	d = min(d, most)
	switch kind {
	case ircconn.KindThrottled, ircconn.KindBanned, ircconn.KindTooManyConnections, ircconn.KindKilled, ircconn.KindFlooded:
		d = max(d, backoffPunished.get())
	}
	jitter := time.Duration(rand.Int64N(int64(d)/2+1)) - d/4
	return d + jitter
}

// run dials until connected (after waiting delay), then hands the
// connection over and ends: while connected the login holds no goroutine
// of its own (an idle login costs only its connection's reader), and the
// connection's end starts the next round (afterConnection). done is this
// loop's, closed when it has stopped for good; Disconnect stops it by
// clearing cl.done. Each round has a context of its own, cancelled
// once connected, rather than the loop one for its whole life: a
// context that lives as long as the connection keeps its done channel,
// the children map that dialing made in it, and the watcher that closed
// the connection with it, some 600 bytes per idle login. attempt counts
// the failures since the last stable connection (see stableConnection),
// failed dials and short-lived connections alike.
func (cl *Client) run(done chan struct{}, delay time.Duration, attempt int) {
	cl.lock.Lock()
	if cl.done != done {
		cl.lock.Unlock()
		close(done) // Disconnect came between rounds
		return
	}
	ctx, cancel := context.WithCancel(cl.c.ctx)
	cl.cancel = cancel
	cl.lock.Unlock()
	conn, attempt := cl.connectRound(ctx, delay, attempt)
	if conn == nil {
		cancel()
		close(done)
		return
	}
	connectedAt := time.Now()
	cl.report(network.StateConnected, "")
	cl.onConnected(conn)
	cl.lock.Lock()
	stopped := cl.done != done
	if !stopped {
		cl.cancel = nil
	}
	cl.lock.Unlock()
	cancel()
	conn.AfterDone(func() { cl.afterConnection(done, conn, attempt, connectedAt) })
	if stopped {
		// Disconnect cleared cl.done before onConnected published conn,
		// so it may not have seen conn: close it here.
		_ = conn.Close("Ferry bridge disconnecting")
	}
}

// connectRound waits delay, then dials until connected; nil once ctx has
// ended. attempt is the failures so far (it sets the back-off); it
// returns them with the connection.
func (cl *Client) connectRound(ctx context.Context, delay time.Duration, attempt int) (*ircconn.Conn, int) {
	if delay > 0 && !sleepCtx(ctx, delay, cl.wake) {
		return nil, attempt
	}
	for ctx.Err() == nil {
		if !cl.connectTurn(ctx) {
			return nil, attempt
		}
		conn, err := cl.dial(ctx)
		if err == nil {
			return conn, attempt
		}
		if ctx.Err() != nil {
			return nil, attempt
		}
		kind := ircconn.KindOf(err)
		cl.log.Warn().Err(err).Stringer("kind", kind).Int("attempt", attempt).Msg("IRC connection failed")
		if state, why := stopsRetrying(err, kind, cl.netName); state != "" {
			cl.report(state, why)
			// Wait for the user (new credentials, or a reconnect after the
			// admin's change) or a restart instead of retrying.
			select {
			case <-ctx.Done():
				return nil, attempt
			case <-cl.wake:
			}
			attempt = 0
			continue
		}
		cl.report(network.StateTransientDisconnect, transientMessage(err, kind))
		if !sleepCtx(ctx, backoff(attempt, kind), cl.wake) {
			return nil, attempt
		}
		attempt++
	}
	return nil, attempt
}

// stopsRetrying says whether a failed dial must not be retried until the
// user acts, and the state to report then ("" to retry): credentials the
// server refused, or SASL required on a server that knows no CAP, where
// each try would register for a moment without SASL, the user's own host
// shown, and none can succeed. err holds the server's words (Literal).
func stopsRetrying(err error, kind ircconn.Kind, netName string) (network.StateKind, string) {
	var se *secretError
	switch {
	case kind == ircconn.KindBadPassword || kind == ircconn.KindSASL || errors.As(err, &se):
		return network.StateBadCredentials, network.Literal(err.Error()) + " (fix it with `irc password` or `irc sasl`)"
	case kind == ircconn.KindSASLNoCap:
		return network.StateStopped, network.Literal(err.Error()) + fmt.Sprintf(" (this login connects only with SASL, which this server cannot do: ask the admin to set `sasl: false` for %s under `irc.networks`, then send `reconnect`)", netName)
	}
	return "", ""
}

// afterConnection runs when a connection has ended: it reports why and
// starts the next round after the back-off (on its own goroutine, which
// run then becomes), unless the loop has been stopped. The back-off goes
// on growing from attempt unless the connection was stable.
func (cl *Client) afterConnection(done chan struct{}, conn *ircconn.Conn, attempt int, connectedAt time.Time) {
	cl.onDisconnected(conn)
	cl.lock.Lock()
	stopped := cl.done != done
	cl.lock.Unlock()
	if stopped || cl.c.ctx.Err() != nil {
		close(done)
		return
	}
	err := conn.Err()
	kind := ircconn.KindOf(err)
	lasted := time.Since(connectedAt)
	if lasted >= stableConnection() {
		attempt = 0
	}
	cl.log.Info().AnErr("reason", err).Stringer("kind", kind).Dur("lasted", lasted).Int("attempt", attempt).Msg("IRC connection ended")
	cl.report(network.StateTransientDisconnect, errString(err))
	cl.run(done, backoff(attempt, kind), attempt+1)
}

// transientMessage is the state message for a failed connect that is
// retried; it says why when retrying is not the obvious answer. err holds
// the server's words (Literal): the message's code spans are Ferry's.
func transientMessage(err error, kind ircconn.Kind) string {
	if kind == ircconn.KindSASLUnavailable {
		return network.Literal(err.Error()) + " (retrying with back-off: the network's services may be down for a while, and this login connects only with SASL)"
	}
	return network.Literal(err.Error())
}

// errString is the state message for a connection that ended: the
// server's words in err (an ERROR line's reason) may hold backticks.
func errString(err error) string {
	if err == nil {
		return "connection closed"
	}
	return network.Literal(err.Error())
}

// sleepCtx waits d; false when ctx ended. A wake-up cuts the wait short.
func sleepCtx(ctx context.Context, d time.Duration, wake <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-wake:
	}
	return true
}

// connectTurn waits for a connect slot (irc.max_concurrent_connects),
// which dial gives back; false when ctx ended first. It is a function of
// its own, called from run, so that the logins waiting for their turn
// wait with a shallow stack rather than inside dial's large frame: the
// runtime sizes new goroutines' stacks from the average in use at the
// last collection, and logins restored at start, waiting here by the
// hundred, would otherwise start every connection's reader with a stack
// twice the size it needs.
func (cl *Client) connectTurn(ctx context.Context) bool {
	select {
	case cl.c.connectSem <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

// dial connects and registers; the caller holds a connect slot
// (connectTurn), which dial gives back.
func (cl *Client) dial(ctx context.Context) (*ircconn.Conn, error) {
	defer func() { <-cl.c.connectSem }()
	cl.report(network.StateConnecting, "")
	gen := cl.credentialsGen.Load() // before meta: a change after it is seen below
	cl.lock.Lock()
	meta := cl.meta
	user := cl.login.User
	cl.lock.Unlock()
	password, saslPassword, err := cl.credentials(&meta)
	if err != nil {
		return nil, err
	}
	cfg := ircconn.Config{
		Addr: cl.cfg.Address, TLS: cl.cfg.TLS, TLSInsecure: cl.cfg.TLSInsecure,
		Password: password,
		Nick:     meta.Nick,
		User:     ircconn.SanitizeNick(user.Localpart()),
		RealName: string(user),
		Rate:     cl.cfg.Flood.Rate, Burst: cl.cfg.Flood.Burst, Unlimited: cl.cfg.Flood.Unlimited,
		Caps:    wantedCaps,
		Handler: cl.receive,
		Logger:  cl.log,
	}
	if cl.cfg.SASL && meta.SASLAccount != "" {
		cfg.SASL = ircconn.SASL{Mechanism: "PLAIN", Username: meta.SASLAccount, Password: saslPassword, Required: true}
	}
	cl.hold.start()
	conn, err := ircconn.Dial(ctx, cfg)
	if err != nil {
		cl.hold.drop()
		return nil, err
	}
	if cl.credentialsGen.Load() != gen {
		// The user stored new credentials while this one registered with
		// the old ones: dial again with them (reconnect left a wake-up,
		// so the loop does not wait its back-off).
		cl.hold.drop()
		_ = conn.Close("Reconnecting with new credentials")
		return nil, errCredentialsChanged
	}
	if ctx.Err() != nil {
		cl.hold.drop()
		_ = conn.Close("Ferry bridge disconnecting")
		return nil, ctx.Err()
	}
	return conn, nil
}

// onConnected records the connection and rejoins the login's channels.
// The connection is published, and the lines held meanwhile handled,
// before anything that does I/O (saving the login is a database write):
// until then the reader's lines are held, and a PM or a bouncer's JOIN
// burst would wait behind it.
func (cl *Client) onConnected(conn *ircconn.Conn) {
	is := conn.ISupport()
	// The casemapping first: handling a line folds names with it.
	learned := cl.c.learnNetwork(cl.netName, is.CaseMapping, is.ChanTypes)
	channels, wanted, savedCM, moves := cl.publish(conn)
	// Before the held lines: a line of a moved channel would make a new
	// room at its new key. Only after a CASEMAPPING change.
	cl.movePortals(moves)
	cl.handleHeld()
	if learned || savedCM != string(is.CaseMapping) {
		cl.saveMeta(func(m *loginMeta) { m.CaseMapping = string(is.CaseMapping) })
	}
	cl.followNick(conn.Nick())
	if !is.Equal(conn.Nick(), wanted) && !cl.nickHeldByFellow(wanted) {
		cl.log.Info().Str("nick", conn.Nick()).Str("wanted", wanted).Msg("Connected with a fallback nick; will try to regain ours")
	}
	cl.armRegain(conn)
	for _, ch := range channels {
		cl.sendJoin(conn, ch.Name, ch.Key)
	}
}

// publish makes conn the login's connection, with a fresh per-connection
// state and the saved channels pending; it returns those channels, the
// wanted nick, the casemapping saved with the login and the portals to
// move if the network's has changed since (see refoldChannelsLocked).
func (cl *Client) publish(conn *ircconn.Conn) (channels []savedChannel, wanted, savedCM string, moves []portalMove) {
	cm := cl.cm()
	cl.lock.Lock()
	defer cl.lock.Unlock()
	saved := ircconn.CaseMapping(cl.meta.CaseMapping)
	moves = append(cl.refoldChannelsLocked(saved, cm), cl.refoldPMsLocked(saved, cm)...)
	if saved != "" && saved != cm {
		// The spellings seen are keyed by the old folding: rfc1459's
		// "bob{" -> "Bob[" would send a line for ascii's bob{ to Bob[.
		clear(cl.nicks)
		// Saved with the new one below (onConnected).
		cl.meta.PrevCaseMapping = string(saved)
	}
	cl.conn = conn
	cl.nick = conn.Nick()
	clear(cl.channels)
	clear(cl.pending)
	clear(cl.parting)
	clear(cl.batches)
	cl.dropSplitLeavesLocked()
	channels = make([]savedChannel, 0, len(cl.meta.Channels))
	for folded, ch := range cl.meta.Channels {
		cl.pending[folded] = joinAutomatic
		channels = append(channels, ch)
	}
	return channels, cl.meta.Nick, cl.meta.CaseMapping, moves
}

func (cl *Client) onDisconnected(conn *ircconn.Conn) {
	cl.lock.Lock()
	if cl.conn != conn {
		cl.lock.Unlock()
		return
	}
	// Lines this connection sent may still reach other logins.
	cl.c.lingerNick(cl.netName, cl.loginID, cl.nick, conn)
	cl.conn = nil
	cl.nick = ""
	clear(cl.channels)
	clear(cl.replays)
	cl.dropSplitLeavesLocked()
	cl.stopRegain()
	// A PART whose answer the drop cut off (LeaveChat) left the channel
	// all the same: it is not rejoined.
	parted := slices.Collect(maps.Keys(cl.parting))
	cl.lock.Unlock()
	for _, folded := range parted {
		cl.c.releaseUntimed(cl.netName, folded)
	}
}

func (cl *Client) sendJoin(conn *ircconn.Conn, channel, key string) {
	params := []string{channel}
	if key != "" {
		params = append(params, key)
	}
	if err := conn.Send(&irc.Message{Command: "JOIN", Params: params}); err != nil {
		cl.log.Warn().Err(err).Str("channel", channel).Msg("Failed to send JOIN")
	}
}

// handle is ircconn's Handler: it runs on the connection's reading side,
// never concurrently, and must not block (QueueEvent returns at once).
func (cl *Client) handle(msg *irc.Message) {
	defer func() {
		if r := recover(); r != nil {
			cl.log.Error().Interface("panic", r).Str("command", msg.Command).Msg("Panic in IRC handler")
		}
	}()
	cl.dispatch(msg)
}

// dispatch is handle without its recover, which a fuzz test must not
// have between it and a panic.
func (cl *Client) dispatch(msg *irc.Message) {
	cl.endReplays(msg, time.Now())
	if cl.trackBatch(msg) || cl.collectWhois(msg) {
		return
	}
	cl.noteNickAnswer(msg)
	if msg.Prefix != nil && msg.Prefix.Name != "" && msg.Prefix.User != "" {
		cl.seeNick(msg.Prefix.Name)
	}
	if cl.replayedChat(msg) {
		return
	}
	switch msg.Command {
	case "PRIVMSG", "NOTICE":
		cl.handleMessage(msg)
	case "TAGMSG":
		cl.handleTagMsg(msg)
	case "REDACT":
		cl.handleRedact(msg)
	case "FAIL":
		cl.handleFail(msg)
	case "JOIN":
		cl.handleJoin(msg)
	case "PART":
		cl.handlePart(msg)
	case "KICK":
		cl.handleKick(msg)
	case "QUIT":
		cl.handleQuit(msg)
	case "NICK":
		cl.handleNick(msg)
		cl.rearmRegain() // ours may have changed away from the wanted one
	case "437": // ERR_UNAVAILRESOURCE: a nick or a channel held for now
		if len(msg.Params) > 1 && cl.joinPending(msg.Params[1]) {
			cl.handleJoinError(msg)
		} else {
			cl.rearmRegain()
		}
	case "432", "433", "435", "436", "438", "447", "484":
		cl.rearmRegain() // a NICK of ours refused (also `irc nick`'s)
	case "MODE":
		cl.handleMode(msg)
	case "TOPIC":
		cl.handleTopic(msg)
	case "332": // RPL_TOPIC
		cl.handleTopicReply(msg)
	case "353": // RPL_NAMREPLY
		cl.handleNames(msg)
	case "366": // RPL_ENDOFNAMES
		cl.handleEndOfNames(msg)
	case "324": // RPL_CHANNELMODEIS
		cl.handleChannelModeIs(msg)
	case "477": // ERR_NEEDREGGEDNICK; IRCnet's ERR_NOCHANMODES
		cl.handle477(msg)
	case "403": // ERR_NOSUCHCHANNEL
		// A JOIN refused; else (Ergo) a REDACT or a line refused for a
		// channel that is gone.
		if len(msg.Params) > 1 && cl.joinPending(msg.Params[1]) {
			cl.handleJoinError(msg)
		} else {
			cl.handleNoSuchChannel(msg)
		}
	case "401", "404", "408", "442", "482", "486", "492", "531", "716":
		cl.handleRefusal(msg)
	default:
		if refusesJoin(msg.Command) || (isErrorNumeric(msg.Command) && len(msg.Params) > 1 && cl.joinPending(msg.Params[1])) {
			// Any other error naming a channel we are joining is the
			// JOIN's refusal: unanswered, its mark stayed for good.
			cl.handleJoinError(msg)
		}
	}
}

// trackBatch remembers open batches by type; it reports whether msg was a
// BATCH line (nothing more to do with it).
func (cl *Client) trackBatch(msg *irc.Message) bool {
	if msg.Command != "BATCH" || len(msg.Params) == 0 || len(msg.Params[0]) < 2 {
		return false
	}
	ref := msg.Params[0][1:]
	cl.lock.Lock()
	defer cl.lock.Unlock()
	if msg.Params[0][0] == '+' {
		if cl.batches == nil {
			cl.batches = make(map[string]string)
		}
		if len(cl.batches) < 100 {
			cl.batches[ref] = msg.Param(1)
		}
	} else {
		delete(cl.batches, ref)
	}
	return true
}

// inHistoryBatch reports whether msg belongs to a history replay batch.
func (cl *Client) inHistoryBatch(msg *irc.Message) bool {
	return cl.inBatchOf(msg, "chathistory", "draft/chathistory", "znc.in/playback")
}

// replayedChat reports whether msg is a chat line or a deletion inside a
// history replay batch, or one of ours replayed without a batch (see
// oursFromBefore). It was bridged when it was live; and a line of ours
// there is an old one, never the echo a line of ours waits for
// (echoes.go): taken for it, it gave a waiting send with its words its
// old msgid.
func (cl *Client) replayedChat(msg *irc.Message) bool {
	switch msg.Command {
	case "PRIVMSG", "NOTICE", "TAGMSG", "REDACT":
		return cl.inHistoryBatch(msg) || cl.oursFromBefore(msg)
	}
	return false
}

// oursFromBefore reports whether msg is a line of ours to a channel
// stamped before our JOIN there: a replay without a batch (InspIRCd's
// chanhistory without batch), as a line of someone else's that old is
// (handleMessage). The echo of a line we sent comes after our JOIN.
func (cl *Client) oursFromBefore(msg *irc.Message) bool {
	if msg.Prefix == nil || len(msg.Params) == 0 || !cl.isMe(msg.Prefix.Name) {
		return false
	}
	at, ok := timeOf(msg)
	if !ok {
		return false
	}
	folded := cl.fold(msg.Params[0])
	cl.lock.Lock()
	defer cl.lock.Unlock()
	ch := cl.channels[folded]
	return ch != nil && at.Before(ch.joinedAt.Add(-historySlack))
}

// inBatchOf reports whether msg belongs to an open batch of one of types.
func (cl *Client) inBatchOf(msg *irc.Message, types ...string) bool {
	ref := msg.Tags["batch"]
	if ref == "" {
		return false
	}
	cl.lock.Lock()
	typ, ok := cl.batches[ref]
	cl.lock.Unlock()
	return ok && slices.Contains(types, typ)
}

// errNotConnected is what a Matrix user is told when a send finds the
// connection down.
func (cl *Client) errNotConnected() error {
	return &network.UserError{Message: "not connected to " + cl.netName + " right now; the message was not sent", Err: errors.New("not connected")}
}
