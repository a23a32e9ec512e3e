package irc

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"gopkg.in/irc.v4"
	"gopkg.in/yaml.v3"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

// Connector is the IRC network kind: one Client per (network, Matrix user).
type Connector struct {
	host network.Host
	cfg  *Config

	// connectSem holds a token per dial and registration in flight (see
	// Config.MaxConcurrentConnects); Init sizes it from the config.
	connectSem chan struct{}
	ctx        context.Context
	cancel     context.CancelFunc

	lock     sync.Mutex
	clients  map[network.LoginID]*Client
	netState map[string]*netState
	relays   map[string]*relayBot // by network, made on first relayed message
	// lingering holds, by network, the casefolded nicks Ferry logins
	// stopped using lately, until they no longer count as Ferry's (see
	// ferryNickLinger); nil until a nick lingers.
	lingering map[string]map[string]lingeringNick
	// repeats numbers the lines said again under one hash ID, for all
	// logins together (repeats.go).
	repeats repeatCounter
	// untimed remembers the lines bridged without msgid or server-time,
	// to know them again in a history replay (replay.go).
	untimed untimedLines
}

// ferryNickLinger is how long a Ferry login's nick still counts as
// Ferry's after the login stopped using it (its connection ended, or it
// changed nick). Its last lines, sent from Matrix just before, can reach
// other logins' readers only after that: bridged then, they would show
// the user's own message in the room a second time, from a ghost. The
// relay bot's nick lingers alike (relayNickLinger). Someone else who
// takes the nick at once is told apart by user@host where the login's
// (or the bot's) was known (see ferryHeldBy); otherwise they are not
// bridged for that long.
var ferryNickLinger = newDuration(30 * time.Second)

// netState is what the last connection to a network said that IDs depend on.
type netState struct {
	caseMapping ircconn.CaseMapping
	chanTypes   string
}

var (
	_ network.Connector     = (*Connector)(nil)
	_ network.GhostNamer    = (*Connector)(nil)
	_ network.AliasResolver = (*Connector)(nil)
)

func New() *Connector {
	ctx, cancel := context.WithCancel(context.Background())
	return &Connector{
		connectSem: newConnectSem(DefaultMaxConcurrentConnects),
		ctx:        ctx, cancel: cancel,
		clients:  make(map[network.LoginID]*Client),
		netState: make(map[string]*netState),
		relays:   make(map[string]*relayBot),
	}
}

func (c *Connector) ID() network.NetworkID { return NetworkID }
func (c *Connector) Name() string          { return "IRC" }

func (c *Connector) Init(host network.Host, node *yaml.Node) error {
	c.host = host
	cfg, err := ParseConfig(node)
	if err != nil {
		return err
	}
	c.cfg = cfg
	c.connectSem = newConnectSem(cfg.connectLimit())
	return nil
}

// newConnectSem makes the connect semaphore for limit dials at once; 0 is
// no limit. "No limit" is a channel too large to fill, so that the dial
// path stays one code path: a chan struct{} buffers zero-size elements,
// so its capacity costs no memory.
func newConnectSem(limit int) chan struct{} {
	if limit <= 0 {
		limit = math.MaxInt32
	}
	return make(chan struct{}, limit)
}

func (c *Connector) Start(ctx context.Context) error { return nil }

func (c *Connector) Stop(ctx context.Context) {
	c.lock.Lock()
	clients := make([]*Client, 0, len(c.clients))
	for _, cl := range c.clients {
		clients = append(clients, cl)
	}
	relays := make([]*relayBot, 0, len(c.relays))
	for _, b := range c.relays {
		relays = append(relays, b)
	}
	c.lock.Unlock()
	for _, b := range relays {
		b.close()
	}
	var wg sync.WaitGroup
	for _, cl := range clients {
		wg.Add(1)
		go func() { defer wg.Done(); cl.Disconnect() }()
	}
	wg.Wait()
	c.cancel()
}

func (c *Connector) LoginFlows() []network.LoginFlow {
	return []network.LoginFlow{{Args: "<network> [nick]", Description: "connect to a configured IRC network (see `irc networks`)"}}
}

