package bridge

import (
	"html"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/ferrybridge/ferry/bridge/network"
)

// The one rule for words from outside (an account's name, a server's
// reason, a channel, what a person typed) put into the bot's Markdown:
// they go through network.Literal, wherever they are put, directly into
// a notice or into a network's message (a state, a UserError) that the
// core then passes through userMarkdown. These tests render through
// mautrix's real Markdown renderer, as the bot's notices are.

// rendered is the HTML a notice of markdown shows, its text unescaped,
// and the number of tags in it: words shown as written add none.
func rendered(markdown string) (string, int) {
	content := noticeContent(markdown)
	body := strings.TrimSpace(content.FormattedBody)
	if content.FormattedBody == "" {
		body = html.EscapeString(content.Body)
	}
	return html.UnescapeString(body), strings.Count(body, "<")
}

// outsideWordsCases are words from outside each Markdown reading of
// which has bitten or could bite: marks format.EscapeMarkdown leaves
// (strikethrough, spoilers, entities, headings, lists, tables), and the
// backticks and backslashes of IRC nicks.
var outsideWordsCases = []string{
	"~~struck~~",
	"||spoiler||",
	"*em* _em_ **strong** __strong__",
	"[link](https://example.org)",
	"<b>bold</b> <https://example.org>",
	"&lt;not a tag&gt; &amp; &#42;",
	"a`b c`d",
	`\o/ \*x\* \\`,
	"# heading",
	"- item",
	"+ item",
	"1. item",
	"2) item",
	"> quote",
	"---",
	"===",
	"| a | b |",
	"![img](mxc://x/y)",
	"x\n    indented",
	"trailing backslash\\",
	"line\nbreak",
	"ends with two spaces  ",
}

// wantShown is how words are shown: as written, a line break as a space
// (a notice's sentence has no room for a paragraph).
func wantShown(words string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(words)
}

func checkOutsideWords(t *testing.T, words string) {
	t.Helper()
	lit, shown := network.Literal(words), wantShown(words)
	for _, c := range []struct {
		name, markdown string
		before, after  string // the HTML around the words
	}{
		{"in a sentence", "Logged in to Testnet as " + lit + ".", "Logged in to Testnet as ", "."},
		{"starting a line", "Notice:\n" + lit + " said so", "Notice:<br>\n", " said so"},
		{"in a network's message", userMarkdown("banned: " + lit + " (fix it with `irc password`)"), "banned: ", " (fix it with <code>irc password</code>)"},
		{"in a list item", "* **Testnet** " + lit + ": connected\n", "<ul>\n<li><strong>Testnet</strong> ", ": connected</li>\n</ul>"},
	} {
		got, tags := rendered(c.markdown)
		want := c.before + shown + c.after
		if wantTags := strings.Count(c.before+c.after, "<"); got != want || tags != wantTags {
			t.Errorf("%q %s: rendered as %q with %d tags, want %q with %d", words, c.name, got, tags, want, wantTags)
		}
	}
}

// TestOutsideWordsShowAsWritten: each of outsideWordsCases comes out of
// the renderer as written, in a sentence, at the start of a line, and in
// a network's message with its own code span.
func TestOutsideWordsShowAsWritten(t *testing.T) {
	for _, words := range outsideWordsCases {
		checkOutsideWords(t, words)
	}
}

// FuzzOutsideWordsShowAsWritten: whatever printable text the words are,
// they come out as written. Empty words and leading and trailing spaces
// are left out (Markdown trims a line's), as are control characters other than line
// breaks (the networks strip them) and invalid UTF-8.
func FuzzOutsideWordsShowAsWritten(f *testing.F) {
	for _, words := range outsideWordsCases {
		f.Add(words)
	}
	f.Fuzz(func(t *testing.T, words string) {
		if words == "" || !utf8.ValidString(words) || strings.TrimFunc(wantShown(words), unicode.IsSpace) != wantShown(words) {
			t.Skip()
		}
		for _, r := range words {
			if (unicode.IsControl(r) && r != '\n' && r != '\r') || (unicode.IsSpace(r) && r != ' ' && r != '\n' && r != '\r') {
				t.Skip()
			}
		}
		checkOutsideWords(t, words)
	})
}

// TestOneEscaperForOutsideWords: no code of the bridge or its networks
// escapes outside words with mautrix's escapers any more, which leave
// "~~" and "||" to the renderer (format.EscapeMarkdown) or are another
// way to write network.CodeSpan (format.SafeMarkdownCode).
func TestOneEscaperForOutsideWords(t *testing.T) {
	for _, dir := range []string{".", "network", "../irc", "../whatsapp"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, other := range []string{"format.EscapeMarkdown(", "format.SafeMarkdownCode("} {
				if strings.Contains(string(src), other) {
					t.Errorf("%s uses %s; outside words go through network.Literal (network.CodeSpan for code)", path, other)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
