package waconv

import (
	"context"
	"fmt"
	"html"
	"strings"
	"testing"
	"unicode/utf8"

	"go.mau.fi/whatsmeow/types"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/format"
	"maunium.net/go/mautrix/id"
)

var testTargets = map[string]mentionTarget{
	"4915112345678":   {name: "Alice <3", mxid: "@whatsapp_4915112345678:example.org"},
	"123456789012345": {name: "Bob", mxid: "@whatsapp_lid-123456789012345:example.org"},
}

func TestWhatsAppToMatrix(t *testing.T) {
	alice := `<a href="https://matrix.to/#/@whatsapp_4915112345678:example.org">Alice &lt;3</a>`
	tests := []struct {
		name, in, html, body string
		mentions             []id.UserID
	}{
		{"plain", "hello world", "", "hello world", nil},
		{"plain escapes nothing", "a < b & c", "", "a < b & c", nil},
		{"multi-line plain", "one\ntwo", "", "one\ntwo", nil},
		{"bold", "*hi* there", "<strong>hi</strong> there", "*hi* there", nil},
		{"italic", "_hi_", "<em>hi</em>", "_hi_", nil},
		{"strike", "~gone~", "<del>gone</del>", "~gone~", nil},
		{"all three nested", "*_~x~_*", "<strong><em><del>x</del></em></strong>", "*_~x~_*", nil},
		{"nested partial", "*bold _both_ bold*", "<strong>bold <em>both</em> bold</strong>", "", nil},
		{"escaped inside style", "*<b>&*", "<strong>&lt;b&gt;&amp;</strong>", "", nil},
		{"inside word not styled", "snake_case_name and 2*3*4", "", "", nil},
		{"space after opener", "* not bold*", "<ul><li>not bold*</li></ul>", "", nil},
		{"space before closer", "*not bold *", "", "", nil},
		{"followed by letter", "*ab*c", "", "", nil},
		{"punctuation around", "(*yes*)!", "(<strong>yes</strong>)!", "", nil},
		{"unbalanced", "*open _and ~never", "", "", nil},
		{"nearest closer wins", "*a* b*", "<strong>a</strong> b*", "", nil},
		{"no cross-line styles", "*a\nb*", "", "", nil},
		{"empty style", "** __", "", "", nil},
		{"inline code", "run `rm -rf *x*` now", "run <code>rm -rf *x*</code> now", "", nil},
		{"triple inline", "```*not* <bold>```", "<code>*not* &lt;bold&gt;</code>", "", nil},
		{"code inside bold", "*see `x` here*", "<strong>see <code>x</code> here</strong>", "", nil},
		{"closer inside code ignored", "*a `b* c`", "*a <code>b* c</code>", "", nil},
		{"code block", "look:\n```\nif a < b {\n  *x*\n}\n```\ndone",
			"look:<pre><code>if a &lt; b {\n  *x*\n}</code></pre>done", "", nil},
		{"unclosed fence", "```abc", "", "", nil},
		{"blank fence", "``` ```", "", "", nil},
		{"quote", "> quoted *text*\n> more\nreply",
			"<blockquote>quoted <strong>text</strong><br>more</blockquote>reply", "", nil},
		{"bullets", "list:\n- one\n* two\nend", "list:<ul><li>one</li><li>two</li></ul>end", "", nil},
		{"numbered", "3. c\n4. d", `<ol start="3"><li>c</li><li>d</li></ol>`, "", nil},
		{"numbered from one", "1. a\n2. _b_", "<ol><li>a</li><li><em>b</em></li></ol>", "", nil},
		{"link kept", "see https://example.com/a_b_c_ now", "", "", nil},
		{"link in bold", "*https://example.com/x_y*",
			`<strong><a href="https://example.com/x_y">https://example.com/x_y</a></strong>`, "", nil},
		{"link with parens", "_(https://en.wikipedia.org/wiki/Go_(language))_",
			`<em>(<a href="https://en.wikipedia.org/wiki/Go_(language)">https://en.wikipedia.org/wiki/Go_(language)</a>)</em>`, "", nil},
		{"mention", "hi @4915112345678!", "hi " + alice + "!", "hi Alice <3!",
			[]id.UserID{"@whatsapp_4915112345678:example.org"}},
		{"lid mention in bold twice", "*@123456789012345* @123456789012345",
			`<strong><a href="https://matrix.to/#/@whatsapp_lid-123456789012345:example.org">Bob</a></strong> <a href="https://matrix.to/#/@whatsapp_lid-123456789012345:example.org">Bob</a>`,
			"*Bob* Bob", []id.UserID{"@whatsapp_lid-123456789012345:example.org"}},
		{"unknown mention", "hi @999", "", "hi @999", nil},
		{"mention in code", "`@4915112345678`", "<code>@4915112345678</code>", "`@4915112345678`", nil},
		{"mention inside word", "mail@4915112345678", "", "", nil},
		{"invalid utf8", "*a\xffb*", "<strong>a\uFFFDb</strong>", "*a\uFFFDb*", nil},
		{"crlf", "*a*\r\nb", "<strong>a</strong><br>b", "*a*\nb", nil},
		{"unicode boundaries", "ä*ö* *ö*ä", "", "", nil},
		{"unicode word", "*ö* ä_ö_ü", "<strong>ö</strong> ä_ö_ü", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := whatsAppToMatrix(tt.in, testTargets)
			if got.html != tt.html {
				t.Errorf("html:\n got %q\nwant %q", got.html, tt.html)
			}
			body := tt.body
			if body == "" {
				body = tt.in
			}
			if got.body != body {
				t.Errorf("body: got %q, want %q", got.body, body)
			}
			if fmt.Sprint(got.mentions) != fmt.Sprint(tt.mentions) {
				t.Errorf("mentions: got %v, want %v", got.mentions, tt.mentions)
			}
			checkHTML(t, tt.in, got.html)
		})
	}
}

