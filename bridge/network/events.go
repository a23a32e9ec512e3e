package network

import (
	"context"
	"io"
	"time"

	"maunium.net/go/mautrix/event"
)

// Event is a remote event handed to the core. The set is closed: only the
// types in this file implement it.
type Event interface {
	EventMeta() *Meta
	isEvent()
}

// Meta is common to every remote event.
type Meta struct {
	Portal PortalKey
	Sender Sender
	// Timestamp is the remote server's time of the event; the core sends
	// the Matrix event with it (appservice timestamp massaging).
	Timestamp time.Time
	// CreatePortal allows this event to create the portal room when it
	// does not exist yet. Messages set it; typing and receipts do not.
	CreatePortal bool
	// ReceivedAt is when the network read the event off its connection
	// (zero when unknown). It is Ferry's own clock, unlike Timestamp, and
	// only measures Ferry's share of the latency (metrics); it is stored
	// with the event so that time waiting in the queue counts too.
	ReceivedAt time.Time `json:",omitzero"`
}

func (m *Meta) EventMeta() *Meta { return m }
func (*Meta) isEvent()           {}

// Sender is who caused a remote event.
type Sender struct {
	User UserID
	// FromMe is true when the login's own remote account did it (from
	// another device, or through Ferry). Ferry's own sends are recognised
	// by message ID and not bridged again.
	FromMe bool
}

// Message is a new remote message.
type Message struct {
	Meta
	ID    MessageID
	Parts []Part
	// ReplyTo names the message this one answers, if any.
	ReplyTo *MessageRef
	// Placeholder marks a stand-in for a message the network cannot show
	// yet (a notice saying so). When a Message with the same ID arrives
	// later without the flag, the core replaces the stand-in with it (an
	// edit) instead of dropping it as already bridged.
	Placeholder bool
}

// Part is one Matrix event of a message. Content is already in Matrix
// shape (the network converts its formatting); Media, when set, is fetched
// on the portal's goroutine and uploaded as the sender's ghost, and its
// URL is filled into Content.
type Part struct {
	ID      PartID
	Content *event.MessageEventContent
	// Extra keys merged into the event content (network-specific fields).
	Extra map[string]any
	Media func(ctx context.Context) (*Media, error) `json:"-"`
}

// Media is a file crossing the bridge in either direction.
type Media struct {
	Data     io.ReadCloser
	MimeType string
	FileName string
	// Size is -1 when unknown.
	Size int64
}

// MessageRef points at a message (and optionally one part of it).
type MessageRef struct {
	ID   MessageID
	Part PartID
}

// Edit replaces the content of an earlier message's parts.
type Edit struct {
	Meta
	// ID is the network's own ID of the edit, where it gives edits one
	// (WhatsApp: the ID of the message carrying the edit); "" otherwise.
	// With it, the core tells another hand-over of an edit from a new
	// edit to the same text, and makes the replacement's send idempotent.
	ID     MessageID `json:",omitempty"`
	Target MessageID
	// Parts carry the new content; Part.ID names the part replaced. A part
	// with Media replaces the file too (a re-downloaded attachment);
	// without it, a media part's edit keeps the old file.
	Parts []Part
}

// Reaction adds a reaction to a message.
type Reaction struct {
	Meta
	Target MessageRef
	Emoji  EmojiID
	// Key is the reaction as Matrix shows it (an emoji or short text).
	Key string
}

// ReactionRemove removes a reaction the sender made earlier.
type ReactionRemove struct {
	Meta
	Target MessageRef
	Emoji  EmojiID
}

// Redaction deletes a message for everyone.
type Redaction struct {
	Meta
	Target MessageID
	// Part, when set, deletes only that part of Target, whose other parts
	// stay: one the network no longer shows (WhatsApp: the whole text of a
	// caption that an edit made short enough to stay with its file). A
	// part Target never had is no error.
	Part PartID `json:",omitempty"`
}

// ChatInfoChange updates the portal's name, topic, avatar or members.
type ChatInfoChange struct {
	Meta
	Info *ChatInfo
}

type MembershipAction string

const (
	MembershipJoin   MembershipAction = "join"
	MembershipLeave  MembershipAction = "leave"
	MembershipKick   MembershipAction = "kick"
	MembershipBan    MembershipAction = "ban"
	MembershipInvite MembershipAction = "invite"
)

// Membership is a change of who is in the chat. Sender did it to Target.
type Membership struct {
	Meta
	Target UserID
	// TargetIsMe marks the login's own account as the target: for a kick
	// or ban the core removes the login's Matrix user from a shared room.
	TargetIsMe bool
	Action     MembershipAction
	Reason     string
}

// Typing is a typing notification; Timeout 0 means stopped.
type Typing struct {
	Meta
	Timeout time.Duration
}

// Receipt says Sender has read up to Target.
type Receipt struct {
	Meta
	Target MessageID
}

// Backfill is history of a chat, oldest first, with original timestamps.
// When it creates the portal room, the core sends the history before it
// invites the user, so the history arrives without a notification storm;
// messages bridged before are skipped. A network queues a chat's backfill
// before its live messages, which then wait behind it in the portal's
// queue.
type Backfill struct {
	Meta
	Messages []*Message
}

// ChatResync asks the core to refresh the portal from Client.ChatInfo, or
// from Info when the network already has it.
type ChatResync struct {
	Meta
	Info *ChatInfo
}
