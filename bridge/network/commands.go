package network

import (
	"context"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"maunium.net/go/mautrix/id"
)

// Level is what a Matrix user may do with the bridge. Levels are ordered
// and each includes the ones below it, so checks read `level >= LevelUser`.
// The config's permissions section uses the names.
type Level int

const (
	// LevelNone: no access. Written as "none" to exclude one user of a
	// server that has a broader entry.
	LevelNone Level = iota
	// LevelRelay: may be relayed in rooms that enable relaying.
	LevelRelay
	// LevelUser: may log in to networks with their own accounts.
	LevelUser
	// LevelAdmin: bridge administration.
	LevelAdmin
)

var levelNames = [...]string{
	LevelNone:  "none",
	LevelRelay: "relay",
	LevelUser:  "user",
	LevelAdmin: "admin",
}

// Valid reports whether l is one of the defined levels.
func (l Level) Valid() bool { return l >= LevelNone && l <= LevelAdmin }

func (l Level) String() string {
	if !l.Valid() {
		return fmt.Sprintf("Level(%d)", int(l))
	}
	return levelNames[l]
}

// ParseLevel parses a level name: "none", "relay", "user" or "admin"
// (case-insensitive).
func ParseLevel(s string) (Level, error) {
	for l, name := range levelNames {
		if strings.EqualFold(strings.TrimSpace(s), name) {
			return Level(l), nil
		}
	}
	return LevelNone, fmt.Errorf("unknown permission level %q (known: %s)", s, strings.Join(levelNames[:], ", "))
}

func (l Level) MarshalText() ([]byte, error) {
	if !l.Valid() {
		return nil, fmt.Errorf("invalid permission level %d", int(l))
	}
	return []byte(l.String()), nil
}

func (l *Level) UnmarshalText(text []byte) error {
	parsed, err := ParseLevel(string(text))
	if err != nil {
		return err
	}
	*l = parsed
	return nil
}

// UnmarshalYAML accepts only a scalar level name (a number is not a level).
func (l *Level) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a permission level (%s)", strings.Join(levelNames[:], ", "))
	}
	return l.UnmarshalText([]byte(node.Value))
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
