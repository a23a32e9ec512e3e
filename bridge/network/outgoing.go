package network

import (
	"context"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// OutgoingMeta is common to everything the core asks a network to send.
type OutgoingMeta struct {
	Portal PortalKey
	// Room and EventID are the Matrix room and event being bridged.
	Room    id.RoomID
	EventID id.EventID
	// Sender is the Matrix user who sent it.
	Sender id.UserID
	// Relay is set when the message goes out through another login because
	// the sender has none (relay mode); the network prefixes the name.
	Relay *RelaySender
	// Written, when set, is for networks that know when a message left
	// for the remote server: call it once, with the time the first line or
	// frame was written to the connection (not when it was queued). The
	// core measures its own share of the latency with it. It is quick and
	// safe to call from any goroutine; not calling it is fine.
	Written func(at time.Time)
	// Placed, when set, lets the core start on the portal's next message
	// before this one's outcome is known: call it once the message holds
	// its place in the order in which it leaves (queued on the connection
	// behind the sender's earlier messages), while Send goes on to wait for
	// the server's confirmation. Quick and safe from any goroutine. A
	// network that does not call it has each Send finish before the next
	// one starts.
	Placed func()
}

type RelaySender struct {
	DisplayName string
}

// OutgoingMessage is a Matrix message for a remote chat.
type OutgoingMessage struct {
	OutgoingMeta
	Content *event.MessageEventContent
	// Media fetches the attached file from the homeserver (nil for text).
	Media func(ctx context.Context) (*Media, error)
	// ReplyTo is the remote message being answered, if the Matrix event
	// replied to a bridged message.
	ReplyTo *ReplyTarget
}

type ReplyTarget struct {
	MessageRef
	Sender UserID
	// Text is the plain text of the replied-to message as bridged, for
	// networks that quote.
	Text string
}

// SendResult is the remote identity of a sent message. ID must be unique
// within the chat; networks without remote IDs mint their own.
type SendResult struct {
	ID        MessageID
	Timestamp time.Time
}

// TargetInfo is what the core knows of the message an outgoing action
// refers to: who sent it and when (networks such as WhatsApp address a
// message by sender as well as ID).
type TargetInfo struct {
	Sender    UserID
	FromMe    bool
	Timestamp time.Time
}

type OutgoingEdit struct {
	OutgoingMeta
	Target     MessageRef
	TargetInfo TargetInfo
	// Content is the new content (m.new_content).
	Content *event.MessageEventContent
	// OldText is the previous plain text, for networks that send a short
	// correction instead of the whole message.
	OldText string
}

type OutgoingReaction struct {
	OutgoingMeta
	Target     MessageRef
	TargetInfo TargetInfo
	Key        string
}

type OutgoingUnreaction struct {
	OutgoingMeta
	Target     MessageRef
	TargetInfo TargetInfo
	Emoji      EmojiID
}

type OutgoingRedaction struct {
	OutgoingMeta
	Target     MessageID
	TargetInfo TargetInfo
}
