// Package testnet is a network behind Ferry's contract whose "remote side"
// is the test itself: tests make remote people speak, and read what Ferry
// sent. It exercises the core exactly as WhatsApp and IRC do, through the
// same interfaces, with no shortcut into the core.
package testnet

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gopkg.in/yaml.v3"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

const ID network.NetworkID = "test"

// WrongPassword is refused by the login flow.
const WrongPassword = "wrong"

type Connector struct {
	host network.Host

	lock    sync.Mutex
	clients map[network.LoginID]*Client
	// Chats and Users answer ChatInfo and UserInfo; unknown IDs get
	// generated names.
	Chats map[network.ChatID]*network.ChatInfo
	Users map[network.UserID]*network.UserInfo
	// nextID numbers sent messages across clients, so that a login loaded
	// again after a restart never reuses an ID.
	nextID   atomic.Int64
	outboxes map[network.LoginID]chan any
	// down is set from Stop until the next Start: sends fail as on a
	// network whose connections are closed.
	down atomic.Bool
	// OnStop, when set, runs inside Stop once the network is down.
	OnStop func()
	// OnConnect, when set, runs in every client's Connect once it has
	// reported the client connected: a network whose first events come
	// as soon as it connects.
	OnConnect func(cl *Client)
	// FailLoad makes LoadLogin fail with a UserError carrying this text.
	FailLoad atomic.Pointer[string]
	// SubmitWait, when set, holds a login's Submit until it is closed (or
	// the login's context ends): a network slow to complete a login.
	SubmitWait chan struct{}
	// LinkAtLogin makes a completed login hand its client over with it,
	// already connected, as a network that links a device during the
	// login does (WhatsApp).
	LinkAtLogin atomic.Bool
	// OnLinked, when set, runs on a client linked at login (LinkAtLogin)
	// before it is handed over: a test can change its state there, as a
	// connection that drops while the network completes the login.
	OnLinked func(cl *Client)
	// AskServer makes a login ask for a server, a question for no
	// secret, before the password: a network's question whose answer
	// may be shown.
	AskServer atomic.Bool
	// devices numbers completed logins: each gets metadata naming a
	// device of its own ({"device":N}), as a network that links a new
	// device at every login (WhatsApp) stores.
	devices atomic.Int64
}

var (
	_ network.Connector = (*Connector)(nil)
	_ network.Client    = (*Client)(nil)
	_ network.Editor    = (*Client)(nil)
	_ network.Reactor   = (*Client)(nil)
	_ network.Redactor  = (*Client)(nil)
	_ network.Logouter  = (*Client)(nil)

	_ network.CurrentStater = (*Client)(nil)

	_ network.AliasResolver = (*Connector)(nil)
	_ network.ChatJoiner    = (*Client)(nil)
	_ network.DMStarter     = (*Client)(nil)
	_ network.TypingSender  = (*Client)(nil)
	_ network.ReceiptSender = (*Client)(nil)
)

// TypingOut and ReceiptOut record typing notices and read receipts Ferry
// sent to the network.
type (
	TypingOut struct {
		Portal network.PortalKey
		Typing bool
	}
	ReceiptOut struct {
		Portal network.PortalKey
		UpTo   network.MessageID
	}
	// JoinOut records a chat joined because its Matrix user joined the room.
	JoinOut struct {
		Portal network.PortalKey
	}
)

// BannedChat refuses every JoinChat.
const BannedChat network.ChatID = "banned"

// ResolveAlias maps #test_<name> to the shared chat <name>; names are
// case-insensitive, like IRC channels.
func (c *Connector) ResolveAlias(rest string) (network.PortalKey, string, bool) {
	name := strings.ToLower(rest)
	if name == "" || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		return network.PortalKey{}, "", false
	}
	return network.PortalKey{Network: ID, Chat: network.ChatID(name)}, "Chat " + name, true
}

func (c *Connector) AliasFor(key network.PortalKey) string {
	if _, _, ok := c.ResolveAlias(string(key.Chat)); ok && key.Receiver == "" {
		return string(key.Chat)
	}
	return ""
}

