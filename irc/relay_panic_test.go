package irc

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"gopkg.in/irc.v4"

	"github.com/ferrybridge/ferry/irc/ircconn"
)

// TestRelayBotHandlerPanicIsLogged: a panic in the relay bot's line
// handler ran up the connection's reading goroutine and ended Ferry,
// where a login's handler recovers and logs. None is known, so one is
// provoked: the bot's channel set is taken away (nil, as a bug that
// forgot to make it would leave it), and the bot's own JOIN writes to
// it. The handler must log the panic, release the bot's lock, and
// handle the next line.
func TestRelayBotHandlerPanicIsLogged(t *testing.T) {
	var logged bytes.Buffer
	c := New()
	c.host = &logHost{log: zerolog.New(&logged)}
	t.Cleanup(c.cancel)
	b := c.relayBotFor("test", &NetworkConfig{})
	b.lock.Lock()
	b.nick = "relay"
	b.channels = nil
	b.lock.Unlock()

	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("the panic left the relay bot's handler (it would end Ferry): %v", r)
			}
		}()
		b.handle(relayLine(t, ":relay!f@h JOIN #c"))
	}()
	if out := logged.String(); !strings.Contains(out, "Panic in the relay bot's IRC handler") || !strings.Contains(out, `"command":"JOIN"`) || !strings.Contains(out, `"relay_bot":"test"`) {
		t.Errorf("the panic was not logged as the relay bot's: %s", out)
	}

	// The lock was released, and the bot goes on with the next line.
	b.lock.Lock()
	b.channels = make(map[string]bool)
	b.lock.Unlock()
	b.handle(relayLine(t, ":relay!f@h JOIN #c"))
	b.lock.Lock()
	joined := b.channels["#c"]
	b.lock.Unlock()
	if !joined {
		t.Error("after the panic the relay bot did not follow its JOIN")
	}
}

func relayLine(t *testing.T, line string) *irc.Message {
	t.Helper()
	msg, err := ircconn.ParseLine(line)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}
