package ircfmt

import (
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func nicks(userID string) (string, bool) {
	switch userID {
	case "@alice:example.org":
		return "alice_irc", true
	case "@evil:example.org":
		return "bad\r\nQUIT :x", true
	}
	return "", false
}

func TestMatrixToIRC(t *testing.T) {
	withNicks := Options{NickFor: nicks}
	strip := Options{StripFormatting: true}
	tests := []struct {
		name       string
		body, html string // html "" means a plain message (no format)
		opts       Options
		want       []string
	}{
		{"plain", "hello", "", Options{}, []string{"hello"}},
		{"plain lines", "a\r\nb\rc\n\n  \nd  ", "", Options{}, []string{"a", "bc", "d"}},
		{"plain controls", "a\x00b\x02c\x01d\x03e\u0085f", "", Options{}, []string{"abcdef"}},
		{"plain keeps indentation and tabs", "  x\ty", "", Options{}, []string{"  x\ty"}},
		{"plain nbsp", "a\u00a0b", "", Options{}, []string{"a b"}},
		{"bold", "", "<b>b</b> <strong>s</strong>", Options{}, []string{"\x02b\x02 \x02s\x0f"}},
		{"italic", "", "<i>i</i><em>e</em>", Options{}, []string{"\x1die\x0f"}},
		{"underline", "", "<u>u</u>x", Options{}, []string{"\x1fu\x1fx"}},
		{"strikethrough", "", "<del>d</del> <s>s</s> <strike>k</strike>", Options{}, []string{"\x1ed\x1e \x1es\x1e \x1ek\x0f"}},
		{"inline code", "", "run <code>ls -l</code> now", Options{}, []string{"run \x11ls -l\x11 now"}},
		{"nested same style", "", "<b>a<b>b</b>c</b>", Options{}, []string{"\x02abc\x0f"}},
		{"stacked styles", "", "<b>a<i>b</i>c</b>d", Options{}, []string{"\x02a\x1db\x1dc\x02d"}},
		{"space inside tag kept", "", "<b>hello </b>world", Options{}, []string{"\x02hello \x02world"}},
		{"style across br", "", "<b>a<br>b</b>", Options{}, []string{"\x02a\x0f", "\x02b\x0f"}},
		{"style across paragraphs", "", "<u><p>a</p><p>b</p></u>", Options{}, []string{"\x1fa\x0f", "\x1fb\x0f"}},
		{"colour", "", `<span data-mx-color="#ff0000">red</span>`, Options{}, []string{"\x034red\x0f"}},
		{"nearest colour", "", `<font color="#fe0202">r</font>x`, Options{}, []string{"\x034r\x03x"}},
		{"font colour name", "", `<font color="navy">n</font>`, Options{}, []string{"\x032n\x0f"}},
		{"short hex", "", `<font color="#f00">r</font>`, Options{}, []string{"\x034r\x0f"}},
		{"bad colour ignored", "", `<font color="nope">x</font>`, Options{}, []string{"x"}},
		{"bg only", "", `<span data-mx-bg-color="#ffff00">y</span>`, Options{}, []string{"\x0399,8y\x0f"}},
		{"fg and bg", "", `<span data-mx-color="#ffffff" data-mx-bg-color="#000000">w</span>`, Options{}, []string{"\x030,1w\x0f"}},
		{"digit after colour", "", `<font color="red">1</font>`, Options{}, []string{"\x03041\x0f"}},
		{"digit after bg", "", `<font color="red" data-mx-bg-color="#00007f">1</font>`, Options{}, []string{"\x034,021\x0f"}},
		{"comma after colour", "", `<font color="red">,5</font>`, Options{}, []string{"\x034\x02\x02,5\x0f"}},
		{"digit after colour reset", "", `<font color="red">a</font>5`, Options{}, []string{"\x034a\x0f5"}},
		{"colour inside bold", "", `<b>x<font color="red">1</font></b>`, Options{}, []string{"\x02x\x03041\x0f"}},
		{"toggle after colour separates digit", "", `<font color="red"><b>1</b></font>`, Options{}, []string{"\x034\x021\x0f"}},
		{"nested colours", "", `<font color="#ff0000">a<font color="#ffff00">b</font>c</font>`, Options{}, []string{"\x034a\x038b\x034c\x0f"}},
		{"link", "", `see <a href="https://example.org/x">the site</a>!`, Options{}, []string{"see the site (https://example.org/x)!"}},
		{"link text is url", "", `<a href="https://example.org/">https://example.org/</a>`, Options{}, []string{"https://example.org/"}},
		{"link text without scheme", "", `<a href="https://example.org/">example.org</a>`, Options{}, []string{"example.org"}},
		{"mailto", "", `<a href="mailto:a@example.org">a@example.org</a>`, Options{}, []string{"a@example.org"}},
		{"link without text", "", `<a href="https://example.org/"></a>`, Options{}, []string{"https://example.org/"}},
		{"link with newline in href", "", "<a href=\"https://e.org/\r\nQUIT\">x</a>", Options{}, []string{"x (https://e.org/QUIT)"}},
		{"bold link", "", `<a href="https://e.org"><b>x</b></a>`, Options{}, []string{"\x02x\x02 (https://e.org)"}},
		{"mention mapped", "", `<a href="https://matrix.to/#/@alice:example.org">Alice</a>: hi`, withNicks, []string{"alice_irc: hi"}},
		{"mention unmapped", "", `<a href="https://matrix.to/#/@bob:example.org">Bob</a>: hi`, withNicks, []string{"Bob: hi"}},
		{"mention without callback", "", `<a href="https://matrix.to/#/@alice:example.org">Alice</a>: hi`, Options{}, []string{"Alice: hi"}},
		{"mention matrix uri", "", `<a href="matrix:u/alice:example.org">Alice</a>`, withNicks, []string{"alice_irc"}},
		{"mention empty text", "", `<a href="https://matrix.to/#/@bob:example.org"></a> hi`, withNicks, []string{"@bob:example.org hi"}},
		{"mention nick sanitised", "", `<a href="https://matrix.to/#/@evil:example.org">E</a>`, withNicks, []string{"badQUIT:x"}},
		{"room alias link", "", `<a href="https://matrix.to/#/#room:example.org">#room:example.org</a>`, Options{}, []string{"#room:example.org"}},
		{"unordered list", "", "<p>items:</p><ul><li>one</li><li><b>two</b></li></ul>", Options{}, []string{"items:", "* one", "* \x02two\x0f"}},
		{"ordered list", "", "<ol><li>a</li><li>b</li></ol>", Options{}, []string{"1. a", "2. b"}},
		{"ordered list start", "", `<ol start="9"><li>a</li><li>b</li></ol>`, Options{}, []string{"9.  a", "10. b"}},
		{"nested list", "", "<ul><li>a<ul><li>b</li></ul></li></ul>", Options{}, []string{"* a", "  * b"}},
		{"huge list start", "", `<ol start="9223372036854775807"><li>a</li><li>b</li></ol>`, Options{}, []string{"1000000000. a", "1000000001. b"}},
		{"huge negative list start", "", `<ol start="-9223372036854775808"><li>a</li><li>b</li></ol>`, Options{}, []string{"-1000000000. a", "-999999999. b"}},
		// The prepass reads <style> as raw text; inside <svg> the parser
		// does not, and the <ol> is a list the prepass never clamped.
		{"huge list start in foreign content", "plain", `<svg><style><ol start="-9223372036854775808"><li>x</li></ol></style></svg>`, Options{}, []string{"plain"}},
		{"blockquote", "", "<blockquote><p>quoted <i>text</i></p><p>more</p></blockquote><p>reply</p>", Options{}, []string{"> quoted \x1dtext\x0f", "> more", "reply"}},
		{"nested blockquote", "", "<blockquote>a<blockquote>b</blockquote></blockquote>", Options{}, []string{"> a", "> > b"}},
		{"quoted text", "", "<blockquote>&gt;</blockquote><p>&gt; x</p>", Options{}, []string{"> >", "> x"}},
		{"plain quote char", ">", "", Options{}, []string{">"}},
		{"reply fallback removed", "> <@a:b> old\n\nnew",
			`<mx-reply><blockquote><a href="https://matrix.to/#/!r:b/$e">In reply to</a> <a href="https://matrix.to/#/@a:b">@a:b</a><br>old</blockquote></mx-reply>new <b>reply</b>`,
			Options{}, []string{"new \x02reply\x0f"}},
		{"reply fallback only", "> <@a:b> old\n\nnew", `<MX-REPLY><blockquote>old</blockquote></MX-REPLY>`, Options{}, []string{"new"}},
		{"pre block", "", "<pre><code class=\"language-go\">func main() {\n\tfmt.Println(<b>\"hi\"</b>)\n\n}\n</code></pre>after",
			Options{}, []string{"func main() {", "\tfmt.Println(\"hi\")", "}", "after"}},
		{"pre keeps spaces", "", "<pre>  a    b  \n   c</pre>", Options{}, []string{"  a    b", "   c"}},
		{"pre inside bold", "", "<b>x<pre>y</pre>z</b>", Options{}, []string{"\x02x\x0f", "y", "\x02z\x0f"}},
		{"headers and hr", "", "<h1>Title</h1><p>text</p><hr><h3>Sub</h3>", Options{}, []string{"# Title", "text", "---", "### Sub"}},
		{"script style comment", "", "<script>alert(1)</script><style>b{}</style>x<!-- hidden -->y", Options{}, []string{"xy"}},
		{"entities", "", "&lt;b&gt; &amp; &quot; &#x1F600; &nbsp;&nbsp;x", Options{}, []string{"<b> & \" 😀   x"}},
		{"cjk and emoji", "", "<b>日本語</b> テスト 😀", Options{}, []string{"\x02日本語\x02 テスト 😀"}},
		{"whitespace collapses", "", "<p>  a   \n  b  </p>", Options{}, []string{"a b"}},
		{"newline in text is a space", "", "line\none", Options{}, []string{"line one"}},
		{"nbsp kept", "", "a&nbsp;&nbsp;b", Options{}, []string{"a  b"}},
		{"raw codes removed", "", "a\x02b\x03c\x0fd\x00e", Options{}, []string{"abcde"}},
		{"empty lines dropped", "", "a<br><br><br>b<br>", Options{}, []string{"a", "b"}},
		{"underlined space", "", "<u>a </u>b", Options{}, []string{"\x1fa \x1fb"}},
		{"emoji image", "", `hi <img data-mx-emoticon src="mxc://e/x" alt=":wave:">`, Options{}, []string{"hi :wave:"}},
		{"spoiler", "", `<span data-mx-spoiler>secret</span>`, Options{}, []string{"\x031,1secret\x0f"}},
		{"spoiler reason", "", `<span data-mx-spoiler="plot">twist</span>`, Options{}, []string{"[plot] \x031,1twist\x0f"}},
		{"strip formatting", "", `<b>a</b> <font color="red">b</font> <code>c</code>`, strip, []string{"a b c"}},
		{"strip spoiler", "", `<span data-mx-spoiler>s</span>`, strip, []string{"||s||"}},
		{"empty html falls back to body", "body text", "<b></b>", Options{}, []string{"body text"}},
		{"non-html format uses body", "body", "<b>html</b>", Options{}, []string{"body"}},
		{"invalid utf-8", "", "<b>\xff</b>", Options{}, []string{"\x02\uFFFD\x0f"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			format := ""
			if tc.html != "" && tc.name != "non-html format uses body" {
				format = FormatHTML
			}
			got := MatrixToIRC(tc.body, format, tc.html, tc.opts)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("MatrixToIRC(%q, %q)\n got %q\nwant %q", tc.body, tc.html, got, tc.want)
			}
			checkLines(t, got, tc.opts.StripFormatting)
		})
	}
}

