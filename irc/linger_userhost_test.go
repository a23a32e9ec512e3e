package irc

import (
	"testing"

	"gopkg.in/irc.v4"
)

// TestLingeringNickAndUserHost: a nick alice's ended login let go counts
// as Ferry's for lines from the user@host it had (host in any case), and
// when either side's user@host is unknown; a line from another user@host
// (another ident, "~" prefix or not, another host or cloak) is someone
// else's.
func TestLingeringNickAndUserHost(t *testing.T) {
	c := New()
	t.Cleanup(c.cancel)
	c.lingerNick("test", "test/@alice:ex.org", "alice", nil) // user@host unknown
	c.lock.Lock()
	l := c.lingering["test"]["alice"]
	l.userHost = "alice@Ferry-1A2B.example"
	c.lingering["test"]["alice"] = l
	c.lock.Unlock()
	for _, tc := range []struct {
		prefix string
		ferry  bool
	}{
		{"alice!alice@Ferry-1A2B.example", true},
		{"ALICE!alice@ferry-1a2b.EXAMPLE", true},
		{"alice", true}, // no user@host on the line
		{"alice!~alice@Ferry-1A2B.example", false},
		{"alice!newcomer@Ferry-1A2B.example", false},
		{"alice!alice@127.0.0.1", false},
		{"bob!alice@Ferry-1A2B.example", false},
	} {
		if got := c.isFerrySource("test", irc.ParsePrefix(tc.prefix)); got != tc.ferry {
			t.Errorf("isFerrySource(%s) = %v, want %v", tc.prefix, got, tc.ferry)
		}
	}
	c.lingerNick("test", "test/@carol:ex.org", "carol", nil)
	if !c.isFerrySource("test", irc.ParsePrefix("carol!anyone@anywhere")) {
		t.Errorf("a lingering nick whose user@host was not known is not Ferry's for every line")
	}
}