// allowedTags are the only tags whatsAppToMatrix writes.
var allowedTags = map[string]bool{
	"strong": true, "em": true, "del": true, "code": true, "pre": true,
	"blockquote": true, "ul": true, "ol": true, "li": true, "a": true,
}

// checkHTML asserts that out is well-formed HTML made only of the tags the
// converter writes, with every text character escaped.
func checkHTML(t *testing.T, in, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("invalid UTF-8 in %q (input %q)", out, in)
	}
	var stack []string
	for i := 0; i < len(out); {
		switch out[i] {
		case '<':
			end := strings.IndexByte(out[i:], '>')
			if end < 0 {
				t.Fatalf("raw < in %q (input %q)", out, in)
			}
			tag := out[i+1 : i+end]
			i += end + 1
			switch {
			case tag == "br":
			case strings.HasPrefix(tag, "/"):
				if len(stack) == 0 || stack[len(stack)-1] != tag[1:] {
					t.Fatalf("unbalanced </%s> in %q (input %q)", tag[1:], out, in)
				}
				stack = stack[:len(stack)-1]
			default:
				name, attrs, _ := strings.Cut(tag, " ")
				if !allowedTags[name] || strings.ContainsAny(attrs, "<>") {
					t.Fatalf("unexpected tag <%s> in %q (input %q)", tag, out, in)
				}
				if attrs != "" && !strings.HasPrefix(attrs, `href="`) && !strings.HasPrefix(attrs, `start="`) {
					t.Fatalf("unexpected attribute in <%s> (input %q)", tag, in)
				}
				if strings.Count(attrs, `"`) != 2 && attrs != "" {
					t.Fatalf("unquoted attribute in <%s> (input %q)", tag, in)
				}
				stack = append(stack, name)
			}
		case '>':
			t.Fatalf("raw > in %q (input %q)", out, in)
		case '&':
			semi := strings.IndexByte(out[i:], ';')
			if semi < 0 || html.UnescapeString(out[i:i+semi+1]) == out[i:i+semi+1] {
				t.Fatalf("raw & in %q (input %q)", out, in)
			}
			i += semi + 1
		default:
			i++
		}
	}
	if len(stack) != 0 {
		t.Fatalf("unclosed %v in %q (input %q)", stack, out, in)
	}
}

func FuzzWhatsAppMarkup(f *testing.F) {
	for _, seed := range []string{
		"", "*bold* _it_ ~del~ `code`", "```\nblock\n```", "> q\n- a\n* b\n1. c",
		"*_~nested~_*", "a*b*c", "* x *", "```a``` ```b\nc```", "`a```b`",
		"https://example.com/_x_ *y*", "@4915112345678 @123456789012345 @1",
		"<script>&amp;</script>", "\xff\xfe*\x00*", "*a\nb*", "(*a*)", "****____~~~~",
		"> *a `b* c` d_\n> _e_", "99. x\n1000. y", "http://", "https://a.b/(c))).",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := whatsAppToMatrix(in, testTargets)
		checkHTML(t, in, got.html)
		if !utf8.ValidString(got.body) {
			t.Fatalf("invalid UTF-8 body for %q", in)
		}
		if got.html == "" && !strings.ContainsAny(in, "*_~`>-@\r\xff") && !strings.ContainsRune(in, utf8.RuneError) {
			// Text without markup characters comes back unchanged.
			if got.body != in {
				t.Fatalf("plain text changed: %q → %q", in, got.body)
			}
		}
	})
}

