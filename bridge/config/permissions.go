package config

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
	"maunium.net/go/mautrix/id"
)

// Level is what a Matrix user may do with the bridge. Levels are ordered, and
// each includes the ones below it, so checks are written as `level >= LevelUser`.
type Level int

const (
	// LevelNone: no access. Written as "none" to exclude one user of a
	// server that has a broader entry.
	LevelNone Level = iota
	// LevelRelay: the user's messages may be relayed by the bot in rooms
	// that enable relaying.
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

func (l Level) valid() bool { return l >= LevelNone && l <= LevelAdmin }

func (l Level) String() string {
	if !l.valid() {
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
	if !l.valid() {
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

// Permissions maps a full user ID ("@alice:example.org"), a server name
// ("example.org") or "*" to a level.
type Permissions map[string]Level

// For returns the most specific entry for user: the user ID over its server
// name over "*"; LevelNone if nothing matches.
func (p Permissions) For(user id.UserID) Level {
	// Only a well-formed user ID may match the specific keys, so that a
	// string such as "example.org" cannot pass for a user.
	if _, server, err := user.Parse(); err == nil {
		if l, ok := p[string(user)]; ok {
			return l
		}
		if l, ok := p[server]; ok {
			return l
		}
	}
	if l, ok := p["*"]; ok {
		return l
	}
	return LevelNone
}

// validate reports every key that is neither "*", a server name nor a user
// ID, and every value outside the known levels (possible only for
// permissions built in code: parsing rejects unknown words).
func (p Permissions) validate(add func(path, format string, args ...any)) {
	for key, level := range p {
		path := keyPath("permissions", key)
		switch {
		case key == "*":
		case strings.HasPrefix(key, "@"):
			if _, _, err := id.UserID(key).ParseAndValidateRelaxed(); err != nil {
				add(path, "not a valid user ID")
			}
		case !id.ValidateServerName(key):
			add(path, `must be "*", a server name (example.org) or a user ID (@alice:example.org)`)
		}
		if !level.valid() {
			add(path, "unknown permission level %d", int(level))
		}
	}
}
