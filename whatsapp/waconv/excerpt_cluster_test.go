package waconv

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestExcerptKeepsClustersWhole: the excerpt of a long text is cut before
// an emoji or a letter with its marks that its 1000th character is in the
// middle of, not through it; the clusters before the cut stay whole.
func TestExcerptKeepsClustersWhole(t *testing.T) {
	// Each is a cluster of several characters; the filler puts its second
	// character at the 1000th place, so a cut after excerptRunes
	// characters falls inside it. No space near the cut: the cut is not
	// moved to a word's end.
	clusters := map[string]string{
		"ZWJ sequence":     "👩\u200d👩\u200d👧",
		"flag":             "🇩🇪",
		"skin tone":        "👍🏽",
		"emoji selector":   "❤\ufe0f",
		"combining mark":   "e\u0301",
		"flag after flags": "🇫🇷🇩🇪",
	}
	for name, cluster := range clusters {
		t.Run(name, func(t *testing.T) {
			first, _ := utf8.DecodeRuneInString(cluster)
			fill := excerptRunes - 1
			if name == "flag after flags" {
				// The cut falls between the two flags' indicators, then
				// inside the second flag.
				fill -= 2
			}
			text := strings.Repeat("x", fill) + cluster + strings.Repeat("y", 2000)
			got := excerpt(text)
			head := strings.TrimSuffix(got, " …")
			if name == "flag after flags" {
				if head != strings.Repeat("x", fill)+"🇫🇷" {
					t.Errorf("excerpt ends %q; want it to end with the whole first flag", head[len(head)-20:])
				}
				return
			}
			if head != strings.Repeat("x", fill) {
				t.Errorf("excerpt ends %q; want it cut before the cluster beginning %q", head[len(head)-20:], first)
			}
		})
	}
	// A cut right after a cluster keeps it.
	text := strings.Repeat("x", excerptRunes-3) + "🇩🇪z" + strings.Repeat("y", 2000)
	if got := excerpt(text); !strings.HasSuffix(got, "🇩🇪z …") {
		t.Errorf("excerpt ends %q; want the whole flag and the letter after it", got[len(got)-20:])
	}
}

// TestExcerptOfOneHugeClusterShowsIt: a text whose first cluster alone
// is longer than the excerpt (a letter under thousands of accents, a run
// of joiners, as anyone can send) still shows its beginning, cut inside
// that cluster, rather than nothing.
func TestExcerptOfOneHugeClusterShowsIt(t *testing.T) {
	for name, text := range map[string]string{
		"accents":          "e" + strings.Repeat("\u0301", 3000),
		"only marks":       strings.Repeat("\u0301", 3000),
		"joiners":          strings.Repeat("👩\u200d", 1500),
		"only joiners":     strings.Repeat("\u200d", 3000),
		"selectors":        "❤" + strings.Repeat("\ufe0f", 3000),
		"after a space":    "a " + strings.Repeat("\u0301", 3000),
		"flag then joiner": "🇩🇪" + strings.Repeat("\u200d", 3000),
	} {
		t.Run(name, func(t *testing.T) {
			head, cut := strings.CutSuffix(excerpt(text), " …")
			if !cut || head == "" || !strings.HasPrefix(text, head) || utf8.RuneCountInString(head) > excerptRunes {
				t.Errorf("excerpt shows %d characters %.20q; want the text's beginning, at most %d", utf8.RuneCountInString(head), head, excerptRunes)
			}
		})
	}
}

// FuzzExcerpt: the excerpt of any valid text is valid UTF-8, begins the
// text, shows some of it, has at most excerptRunes characters of it, and
// is not cut inside any cluster clusterCut knows but one longer than the
// excerpt.
func FuzzExcerpt(f *testing.F) {
	for _, seed := range []string{"👩\u200d👩\u200d👧", "🇩🇪🇫🇷", "👍🏽", "❤\ufe0f", "e\u0301\u0302", "a\u200d ", "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f", "\u0301"} {
		f.Add(strings.Repeat("x", excerptRunes-2), seed, 3)
	}
	f.Add("a", "\u200d\u200d", 600) // one cluster longer than the excerpt
	f.Fuzz(func(t *testing.T, fill, piece string, repeat int) {
		if repeat < 0 || repeat > 600 {
			return
		}
		text := fill + strings.Repeat(piece, repeat) + strings.Repeat("y ", 600)
		if !utf8.ValidString(text) {
			return
		}
		got := excerpt(text)
		if !utf8.ValidString(got) {
			t.Fatalf("excerpt %q is not valid UTF-8", got)
		}
		if got == text {
			return
		}
		head, cut := strings.CutSuffix(got, " …")
		if !cut || !strings.HasPrefix(text, head) {
			t.Fatalf("excerpt %q does not begin the text %q", got, text)
		}
		if head == "" {
			t.Fatalf("excerpt of %q shows nothing of it", text[:min(len(text), 32)])
		}
		if n := utf8.RuneCountInString(head); n > excerptRunes {
			t.Fatalf("excerpt has %d characters of the text", n)
		}
		if splitsCluster(text, len(head)) && clusterCut(text, len(head)) > 0 {
			t.Fatalf("excerpt %q is cut inside a cluster: %q follows", head, text[len(head):min(len(text), len(head)+16)])
		}
	})
}
