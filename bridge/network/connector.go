package network

import (
	"context"
	"encoding/json"

	"github.com/rs/zerolog"
	"go.mau.fi/util/dbutil"
	"gopkg.in/yaml.v3"
	"maunium.net/go/mautrix/id"
)

// Connector is one network kind (WhatsApp, IRC). The core creates exactly
// one per network at start-up. Init and LoadLogin must not do network I/O:
// the core calls them while starting and expects them to return at once.
type Connector interface {
	// ID is the permanent network ID; it prefixes ghost user IDs.
	ID() NetworkID
	// Name is the human name shown in messages ("WhatsApp").
	Name() string
	// Init decodes the network's own config section (nil when the config
	// has none) and keeps the host. Config errors must name their key path
	// below the section, e.g. "networks.libera.address: missing port".
	Init(host Host, cfg *yaml.Node) error
	// Start is called once after Init and before any login is loaded.
	Start(ctx context.Context) error
	// Stop disconnects everything; the core has stopped calling in.
	Stop(ctx context.Context)

	// LoginFlows describe the ways to log in, for help texts.
	LoginFlows() []LoginFlow
	// StartLogin begins a login for user with the words after
	// "login <network>". Bad arguments return a UserError.
	StartLogin(ctx context.Context, user id.UserID, args []string) (LoginProcess, error)
	// LoadLogin makes a client for a stored login. It must not connect:
	// the core calls Connect when it is ready to receive events.
	LoadLogin(ctx context.Context, login *Login) (Client, error)

	// Commands the network adds to the management bot.
	Commands() []Command
}

// Login is one remote account of a Matrix user, as the core stores it.
type Login struct {
	ID LoginID
	// User is the Matrix user who owns this login.
	User id.UserID
	// RemoteName is a human name of the remote account (a phone number,
	// "nick on libera").
	RemoteName string
	// RemoteUser is the account's own remote user ID, the sender of what
	// the account sends.
	RemoteUser UserID
	// Metadata is the network's own state for this login (session keys
	// stay in the network's stores; this is for small typed state).
	Metadata json.RawMessage
}

// Client is one logged-in remote account.
type Client interface {
	// Connect starts connecting in the background and returns at once.
	// Progress and failures are reported with Host.ReportState.
	Connect(ctx context.Context)
	// Disconnect closes the connection; it may be connected again later.
	Disconnect()
	// ChatInfo is called when the core creates or resyncs a portal.
	ChatInfo(ctx context.Context, chat ChatID) (*ChatInfo, error)
	// UserInfo is called when the core creates or refreshes a ghost.
	UserInfo(ctx context.Context, user UserID) (*UserInfo, error)
	// Send delivers a Matrix message to the remote chat.
	Send(ctx context.Context, msg *OutgoingMessage) (*SendResult, error)
}

// Optional capabilities. The core finds them by type assertion; a client
// that lacks one makes the core tell the Matrix user that the action is
// not supported on that network, instead of dropping it.
type (
	Editor interface {
		Edit(ctx context.Context, edit *OutgoingEdit) error
	}
	Reactor interface {
		// React returns the EmojiID under which the network keeps the
		// reaction, so that removing it later finds the same one.
		React(ctx context.Context, r *OutgoingReaction) (EmojiID, error)
		Unreact(ctx context.Context, r *OutgoingUnreaction) error
	}
	Redactor interface {
		Redact(ctx context.Context, r *OutgoingRedaction) error
	}
	// Logouter is implemented by networks whose logins can be ended on the
	// remote side too. The core forgets the login even when Logout fails.
	Logouter interface {
		Logout(ctx context.Context) error
	}
	// ChatLeaver says what leaving a portal room means on the network.
	// Without it, leaving the room leaves nothing remote.
	ChatLeaver interface {
		LeaveChat(ctx context.Context, portal PortalKey) error
	}
	// ChatJoiner joins a chat on the network because the Matrix user joined
	// its portal room (e.g. through an alias). A client whose account cannot
	// reach the chat (another IRC network, say) returns ErrWrongAccount, and
	// the core tries the user's next login.
	ChatJoiner interface {
		JoinChat(ctx context.Context, portal PortalKey) error
	}
	// DMStarter finds the DM chat with a remote person, for a Matrix user
	// who invites that person's ghost to a new direct chat. ErrWrongAccount
	// as for ChatJoiner.
	DMStarter interface {
		StartDM(ctx context.Context, user UserID) (PortalKey, error)
	}
	// ChatInfoSetter changes a chat's name or topic on the network when a
	// Matrix user changes them in the portal room. A network that cannot
	// (IRC channels have no name to change) returns a UserError.
	ChatInfoSetter interface {
		SetChatName(ctx context.Context, meta *OutgoingMeta, name string) error
		SetChatTopic(ctx context.Context, meta *OutgoingMeta, topic string) error
	}
	// CurrentStater is a client that can tell its connection state at
	// any time. The core asks a client handed over with a completed
	// login (LoginStep.Client) once it runs it: a state change the
	// network made before (reported while the core did not know the
	// login yet, or held back) would be lost otherwise. CurrentState
	// must return at once and must not call into the Host.
	CurrentStater interface {
		CurrentState() State
	}
	TypingSender interface {
		SendTyping(ctx context.Context, portal PortalKey, typing bool) error
	}
	ReceiptSender interface {
		SendReceipt(ctx context.Context, portal PortalKey, upTo MessageID) error
	}
)