// caseMapping is the network's CASEMAPPING as last seen, rfc1459 before.
func (c *Connector) caseMapping(netName string) ircconn.CaseMapping {
	c.lock.Lock()
	defer c.lock.Unlock()
	if st := c.netState[netName]; st != nil && st.caseMapping != "" {
		return st.caseMapping
	}
	return ircconn.CaseMappingRFC1459
}

func (c *Connector) chanTypes(netName string) string {
	c.lock.Lock()
	defer c.lock.Unlock()
	if st := c.netState[netName]; st != nil && st.chanTypes != "" {
		return st.chanTypes
	}
	return "#&"
}

// learnNetwork records casemapping and CHANTYPES; it reports whether the
// casemapping changed. At a change the lingering nicks are keyed by the
// new folding (refoldLingering).
func (c *Connector) learnNetwork(netName string, cm ircconn.CaseMapping, chanTypes string) bool {
	c.lock.Lock()
	st := c.netState[netName]
	if st == nil {
		st = &netState{}
		c.netState[netName] = st
	}
	before := st.caseMapping
	if before == "" {
		before = ircconn.CaseMappingRFC1459 // what caseMapping gave until now
	}
	changed := cm != "" && st.caseMapping != cm
	if cm != "" {
		st.caseMapping = cm
	}
	if chanTypes != "" {
		st.chanTypes = chanTypes
	}
	refold := cm != "" && cm != before
	if refold && len(c.lingering[netName]) > 0 {
		c.lingering[netName] = refoldLingering(c.lingering[netName], cm)
	}
	b := c.relays[netName]
	c.lock.Unlock()
	if refold && b != nil {
		b.lock.Lock()
		b.lingering = refoldLingering(b.lingering, cm)
		b.lock.Unlock()
	}
	return changed
}

// refoldLingering keys lingering nicks by their folding under cm. Keyed
// by the old one, a late line from a nick with []\~ (rfc1459's "alice{"
// for Alice[, ascii's "alice[") would miss its entry within the linger
// and be bridged again as someone else's; and someone who now has the
// old key's nick (ascii's alice{) would count as Ferry's. Two that are one nick
// now keep the later end. nil stays nil.
func refoldLingering(nicks map[string]lingeringNick, cm ircconn.CaseMapping) map[string]lingeringNick {
	if len(nicks) == 0 {
		return nicks
	}
	out := make(map[string]lingeringNick, len(nicks))
	for folded, l := range nicks {
		if l.nick != "" {
			folded = ircconn.Casefold(cm, l.nick)
		}
		if prev, ok := out[folded]; ok && prev.until.After(l.until) {
			continue
		}
		out[folded] = l
	}
	return out
}

// isFerryNick reports whether nick is the current nick of a running Ferry
// login on netName, or of its relay bot, or was one lately (see
// ferryNickLinger): its lines came from Matrix and are not bridged back.
func (c *Connector) isFerryNick(netName, nick string) bool {
	return c.isFerry(netName, nick, "")
}

// isFerrySource is isFerryNick for the source of a line, whose user@host
// tells a login's late lines from someone else's who took its nick at
// once (see ferryHeldBy).
func (c *Connector) isFerrySource(netName string, p *irc.Prefix) bool {
	if p == nil {
		return false
	}
	return c.isFerry(netName, p.Name, prefixUserHost(p))
}

// isFerry is isFerryNick for nick used from userHost ("" if unknown).
func (c *Connector) isFerry(netName, nick, userHost string) bool {
	cm := c.caseMapping(netName)
	folded := ircconn.Casefold(cm, nick)
	if c.isRelayBot(netName, folded, userHost) {
		return true
	}
	return c.ferryHeldBy(netName, "", folded, userHost)
}

// prefixUserHost is "user@host" of a line's source, "" when it lacks
// either.
func prefixUserHost(p *irc.Prefix) string {
	if p == nil || p.User == "" || p.Host == "" {
		return ""
	}
	return p.User + "@" + p.Host
}

// ferryHeld reports whether a Ferry login on netName other than except
// ("" for none) has the casefolded nick folded now, or had it lately (see
// ferryNickLinger). Callers must not hold any client's lock.
func (c *Connector) ferryHeld(netName string, except network.LoginID, folded string) bool {
	return c.ferryHeldBy(netName, except, folded, "")
}

