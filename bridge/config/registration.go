package config

import (
	"regexp"
	"slices"
	"strings"

	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// BotMXID is the bridge bot's user ID: @<appservice.bot.username>:<homeserver.domain>.
func (c *Config) BotMXID() id.UserID {
	return id.NewUserID(c.AppService.Bot.Username, c.Homeserver.Domain)
}

// NamespacePrefix is the localpart prefix of network n's ghosts and room
// aliases: "<n>_", as in @whatsapp_123:example.org and #irc_libera_#go:example.org.
func NamespacePrefix(n network.NetworkID) string {
	return string(n) + "_"
}

// GhostMXID is the user ID of a ghost of network n: @<n>_<suffix>:<domain>.
// The network chooses suffix and must keep it a valid localpart; it is not
// escaped here.
func (c *Config) GhostMXID(n network.NetworkID, suffix string) id.UserID {
	return id.NewUserID(NamespacePrefix(n)+suffix, c.Homeserver.Domain)
}

// ParseGhostMXID finds which of networks owns user and the suffix after the
// network's prefix; ok is false for users outside every ghost namespace.
func (c *Config) ParseGhostMXID(user id.UserID, networks []network.NetworkID) (n network.NetworkID, suffix string, ok bool) {
	localpart, server, err := user.Parse()
	if err != nil {
		return "", "", false
	}
	return c.parseNamespaced(localpart, server, networks)
}

// RoomAlias is a room alias in network n's namespace: #<n>_<suffix>:<domain>.
func (c *Config) RoomAlias(n network.NetworkID, suffix string) id.RoomAlias {
	return id.NewRoomAlias(NamespacePrefix(n)+suffix, c.Homeserver.Domain)
}

// ParseRoomAlias finds which of networks owns alias and the suffix after the
// network's prefix; ok is false for aliases outside every network namespace.
func (c *Config) ParseRoomAlias(alias id.RoomAlias, networks []network.NetworkID) (n network.NetworkID, suffix string, ok bool) {
	sigil, localpart, server := id.ParseCommonIdentifier(alias)
	if sigil != '#' {
		return "", "", false
	}
	return c.parseNamespaced(localpart, server, networks)
}

func (c *Config) parseNamespaced(localpart, server string, networks []network.NetworkID) (n network.NetworkID, suffix string, ok bool) {
	if server != c.Homeserver.Domain {
		return "", "", false
	}
	for _, candidate := range networks {
		// The longest prefix wins should one network's name extend another's.
		prefix := NamespacePrefix(candidate)
		if strings.HasPrefix(localpart, prefix) && (!ok || len(candidate) > len(n)) {
			n, suffix, ok = candidate, localpart[len(prefix):], true
		}
	}
	return n, suffix, ok
}

// Registration builds the appservice registration: the bot's user ID and
// each of ghostNetworks' ghosts as exclusive user namespaces, and each of
// aliasNetworks' aliases as exclusive alias namespaces, all anchored with
// the domain escaped.
func (c *Config) Registration(ghostNetworks, aliasNetworks []network.NetworkID) *appservice.Registration {
	domain := regexp.QuoteMeta(c.Homeserver.Domain)
	rateLimited := false
	reg := &appservice.Registration{
		ID:              c.AppService.ID,
		URL:             c.AppService.Address,
		AppToken:        c.AppService.ASToken,
		ServerToken:     c.AppService.HSToken,
		SenderLocalpart: c.AppService.Bot.Username,
		RateLimited:     &rateLimited,
		EphemeralEvents: true,
		// The unstable name of receive_ephemeral, for homeservers that
		// predate the stable one.
		SoruEphemeralEvents: true,
	}
	reg.Namespaces.UserIDs = append(reg.Namespaces.UserIDs, appservice.Namespace{
		Regex:     "^@" + regexp.QuoteMeta(c.AppService.Bot.Username) + ":" + domain + "$",
		Exclusive: true,
	})
	for _, n := range unique(ghostNetworks) {
		reg.Namespaces.UserIDs = append(reg.Namespaces.UserIDs, appservice.Namespace{
			Regex:     "^@" + regexp.QuoteMeta(NamespacePrefix(n)) + ".*:" + domain + "$",
			Exclusive: true,
		})
	}
	for _, n := range unique(aliasNetworks) {
		reg.Namespaces.RoomAliases = append(reg.Namespaces.RoomAliases, appservice.Namespace{
			Regex:     "^#" + regexp.QuoteMeta(NamespacePrefix(n)) + ".*:" + domain + "$",
			Exclusive: true,
		})
	}
	return reg
}

func unique(networks []network.NetworkID) []network.NetworkID {
	var out []network.NetworkID
	for _, n := range networks {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
