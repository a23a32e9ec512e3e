package ircfmt

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

func TestIRCToMatrix(t *testing.T) {
	const (
		red    = `<font data-mx-color="#ff0000">`
		yellow = `<font data-mx-color="#ffff00">`
	)
	tests := []struct {
		name, in, body, html string
	}{
		{"plain", "hello world", "hello world", ""},
		{"bold", "\x02bold\x02 text", "bold text", "<b>bold</b> text"},
		{"italic unclosed", "\x1ditalic", "italic", "<i>italic</i>"},
		{"underline", "\x1funder\x1f", "under", "<u>under</u>"},
		{"strikethrough", "\x1estrike\x1e!", "strike!", "<del>strike</del>!"},
		{"monospace", "\x11mono\x11 x", "mono x", "<code>mono</code> x"},
		{"toggle pair only", "\x02\x02x", "x", ""},
		{"codes without text", "x\x02\x1d", "x", ""},
		{"overlapping", "\x02a\x1db\x02c\x1d", "abc", "<b>a<i>b</i></b><i>c</i>"},
		{"reset", "\x02\x1dab\x0fc", "abc", "<b><i>ab</i></b>c"},
		{"every style", "\x02\x1d\x1f\x1e\x11\x034all", "all",
			"<b><i><u><del><code>" + red + "all</font></code></del></u></i></b>"},
		{"colour", "\x0304red", "red", red + "red</font>"},
		{"colour one digit with bg", "\x034,2x", "x", `<font data-mx-color="#ff0000" data-mx-bg-color="#00007f">x</font>`},
		{"fg change keeps bg", "\x0304,02x\x0308y", "xy",
			`<font data-mx-color="#ff0000" data-mx-bg-color="#00007f">x</font><font data-mx-color="#ffff00" data-mx-bg-color="#00007f">y</font>`},
		{"bare colour code resets", "\x034red\x03plain", "redplain", red + "red</font>plain"},
		{"comma then text", "\x034,x", ",x", red + ",x</font>"},
		{"third digit is text", "\x0312345", "345", `<font data-mx-color="#0000fc">345</font>`},
		{"comma without fg is text", "\x03,5x", ",5x", ""},
		{"trailing comma", "\x034,", ",", red + ",</font>"},
		{"99 is default", "\x0399x", "x", ""},
		{"bg 99 is default", "\x0304,99x", "x", red + "x</font>"},
		{"bg only", "\x0399,04x", "x", `<font data-mx-bg-color="#ff0000">x</font>`},
		{"extended colour", "\x0328x", "x", `<font data-mx-color="#740000">x</font>`},
		{"colour reset then digit", "\x0304a\x03,5", "a,5", red + "a</font>,5"},
		{"colour change mid bold", "\x02\x034a\x038b", "ab", "<b>" + red + "a</font>" + yellow + "b</font></b>"},
		{"hex colour", "\x04FF8800x\x04 y", "x y", `<font data-mx-color="#ff8800">x</font> y`},
		{"hex colour with bg", "\x04ff0000,00ff00x", "x", `<font data-mx-color="#ff0000" data-mx-bg-color="#00ff00">x</font>`},
		{"hex colour invalid", "\x04zz", "zz", ""},
		{"hex colour short bg", "\x04ABCDEF,12x", ",12x", `<font data-mx-color="#abcdef">,12x</font>`},
		{"reverse", "\x16rev\x16 x", "rev x", `<font data-mx-color="#ffffff" data-mx-bg-color="#000000">rev</font> x`},
		{"reverse with fg", "\x0304\x16x", "x", `<font data-mx-color="#ffffff" data-mx-bg-color="#ff0000">x</font>`},
		{"html escaping", "\x02<b>&\"'", "<b>&\"'", "<b>&lt;b&gt;&amp;&#34;&#39;</b>"},
		{"special chars unformatted", "<script> & co", "<script> & co", ""},
		{"double space", "\x02a\x02  b", "a  b", "<b>a</b> &nbsp;b"},
		{"leading space", " \x02x", " x", "&nbsp;<b>x</b>"},
		{"cjk and emoji", "\x02日本語\x02 😀 \x1dé", "日本語 😀 é", "<b>日本語</b> 😀 <i>é</i>"},
		{"invalid utf-8", "\x02\xff\x02", "\uFFFD", "<b>\uFFFD</b>"},
		{"split invalid utf-8", "\xe2\x02\x82\xac", "\uFFFD\uFFFD", "\uFFFD<b>\uFFFD</b>"},
		{"nul and cr dropped", "\x00a\rb", "ab", ""},
		{"newline resets", "\x02a\nb", "a\nb", "<b>a</b><br>b"},
		{"newline unformatted", "a\nb", "a\nb", ""},
		{"ctcp byte kept", "\x01x", "\x01x", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, h := IRCToMatrix(tc.in)
			if body != tc.body || h != tc.html {
				t.Errorf("IRCToMatrix(%q)\n got %q, %q\nwant %q, %q", tc.in, body, h, tc.body, tc.html)
			}
			if h != "" {
				if err := checkHTML(h, body); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

func TestStripCodes(t *testing.T) {
	tests := map[string]string{
		"plain":                           "plain",
		"\x02b\x02 \x1di\x1f\x1e\x11\x16": "b i",
		"\x0304,12red\x03 \x0312345":      "red 345",
		"\x034,x \x03,5 \x0399":           ",x ,5 ",
		"\x04ff00ffpink\x04,12":           "pink,12",
		"\x04ff00ff,00ff00x\x0f":          "x",
		"\xff\x02\xfe":                    "\xff\xfe",
		"":                                "",
	}
	for in, want := range tests {
		if got := StripCodes(in); got != want {
			t.Errorf("StripCodes(%q) = %q, want %q", in, got, want)
		}
	}
}

var allowedTags = map[string]bool{"b": true, "i": true, "u": true, "del": true, "code": true, "font": true, "br": true}

// checkHTML checks that h is well-formed (balanced, only the expected
// elements) and that its text equals body (&nbsp; read as a space, <br> as
// a line break).
func checkHTML(h, body string) error {
	z := html.NewTokenizer(strings.NewReader(h))
	var stack []string
loop:
	for {
		switch z.Next() {
		case html.ErrorToken:
			break loop
		case html.StartTagToken:
			name, _ := z.TagName()
			if !allowedTags[string(name)] {
				return fmt.Errorf("unexpected element <%s> in %q", name, h)
			}
			if string(name) != "br" {
				stack = append(stack, string(name))
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			if len(stack) == 0 || stack[len(stack)-1] != string(name) {
				return fmt.Errorf("unbalanced </%s> in %q", name, h)
			}
			stack = stack[:len(stack)-1]
		case html.SelfClosingTagToken, html.CommentToken, html.DoctypeToken:
			return fmt.Errorf("unexpected token %q in %q", z.Raw(), h)
		}
	}
	if len(stack) != 0 {
		return fmt.Errorf("unclosed %v in %q", stack, h)
	}
	doc, err := html.ParseFragment(strings.NewReader(h), &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div})
	if err != nil {
		return err
	}
	var sb strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		switch {
		case n.Type == html.TextNode:
			sb.WriteString(strings.ReplaceAll(n.Data, "\u00a0", " "))
		case n.Type == html.ElementNode && n.Data == "br":
			sb.WriteByte('\n')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	for _, n := range doc {
		walk(n)
	}
	if text := sb.String(); text != strings.ReplaceAll(body, "\u00a0", " ") {
		return fmt.Errorf("text of %q is %q, body is %q", h, text, body)
	}
	return nil
}
