package network

import (
	"html"
	"strings"
	"testing"

	"maunium.net/go/mautrix/format"
)

// renderedCode is what Matrix clients show for CodeSpan(s): the one code
// element mautrix's Markdown renderer makes of it, and whether the
// rendering is that one element and nothing else.
func renderedCode(s string) (string, bool) {
	body := format.RenderMarkdown(CodeSpan(s), true, false).FormattedBody
	inner, ok := strings.CutPrefix(body, "<code>")
	if !ok {
		return body, false
	}
	inner, ok = strings.CutSuffix(inner, "</code>")
	if !ok || strings.Contains(inner, "<") {
		return body, false
	}
	return html.UnescapeString(inner), true
}

// TestCodeSpanShowsTheTextAsTyped: a nick or name with backticks, or with
// Markdown marks, is shown whole as code, not cut short and not taken
// for formatting.
func TestCodeSpanShowsTheTextAsTyped(t *testing.T) {
	for _, s := range []string{
		"libera", "n`ck", "`ick", "nick`", "a``b`c", "`", "``", "*b* _i_ [l](x)",
		" a ", "` ", "||spoiler||", "<b>", "a`b` *c*",
	} {
		if got, ok := renderedCode(s); !ok || got != s {
			t.Errorf("CodeSpan(%q) = %q shows %q (one code element: %v)", s, CodeSpan(s), got, ok)
		}
	}
}

func FuzzCodeSpan(f *testing.F) {
	for _, s := range []string{"n`ck", "``x", "a b", " `"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// Callers strip control characters (a line break ends a line of
		// Markdown, whatever encloses it); outside them any text counts.
		if strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f || r == '\uFFFD' }) || strings.Trim(s, " ") == "" {
			t.Skip()
		}
		if got, ok := renderedCode(s); !ok || got != s {
			t.Errorf("CodeSpan(%q) = %q shows %q (one code element: %v)", s, CodeSpan(s), got, ok)
		}
	})
}
