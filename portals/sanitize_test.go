package portals

import (
	"strings"
	"testing"

	"maunium.net/go/mautrix/format"
)

func TestSanitizeHTMLClampsListStart(t *testing.T) {
	cases := map[string]string{
		`<p>plain</p>`:                  `<p>plain</p>`,
		`<ol start="3"><li>a</li></ol>`: `<ol start="3"><li>a</li></ol>`,
		`<ol start="9223372036854775807"><li>a</li><li>b</li></ol>`: `<ol start="1000000"><li>a</li><li>b</li></ol>`,
		`<OL START="-9223372036854775808"><li>a</li></OL>`:          `<ol start="-1000000"><li>a</li></OL>`,
		`<ol start="x"><li>a</li></ol>`:                             `<ol start="1"><li>a</li></ol>`,
		`<b>unclosed <ol start="99999999999999999999999"><li>x`:     `<b>unclosed <ol start="1"><li>x`,
		`text with "<ol" but no tag`:                                `text with "<ol" but no tag`,
	}
	for in, want := range cases {
		if got := sanitizeHTML(in); got != want {
			t.Errorf("sanitizeHTML(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSanitizedListSurvivesMautrix proves the clamp is enough for the
// parser that crashes on the raw value.
func TestSanitizedListSurvivesMautrix(t *testing.T) {
	in := sanitizeHTML(`<ol start="9223372036854775807"><li>a</li><li>b</li></ol>`)
	if got := format.HTMLToText(in); !strings.Contains(got, "1000001. b") {
		t.Errorf("HTMLToText = %q", got)
	}
}

func FuzzSanitizeHTML(f *testing.F) {
	f.Add(`<ol start="9223372036854775807"><li>a</li></ol>`)
	f.Add(`<ol start=-5 reversed><li>x</ol>`)
	f.Fuzz(func(t *testing.T, s string) {
		out := sanitizeHTML(s)
		if !strings.Contains(strings.ToLower(s), "<ol") && out != s {
			t.Fatalf("changed input without <ol: %q -> %q", s, out)
		}
		// The result must be safe for mautrix's parser: it must return.
		_ = format.HTMLToText(out)
	})
}