// ferryHeldBy is ferryHeld for the nick used from userHost ("" if
// unknown): a nick that only lingers is someone else's when the login
// that let it go had another user@host. That user@host is the one the
// server showed others, which the connection learns from its own JOIN
// and echoed lines, 396 and CHGHOST, so a cloak or a "~" ident prefix is
// in it as in the late lines themselves. When either is unknown the nick
// counts as Ferry's, as before.
func (c *Connector) ferryHeldBy(netName string, except network.LoginID, folded, userHost string) bool {
	cm := c.caseMapping(netName)
	c.lock.Lock()
	clients := c.clientsOn(netName)
	c.lock.Unlock()
	for _, cl := range clients {
		if cl.loginID == except {
			continue
		}
		if n := cl.currentNick(); n != "" && ircconn.Casefold(cm, n) == folded {
			return true
		}
	}
	// Asked after the logins: one clears its nick only once the nick
	// lingers (onDisconnected), so a nick let go meanwhile is found here.
	c.lock.Lock()
	defer c.lock.Unlock()
	l, ok := c.lingering[netName][folded]
	return ok && l.login != except && time.Now().Before(l.until) && sameUserHost(l.userHost, userHost)
}

// sameUserHost reports whether two "user@host" may be one client's: equal
// (hosts without regard to case), or either unknown ("").
func sameUserHost(a, b string) bool {
	if a == "" || b == "" {
		return true
	}
	au, ah, _ := strings.Cut(a, "@")
	bu, bh, _ := strings.Cut(b, "@")
	return au == bu && strings.EqualFold(ah, bh)
}

// lingeringNick is a nick a login (or the relay bot: login "") stopped
// using: whose it was, from which user@host ("" if unknown), and until
// when it counts as Ferry's. nick is as written, to be folded again at a
// CASEMAPPING change (refoldLingering).
type lingeringNick struct {
	nick     string
	login    network.LoginID
	userHost string
	until    time.Time
}

// lingerNick keeps nick, which login on netName stopped using on conn, a
// Ferry nick for ferryNickLinger (see there), for lines from the user@host
// conn had (see ferryHeldBy). Callers may hold a client's lock.
func (c *Connector) lingerNick(netName string, login network.LoginID, nick string, conn *ircconn.Conn) {
	if nick == "" {
		return
	}
	folded := ircconn.Casefold(c.caseMapping(netName), nick)
	now := time.Now()
	c.lock.Lock()
	defer c.lock.Unlock()
	nicks := c.lingering[netName]
	// Expired entries go as new ones come, so the map holds only the
	// nicks of the last ferryNickLinger.
	for n, l := range nicks {
		if !now.Before(l.until) {
			delete(nicks, n)
		}
	}
	if nicks == nil {
		if c.lingering == nil {
			c.lingering = make(map[string]map[string]lingeringNick)
		}
		nicks = make(map[string]lingeringNick)
		c.lingering[netName] = nicks
	}
	userHost := ""
	if conn != nil {
		if _, uh, ok := strings.Cut(conn.Source(), "!"); ok {
			userHost = uh
		}
	}
	nicks[folded] = lingeringNick{nick: nick, login: login, userHost: userHost, until: now.Add(ferryNickLinger.get())}
}

// ferryNicks is the set of casefolded nicks of running Ferry logins on
// netName and of its connected relay bot (never shown as ghosts; nicks
// that only linger are, see relayNick). Callers must not hold any
// client's lock.
func (c *Connector) ferryNicks(netName string) map[string]bool {
	cm := c.caseMapping(netName)
	c.lock.Lock()
	clients := c.clientsOn(netName)
	c.lock.Unlock()
	out := make(map[string]bool, len(clients)+1)
	if n := c.relayNick(netName); n != "" {
		out[ircconn.Casefold(cm, n)] = true
	}
	for _, cl := range clients {
		if n := cl.currentNick(); n != "" {
			out[ircconn.Casefold(cm, n)] = true
		}
	}
	return out
}