func New() *Connector {
	return &Connector{
		clients: make(map[network.LoginID]*Client),
		Chats:   make(map[network.ChatID]*network.ChatInfo),
		Users:   make(map[network.UserID]*network.UserInfo),
	}
}

func (c *Connector) ID() network.NetworkID { return ID }
func (c *Connector) Name() string          { return "Testnet" }

func (c *Connector) Init(host network.Host, cfg *yaml.Node) error {
	c.host = host
	return nil
}

// Host is the bridge's side of the contract, for tests that call it as a
// network would.
func (c *Connector) Host() network.Host { return c.host }

func (c *Connector) Start(ctx context.Context) error {
	c.down.Store(false)
	return nil
}

func (c *Connector) Stop(ctx context.Context) {
	c.down.Store(true)
	if c.OnStop != nil {
		c.OnStop()
	}
}

func (c *Connector) LoginFlows() []network.LoginFlow {
	return []network.LoginFlow{{Args: "<name>", Description: "log in as <name>; asks for a password"}}
}

func (c *Connector) StartLogin(ctx context.Context, user id.UserID, args []string) (network.LoginProcess, error) {
	if len(args) != 1 {
		return nil, network.UserErrorf("usage: `login test <name>`")
	}
	return &loginProcess{c: c, name: args[0]}, nil
}

func (c *Connector) LoadLogin(ctx context.Context, login *network.Login) (network.Client, error) {
	if msg := c.FailLoad.Load(); msg != nil {
		return nil, network.UserErrorf("%s", *msg)
	}
	return c.newClient(login), nil
}

func (c *Connector) newClient(login *network.Login) *Client {
	c.lock.Lock()
	defer c.lock.Unlock()
	cl := &Client{c: c, Login: login, Outbox: c.outbox(login.ID), Connected: make(chan struct{})}
	c.clients[login.ID] = cl
	return cl
}

func (c *Connector) Commands() []network.Command {
	return []network.Command{{
		Name: "test ping", Description: "Answer with the names of your test logins.", Level: network.LevelUser,
		Handler: func(ctx context.Context, cmd *network.CommandEvent) error {
			names := make([]string, 0, len(cmd.Logins))
			for _, l := range cmd.Logins {
				names = append(names, l.RemoteName)
			}
			cmd.Reply("pong: " + strings.Join(names, ", "))
			return nil
		},
	}, {
		Name: "test panic", Description: "Panic, as a network's command with a bug would.", Level: network.LevelUser,
		Handler: func(ctx context.Context, cmd *network.CommandEvent) error {
			panic("test panic")
		},
	}, {
		Name: "test secret", Args: "<secret>", Description: "Keep a secret, as a command with a password does.",
		Level: network.LevelUser, Sensitive: true,
		Handler: func(ctx context.Context, cmd *network.CommandEvent) error {
			cmd.Reply(fmt.Sprintf("Kept a secret of %d characters.", len(cmd.RawArgs)))
			return nil
		},
	}}
}

// outbox is shared by all clients of a login, so that what a test reads
// does not depend on whether the bridge restarted in between.
func (c *Connector) outbox(login network.LoginID) chan any {
	if c.outboxes == nil {
		c.outboxes = make(map[network.LoginID]chan any)
	}
	ch, ok := c.outboxes[login]
	if !ok {
		ch = make(chan any, 10000)
		c.outboxes[login] = ch
	}
	return ch
}

