package ircfmt

import (
	"strings"
	"testing"
	"unicode/utf8"
)

var ircSeeds = []string{
	"", "plain", "\x02bold\x02 \x1ditalic \x1funder\x1f \x1estrike \x11mono\x11 \x16rev\x16 \x0fx",
	"\x0304,12red on blue\x03 \x0312345 \x034,x \x03,5 \x0399,99 \x03", "\x04ff8800,000000hex\x04 \x04zz \x04abcdef,12",
	"a  b   c", " \x02 lead", "<script>&amp;\"'", "\x02日本語\x02 😀", "\xff\xfe\x02\xc3\x28", "a\x00b\rc\nd\x02e",
	"\x034\x16\x0399,4x", "\u3000\x02x\u3000\x02y\u2028", "\t\x02a\tb\x0b\x0c\x01ACTION x\x01",
}

// FuzzIRCToMatrix checks: no panic; valid UTF-8; no codes in body; body is
// StripCodes of the text after the documented normalisation (invalid UTF-8
// replaced first, NUL and CR dropped); the HTML is well-formed with the same
// text; and converting it back to IRC keeps the visible text.
func FuzzIRCToMatrix(f *testing.F) {
	for _, s := range ircSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		body, h := IRCToMatrix(text)
		if !utf8.ValidString(body) || !utf8.ValidString(h) {
			t.Fatalf("invalid UTF-8: %q, %q", body, h)
		}
		for i := 0; i < len(body); i++ {
			if isCode(body[i]) {
				t.Fatalf("body %q has a formatting code", body)
			}
		}
		want := strings.NewReplacer("\x00", "", "\r", "").Replace(StripCodes(strings.ToValidUTF8(text, "\uFFFD")))
		if body != want {
			t.Fatalf("body %q, want %q", body, want)
		}
		format := ""
		if h != "" {
			format = FormatHTML
			if err := checkHTML(h, body); err != nil {
				t.Fatal(err)
			}
		}
		lines := MatrixToIRC(body, format, h, Options{})
		checkLines(t, lines, false)
		for i := range lines {
			lines[i] = StripCodes(lines[i])
		}
		if got, want := normText(strings.Join(lines, "\n")), normText(body); got != want {
			t.Fatalf("back to IRC: %q (%q) via %q, want %q", got, lines, h, want)
		}
	})
}

// normText normalises visible text: control characters removed, ASCII
// whitespace and NBSP collapsed into single spaces, lines trimmed, empty
// lines dropped.
func normText(s string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		line = strings.Map(func(r rune) rune {
			switch {
			case r == '\t' || r == '\v' || r == '\f' || r == '\u00a0':
				return ' '
			case r < 0x20 || (r >= 0x7f && r < 0xa0):
				return -1
			}
			return r
		}, line)
		line = strings.Join(strings.FieldsFunc(line, func(r rune) bool { return r == ' ' }), " ")
		if line != "" {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

var htmlSeeds = []string{
	"<b>bold</b> <i>it</i> <u>u</u> <del>d</del> <code>c</code>", "<b>a<br>b</b>", "<p>a</p><p><b>b</b></p>",
	`<font color="red">1</font><span data-mx-color="#00ff00" data-mx-bg-color="#000">x,5</span>`,
	`<a href="https://example.org">site</a> <a href="https://matrix.to/#/@alice:example.org">Alice</a>`,
	"<ul><li>a<ol start=\"99999999999999999999\"><li>b</li></ol></li></ul>", "<blockquote>q<blockquote>qq</blockquote></blockquote>",
	"<mx-reply><blockquote>old</blockquote></mx-reply>new", "<pre><code>x\n  <b>y</b>\n</code></pre>",
	"<script>x</script><style>y</style><!-- z -->w", "&lt;&amp;&#0;&#x110000;&nbsp;&bogus;", "<b>\xff</b>\x00\r\n\x02",
	`<span data-mx-spoiler="r">s</span><img alt=":e:" data-mx-emoticon>`, "<h1>t</h1><hr><table><tr><td>c</td></tr></table>",
	strings.Repeat("<div><b>", 60) + "deep", "<mx-reply>unclosed", "<ol start=-9223372036854775808><li>a</li><li>b</li></ol>",
	"\u3000<b>\u3000x\u2028</b>", "<pre>\t\ta\n\n\tb</pre>",
	`<svg><style><ol start="-9223372036854775808"><li>x</li></ol></style></svg>`,
}

// FuzzMatrixToIRC checks: no panic; no CR, LF or NUL in any line; valid
// UTF-8; no empty line; no formatting left open at the end of a line; no
// codes at all with StripFormatting; output size bounded by the input's.
func FuzzMatrixToIRC(f *testing.F) {
	for _, s := range htmlSeeds {
		f.Add("body\n"+s, s, false, true)
		f.Add(s, "", true, false)
	}
	f.Fuzz(func(t *testing.T, body, h string, strip, isHTML bool) {
		format := ""
		if isHTML {
			format = FormatHTML
		}
		opts := Options{StripFormatting: strip, NickFor: func(userID string) (string, bool) {
			return "n\r\n\x00" + userID, len(userID)%2 == 0
		}}
		lines := MatrixToIRC(body, format, h, opts)
		checkLines(t, lines, strip)
		size := 0
		for _, l := range lines {
			size += len(l)
		}
		if limit := 200*(len(body)+len(h)) + 4096; size > limit {
			t.Fatalf("%d bytes of output from %d bytes of input", size, len(body)+len(h))
		}
	})
}
