package irc

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

// loginMeta is the login's state kept in network.Login.Metadata.
type loginMeta struct {
	Network string `json:"network"`
	Nick    string `json:"nick"`
	// Channels the login is in (casefolded name -> entry), rejoined after
	// every connect.
	Channels map[string]savedChannel `json:"channels,omitempty"`
	// PMs remember who a nick was, so that a reused nick gets a fresh room.
	PMs map[string]pmPeer `json:"pms,omitempty"`
	// CaseMapping last announced by the network.
	CaseMapping string `json:"casemapping,omitempty"`
	// PrevCaseMapping is the one before CaseMapping, if it ever changed:
	// user IDs (ghosts, senders of stored lines) minted before then are
	// folded with it (see ghostNick).
	PrevCaseMapping string `json:"prev_casemapping,omitempty"`
	// Credentials: the passwords are sealed with irc.secret_key (see
	// secrets.go). The Legacy fields are plaintext from before encryption;
	// LoadLogin rewrites them sealed when a key is configured.
	Password           string `json:"password_enc,omitempty"`
	SASLAccount        string `json:"sasl_account,omitempty"`
	SASLPassword       string `json:"sasl_password_enc,omitempty"`
	LegacyPassword     string `json:"password,omitempty"`
	LegacySASLPassword string `json:"sasl_password,omitempty"`
}

type savedChannel struct {
	Name string `json:"name"`
	Key  string `json:"key,omitempty"`
}

// pmPeer is who a nick was in a login's PMs: Ident is "a:<account>" when
// the server tags the account, else "h:<user>@<host>". A PM from the same
// nick with another ident starts generation Gen+1, a new room. Nick is
// the nick as last written (by them or to them): the map's key and the
// portal's chat ID are folded, and under rfc1459 "bob{" may have been
// "Bob[", so only Nick lets a CASEMAPPING change fold it again (entries
// from before it was kept have none). Ghost is set when such a change
// moved the peer's user ID: see pmSender.
type pmPeer struct {
	Gen   int            `json:"gen"`
	Ident string         `json:"ident"`
	Nick  string         `json:"nick,omitempty"`
	Ghost network.UserID `json:"ghost,omitempty"`
}

// Client is one Matrix user's connection to one IRC network.
type Client struct {
	c       *Connector
	cfg     *NetworkConfig
	netName string
	loginID network.LoginID
	log     zerolog.Logger

	lock     sync.Mutex
	login    *network.Login
	meta     loginMeta
	conn     *ircconn.Conn
	nick     string                   // current nick while connected
	channels map[string]*channelState // joined on the current connection
	pending  map[string]joinOrigin    // channels we sent JOIN for, and why
	parting  map[string]bool          // channels we sent PART for
	nicks    map[string]string        // casefolded -> nick as last seen; nil until one is
	batches  map[string]string        // open batch reference -> type; nil until one opens
	replays  map[string]time.Time     // channels whose history replay may go on, until when (replay.go)
	split    splitHold                // leaves held during a netsplit
	regain   *regainTimer             // while the wanted nick is not ours (regain.go)
	hold     lineHold                 // lines from a connection not yet published (see receive)
	// echoes are sends waiting for an unlabeled echo (echoes.go).
	echoes echoWaits
	// whois is the unlabeled WHOIS being answered, whoisTurn the turn to
	// run one (whois_unlabeled.go).
	whois     *whoisCollect
	whoisTurn chan struct{}
	whoisSeq  uint64 // numbers the PING before each unlabeled WHOIS
	// nickWait is the unlabeled `irc nick` waiting for its answer
	// (nick_unlabeled.go).
	nickWait *nickWait
	// toldNickHeld is the wanted nick (casefolded) the user was told
	// another Ferry login has (nickHeldByFellow), so that it is told once.
	toldNickHeld string
	// credentialsGen counts credential changes (reconnect): a registration
	// that began before one is dropped once it completes (dial).
	credentialsGen atomic.Uint64
	// stopped is set once the client is done for good: logged out, or
	// replaced by a new load of its login (see retire). Connect then does
	// nothing: the connector no longer lists the client, so a connection
	// it made (a `reconnect` racing the logout, which Disconnects and
	// Connects the login it looked up) would hold the user's nick on IRC
	// with no one to close it, not even Stop.
	stopped bool
	cancel  context.CancelFunc // the connection loop's current round's, while it dials or backs off
	done    chan struct{}      // the running connection loop's (see run); nil when none runs
	wake    chan struct{}
	ctcp    ctcpLimit // replies to CTCP requests (ctcp_limit.go)
}

