package ircfmt

import "testing"

var benchIRC = map[string]string{
	"plain":     "has anyone tried the new release? the build seems broken on arm64 for me",
	"formatted": "\x02alice\x02: the \x0304,01build\x03 is \x1dfinally\x1d green — see \x1fhttps://ci.example.org/run/42\x1f 日本語 😀",
	"colourful": "\x0304[\x0309OK\x0304]\x03 \x0312deploy\x03 \x02prod-eu-1\x02 \x0314(3m12s)\x03 \x0308,01 warning \x0f done",
}

func BenchmarkIRCToMatrix(b *testing.B) {
	for _, name := range []string{"plain", "formatted", "colourful"} {
		text := benchIRC[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				IRCToMatrix(text)
			}
		})
	}
}

var benchMatrix = []struct {
	name, body, format, html string
}{
	{"plain", "has anyone tried the new release? the build seems broken on arm64 for me", "", ""},
	{"inline", "", FormatHTML, `<b>alice</b>: the <font color="#ff0000">build</font> is <em>finally</em> green, see <a href="https://ci.example.org/run/42">run 42</a> and <code>make test</code>`},
	{"mention", "", FormatHTML, `<a href="https://matrix.to/#/@alice:example.org">Alice</a>: could you look at this?`},
	{"reply", "", FormatHTML, `<mx-reply><blockquote><a href="https://matrix.to/#/!room:example.org/$event">In reply to</a> <a href="https://matrix.to/#/@bob:example.org">@bob:example.org</a><br>original message text</blockquote></mx-reply>yes, <strong>agreed</strong>`},
	{"multiline", "", FormatHTML, "<p>Release notes:</p><ul><li><b>fixed</b> the crash</li><li>faster startup</li></ul><blockquote>quoted line</blockquote><pre><code class=\"language-sh\">go test ./...\ngo vet ./...\n</code></pre>"},
}

func BenchmarkMatrixToIRC(b *testing.B) {
	opts := Options{NickFor: func(userID string) (string, bool) { return "alice_irc", userID == "@alice:example.org" }}
	for _, m := range benchMatrix {
		b.Run(m.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(m.body) + len(m.html)))
			for b.Loop() {
				MatrixToIRC(m.body, m.format, m.html, opts)
			}
		})
	}
}