func TestHTMLToWhatsApp(t *testing.T) {
	resolve := func(mxid id.UserID) (types.JID, bool) {
		if mxid == "@whatsapp_4915112345678:example.org" {
			return types.NewJID("4915112345678", types.DefaultUserServer), true
		}
		if mxid == "@whatsapp_lid-1234:example.org" {
			return types.NewJID("1234", types.HiddenUserServer), true
		}
		return types.JID{}, false
	}
	tests := []struct {
		name, in, want string
		allowed        *event.Mentions
		mentioned      []string
	}{
		{"bold italic strike", "<b>b</b> <em>i</em> <del>s</del> <strike>t</strike>", "*b* _i_ ~s~ ~t~", nil, nil},
		{"nested", "<strong><i>x</i></strong>", "*_x_*", nil, nil},
		{"between words", "a <b>bold</b> b", "a *bold* b", nil, nil},
		{"empty style", "a <b></b>b", "a b", nil, nil},
		{"multi-line bold", "<b>one<br>two</b>", "*one*\n*two*", nil, nil},
		{"inline code", "run <code>ls -l</code>", "run `ls -l`", nil, nil},
		{"code block", "<pre><code class=\"language-go\">x := 1\ny := 2\n</code></pre>", "```\nx := 1\ny := 2\n```", nil, nil},
		{"underline plain", "<u>u</u>", "u", nil, nil},
		{"link", `<a href="https://example.com">site</a>`, "site (https://example.com)", nil, nil},
		{"bare link", `<a href="https://example.com">https://example.com</a>`, "https://example.com", nil, nil},
		{"quote", "<blockquote>q</blockquote>reply", "> q\nreply", nil, nil},
		{"list", "<ul><li>a</li><li>b</li></ul>", "* a\n* b", nil, nil},
		{"escaped text", "&lt;b&gt; &amp;", "<b> &", nil, nil},
		{"pill", `hi <a href="https://matrix.to/#/@whatsapp_4915112345678:example.org">Alice</a>!`,
			"hi @4915112345678!", nil, []string{"4915112345678@s.whatsapp.net"}},
		{"lid pill twice", `<a href="https://matrix.to/#/@whatsapp_lid-1234:example.org">B</a> <a href="https://matrix.to/#/@whatsapp_lid-1234:example.org">B</a>`,
			"@1234 @1234", nil, []string{"1234@lid"}},
		{"matrix user pill", `<a href="https://matrix.to/#/@carol:example.org">Carol</a>`, "Carol", nil, nil},
		{"pill not in m.mentions", `<a href="https://matrix.to/#/@whatsapp_4915112345678:example.org">Alice</a>`,
			"Alice", &event.Mentions{}, nil},
		{"pill in m.mentions", `<a href="https://matrix.to/#/@whatsapp_4915112345678:example.org">Alice</a>`,
			"@4915112345678", &event.Mentions{UserIDs: []id.UserID{"@whatsapp_4915112345678:example.org"}},
			[]string{"4915112345678@s.whatsapp.net"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, mentioned := htmlToWhatsApp(context.Background(), tt.in, tt.allowed, resolve)
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if fmt.Sprint(mentioned) != fmt.Sprint(tt.mentioned) {
				t.Errorf("mentioned: got %v, want %v", mentioned, tt.mentioned)
			}
		})
	}
}

func FuzzHTMLToWhatsApp(f *testing.F) {
	for _, seed := range []string{
		"", "<b>bold</b>", "<i><b>x</b></i>", "<pre><code>a\nb</code></pre>", "<code>a\nb</code>",
		"<blockquote><p>q</p></blockquote>", "<ol start=\"3\"><li>a</li></ol>", "&lt;script&gt;",
		`<a href="https://matrix.to/#/@whatsapp_4915112345678:example.org">A</a>`, "<b>\xff</b>",
		"<b><i>unclosed", "<table><tr><td>x</td></tr></table>", "<img alt=\"<x>\">", "<u> </u><s>\n</s>",
	} {
		f.Add(seed)
	}
	resolve := func(mxid id.UserID) (types.JID, bool) {
		return types.NewJID("4915112345678", types.DefaultUserServer), strings.HasPrefix(string(mxid), "@whatsapp_")
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, mentioned := htmlToWhatsApp(context.Background(), in, nil, resolve)
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 %q for %q", got, in)
		}
		// No tag of the input survives: every '<' in the output is text the
		// input escaped (or an attribute the default converters show).
		if plain := format.HTMLToText(in); strings.Count(got, "<") > strings.Count(plain, "<") {
			t.Fatalf("raw < leaked: %q → %q (text %q)", in, got, plain)
		}
		for _, m := range mentioned {
			if m != "4915112345678@s.whatsapp.net" {
				t.Fatalf("unexpected mention %q", m)
			}
		}
	})
}
