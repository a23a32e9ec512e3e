package waconv

import (
	"unicode"
	"unicode/utf8"
)

// A cut at a character boundary may still split what shows as one
// character: an emoji joined by ZWJs (👩‍👩‍👧), a flag (two regional
// indicators), an emoji with its skin tone or presentation selector, or a
// letter with its combining marks. A cut split so shows a stray piece of
// it, or a different emoji. Without a full grapheme segmentation (a
// module more for one excerpt), the cut backs off over those joins.

const zwj = '\u200d'

// extendsCluster says whether r belongs to the character before it: a
// ZWJ, a variation selector, an emoji skin-tone modifier, an emoji tag
// (subdivision flags) or a combining mark.
func extendsCluster(r rune) bool {
	switch {
	case r == zwj,
		r >= 0xfe00 && r <= 0xfe0f, r >= 0xe0100 && r <= 0xe01ef, // variation selectors
		r >= 0x1f3fb && r <= 0x1f3ff, // skin tones
		r >= 0xe0020 && r <= 0xe007f: // tags
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Mc)
}

func isRegionalIndicator(r rune) bool { return r >= 0x1f1e6 && r <= 0x1f1ff }

// splitsCluster says whether a cut of text at byte i (a character
// boundary) splits one of the clusters extendsCluster and
// isRegionalIndicator describe.
func splitsCluster(text string, i int) bool {
	if i <= 0 || i >= len(text) {
		return false
	}
	next, _ := utf8.DecodeRuneInString(text[i:])
	prev, _ := utf8.DecodeLastRuneInString(text[:i])
	if extendsCluster(next) || prev == zwj {
		return true
	}
	if !isRegionalIndicator(next) || !isRegionalIndicator(prev) {
		return false
	}
	// Regional indicators pair from the start of their run: an odd
	// number before the cut leaves one without its pair.
	run := 0
	for j := i; j > 0; {
		r, size := utf8.DecodeLastRuneInString(text[:j])
		if !isRegionalIndicator(r) {
			break
		}
		run++
		j -= size
	}
	return run%2 == 1
}

// clusterCut moves a cut of text at byte i (a character boundary) back
// to where no cluster is split; 0 when the text begins with one cluster
// that long (excerpt then cuts inside it).
func clusterCut(text string, i int) int {
	for splitsCluster(text, i) {
		_, size := utf8.DecodeLastRuneInString(text[:i])
		i -= size
	}
	return i
}