// ferryUsers maps the casefolded nicks of running Ferry logins on netName
// to their Matrix users. Callers must not hold any client's lock.
func (c *Connector) ferryUsers(netName string) map[string]id.UserID {
	cm := c.caseMapping(netName)
	c.lock.Lock()
	clients := c.clientsOn(netName)
	c.lock.Unlock()
	out := make(map[string]id.UserID, len(clients))
	for _, cl := range clients {
		if n := cl.currentNick(); n != "" {
			out[ircconn.Casefold(cm, n)] = cl.matrixUser()
		}
	}
	return out
}

// clientsOn lists the clients of one network; c.lock must be held.
func (c *Connector) clientsOn(netName string) []*Client {
	var out []*Client
	for _, cl := range c.clients {
		if cl.netName == netName {
			out = append(out, cl)
		}
	}
	return out
}

// isPrimary reports whether login is the one that bridges other people's
// membership changes in a channel: the smallest login ID among the Ferry
// logins currently in it. The others stay quiet, so that a JOIN seen by
// three Ferry connections becomes one Matrix join.
func (c *Connector) isPrimary(netName string, login network.LoginID, folded string) bool {
	c.lock.Lock()
	clients := c.clientsOn(netName)
	c.lock.Unlock()
	ids := make([]string, 0, len(clients))
	for _, cl := range clients {
		if cl.inChannel(folded) {
			ids = append(ids, string(cl.loginID))
		}
	}
	sort.Strings(ids)
	return len(ids) > 0 && ids[0] == string(login)
}

// nickOfMatrixUser is the IRC nick of a Matrix user's login on netName.
func (c *Connector) nickOfMatrixUser(netName string, user id.UserID) (string, bool) {
	c.lock.Lock()
	cl := c.clients[makeLoginID(netName, user)]
	c.lock.Unlock()
	if cl == nil {
		return "", false
	}
	n := cl.currentNick()
	return n, n != ""
}

// loginUsage ends the answers to `login irc` given wrong words.
const loginUsage = "usage: `login irc <network> [nick]`"

func (c *Connector) StartLogin(ctx context.Context, user id.UserID, args []string) (network.LoginProcess, error) {
	switch {
	case len(args) == 0:
		return nil, network.UserErrorf("name the IRC network to log in to (%s); %s", c.networkList(), loginUsage)
	case len(args) > 2:
		return nil, network.UserErrorf("`login irc` takes a network and at most one nick, and %s is more; %s",
			network.CodeSpan(stripControl(strings.Join(args[2:], " "))), loginUsage)
	}
	netName := strings.ToLower(args[0])
	ncfg := c.cfg.Networks[netName]
	if ncfg == nil {
		return nil, network.UserErrorf("unknown IRC network %s; networks: %s; %s", network.CodeSpan(stripControl(args[0])), c.networkList(), loginUsage)
	}
	c.lock.Lock()
	running := c.clients[makeLoginID(netName, user)]
	c.lock.Unlock()
	if running != nil {
		// A new login would be stored over this one with fresh metadata:
		// its channels and credentials gone, its connection replaced by
		// one that joins nothing. What people mean by it has commands.
		running.lock.Lock()
		name := running.login.RemoteName
		running.lock.Unlock()
		return nil, network.UserErrorf("you are logged in to %s already as %s: %s changes your nick, %s connects again, and %s first starts over (your channels and stored passwords are forgotten)",
			netName, network.Literal(name), network.CodeSpan("irc nick "+netName+" <nick>"), network.CodeSpan("reconnect irc "+name), network.CodeSpan("logout irc "+name))
	}
	nick := defaultNick(ncfg, user)
	if len(args) == 2 {
		if err := validateNick(args[1], 0); err != nil {
			return nil, &network.UserError{Message: network.UserMessage(err, "") + "; " + loginUsage, Err: err}
		}
		nick = args[1]
	}
	meta := loginMeta{Network: netName, Nick: nick, CaseMapping: string(c.caseMapping(netName))}
	raw, err := json.Marshal(&meta)
	if err != nil {
		return nil, err
	}
	login := &network.Login{
		ID: makeLoginID(netName, user), User: user,
		RemoteName: remoteName(nick, netName),
		RemoteUser: makeUserID(netName, c.caseMapping(netName), nick),
		Metadata:   raw,
	}
	return &loginProcess{login: login}, nil
}

func (c *Connector) networkList() string {
	names := c.cfg.names()
	if len(names) == 0 {
		return "(none configured)"
	}
	return "`" + strings.Join(names, "`, `") + "`"
}

