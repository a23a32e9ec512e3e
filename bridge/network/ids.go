// Package network is the contract between Ferry's core and the networks it
// bridges. It is a leaf package: network implementations (whatsapp, irc)
// import only this package from Ferry, and the core talks to them only
// through the interfaces declared here.
//
// IDs are opaque strings minted and parsed by the network that owns them.
// The core stores and compares them but never looks inside, so a network
// may pick whatever stable encoding suits it — but once IDs are stored they
// are permanent, so a network must pin its encoding and test it.
package network

import "fmt"

type (
	// NetworkID names a network kind, e.g. "whatsapp" or "irc". It is also
	// the prefix of the network's ghost user IDs (@<network>_...).
	NetworkID string
	// LoginID names one logged-in remote account, unique within a network.
	LoginID string
	// ChatID names a remote chat (a DM, a group, a channel) within a network.
	ChatID string
	// UserID names a remote person within a network.
	UserID string
	// MessageID names a remote message within a chat.
	MessageID string
	// PartID distinguishes the Matrix events one remote message became
	// (a caption and an image, say). The first part is "".
	PartID string
	// EmojiID names a reaction key as the network sees it. Networks that
	// allow one reaction per user per message use "" for all of them.
	EmojiID string
)

// PortalKey names one remote chat as a Matrix room. Receiver is set for
// chats that exist per logged-in account (DMs, WhatsApp chats) and empty for
// chats that all Ferry users share (IRC channels).
type PortalKey struct {
	Network  NetworkID
	Chat     ChatID
	Receiver LoginID
}

func (pk PortalKey) String() string {
	if pk.Receiver == "" {
		return fmt.Sprintf("%s/%s", pk.Network, pk.Chat)
	}
	return fmt.Sprintf("%s/%s/%s", pk.Network, pk.Chat, pk.Receiver)
}

// GhostKey names one remote person across Ferry.
type GhostKey struct {
	Network NetworkID
	User    UserID
}

func (gk GhostKey) String() string {
	return fmt.Sprintf("%s/%s", gk.Network, gk.User)
}