// Client returns the client of a login, waiting up to a few seconds for
// the bridge to load it.
func (c *Connector) Client(login network.LoginID) *Client {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.lock.Lock()
		cl := c.clients[login]
		c.lock.Unlock()
		if cl != nil || time.Now().After(deadline) {
			return cl
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type loginProcess struct {
	c    *Connector
	name string
}

func (p *loginProcess) Start(ctx context.Context) (*network.LoginStep, error) {
	fields := []network.LoginField{{ID: "password", Name: "password", Secret: true}}
	if p.c.AskServer.Load() {
		fields = append([]network.LoginField{{ID: "server", Name: "server"}}, fields...)
	}
	return &network.LoginStep{
		Type:         network.StepUserInput,
		Instructions: "Logging in to the test network as " + p.name + ".",
		Fields:       fields,
	}, nil
}

func (p *loginProcess) Wait(ctx context.Context) (*network.LoginStep, error) {
	return nil, fmt.Errorf("nothing to wait for")
}

func (p *loginProcess) Submit(ctx context.Context, input map[string]string) (*network.LoginStep, error) {
	if wait := p.c.SubmitWait; wait != nil {
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if input["password"] == WrongPassword {
		return nil, network.UserErrorf("wrong password")
	}
	login := &network.Login{
		ID: network.LoginID(p.name), RemoteName: p.name, RemoteUser: network.UserID(p.name),
		Metadata: json.RawMessage(fmt.Sprintf(`{"device":%d}`, p.c.devices.Add(1))),
	}
	step := &network.LoginStep{Type: network.StepComplete, Login: login}
	if p.c.LinkAtLogin.Load() {
		cl := p.c.newClient(login)
		cl.state.Store(&network.State{Kind: network.StateConnected})
		if p.c.OnLinked != nil {
			p.c.OnLinked(cl)
		}
		step.Client = cl
	}
	return step, nil
}

func (p *loginProcess) Cancel() {}

// Client is one test login. Everything Ferry sends lands in Outbox.
type Client struct {
	c      *Connector
	Login  *network.Login
	Outbox chan any
	// FailSends makes every send fail with a UserError carrying this text.
	FailSends atomic.Pointer[string]
	// PanicSends makes every send panic with this text, as a network with
	// a bug would.
	PanicSends atomic.Pointer[string]
	// Confirm, when set, makes Send behave like a network whose server
	// confirms sends later (IRC's echo): it places the message (see
	// OutgoingMeta.Placed), puts it in the Outbox, and returns what
	// Confirm returns (nil: sent) once it returns.
	Confirm   atomic.Pointer[func(ctx context.Context, msg *network.OutgoingMessage) error]
	Connected chan struct{}
	LoggedOut atomic.Bool
	// Disconnects counts the core's Disconnect calls.
	Disconnects atomic.Int32
	once        sync.Once
	// state is the state reported last (CurrentState).
	state atomic.Pointer[network.State]
}

func (cl *Client) Connect(ctx context.Context) {
	cl.State(network.State{Kind: network.StateConnected})
	cl.once.Do(func() { close(cl.Connected) })
	if cl.c.OnConnect != nil {
		cl.c.OnConnect(cl)
	}
}

func (cl *Client) Disconnect() { cl.Disconnects.Add(1) }

func (cl *Client) ChatInfo(ctx context.Context, chat network.ChatID) (*network.ChatInfo, error) {
	cl.c.lock.Lock()
	defer cl.c.lock.Unlock()
	if info, ok := cl.c.Chats[chat]; ok {
		return info, nil
	}
	name := "Chat " + string(chat)
	return &network.ChatInfo{Name: &name}, nil
}

func (cl *Client) UserInfo(ctx context.Context, user network.UserID) (*network.UserInfo, error) {
	cl.c.lock.Lock()
	defer cl.c.lock.Unlock()
	if info, ok := cl.c.Users[user]; ok {
		return info, nil
	}
	name := "Remote " + string(user)
	return &network.UserInfo{Name: &name}, nil
}

func (cl *Client) fail() error {
	if msg := cl.PanicSends.Load(); msg != nil {
		panic(*msg)
	}
	if msg := cl.FailSends.Load(); msg != nil {
		return network.UserErrorf("%s", *msg)
	}
	if cl.c.down.Load() {
		return network.UserErrorf("not connected to the test network")
	}
	return nil
}

func (cl *Client) Send(ctx context.Context, msg *network.OutgoingMessage) (*network.SendResult, error) {
	if err := cl.fail(); err != nil {
		return nil, err
	}
	id := network.MessageID(fmt.Sprintf("sent-%s-%d", cl.Login.ID, cl.c.nextID.Add(1)))
	if confirm := cl.Confirm.Load(); confirm != nil {
		if msg.Placed != nil {
			msg.Placed()
		}
		cl.Outbox <- msg
		written(msg)
		if err := (*confirm)(ctx, msg); err != nil {
			return nil, err
		}
		return &network.SendResult{ID: id, Timestamp: time.Now()}, nil
	}
	cl.Outbox <- msg
	written(msg)
	return &network.SendResult{ID: id, Timestamp: time.Now()}, nil
}

// written tells the core that msg has left, as a network does once its
// first line is on the connection (OutgoingMeta.Written).
func written(msg *network.OutgoingMessage) {
	if msg.Written != nil {
		msg.Written(time.Now())
	}
}

func (cl *Client) Edit(ctx context.Context, edit *network.OutgoingEdit) error {
	if err := cl.fail(); err != nil {
		return err
	}
	cl.Outbox <- edit
	return nil
}

func (cl *Client) React(ctx context.Context, r *network.OutgoingReaction) (network.EmojiID, error) {
	if err := cl.fail(); err != nil {
		return "", err
	}
	cl.Outbox <- r
	return network.EmojiID(r.Key), nil
}

func (cl *Client) Unreact(ctx context.Context, r *network.OutgoingUnreaction) error {
	if err := cl.fail(); err != nil {
		return err
	}
	cl.Outbox <- r
	return nil
}

func (cl *Client) Redact(ctx context.Context, r *network.OutgoingRedaction) error {
	if err := cl.fail(); err != nil {
		return err
	}
	cl.Outbox <- r
	return nil
}

func (cl *Client) JoinChat(ctx context.Context, portal network.PortalKey) error {
	if portal.Chat == BannedChat {
		return network.UserErrorf("you are banned from %s", portal.Chat)
	}
	cl.Outbox <- &JoinOut{Portal: portal}
	return nil
}

// StartDM maps a person to the DM chat "dm-<user>" of this login.
func (cl *Client) StartDM(ctx context.Context, user network.UserID) (network.PortalKey, error) {
	return network.PortalKey{Network: ID, Chat: network.ChatID("dm-" + string(user)), Receiver: cl.Login.ID}, nil
}

func (cl *Client) SendTyping(ctx context.Context, portal network.PortalKey, typing bool) error {
	cl.Outbox <- &TypingOut{Portal: portal, Typing: typing}
	return nil
}

func (cl *Client) SendReceipt(ctx context.Context, portal network.PortalKey, upTo network.MessageID) error {
	cl.Outbox <- &ReceiptOut{Portal: portal, UpTo: upTo}
	return nil
}

func (cl *Client) Logout(ctx context.Context) error {
	cl.LoggedOut.Store(true)
	return nil
}

// Queue hands a remote event to the bridge without waiting.
func (cl *Client) Queue(evt network.Event) { cl.c.host.QueueEvent(cl.Login.ID, evt) }

// Handle hands a remote event to the bridge and waits until it is bridged.
func (cl *Client) Handle(ctx context.Context, evt network.Event) error {
	return cl.c.host.HandleEvent(ctx, cl.Login.ID, evt)
}

// State reports a connection state for this login.
func (cl *Client) State(st network.State) {
	cl.state.Store(&st)
	cl.c.host.ReportState(cl.Login.ID, st)
}

// CurrentState is the state reported last; connecting before any.
func (cl *Client) CurrentState() network.State {
	if st := cl.state.Load(); st != nil {
		return *st
	}
	return network.State{Kind: network.StateConnecting}
}

// Notify sends a notice to the login's management room through the host.
func (cl *Client) Notify(ctx context.Context, markdown string) {
	cl.c.host.NotifyUser(ctx, cl.Login.ID, markdown)
}
