package whatsapp

import (
	"testing"

	"go.mau.fi/whatsmeow/types"

	"github.com/ferrybridge/ferry/bridge/network"
)

// These encodings are stored in databases and Matrix user IDs: changing a
// row of these tables breaks existing bridges.

func TestUserIDEncodingIsPinned(t *testing.T) {
	conn := New()
	cases := []struct {
		jid       types.JID
		user      network.UserID
		localpart string
	}{
		{types.NewJID("4915112345678", types.DefaultUserServer), "4915112345678", "4915112345678"},
		{types.JID{User: "4915112345678", Server: types.DefaultUserServer, Device: 7}, "4915112345678", "4915112345678"},
		{types.NewJID("123456789012345", types.HiddenUserServer), "lid-123456789012345", "lid-123456789012345"},
		{types.NewJID("867051314767696", types.BotServer), "bot-867051314767696", "bot-867051314767696"},
		{types.NewJID("12345", types.HostedLIDServer), "hosted.lid-12345", "hosted.lid-12345"},
	}
	for _, tc := range cases {
		if got := userIDOf(tc.jid); got != tc.user {
			t.Errorf("userIDOf(%s) = %q, want %q", tc.jid, got, tc.user)
		}
		back, ok := parseUserID(tc.user)
		if !ok || back != tc.jid.ToNonAD() {
			t.Errorf("parseUserID(%q) = %s, %v; want %s", tc.user, back, ok, tc.jid.ToNonAD())
		}
		if got := conn.GhostLocalpart(tc.user); got != tc.localpart {
			t.Errorf("GhostLocalpart(%q) = %q, want %q", tc.user, got, tc.localpart)
		}
		if user, ok := conn.ParseGhostLocalpart(tc.localpart); !ok || user != tc.user {
			t.Errorf("ParseGhostLocalpart(%q) = %q, %v; want %q", tc.localpart, user, ok, tc.user)
		}
	}
}

func TestUserIDRejectsWhatItNeverMints(t *testing.T) {
	conn := New()
	for _, bad := range []string{"", "lid-", "-123", "abc", "+4915112345678", "s.whatsapp.net-123",
		"g.us-123", "LID-123", "123a", "lid-12a", "lid_123", "4915112345678@s.whatsapp.net"} {
		if jid, ok := parseUserID(network.UserID(bad)); ok {
			t.Errorf("parseUserID(%q) accepted it as %s", bad, jid)
		}
		if user, ok := conn.ParseGhostLocalpart(bad); ok {
			t.Errorf("ParseGhostLocalpart(%q) accepted it as %q", bad, user)
		}
	}
	// Never minted, but still mapped reversibly away from valid IDs.
	if got := conn.GhostLocalpart("Odd_ID"); got == "Odd_ID" {
		t.Errorf("GhostLocalpart passed an invalid user ID through: %q", got)
	}
}

func TestChatIDsAndPortalKeysArePinned(t *testing.T) {
	cases := []struct {
		jid  types.JID
		chat network.ChatID
	}{
		{types.NewJID("4915112345678", types.DefaultUserServer), "4915112345678@s.whatsapp.net"},
		{types.JID{User: "4915112345678", Server: types.DefaultUserServer, Device: 3}, "4915112345678@s.whatsapp.net"},
		{types.NewJID("123456789012345", types.HiddenUserServer), "123456789012345@lid"},
		{types.NewJID("120363000000000001", types.GroupServer), "120363000000000001@g.us"},
		{types.NewJID("4915112345678-1600000000", types.GroupServer), "4915112345678-1600000000@g.us"},
	}
	for _, tc := range cases {
		if got := chatIDOf(tc.jid); got != tc.chat {
			t.Errorf("chatIDOf(%s) = %q, want %q", tc.jid, got, tc.chat)
		}
		back, err := parseChatID(tc.chat)
		if err != nil || back != tc.jid.ToNonAD() {
			t.Errorf("parseChatID(%q) = %s, %v", tc.chat, back, err)
		}
	}
	for _, bad := range []network.ChatID{"", "abc", "4915112345678:3@s.whatsapp.net", "x@g.us", "12@S.WHATSAPP.NET", "@lid"} {
		if jid, err := parseChatID(bad); err == nil {
			t.Errorf("parseChatID(%q) accepted it as %s", bad, jid)
		}
	}
	if got, want := groupPortal(group), (network.PortalKey{Network: "whatsapp", Chat: "120363000000000001@g.us"}); got != want {
		t.Errorf("groupPortal = %+v, want %+v", got, want)
	}
	if got, want := privatePortal(bobPN, ownLogin), (network.PortalKey{Network: "whatsapp", Chat: "4915100000002@s.whatsapp.net", Receiver: "4915100000001"}); got != want {
		t.Errorf("privatePortal = %+v, want %+v", got, want)
	}
	if got := loginIDOf(ownDev); got != "4915100000001" {
		t.Errorf("loginIDOf(%s) = %q", ownDev, got)
	}
}

func TestNormalisePhone(t *testing.T) {
	cases := map[string]string{
		"+4915112345678":      "4915112345678",
		" +49 151 1234-5678 ": "4915112345678",
		"+1 (555) 010.0000":   "15550100000",
		"4915112345678":       "",
		"+0151123456":         "",
		"+123":                "",
		"+49151abc":           "",
		"+1234567890123456":   "",
		"":                    "",
	}
	for in, want := range cases {
		got, ok := normalisePhone(in)
		if got != want || ok != (want != "") {
			t.Errorf("normalisePhone(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
