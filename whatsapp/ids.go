package whatsapp

import (
	"fmt"
	"regexp"
	"strings"

	"go.mau.fi/whatsmeow/types"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// The WhatsApp ID encodings. They are stored in Ferry's database (logins,
// portals, ghosts, messages) and in Matrix user IDs, so they are pinned
// forever by ids_test.go:
//
//   - LoginID: the linked account's phone number, digits only
//     ("4915112345678").
//   - UserID: a phone-number user's digits ("4915112345678"); anyone else
//     "<server>-<user>": "lid-<digits>" for people known only by their
//     hidden LID, "bot-<digits>" for WhatsApp's bots. A LID is never turned
//     into a phone number where WhatsApp did not show the number in that
//     context (see Client.userFor).
//   - ChatID: the chat's JID without device: "<digits>@s.whatsapp.net" for
//     a DM (one per person and login, whether a message uses the person's
//     phone number or LID; "<digits>@lid" only while the phone number is
//     unknown), "<id>@g.us" for a group.
//   - PortalKey: DMs (and every other per-account chat) carry the login as
//     Receiver; groups do not, so all Ferry users in a group share a room.
//   - MessageID: WhatsApp's message ID, the same for every login that sees
//     the message (so the core bridges a group message once, and recognises
//     what Ferry sent by the ID Send returned).
//   - Ghost localpart (after "whatsapp_"): the UserID itself.

// NetworkID is the WhatsApp network's permanent ID.
const NetworkID network.NetworkID = "whatsapp"

var (
	digitsRe   = regexp.MustCompile(`^[0-9]+$`)
	serverRe   = regexp.MustCompile(`^[a-z][a-z.]*$`)
	groupIDRe  = regexp.MustCompile(`^[0-9]+(-[0-9]+)?$`)
	userServer = types.DefaultUserServer
)

// loginIDOf is the login of the account with the given JID.
func loginIDOf(jid types.JID) network.LoginID {
	return network.LoginID(jid.User)
}

// userIDOf encodes a WhatsApp user JID as it stands: no LID is resolved
// here (that is Client.userFor's decision).
func userIDOf(jid types.JID) network.UserID {
	jid = jid.ToNonAD()
	if jid.Server == userServer || jid.Server == types.LegacyUserServer {
		return network.UserID(jid.User)
	}
	return network.UserID(jid.Server + "-" + jid.User)
}

// parseUserID is the inverse of userIDOf.
func parseUserID(user network.UserID) (types.JID, bool) {
	s := string(user)
	if digitsRe.MatchString(s) {
		return types.NewJID(s, userServer), true
	}
	dash := strings.LastIndexByte(s, '-')
	if dash <= 0 {
		return types.JID{}, false
	}
	server, digits := s[:dash], s[dash+1:]
	if !serverRe.MatchString(server) || !digitsRe.MatchString(digits) ||
		server == userServer || server == types.LegacyUserServer || server == types.GroupServer {
		return types.JID{}, false
	}
	return types.NewJID(digits, server), true
}

// chatIDOf is the ChatID of a chat JID.
func chatIDOf(jid types.JID) network.ChatID {
	return network.ChatID(jid.ToNonAD().String())
}

// parseChatID is the inverse of chatIDOf.
func parseChatID(chat network.ChatID) (types.JID, error) {
	jid, err := types.ParseJID(string(chat))
	if err != nil {
		return types.JID{}, fmt.Errorf("bad WhatsApp chat ID %q: %w", chat, err)
	}
	switch {
	case jid.Server == types.GroupServer && groupIDRe.MatchString(jid.User):
	case jid == types.StatusBroadcastJID: // the status room (status_broadcasts)
	case jid.Server != types.GroupServer && serverRe.MatchString(jid.Server) && digitsRe.MatchString(jid.User):
	default:
		return types.JID{}, fmt.Errorf("bad WhatsApp chat ID %q", chat)
	}
	if jid.Device != 0 || jid.RawAgent != 0 {
		return types.JID{}, fmt.Errorf("bad WhatsApp chat ID %q: has a device", chat)
	}
	return jid, nil
}

// groupPortal is the shared portal of a group.
func groupPortal(group types.JID) network.PortalKey {
	return network.PortalKey{Network: NetworkID, Chat: chatIDOf(group)}
}

// privatePortal is the portal of a per-account chat (a DM) of login.
func privatePortal(chat types.JID, login network.LoginID) network.PortalKey {
	return network.PortalKey{Network: NetworkID, Chat: chatIDOf(chat), Receiver: login}
}

// GhostLocalpart is the ghost's localpart after "whatsapp_": the UserID
// itself, which is already valid in a Matrix user ID. Anything else (never
// minted by this network) is escaped so that the mapping stays reversible.
func (c *Connector) GhostLocalpart(user network.UserID) string {
	if _, ok := parseUserID(user); ok {
		return string(user)
	}
	return id.EncodeUserLocalpart(string(user))
}

// ParseGhostLocalpart accepts only what GhostLocalpart makes of a valid
// UserID, so a Matrix user who merely looks like a ghost is not one.
func (c *Connector) ParseGhostLocalpart(localpart string) (network.UserID, bool) {
	if _, ok := parseUserID(network.UserID(localpart)); ok {
		return network.UserID(localpart), true
	}
	return "", false
}

// normalisePhone reads a phone number typed by a person ("+49 151 1234-5678")
// into its digits. It needs the leading "+" so that nobody mistakes a
// national number for an international one.
func normalisePhone(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "+") {
		return "", false
	}
	var digits strings.Builder
	for _, r := range s[1:] {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.':
		default:
			return "", false
		}
	}
	d := digits.String()
	if len(d) < 7 || len(d) > 15 || d[0] == '0' {
		return "", false
	}
	return d, true
}