// GhostNamer is an optional Connector capability: a network that pins its
// own ghost localpart encoding (after the "<network>_" prefix) implements
// it. Without it the core uses id.EncodeUserLocalpart, which is reversible.
type GhostNamer interface {
	GhostLocalpart(user UserID) string
	ParseGhostLocalpart(localpart string) (UserID, bool)
}

// LoginForgetter is an optional Connector capability: the core calls
// ForgetLogin when its user logs out of a stored login that never
// started (LoadLogin failed), so no client can log it out. The network
// drops what it keeps of the login outside any client (keys, memory of
// it); the core deletes the stored login whatever ForgetLogin returns.
// remoteLeft, if not "", is Markdown telling the user what is still
// linked on the network's side and how to undo it there (a device on a
// phone), as no logout reached the network.
type LoginForgetter interface {
	ForgetLogin(ctx context.Context, login *Login) (remoteLeft string, err error)
}

// AliasResolver is an optional Connector capability: a network whose chats
// can be joined by room alias (#<network>_<rest>:<domain>) maps rest to a
// portal. It must not do I/O: the homeserver asks on behalf of anyone who
// types an alias. Name is the room's name until the network says more;
// rest is not case-folded by the core.
type AliasResolver interface {
	ResolveAlias(rest string) (key PortalKey, name string, ok bool)
	// AliasFor is the inverse, for chats that have an alias ("" if not).
	AliasFor(key PortalKey) string
}

// Host is the only way a network reaches the core. Each network gets its
// own Host, bound to its NetworkID.
type Host interface {
	// QueueEvent hands a remote event to its portal's ordered queue and
	// returns at once. The core stores it until it is bridged, so that a
	// stop or restart does not lose it; an event that finds its portal
	// idle is stored only if it is not bridged within a few dozen
	// milliseconds, so a crash (not a stop) right after it arrived can
	// lose it. A network that acknowledges events upstream and would have
	// them redelivered uses HandleEvent.
	QueueEvent(login LoginID, evt Event)
	// HandleEvent waits until the portal has bridged evt (or failed), for
	// networks that acknowledge upstream only afterwards. When ctx ends
	// first, HandleEvent returns an error wrapping ErrStillQueued: the
	// event stays queued and may still be bridged; a redelivery of it later
	// is recognised by its message ID and not bridged twice. If the core
	// then loses it (the homeserver stays unreachable and the event cannot
	// be kept), it reports that in the room once the homeserver is back,
	// unless a later hand-over of the same event bridges it.
	HandleEvent(ctx context.Context, login LoginID, evt Event) error
	// ReportState records a login's connection state; the core shows it in
	// `status` and tells the user (debounced) when it needs attention.
	ReportState(login LoginID, st State)
	// UpdateGhost refreshes a remote person's ghost (name, avatar) when the
	// network learns of a change outside any chat.
	UpdateGhost(ctx context.Context, user UserID, info *UserInfo) error
	// NotifyUser sends a notice (Markdown) to the management room of the
	// login's Matrix user, for news that belongs to no chat: a nick the
	// server refused later, a chat kind the network cannot bridge.
	NotifyUser(ctx context.Context, login LoginID, markdown string)
	// UploadMedia stores a file on the homeserver as the bridge bot, e.g.
	// the full text of a message too long for the network (a paste).
	UploadMedia(ctx context.Context, data []byte, mimeType, fileName string) (id.ContentURIString, error)
	// PublicMediaURL is a link people outside Matrix can follow to a file
	// of a bridged Matrix event (room, event): signed, expiring, and dead
	// once the event is redacted. ok is false when the bridge has no public
	// address configured; then no link can be made.
	PublicMediaURL(mxc id.ContentURIString, room id.RoomID, event id.EventID, fileName string) (url string, ok bool)
	// GhostMXID is the Matrix user ID of a remote person's ghost, for
	// mentions (pills) in converted messages. It creates nothing.
	GhostMXID(user UserID) id.UserID
	// SaveLogin stores changed login metadata or remote name.
	SaveLogin(ctx context.Context, login *Login) error
	// RekeyPortal moves the portal of from to the key to, when the network
	// learns a better ID for a chat (WhatsApp: a person's phone number for
	// the LID a DM room was keyed by). The room keeps everything: its
	// messages, reactions and users follow the new key; events queued for
	// from afterwards wait behind the move. Without a room at from it does
	// nothing (moved is false); when to has a room already the error wraps
	// ErrPortalExists and both stay as they are. After a move the network
	// moves its own records.
	RekeyPortal(ctx context.Context, from, to PortalKey) (moved bool, err error)
	// Database is the bridge's database, for stores a library owns.
	Database() *dbutil.Database
	// Log is a logger with the network's name as a field.
	Log() *zerolog.Logger
}
