package irc

import (
	"testing"

	"gopkg.in/irc.v4"
)

// TestEchoWaitsFormattingStripped: on a channel that strips formatting
// (InspIRCd's +S, Solanum's +c), the echo of a bold line is the plain
// text. The sends of "\x02hi\x02" and then "hi" must each take their own
// echo, in the order the server echoes them, and not the plain line the
// bold one's: IRC people's reactions, replies and deletions name a line
// by its msgid, and would reach the wrong Matrix message, or none.
func TestEchoWaitsFormattingStripped(t *testing.T) {
	for _, tc := range []struct {
		name         string
		sent, echoed [2]string
	}{
		{"stripped", [2]string{"\x02hi\x02", "hi"}, [2]string{"hi", "hi"}},
		{"kept", [2]string{"\x02hi\x02", "hi"}, [2]string{"\x02hi\x02", "hi"}},
		{"plain first", [2]string{"hi", "\x0304hi"}, [2]string{"hi", "hi"}},
		{"colours only", [2]string{"\x02\x0304hi\x03\x02", "\x02hi\x02"}, [2]string{"\x02hi\x02", "\x02hi\x02"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resolveAndCheck(t, tc.sent, tc.echoed[:], [2]string{"first", "second"})
		})
	}
	// The server never adds formatting: a plain line refused (a ban, +m)
	// does not take the echo of a bold one sent after it.
	resolveAndCheck(t, [2]string{"hi", "\x02hi\x02"}, []string{"\x02hi\x02"}, [2]string{"", "first"})
}

// resolveAndCheck sends sent, resolves echoed in order (msgids "first",
// "second") and checks that each send took the msgid in want ("" none).
func resolveAndCheck(t *testing.T, sent [2]string, echoed []string, want [2]string) {
	t.Helper()
	echo := func(text, msgid string) *irc.Message {
		return &irc.Message{Tags: irc.Tags{"msgid": msgid}, Prefix: &irc.Prefix{Name: "alice", User: "a", Host: "h"},
			Command: "PRIVMSG", Params: []string{"#c", text}}
	}
	var w echoWaits
	x := w.add(nil, "PRIVMSG", "#c", sent[:1])
	y := w.add(nil, "PRIVMSG", "#c", sent[1:])
	for i, text := range echoed {
		w.resolve(nil, echo(text, []string{"first", "second"}[i]), "#c")
	}
	for i, ew := range []*echoWait{x, y} {
		select {
		case m := <-ew.echo:
			got := ""
			if m != nil { // nil: told that no echo will come
				got = m.Tags["msgid"]
			}
			if got != want[i] {
				t.Errorf("the send of %q took the echo %q, want %q", ew.lines[0], got, want[i])
			}
		default:
			if want[i] != "" {
				t.Errorf("the send of %q took no echo, want %q", ew.lines[0], want[i])
			}
		}
	}
}
