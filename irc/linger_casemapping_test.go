package irc

import (
	"testing"
	"time"

	"github.com/ferrybridge/ferry/irc/ircconn"
)

// TestCaseMappingChangeRefoldsLingeringNicks: a login's nick Alice[ and
// the relay bot's Relay[ linger (their connections ended) while the
// network folds rfc1459, as "alice{" and "relay{". Then a connection
// learns CASEMAPPING=ascii, under which they are "alice[" and "relay[":
// their late lines must still count as Ferry's, and alice{ and relay{,
// other nicks under ascii, must not.
func TestCaseMappingChangeRefoldsLingeringNicks(t *testing.T) {
	// A connection folding rfc1459, as the ended ones did.
	cl, _, conn := clientOn(t, scriptedServerISupport(t, "", "CHANTYPES=# CASEMAPPING=rfc1459", func(string, *scriptedPeer) {}))
	c := cl.c
	c.learnNetwork("test", ircconn.CaseMappingRFC1459, "#")
	c.lingerNick("test", "test/@carol:ex.org", "Alice[", conn)
	b := c.relayBotFor("test", &NetworkConfig{})
	b.lock.Lock()
	b.lingerLocked(conn, "Relay[")
	b.lock.Unlock()
	for _, nick := range []string{"Alice[", "Relay["} {
		if !c.isFerryNick("test", nick) {
			t.Fatalf("%s does not linger under rfc1459", nick)
		}
	}

	if !c.learnNetwork("test", ircconn.CaseMappingASCII, "#") {
		t.Fatal("the change to ascii was not seen")
	}
	for nick, want := range map[string]bool{"Alice[": true, "Relay[": true, "alice{": false, "relay{": false} {
		if got := c.isFerryNick("test", nick); got != want {
			t.Errorf("isFerryNick(%s) under ascii = %v, want %v", nick, got, want)
		}
	}
	// Still for their own time only.
	c.lock.Lock()
	l := c.lingering["test"]["alice["]
	c.lock.Unlock()
	if until := time.Until(l.until); until <= 0 || until > ferryNickLinger.get() {
		t.Errorf("Alice[ lingers for %v more", until)
	}
}
