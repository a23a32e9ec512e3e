package irc

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

// The IDs below are stored by the core and are therefore permanent. They
// are pinned by TestIDs; never change an encoding, only add new ones.
//
//	LoginID        <network>/<matrix user id>          libera/@alice:example.org
//	channel ChatID <network>/<casefolded channel>      libera/#ferry   (Receiver "")
//	PM ChatID      <network>/<casefolded nick>         libera/bob      (Receiver = login)
//	               <network>/<casefolded nick>/<gen>   libera/bob/2    (nick reused by someone else)
//	UserID         <network>/<casefolded nick>         libera/bob
//	ghost          <network>_<escaped nick>            @irc_libera_bob:example.org
//	alias          <network>_<casefolded channel>      #irc_libera_#ferry:example.org
//	MessageID      id:<msgid tag> | h:<hash> | f:<ferry-made unique id>
//
// Network names are [a-z0-9-]+, so the first '/' or '_' always ends them.
// Nicks cannot contain '/', so a PM ChatID's generation suffix is
// unambiguous.

// NetworkID is the permanent ID of the IRC network kind.
const NetworkID network.NetworkID = "irc"

func makeLoginID(netName string, user id.UserID) network.LoginID {
	return network.LoginID(netName + "/" + string(user))
}

// splitNet splits "<network>/<rest>".
func splitNet(s string) (netName, rest string, ok bool) {
	netName, rest, ok = strings.Cut(s, "/")
	if !ok || netName == "" || rest == "" || !networkNameRE.MatchString(netName) {
		return "", "", false
	}
	return netName, rest, true
}

func loginNetwork(login network.LoginID) string {
	netName, _, _ := splitNet(string(login))
	return netName
}

func makeUserID(netName string, cm ircconn.CaseMapping, nick string) network.UserID {
	return network.UserID(netName + "/" + ircconn.Casefold(cm, nick))
}

// parseUserID returns the network and the casefolded nick.
func parseUserID(u network.UserID) (netName, nick string, ok bool) {
	return splitNet(string(u))
}

func channelChatID(netName string, cm ircconn.CaseMapping, channel string) network.ChatID {
	return network.ChatID(netName + "/" + ircconn.Casefold(cm, channel))
}

// pmChatID is the DM chat of a login with a nick; gen 0 has no suffix.
func pmChatID(netName string, cm ircconn.CaseMapping, nick string, gen int) network.ChatID {
	chat := netName + "/" + ircconn.Casefold(cm, nick)
	if gen > 0 {
		chat += "/" + strconv.Itoa(gen)
	}
	return network.ChatID(chat)
}

// parsePMChatID returns the casefolded nick and generation of a PM chat.
func parsePMChatID(chat network.ChatID) (netName, nick string, gen int, ok bool) {
	netName, rest, ok := splitNet(string(chat))
	if !ok {
		return "", "", 0, false
	}
	nick, genStr, hasGen := strings.Cut(rest, "/")
	if hasGen {
		n, err := strconv.Atoi(genStr)
		if err != nil || n < 1 || strconv.Itoa(n) != genStr {
			return "", "", 0, false
		}
		gen = n
	}
	if nick == "" {
		return "", "", 0, false
	}
	return netName, nick, gen, true
}

// escapeNick escapes every byte outside [a-z0-9./-] as =xx (lowercase hex),
// '_' and '=' included, so the result is a valid Matrix localpart and the
// encoding is reversible.
func escapeNick(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '/' || c == '-' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "=%02x", c)
		}
	}
	return b.String()
}

// unescapeNick reverses escapeNick; it refuses anything escapeNick would
// not have produced, so each ghost has exactly one user ID.
func unescapeNick(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '=' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil || strings.ToLower(s[i+1:i+3]) != s[i+1:i+3] {
			return "", false
		}
		b.WriteByte(byte(v))
		i += 2
	}
	out := b.String()
	if escapeNick(out) != s {
		return "", false
	}
	return out, true
}

// GhostLocalpart implements network.GhostNamer: <network>_<escaped nick>.
func (c *Connector) GhostLocalpart(user network.UserID) string {
	netName, nick, ok := parseUserID(user)
	if !ok {
		// Not an ID this network mints; still reversible.
		return "=" + escapeNick(string(user))
	}
	return netName + "_" + escapeNick(nick)
}

// ParseGhostLocalpart implements network.GhostNamer.
func (c *Connector) ParseGhostLocalpart(localpart string) (network.UserID, bool) {
	return parseGhostLocalpart(localpart)
}

func parseGhostLocalpart(localpart string) (network.UserID, bool) {
	netName, esc, ok := strings.Cut(localpart, "_")
	if !ok || esc == "" || !networkNameRE.MatchString(netName) {
		return "", false
	}
	nick, ok := unescapeNick(esc)
	if !ok || nick == "" {
		return "", false
	}
	return network.UserID(netName + "/" + nick), true
}

// ResolveAlias implements network.AliasResolver: <network>_<channel>.
func (c *Connector) ResolveAlias(rest string) (network.PortalKey, string, bool) {
	netName, channel, ok := strings.Cut(rest, "_")
	if !ok || c.cfg == nil || c.cfg.Networks[netName] == nil {
		return network.PortalKey{}, "", false
	}
	if !validAliasChannel(channel, c.chanTypes(netName)) {
		return network.PortalKey{}, "", false
	}
	key := network.PortalKey{Network: NetworkID, Chat: channelChatID(netName, c.caseMapping(netName), channel)}
	return key, channel, true
}

// AliasFor implements network.AliasResolver.
func (c *Connector) AliasFor(key network.PortalKey) string {
	if key.Receiver != "" || key.Network != NetworkID {
		return ""
	}
	netName, channel, ok := splitNet(string(key.Chat))
	if !ok || !validAliasChannel(channel, c.chanTypes(netName)) {
		return ""
	}
	return netName + "_" + channel
}

// validAliasChannel: a channel name that can sit in a room alias.
func validAliasChannel(channel, chanTypes string) bool {
	if channel == "" || len(channel) > 200 || !strings.ContainsRune(chanTypes, rune(channel[0])) {
		return false
	}
	for i := 0; i < len(channel); i++ {
		if c := channel[i]; c <= ' ' || c == ',' || c == ':' || c == 0x7f || c == 0x07 {
			return false
		}
	}
	return true
}

// messageWindow is the bucket that two Ferry connections' copies of one
// message without msgid fall into: the server-time rounded down to the
// second, or (without server-time) the receive time rounded down to 2 s,
// where the receive time is the first Ferry login's (repeatCounter
// .mintUntimed), so that copies read on either side of a bucket edge
// still get one ID.
const messageWindow = 2 * time.Second

// messageID is the same for every Ferry connection that sees one message.
func messageID(netName string, cm ircconn.CaseMapping, target, sourceNick, text, msgid string, serverTime time.Time, hasServerTime bool, received time.Time) network.MessageID {
	if msgid != "" {
		return network.MessageID("id:" + msgid)
	}
	var bucket int64
	if hasServerTime {
		bucket = serverTime.Unix()
	} else {
		bucket = received.Truncate(messageWindow).Unix()
	}
	h := sha256.New()
	for _, s := range []string{netName, ircconn.Casefold(cm, target), ircconn.Casefold(cm, sourceNick), text, strconv.FormatInt(bucket, 10), strconv.FormatBool(hasServerTime)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return network.MessageID("h:" + base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:18]))
}