func defaultNick(n *NetworkConfig, user id.UserID) string {
	local := user.Localpart()
	return ircconn.SanitizeNick(strings.ReplaceAll(n.NickTemplate, "{localpart}", local))
}

type loginProcess struct{ login *network.Login }

func (p *loginProcess) Start(ctx context.Context) (*network.LoginStep, error) {
	return &network.LoginStep{Type: network.StepComplete, Login: p.login}, nil
}

func (p *loginProcess) Wait(ctx context.Context) (*network.LoginStep, error) {
	return nil, fmt.Errorf("nothing to wait for")
}

func (p *loginProcess) Submit(ctx context.Context, input map[string]string) (*network.LoginStep, error) {
	return nil, fmt.Errorf("nothing to submit")
}

func (p *loginProcess) Cancel() {}

func (c *Connector) LoadLogin(ctx context.Context, login *network.Login) (network.Client, error) {
	var meta loginMeta
	if len(login.Metadata) > 0 {
		if err := json.Unmarshal(login.Metadata, &meta); err != nil {
			return nil, fmt.Errorf("decode IRC login metadata: %w", err)
		}
	}
	netName := loginNetwork(login.ID)
	if meta.Network == "" {
		meta.Network = netName
	}
	ncfg := c.cfg.Networks[meta.Network]
	if ncfg == nil || meta.Network != netName {
		// The likeliest cause is the administrator's: a network removed
		// from or renamed in the config. Said so, the user knows to ask
		// them, or to forget the login (logout), not to wait for a fix.
		return nil, network.UserErrorf("its IRC network %s is no longer in Ferry's configuration (the administrator may have removed or renamed it)",
			network.CodeSpan(meta.Network))
	}
	if meta.CaseMapping != "" {
		// Seed IDs with what this network said last time, until it speaks.
		c.lock.Lock()
		if c.netState[netName] == nil {
			c.netState[netName] = &netState{caseMapping: ircconn.CaseMapping(meta.CaseMapping)}
		}
		c.lock.Unlock()
	}
	if meta.Nick == "" {
		meta.Nick = defaultNick(ncfg, login.User)
	}
	login, err := c.sealLegacySecrets(ctx, login, &meta)
	if err != nil {
		return nil, err
	}
	cl := newClient(c, ncfg, login, meta)
	c.lock.Lock()
	old := c.clients[login.ID]
	c.clients[login.ID] = cl
	c.lock.Unlock()
	if old != nil && old != cl {
		// Marked at once, so that no Connect can start it once this
		// returns; its disconnect (which waits for the QUIT) need not.
		old.markStopped()
		go old.Disconnect()
	}
	return cl, nil
}

// forget removes a client that was logged out.
func (c *Connector) forget(cl *Client) {
	c.lock.Lock()
	if c.clients[cl.loginID] == cl {
		delete(c.clients, cl.loginID)
	}
	c.lock.Unlock()
	c.releaseUntimedOf(cl)
}

// sealLegacySecrets rewrites plaintext passwords stored before encryption
// existed, sealed, and saves the login at once. Without irc.secret_key
// they are used as they are and the admin is warned (without the values).
func (c *Connector) sealLegacySecrets(ctx context.Context, login *network.Login, meta *loginMeta) (*network.Login, error) {
	if meta.LegacyPassword == "" && meta.LegacySASLPassword == "" {
		return login, nil
	}
	changed, err := c.migrateSecrets(login.ID, meta)
	if err != nil {
		return nil, fmt.Errorf("encrypt stored IRC passwords of %s: %w", login.ID, err)
	}
	if !changed {
		if c.host != nil {
			c.host.Log().Warn().Str("login", string(login.ID)).Msg("IRC login has a plaintext password stored; set irc.secret_key to encrypt it")
		}
		return login, nil
	}
	raw, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	copied := *login
	copied.Metadata = raw
	if c.host != nil {
		if err := c.host.SaveLogin(ctx, &copied); err != nil {
			// The next metadata save stores them sealed.
			c.host.Log().Warn().Err(err).Str("login", string(login.ID)).Msg("Failed to save the IRC login with its passwords encrypted")
		}
	}
	return &copied, nil
}