var (
	_ network.Client       = (*Client)(nil)
	_ network.Editor       = (*Client)(nil)
	_ network.Logouter     = (*Client)(nil)
	_ network.ChatLeaver   = (*Client)(nil)
	_ network.ChatJoiner   = (*Client)(nil)
	_ network.DMStarter    = (*Client)(nil)
	_ network.TypingSender = (*Client)(nil)
)

func newClient(c *Connector, cfg *NetworkConfig, login *network.Login, meta loginMeta) *Client {
	var log zerolog.Logger
	if c.host != nil {
		// A hook rather than With(): With copies the context into a new
		// 500-byte buffer for every logger, which a thousand idle logins
		// would each keep; the hook adds the field when a line is written.
		log = c.host.Log().Hook(loginField(login.ID))
	}
	copied := *login
	return &Client{
		c: c, cfg: cfg, netName: meta.Network, loginID: login.ID, log: log,
		login: &copied, meta: meta,
		channels: make(map[string]*channelState),
		pending:  make(map[string]joinOrigin),
		parting:  make(map[string]bool),
		wake:     make(chan struct{}, 1),
	}
}

// loginField is the zerolog hook that adds "login" to every line a
// client (and its ircconn.Conn) logs.
type loginField network.LoginID

func (f loginField) Run(e *zerolog.Event, _ zerolog.Level, _ string) {
	e.Str("login", string(f))
}

func (cl *Client) cm() ircconn.CaseMapping { return cl.c.caseMapping(cl.netName) }

func (cl *Client) fold(s string) string { return ircconn.Casefold(cl.cm(), s) }

func (cl *Client) userID(nick string) network.UserID {
	return makeUserID(cl.netName, cl.cm(), nick)
}

func (cl *Client) channelKey(channel string) network.PortalKey {
	return network.PortalKey{Network: NetworkID, Chat: channelChatID(cl.netName, cl.cm(), channel)}
}

func (cl *Client) currentNick() string {
	cl.lock.Lock()
	defer cl.lock.Unlock()
	return cl.nick
}

func (cl *Client) matrixUser() id.UserID {
	cl.lock.Lock()
	defer cl.lock.Unlock()
	return cl.login.User
}

func (cl *Client) currentConn() *ircconn.Conn {
	cl.lock.Lock()
	defer cl.lock.Unlock()
	return cl.conn
}

func (cl *Client) inChannel(folded string) bool {
	cl.lock.Lock()
	defer cl.lock.Unlock()
	_, ok := cl.channels[folded]
	return ok
}

// saveMeta stores the metadata after change (called with cl.lock held
// released: it does I/O).
func (cl *Client) saveMeta(change func(m *loginMeta)) {
	cl.saveLogin(func(m *loginMeta, _ *network.Login) { change(m) })
}

// saveLogin is saveMeta that may change the login's names too.
func (cl *Client) saveLogin(change func(m *loginMeta, l *network.Login)) {
	cl.lock.Lock()
	login := *cl.login
	change(&cl.meta, &login)
	raw, err := json.Marshal(&cl.meta)
	if err != nil {
		cl.lock.Unlock()
		cl.log.Err(err).Msg("Failed to encode login metadata")
		return
	}
	login.Metadata = raw
	cl.login = &login
	cl.lock.Unlock()
	if cl.c.host == nil {
		return
	}
	ctx, cancel := context.WithTimeout(cl.c.ctx, 30*time.Second)
	defer cancel()
	if err := cl.c.host.SaveLogin(ctx, &login); err != nil {
		cl.log.Err(err).Msg("Failed to save login metadata")
	}
}

