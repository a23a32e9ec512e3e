package bridge

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestLongWordIsCutAtACharacter: an unknown command is shown back cut to
// 40 bytes; the cut fell inside a character of more than one byte ("é"
// at bytes 40 and 41), and the answer held an invalid byte sequence.
func TestLongWordIsCutAtACharacter(t *testing.T) {
	for _, word := range []string{
		strings.Repeat("a", 39) + "é",
		strings.Repeat("a", 38) + "日本",
		strings.Repeat("é", 30),
	} {
		got := sanitizeWord(word)
		if !utf8.ValidString(got) {
			t.Errorf("sanitizeWord(%q) = %q, not valid UTF-8", word, got)
		}
		if !strings.HasSuffix(got, "…") || !strings.HasPrefix(word, strings.TrimSuffix(got, "…")) {
			t.Errorf("sanitizeWord(%q) = %q; want the word's start and …", word, got)
		}
	}
}
