package ircconn

import (
	"strings"
	"testing"
	"unicode/utf8"
)

const testSource = "ferry!~ferry@some.host.example" // 30 bytes

// checkPieces asserts the invariants every SplitText result must keep and
// returns the pieces rejoined (framing removed).
func checkPieces(t testing.TB, sourceLen int, target, text string, pieces []string) string {
	t.Helper()
	action := strings.HasPrefix(text, actionPrefix)
	var joined strings.Builder
	for i, p := range pieces {
		line := ":" + strings.Repeat("x", sourceLen) + " PRIVMSG " + target + " :" + p + "\r\n"
		if len(line) > MaxLineLen {
			t.Fatalf("piece %d: relayed line of %d bytes", i, len(line))
		}
		if p == "" || strings.ContainsAny(p, "\r\n\x00") {
			t.Fatalf("piece %d is empty or has a line break or NUL: %q", i, p)
		}
		if action {
			if !strings.HasPrefix(p, actionPrefix) || !strings.HasSuffix(p, actionSuffix) {
				t.Fatalf("piece %d lost the ACTION framing: %q", i, p)
			}
			p = p[len(actionPrefix) : len(p)-len(actionSuffix)]
		}
		if utf8.ValidString(text) && !utf8.ValidString(p) {
			t.Fatalf("piece %d cut inside a UTF-8 sequence: %q", i, p)
		}
		joined.WriteString(p)
	}
	return joined.String()
}

// wantJoined is what the pieces of text must rejoin to: the text without
// framing, line breaks and NULs.
func wantJoined(text string) string {
	if strings.HasPrefix(text, actionPrefix) {
		text = strings.TrimSuffix(text[len(actionPrefix):], actionSuffix)
	}
	return strings.NewReplacer("\r", "", "\n", "", "\x00", "").Replace(text)
}

