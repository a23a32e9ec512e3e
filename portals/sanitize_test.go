package portals

import (
	"strings"
	"testing"

	"maunium.net/go/mautrix/event"
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
		if got, ok := sanitizeHTML(in); got != want || !ok {
			t.Errorf("sanitizeHTML(%q) = %q, %v; want %q, true", in, got, ok, want)
		}
	}
}

// foreignContentList hides an <ol> from the tokenizer, which reads <style>
// as raw text, but not from the parser, for which <style> inside <svg> is
// markup and the <ol> breaks out of it into a list. Before it was caught,
// this killed Ferry at every start: the event was never marked handled.
const foreignContentList = `<svg><style><ol start="-9223372036854775808"><li>x</li></ol></style></svg>`

// A list that clamping cannot reach makes the formatted body go: the
// plain body goes instead, and mautrix's parser never sees it.
func TestUnreachableListDropsTheFormattedBody(t *testing.T) {
	for _, in := range []string{
		foreignContentList,
		`<math><title><ol start="9223372036854775807"><li>a</li><li>b</li></ol></title></math>`,
		`<p>ok</p><svg><textarea><OL START=-99999999999999999999><li>x</OL></textarea></svg>`,
	} {
		if _, ok := sanitizeHTML(in); ok {
			t.Errorf("sanitizeHTML(%q) says it is safe", in)
		}
		content := &event.MessageEventContent{MsgType: event.MsgText, Body: "x", Format: event.FormatHTML, FormattedBody: in}
		sanitizeContent(content)
		if content.FormattedBody != "" || content.Format != "" || content.Body != "x" {
			t.Errorf("after sanitizeContent: format %q, formatted %q, body %q; want only the plain body", content.Format, content.FormattedBody, content.Body)
		}
	}
	// A list in a real <style> is text to the parser too: nothing to drop.
	in := `<style><ol start="-9223372036854775808"></style><p>hi</p>`
	if got, ok := sanitizeHTML(in); !ok {
		t.Errorf("sanitizeHTML(%q) = %q, not safe; the parser sees no list", in, got)
	}
}

// TestSanitizedListSurvivesMautrix proves the clamp is enough for the
// parser that crashes on the raw value.
func TestSanitizedListSurvivesMautrix(t *testing.T) {
	in, _ := sanitizeHTML(`<ol start="9223372036854775807"><li>a</li><li>b</li></ol>`)
	if got := format.HTMLToText(in); !strings.Contains(got, "1000001. b") {
		t.Errorf("HTMLToText = %q", got)
	}
}

func FuzzSanitizeHTML(f *testing.F) {
	f.Add(`<ol start="9223372036854775807"><li>a</li></ol>`)
	f.Add(`<ol start=-5 reversed><li>x</ol>`)
	f.Add(foreignContentList)
	f.Fuzz(func(t *testing.T, s string) {
		out, ok := sanitizeHTML(s)
		if !strings.Contains(strings.ToLower(s), "<ol") && (out != s || !ok) {
			t.Fatalf("changed input without <ol: %q -> %q, %v", s, out, ok)
		}
		if !ok {
			return // dropped: mautrix's parser never sees it
		}
		// The result must be safe for mautrix's parser: it must return.
		_ = format.HTMLToText(out)
	})
}