// checkLines checks the invariants of MatrixToIRC's output.
func checkLines(t testing.TB, lines []string, strip bool) {
	t.Helper()
	for _, l := range lines {
		if strings.ContainsAny(l, "\r\n\x00") {
			t.Fatalf("line %q contains CR, LF or NUL", l)
		}
		if !utf8.ValidString(l) {
			t.Fatalf("line %q is not valid UTF-8", l)
		}
		if strings.Trim(StripCodes(l), " \t") == "" {
			t.Fatalf("empty line %q", l)
		}
		if strip && StripCodes(l) != l {
			t.Fatalf("line %q has codes despite StripFormatting", l)
		}
		if st := endState(l); st != plainState {
			t.Fatalf("line %q leaves formatting open: %+v", l, st)
		}
	}
}

// endState is the formatting in force at the end of an IRC line.
func endState(line string) ircState {
	st := plainState
	for i := 0; i < len(line); {
		if isCode(line[i]) {
			i = st.apply(line, i)
		} else {
			i++
		}
	}
	return st
}

// TestHostileHTML feeds deeply nested, huge and malformed HTML; each must
// finish quickly and keep the output invariants.
func TestHostileHTML(t *testing.T) {
	const n = 10000
	rep := strings.Repeat
	tests := map[string]string{
		"nested b":          rep("<b>", n) + "x" + rep("</b>", n),
		"nested b unclosed": rep("<b>x", n),
		"nested div":        rep("<div>", n) + "x" + rep("</div>", n),
		"nested blockquote": rep("<blockquote>a<br>", n) + rep("</blockquote>", n),
		"nested lists":      rep("<ul><li>a", n) + rep("</li></ul>", n),
		"nested ol":         rep(`<ol start="99999999999999999999"><li>a`, n),
		"nested font":       rep(`<font color="#123456">x`, n),
		"nested spoilers":   rep(`<span data-mx-spoiler="r">`, n) + "x",
		"nested pre":        rep("<pre><b>x\n", n),
		"nested links":      rep(`<a href="https://matrix.to/#/@alice:example.org">`, n),
		"bogus end tags":    rep("<b></x>", n) + "x",
		"unclosed p":        rep("<p>a", n),
		"table soup":        rep("<table><tr><td><b><i>x", 2000),
		"misnested":         rep("<b><i><u></b></i></u>x", n/4),
		"many mx-reply":     rep("<mx-reply>x</mx-reply>y", n/4),
		"huge attribute":    `<a href="https://e.org/` + rep("a", 100000) + `">x</a>`,
		"huge text":         rep("<b>bold</b> ", n),
		"comments":          rep("<!--", n) + "x",
		"entities":          rep("&amp;&#0;&#x110000;&bogus;&", n),
		"invalid utf-8":     rep("<b>\xff\xfe<i>\xc3", n/10),
		"only brs":          rep("<br>", n),
	}
	for name, h := range tests {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			lines := MatrixToIRC("fallback", FormatHTML, h, Options{NickFor: nicks})
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %v", d)
			}
			checkLines(t, lines, false)
		})
	}
}

func TestMatrixToIRCTooLong(t *testing.T) {
	h := "<b>" + strings.Repeat("x", maxHTMLBytes) + "</b>"
	if got := MatrixToIRC("plain", FormatHTML, h, Options{}); !reflect.DeepEqual(got, []string{"plain"}) {
		t.Errorf("got %q", got)
	}
}
