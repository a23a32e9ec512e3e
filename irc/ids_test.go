package irc

import (
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

func testConnector(t *testing.T) *Connector {
	t.Helper()
	c := New()
	var node yaml.Node
	if err := yaml.Unmarshal([]byte("networks:\n  libera:\n    address: irc.example.org:6697\n    tls: true\n"), &node); err != nil {
		t.Fatal(err)
	}
	if err := c.Init(nil, node.Content[0]); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestIDs pins the stored ID encodings. These strings are permanent: a
// failure here means stored IDs would no longer match.
func TestIDs(t *testing.T) {
	rfc := ircconn.CaseMappingRFC1459
	if got := makeLoginID("libera", "@alice:example.org"); got != "libera/@alice:example.org" {
		t.Errorf("login ID %q", got)
	}
	for _, tc := range []struct{ got, want string }{
		{string(channelChatID("libera", rfc, "#Ferry[1]")), "libera/#ferry{1}"},
		{string(channelChatID("libera", ircconn.CaseMappingASCII, "#Ferry[1]")), "libera/#ferry[1]"},
		{string(pmChatID("libera", rfc, "Bob", 0)), "libera/bob"},
		{string(pmChatID("libera", rfc, "Bob[m]", 2)), "libera/bob{m}/2"},
		{string(makeUserID("libera", rfc, "Bob\\x")), "libera/bob|x"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	c := testConnector(t)
	ghosts := []struct {
		user  network.UserID
		local string
	}{
		{"libera/bob", "libera_bob"},
		{"libera/{foo}|bar", "libera_=7bfoo=7d=7cbar"},
		{"libera/a_b", "libera_a=5fb"},
		{"libera/x=y", "libera_x=3dy"},
		{"libera/^`", "libera_=5e=60"},
		{"libera/b.o-b/", "libera_b.o-b/"},
		{"libera/Bob", "libera_=42ob"},
		{"my-net2/é", "my-net2_=c3=a9"},
	}
	for _, g := range ghosts {
		if got := c.GhostLocalpart(g.user); got != g.local {
			t.Errorf("GhostLocalpart(%q) = %q, want %q", g.user, got, g.local)
		}
		if back, ok := c.ParseGhostLocalpart(g.local); !ok || back != g.user {
			t.Errorf("ParseGhostLocalpart(%q) = %q %v, want %q", g.local, back, ok, g.user)
		}
	}
	for _, bad := range []string{"libera", "libera_", "Libera_bob", "libera_=7Bx", "libera_=61", "libera_a=5", "libera_=zz", "libera_A", "lib_era_x"} {
		if u, ok := c.ParseGhostLocalpart(bad); ok {
			t.Errorf("ParseGhostLocalpart(%q) = %q, want refusal", bad, u)
		}
	}
	// Aliases: mixed case resolves to one portal.
	key, name, ok := c.ResolveAlias("libera_#Ferry")
	if !ok || key != (network.PortalKey{Network: "irc", Chat: "libera/#ferry"}) || name != "#Ferry" {
		t.Errorf("ResolveAlias = %+v %q %v", key, name, ok)
	}
	if key2, _, _ := c.ResolveAlias("libera_#FERRY"); key2 != key {
		t.Errorf("mixed case alias gave %+v", key2)
	}
	if got := c.AliasFor(key); got != "libera_#ferry" {
		t.Errorf("AliasFor = %q", got)
	}
	for _, bad := range []string{"nope_#x", "libera_ferry", "libera_#a b", "libera_#a,b", "libera_#a:b", "libera", "libera_"} {
		if _, _, ok := c.ResolveAlias(bad); ok {
			t.Errorf("ResolveAlias(%q) accepted", bad)
		}
	}
	if got := c.AliasFor(network.PortalKey{Network: "irc", Chat: "libera/bob", Receiver: "libera/@a:b"}); got != "" {
		t.Errorf("a PM has alias %q", got)
	}
	if n, nick, gen, ok := parsePMChatID("libera/bob{m}/2"); !ok || n != "libera" || nick != "bob{m}" || gen != 2 {
		t.Errorf("parsePMChatID: %q %q %d %v", n, nick, gen, ok)
	}
	for _, bad := range []network.ChatID{"libera/bob/0", "libera/bob/02", "libera/bob/x", "libera/", "libera"} {
		if _, _, _, ok := parsePMChatID(bad); ok {
			t.Errorf("parsePMChatID(%q) accepted", bad)
		}
	}
}

func TestEscapeRoundTrip(t *testing.T) {
	for b := 0; b < 256; b++ {
		s := "x" + string([]byte{byte(b)}) + "y"
		back, ok := unescapeNick(escapeNick(s))
		if !ok || back != s {
			t.Fatalf("byte %#x does not round-trip: %q", b, escapeNick(s))
		}
	}
}

// TestMessageIDStable: two connections that see one message mint one ID.
func TestMessageIDStable(t *testing.T) {
	rfc := ircconn.CaseMappingRFC1459
	st := time.Date(2026, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
	a := messageID("libera", rfc, "#Ferry", "Bob", "hi", "", st, true, time.Now())
	b := messageID("libera", rfc, "#ferry", "bob", "hi", "", st.Add(300*time.Millisecond), true, time.Now().Add(time.Second))
	if a != b {
		t.Errorf("same message, two IDs: %q %q", a, b)
	}
	if a != "h:3ekLQIgetqtDcwe-DZpgGiFh" {
		t.Errorf("hash ID changed: %q", a)
	}
	if c := messageID("libera", rfc, "#ferry", "bob", "hi!", "", st, true, time.Now()); c == a {
		t.Errorf("different text, same ID")
	}
	recv := time.Date(2026, 1, 2, 3, 4, 6, 100_000_000, time.UTC)
	if messageID("libera", rfc, "#f", "bob", "hi", "", time.Time{}, false, recv) != messageID("libera", rfc, "#f", "bob", "hi", "", time.Time{}, false, recv.Add(time.Second)) {
		t.Errorf("receive-time bucket not shared within the window")
	}
	if got := messageID("libera", rfc, "#f", "bob", "hi", "abc-123", st, true, recv); got != "id:abc-123" {
		t.Errorf("msgid ID %q", got)
	}
}
