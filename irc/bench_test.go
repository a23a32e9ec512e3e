package irc

import (
	"testing"

	"gopkg.in/irc.v4"

	"github.com/ferrybridge/ferry/irc/ircconn"
	"github.com/ferrybridge/ferry/irc/ircfmt"
)

// BenchmarkIncomingLine is the IRC -> Matrix hot path up to the core: a
// tagged PRIVMSG line parsed, its time read, its text converted to Matrix
// body and HTML.
func BenchmarkIncomingLine(b *testing.B) {
	line := "@msgid=AbCdEf123;time=2026-11-26T08:00:00.123Z;account=bob :bob!~bob@host.example PRIVMSG #ferry :\x02hello\x02 everyone, see \x0304red\x03 and https://example.org/x"
	for b.Loop() {
		m, err := irc.ParseMessage(line)
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := ircconn.MessageTime(m); !ok {
			b.Fatal("no server-time")
		}
		if body, _ := ircfmt.IRCToMatrix(m.Trailing()); body == "" {
			b.Fatal("empty body")
		}
	}
}

// BenchmarkOutgoingMessage is the Matrix -> IRC hot path after the core:
// HTML converted to IRC lines and split to fit 512-byte lines.
func BenchmarkOutgoingMessage(b *testing.B) {
	html := "<b>Hello</b> <i>there</i>, here is <code>some code</code> and a <a href=\"https://example.org\">link</a>. " +
		"This sentence makes the message long enough that it has to be split into more than one IRC line, which is what happens " +
		"whenever someone on Matrix writes a paragraph: the splitter must find word boundaries and respect UTF-8 — ünïcödé included. " +
		"A second sentence of the same paragraph follows, so that the whole message is comfortably longer than one line of IRC can carry. " +
		"And a third one, because an IRC line holds a little over four hundred and fifty bytes of text once the prefix is counted."
	for b.Loop() {
		lines := ircfmt.MatrixToIRC("", "org.matrix.custom.html", html, ircfmt.Options{})
		n := 0
		for _, l := range lines {
			n += len(ircconn.SplitText(len("alice!~alice@host.example"), "#ferry", l))
		}
		if n < 2 {
			b.Fatalf("%d pieces from %d lines (%q), want a split", n, len(lines), lines)
		}
	}
}
