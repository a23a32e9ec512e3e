package config

import (
	"regexp"
	"testing"

	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

func TestRegistration(t *testing.T) {
	cfg := validConfig(t)
	reg := cfg.Registration([]network.NetworkID{"whatsapp", "irc", "irc"}, []network.NetworkID{"irc"})
	if reg.ID != "ferry" || reg.URL != "http://127.0.0.1:29318" || reg.AppToken != "as-token" || reg.ServerToken != "hs-token" ||
		reg.SenderLocalpart != "ferry" || reg.RateLimited == nil || *reg.RateLimited || !reg.EphemeralEvents {
		t.Errorf("registration fields: %+v", reg)
	}
	wantUsers := []string{`^@ferry:example\.org$`, `^@whatsapp_.*:example\.org$`, `^@irc_.*:example\.org$`}
	checkNamespaces(t, "users", reg.Namespaces.UserIDs, wantUsers)
	checkNamespaces(t, "aliases", reg.Namespaces.RoomAliases, []string{`^#irc_.*:example\.org$`})
	if len(reg.Namespaces.RoomIDs) != 0 {
		t.Errorf("room namespaces: %v", reg.Namespaces.RoomIDs)
	}

	tests := []struct {
		id   string
		want bool
	}{
		{"@ferry:example.org", true},
		{"@whatsapp_123456:example.org", true},
		{"@irc_libera_alice:example.org", true},
		{"@ferryx:example.org", false},
		{"@xferry:example.org", false},
		{"@ferry:example.org.evil", false},
		{"@ferry:exampleXorg", false}, // the domain's dot is escaped
		{"@whatsapp_x:evil.org", false},
		{"@whatsapp_x:example.org.evil.org", false},
		{"@xirc_a:example.org", false},
		{"@irc:example.org", false},
		{"@alice:example.org", false},
	}
	for _, tt := range tests {
		if got := matchesAny(reg.Namespaces.UserIDs, tt.id); got != tt.want {
			t.Errorf("user namespaces match %s = %v, want %v", tt.id, got, tt.want)
		}
	}
	aliases := []struct {
		alias string
		want  bool
	}{
		{"#irc_libera_#go:example.org", true},
		{"#irc_libera_#go:evil.org", false},
		{"#whatsapp_x:example.org", false},
		{"#xirc_a:example.org", false},
	}
	for _, tt := range aliases {
		if got := matchesAny(reg.Namespaces.RoomAliases, tt.alias); got != tt.want {
			t.Errorf("alias namespaces match %s = %v, want %v", tt.alias, got, tt.want)
		}
	}
}

func TestRegistrationEscapesBotAndDomain(t *testing.T) {
	cfg := validConfig(t)
	cfg.Homeserver.Domain = "matrix.example.org:8448"
	cfg.AppService.Bot.Username = "ferry.bot"
	reg := cfg.Registration([]network.NetworkID{"irc"}, nil)
	checkNamespaces(t, "users", reg.Namespaces.UserIDs, []string{`^@ferry\.bot:matrix\.example\.org:8448$`, `^@irc_.*:matrix\.example\.org:8448$`})
	if matchesAny(reg.Namespaces.UserIDs, "@ferryxbot:matrix.example.org:8448") {
		t.Error("the dot in the bot's name is not escaped")
	}
	if reg.Namespaces.RoomAliases != nil {
		t.Errorf("no alias networks, got %v", reg.Namespaces.RoomAliases)
	}
}

func checkNamespaces(t *testing.T, what string, got appservice.NamespaceList, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s namespaces: got %v, want %v", what, got, want)
	}
	for i, ns := range got {
		if ns.Regex != want[i] || !ns.Exclusive {
			t.Errorf("%s namespace %d: got %+v, want exclusive %s", what, i, ns, want[i])
		}
	}
}

func matchesAny(namespaces appservice.NamespaceList, s string) bool {
	for _, ns := range namespaces {
		if regexp.MustCompile(ns.Regex).MatchString(s) {
			return true
		}
	}
	return false
}

func TestIDHelpers(t *testing.T) {
	cfg := validConfig(t)
	networks := []network.NetworkID{"whatsapp", "irc", "irc_x"}
	if got := cfg.BotMXID(); got != "@ferry:example.org" {
		t.Errorf("BotMXID = %s", got)
	}
	if got := cfg.GhostMXID("whatsapp", "4912345"); got != "@whatsapp_4912345:example.org" {
		t.Errorf("GhostMXID = %s", got)
	}
	if got := cfg.RoomAlias("irc", "libera_#go"); got != "#irc_libera_#go:example.org" {
		t.Errorf("RoomAlias = %s", got)
	}
	ghosts := []struct {
		user   id.UserID
		net    network.NetworkID
		suffix string
		ok     bool
	}{
		{"@whatsapp_4912345:example.org", "whatsapp", "4912345", true},
		{"@irc_libera_alice:example.org", "irc", "libera_alice", true},
		{"@irc_x_bob:example.org", "irc_x", "bob", true}, // longest prefix
		{"@whatsapp_4912345:evil.org", "", "", false},
		{"@ferry:example.org", "", "", false},
		{"#whatsapp_1:example.org", "", "", false},
		{"", "", "", false},
	}
	for _, tt := range ghosts {
		n, suffix, ok := cfg.ParseGhostMXID(tt.user, networks)
		if n != tt.net || suffix != tt.suffix || ok != tt.ok {
			t.Errorf("ParseGhostMXID(%s) = %q %q %v", tt.user, n, suffix, ok)
		}
	}
	if n, suffix, ok := cfg.ParseRoomAlias("#irc_libera_#go:example.org", networks); n != "irc" || suffix != "libera_#go" || !ok {
		t.Errorf("ParseRoomAlias = %q %q %v", n, suffix, ok)
	}
	if _, _, ok := cfg.ParseRoomAlias("@irc_libera:example.org", networks); ok {
		t.Error("a user ID parsed as an alias")
	}
}
