package network

import (
	"context"

	"maunium.net/go/mautrix/id"
)

// Level is what a Matrix user may do with the bridge. Levels are ordered.
type Level int

const (
	LevelNone Level = iota
	// LevelRelay: may be relayed in rooms that enable relaying.
	LevelRelay
	// LevelUser: may log in to networks.
	LevelUser
	// LevelAdmin: bridge administration.
	LevelAdmin
)

func (l Level) String() string {
	switch l {
	case LevelRelay:
		return "relay"
	case LevelUser:
		return "user"
	case LevelAdmin:
		return "admin"
	default:
		return "none"
	}
}

// Command is a management-bot command a network contributes, such as
// "irc join". The core matches Name word by word, checks Level, and calls
// Handler as the sending user.
type Command struct {
	// Name is one or more words, e.g. "irc join".
	Name string
	// Args is the syntax for help, e.g. "<network> <#channel> [key]".
	Args        string
	Description string
	Level       Level
	// Sensitive commands carry secrets (passwords): the core redacts the
	// command message once the handler has run.
	Sensitive bool
	Handler   func(ctx context.Context, cmd *CommandEvent) error
}

// CommandEvent is one invocation. A handler answers with Reply; an error it
// returns is shown to the user (UserError text, or a generic message).
type CommandEvent struct {
	User  id.UserID
	Level Level
	// Args are the words after the command name; RawArgs the same text
	// unsplit (for commands whose last argument may contain spaces).
	Args    []string
	RawArgs string
	// Logins are the user's logins on this network.
	Logins []*Login
	// Client returns the running client of one of the user's logins.
	Client func(login LoginID) (Client, bool)
	// Reply sends a Markdown notice to the room the command came from.
	Reply func(markdown string)
}