func TestSplitText(t *testing.T) {
	words := strings.Repeat("lorem ipsum dolor ", 60)
	cases := []struct {
		name  string
		text  string
		check func(t *testing.T, pieces []string)
	}{
		{"short", "hello", func(t *testing.T, p []string) {
			if len(p) != 1 || p[0] != "hello" {
				t.Errorf("%q", p)
			}
		}},
		{"words", words, func(t *testing.T, p []string) {
			for i, piece := range p[:len(p)-1] {
				if !strings.HasSuffix(piece, " ") {
					t.Errorf("piece %d not split between words: ...%q", i, piece[len(piece)-10:])
				}
			}
		}},
		{"long word", strings.Repeat("x", 1500), func(t *testing.T, p []string) {
			if len(p) != 4 {
				t.Errorf("%d pieces", len(p))
			}
		}},
		{"CJK", strings.Repeat("漢字かな交じり文", 60), nil},
		{"emoji", strings.Repeat("👍🏽👨‍👩‍👧‍👦🇫🇷🏴󠁧󠁢󠁳󠁣󠁴󠁿", 30), func(t *testing.T, p []string) {
			for i, piece := range p {
				r, _ := utf8.DecodeRuneInString(piece)
				if isExtender(r) || r == 0x1F3FD {
					t.Errorf("piece %d starts with a modifier %U", i, r)
				}
				if last, _ := utf8.DecodeLastRuneInString(piece); last == zwj {
					t.Errorf("piece %d ends in a ZWJ", i)
				}
				if n := countRI(piece); n%2 != 0 {
					t.Errorf("piece %d splits a flag (%d regional indicators)", i, n)
				}
			}
		}},
		{"combining", strings.Repeat("e\u0301a\u0300o\u0308\u0304 ", 200), func(t *testing.T, p []string) {
			for i, piece := range p {
				if r, _ := utf8.DecodeRuneInString(piece); isExtender(r) {
					t.Errorf("piece %d starts with combining %U", i, r)
				}
			}
		}},
		{"newlines", "line one\nline two\r\nline three\r\n\nline four\r", func(t *testing.T, p []string) {
			want := []string{"line one", "line two", "line three", "line four"}
			if !equalStrings(p, want) {
				t.Errorf("%q, want %q", p, want)
			}
		}},
		{"action", actionPrefix + words + actionSuffix, func(t *testing.T, p []string) {
			if len(p) < 2 {
				t.Errorf("%d pieces", len(p))
			}
		}},
		{"action with newline", actionPrefix + "waves\nand smiles" + actionSuffix, func(t *testing.T, p []string) {
			want := []string{actionPrefix + "waves" + actionSuffix, actionPrefix + "and smiles" + actionSuffix}
			if !equalStrings(p, want) {
				t.Errorf("%q, want %q", p, want)
			}
		}},
		{"nul", "a\x00b", func(t *testing.T, p []string) {
			if len(p) != 1 || p[0] != "ab" {
				t.Errorf("%q", p)
			}
		}},
		{"empty", "", func(t *testing.T, p []string) {
			if len(p) != 0 {
				t.Errorf("%q", p)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pieces := SplitText(len(testSource), "#ferry", c.text)
			if got, want := checkPieces(t, len(testSource), "#ferry", c.text, pieces), wantJoined(c.text); got != want {
				t.Errorf("pieces do not rejoin to the text:\n got %q\nwant %q", got, want)
			}
			if c.check != nil {
				c.check(t, pieces)
			}
		})
	}
}

// TestSplitTextPrefixedStartsEveryPiece: a relayed sender's "<name> "
// starts every piece of a long line, inside an emote's ACTION framing;
// the pieces still fit, and without the lead rejoin to the text.
func TestSplitTextPrefixedStartsEveryPiece(t *testing.T) {
	const lead = "<dave> "
	crafted := strings.Repeat("x", 470) + " <admin> I am the admin, please op me"
	for _, text := range []string{crafted, actionPrefix + crafted + actionSuffix} {
		pieces := SplitTextPrefixed(len(testSource), "#chan", lead, text)
		if len(pieces) < 2 {
			t.Fatalf("%d pieces, want a split", len(pieces))
		}
		framing := ""
		if strings.HasPrefix(text, actionPrefix) {
			framing = actionPrefix
		}
		bare := make([]string, len(pieces))
		for i, p := range pieces {
			rest, ok := strings.CutPrefix(p, framing+lead)
			if !ok {
				t.Fatalf("piece %d does not start with %q: %q", i, framing+lead, p)
			}
			bare[i] = framing + rest
		}
		checkPieces(t, len(testSource), "#chan", text, pieces) // they fit, framing kept
		if got := checkPieces(t, len(testSource), "#chan", text, bare); got != wantJoined(text) {
			t.Errorf("pieces without the lead rejoin to %q, want the text", got)
		}
	}
}

func TestSplitTextBudget(t *testing.T) {
	// Exactly the budget fits in one piece; one more byte makes two.
	budget := TextBudget(len(testSource), "#ferry")
	if got := SplitText(len(testSource), "#ferry", strings.Repeat("a", budget)); len(got) != 1 {
		t.Errorf("budget-sized text: %d pieces", len(got))
	}
	if got := SplitText(len(testSource), "#ferry", strings.Repeat("a", budget+1)); len(got) != 2 || len(got[0]) != budget {
		t.Errorf("budget+1 text: %d pieces", len(got))
	}
	if got := SplitText(600, "#ferry", "hi"); got != nil {
		t.Errorf("impossible budget gave %q", got)
	}
}

func countRI(s string) int {
	n := 0
	for _, r := range s {
		if isRegionalIndicator(r) {
			n++
		}
	}
	return n
}

func FuzzSplitText(f *testing.F) {
	f.Add(30, "#ferry", "hello world")
	f.Add(30, "#ferry", strings.Repeat("漢字 ", 200))
	f.Add(90, "nick", actionPrefix+strings.Repeat("👍🏽 ", 150)+actionSuffix)
	f.Add(60, "#c", strings.Repeat("e\u0301", 400))
	f.Add(10, "#c", "a\r\nb\rc\nd\x00e")
	f.Add(0, "#c", strings.Repeat("\xff\xfe", 300))
	f.Add(400, strings.Repeat("#", 80), strings.Repeat("🇫🇷", 50))
	f.Fuzz(func(t *testing.T, sourceLen int, target, text string) {
		if sourceLen < 0 || sourceLen > 600 || len(target) > 600 {
			return
		}
		pieces := SplitText(sourceLen, target, text)
		if pieces == nil {
			return // budget too small for anything, or nothing to send
		}
		if got, want := checkPieces(t, sourceLen, target, text, pieces), wantJoined(text); got != want {
			t.Fatalf("pieces do not rejoin:\n got %q\nwant %q", got, want)
		}
	})
}
