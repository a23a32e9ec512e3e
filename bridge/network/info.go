package network

import "context"

// ChatInfo describes a remote chat. Nil pointer fields mean "unknown or
// unchanged": the core leaves the room's current value alone.
type ChatInfo struct {
	Name   *string
	Topic  *string
	Avatar *Avatar
	// IsDirect marks a one-to-one chat with OtherUser.
	IsDirect  bool
	OtherUser UserID
	Members   *MemberList
	// InviteOnly makes the Matrix room invite-only.
	InviteOnly *bool
}

type MemberList struct {
	Members []Member
	// IsFull means Members is everyone: others in the room leave.
	IsFull bool
	// Lazy: the members' ghosts join only when they first act in the
	// chat (send a message), not from the list; the list still sets power
	// levels and, when full, says which ghosts in the room stay. For
	// chats too large to mirror member by member.
	Lazy bool
}

type Member struct {
	User UserID
	// IsMe marks the login's own account.
	IsMe bool
	// PowerLevel in Matrix terms (0, 50, 100), nil when unknown.
	PowerLevel *int
}

// Avatar is a remote picture. ID identifies the picture's version: the core
// downloads and uploads it only when ID changes. Remove means the remote
// side removed the picture (not merely "unknown").
type Avatar struct {
	ID     string
	Remove bool
	Get    func(ctx context.Context) ([]byte, error) `json:"-"`
}

// UserInfo describes a remote person. Nil fields mean unknown.
type UserInfo struct {
	Name   *string
	Avatar *Avatar
	IsBot  bool
}
