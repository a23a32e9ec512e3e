package bridge

import (
	"strings"
	"testing"

	"maunium.net/go/mautrix/format"
)

// TestUserMarkdownKeepsCodeSpansOnly: a network's message keeps its code
// spans and escapes, and nothing else in it formats.
func TestUserMarkdownKeepsCodeSpansOnly(t *testing.T) {
	for _, tc := range []struct{ in, html string }{
		{"send `login irc libera` first", "send <code>login irc libera</code> first"},
		{"`a*b*` and *a*", "<code>a*b*</code> and *a*"},
		{"[x](https://example.org) ~~y~~ ||z|| <https://example.org>", "[x](https://example.org) ~~y~~ ||z|| &lt;https://example.org&gt;"},
		{"digits and []\\`_^{|}-", "digits and []`_^{|}-"},
		{"a ` lone backtick and _under_", "a ` lone backtick and _under_"},
		{"``a`b`` kept", "<code>a`b</code> kept"},
	} {
		got := format.RenderMarkdown(userMarkdown(tc.in), true, false)
		html := got.FormattedBody
		if html == "" {
			html = got.Body
		}
		if strings.TrimSpace(html) != tc.html {
			t.Errorf("%q rendered as %q, want %q", tc.in, html, tc.html)
		}
	}
}