// followNick makes the login's remote name and user the nick we now have
// on the network, when they differ.
func (cl *Client) followNick(nick string) {
	name := remoteName(nick, cl.netName)
	user := cl.userID(nick)
	cl.lock.Lock()
	same := cl.login.RemoteName == name && cl.login.RemoteUser == user
	cl.lock.Unlock()
	if same {
		return
	}
	cl.saveLogin(func(_ *loginMeta, l *network.Login) { l.RemoteName, l.RemoteUser = name, user })
}

func remoteName(nick, netName string) string { return nick + " on " + netName }

func (cl *Client) queue(evt network.Event) {
	cl.c.host.QueueEvent(cl.loginID, evt)
}

func (cl *Client) report(kind network.StateKind, msg string) {
	cl.c.host.ReportState(cl.loginID, network.State{Kind: kind, Message: msg})
}

// ChatInfo answers from what the connection knows: channels it is in, and
// PMs (direct chats with their nick).
func (cl *Client) ChatInfo(ctx context.Context, chat network.ChatID) (*network.ChatInfo, error) {
	netName, rest, ok := splitNet(string(chat))
	if !ok || netName != cl.netName {
		return nil, network.ErrWrongAccount
	}
	if cl.isChannelName(rest) {
		ferry := cl.c.ferryNicks(cl.netName)
		cl.lock.Lock()
		defer cl.lock.Unlock()
		if ch := cl.channels[rest]; ch != nil {
			return ch.info(cl, false, ferry), nil
		}
		name := rest
		return &network.ChatInfo{Name: &name}, nil
	}
	_, nick, _, ok := parsePMChatID(chat)
	if !ok {
		return nil, network.ErrWrongAccount
	}
	name := cl.displayNick(nick)
	return &network.ChatInfo{Name: &name, IsDirect: true, OtherUser: cl.pmSender(nick)}, nil
}

func (cl *Client) isChannelName(s string) bool {
	if s == "" {
		return false
	}
	if conn := cl.currentConn(); conn != nil {
		return conn.ISupport().IsChannel(s)
	}
	types := cl.c.chanTypes(cl.netName)
	for i := 0; i < len(types); i++ {
		if s[0] == types[i] {
			return true
		}
	}
	return false
}

// displayNick is a nick as its owner spells it, when seen.
func (cl *Client) displayNick(folded string) string {
	cl.lock.Lock()
	defer cl.lock.Unlock()
	if n, ok := cl.nicks[folded]; ok {
		return n
	}
	return folded
}

func (cl *Client) seeNick(nick string) {
	if nick == "" {
		return
	}
	folded := cl.fold(nick)
	cl.lock.Lock()
	if len(cl.nicks) > 10000 {
		clear(cl.nicks)
	}
	if cl.nicks == nil {
		cl.nicks = make(map[string]string)
	}
	cl.nicks[folded] = nick
	cl.lock.Unlock()
}

func (cl *Client) UserInfo(ctx context.Context, user network.UserID) (*network.UserInfo, error) {
	netName, nick, ok := parseUserID(user)
	if !ok || netName != cl.netName {
		return nil, network.ErrWrongAccount
	}
	name := cl.displayNick(nick)
	return &network.UserInfo{Name: &name}, nil
}

// SendTyping is accepted and ignored: typing is not sent to IRC.
func (cl *Client) SendTyping(ctx context.Context, portal network.PortalKey, typing bool) error {
	return nil
}

// Logout quits the network for good; the core forgets the login.
func (cl *Client) Logout(ctx context.Context) error {
	cl.retire()
	cl.c.forget(cl)
	return nil
}

// retire disconnects the client and keeps it from connecting again (see
// stopped).
func (cl *Client) retire() {
	cl.markStopped()
	cl.Disconnect()
}

// markStopped keeps the client from connecting again; a connection or
// dial it has is left to Disconnect.
func (cl *Client) markStopped() {
	cl.lock.Lock()
	cl.stopped = true
	cl.lock.Unlock()
}
