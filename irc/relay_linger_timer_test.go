package irc

import (
	"context"
	"testing"
	"time"
)

// TestRelayBotsSecondLingerLastsItsFullTime: the relay bot's connection
// ends, it connects again with the same nick soon after, and that
// connection ends too. The nick lingers for relayNickLinger from the
// second end: the end of the first linger does not cut the second short.
// And it does end then.
func TestRelayBotsSecondLingerLastsItsFullTime(t *testing.T) {
	const linger = 2 * time.Second
	relayNickLinger.setForTest(t, linger)
	c := New()
	t.Cleanup(c.cancel)
	cfg := &NetworkConfig{Address: scriptedServer(t, "", func(string, *scriptedPeer) {}), Flood: FloodConfig{Unlimited: true}}
	b := c.relayBotFor("test", cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ended := func() bool { return b.current() == nil }

	conn, err := b.dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nick := conn.Nick()
	_ = conn.Close("first end")
	waitFor(t, "the first connection to end", ended)
	firstEnd := time.Now()

	time.Sleep(linger / 2)
	cfg.Address = scriptedServer(t, "", func(string, *scriptedPeer) {})
	if conn, err = b.dial(ctx); err != nil {
		t.Fatal(err)
	}
	if conn.Nick() != nick {
		t.Fatalf("the bot came back as %q, not %q", conn.Nick(), nick)
	}
	_ = conn.Close("second end")
	waitFor(t, "the second connection to end", ended)
	secondEnd := time.Now()

	// Past the first linger's end, well within the second's.
	time.Sleep(time.Until(firstEnd.Add(linger + linger/5)))
	if time.Since(secondEnd) > linger-linger/5 {
		t.Skipf("too slow to tell: %v since the second end", time.Since(secondEnd))
	}
	if !c.isFerryNick("test", nick) {
		t.Errorf("the bot's nick stopped lingering %v after its second connection ended, before relayNickLinger (%v)", time.Since(secondEnd), linger)
	}
	waitFor(t, "the second linger to end", func() bool { return !c.isFerryNick("test", nick) })
}
