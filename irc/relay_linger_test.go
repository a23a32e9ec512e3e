package irc

import (
	"testing"
	"time"

	"gopkg.in/irc.v4"
)

// TestRelayBotsLingeringNickAndUserHost: the nick of the relay bot whose
// connection ended counts as Ferry's for lines from the user@host that
// connection had, and when either side's is unknown; a line from another
// user@host is someone else's, as for a login's lingering nick.
func TestRelayBotsLingeringNickAndUserHost(t *testing.T) {
	c := New()
	t.Cleanup(c.cancel)
	until := time.Now().Add(time.Minute)
	b := &relayBot{c: c, netName: "test", nick: "ferry-relay", lingering: map[string]lingeringNick{
		"ferry-relay": {userHost: "~ferry@Ferry-1A2B.example", until: until},
	}}
	c.relays["test"] = b
	for _, tc := range []struct {
		prefix string
		ferry  bool
	}{
		{"ferry-relay!~ferry@Ferry-1A2B.example", true},
		{"FERRY-RELAY!~ferry@ferry-1a2b.EXAMPLE", true},
		{"ferry-relay", true}, // no user@host on the line
		{"ferry-relay!ferry@Ferry-1A2B.example", false},
		{"ferry-relay!~newcomer@Ferry-1A2B.example", false},
		{"ferry-relay!~ferry@127.0.0.1", false},
		{"bob!~ferry@Ferry-1A2B.example", false},
	} {
		if got := c.isFerrySource("test", irc.ParsePrefix(tc.prefix)); got != tc.ferry {
			t.Errorf("isFerrySource(%s) = %v, want %v", tc.prefix, got, tc.ferry)
		}
	}
	b.lingering["ferry-relay"] = lingeringNick{until: until}
	if !c.isFerrySource("test", irc.ParsePrefix("ferry-relay!anyone@anywhere")) {
		t.Errorf("a lingering bot nick whose user@host was not known is not Ferry's for every line")
	}
}
