package config

import (
	"strings"

	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// Level is the permission level a config entry grants; it is the
// contract's type, so the core and the networks compare the same values.
type Level = network.Level

const (
	LevelNone  = network.LevelNone
	LevelRelay = network.LevelRelay
	LevelUser  = network.LevelUser
	LevelAdmin = network.LevelAdmin
)

// ParseLevel parses a level name ("none", "relay", "user", "admin").
func ParseLevel(s string) (Level, error) { return network.ParseLevel(s) }

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
		if !level.Valid() {
			add(path, "unknown permission level %d", int(level))
		}
	}
}
