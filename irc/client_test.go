package irc

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/rs/zerolog"

	"github.com/ferrybridge/ferry/bridge/network"
)

// logHost is a fakeHost whose logger writes JSON lines into a buffer,
// with a context field of its own as the bridge's host logger has.
type logHost struct {
	fakeHost
	log zerolog.Logger
}

func (h *logHost) Log() *zerolog.Logger { return &h.log }

// TestClientLogFields checks that what a client logs, and the logger it
// hands to its IRC connection, carries the login and the host's context.
func TestClientLogFields(t *testing.T) {
	var buf bytes.Buffer
	host := &logHost{log: zerolog.New(&buf).With().Str("network", "irc").Logger()}
	c := New()
	c.host = host
	t.Cleanup(c.cancel)
	login := &network.Login{ID: "test/@me:ex.org", User: "@me:ex.org"}
	cl := newClient(c, &NetworkConfig{}, login, loginMeta{Network: "test", Nick: "me"})

	cl.log.Warn().Str("channel", "#c").Msg("one")
	cl.log.Err(errors.New("boom")).Msg("two")
	connLog := cl.log // what dial passes as ircconn.Config.Logger
	connLog.Info().Msg("three")

	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) != 3 {
		t.Fatalf("got %d lines: %s", len(lines), buf.String())
	}
	for i, want := range []map[string]string{
		{"level": "warn", "channel": "#c", "message": "one"},
		{"level": "error", "error": "boom", "message": "two"},
		{"level": "info", "message": "three"},
	} {
		var got map[string]any
		if err := json.Unmarshal(lines[i], &got); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, lines[i])
		}
		want["network"] = "irc"
		want["login"] = "test/@me:ex.org"
		for k, v := range want {
			if got[k] != v {
				t.Errorf("line %d: %s = %v, want %q (%s)", i, k, got[k], v, lines[i])
			}
		}
		if len(got) != len(want) {
			t.Errorf("line %d: fields %v, want %v", i, got, want)
		}
	}
}
