package ircconn

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// actionPrefix and actionSuffix frame a CTCP ACTION (an emote).
const (
	actionPrefix = "\x01ACTION "
	actionSuffix = "\x01"
)

// TextBudget returns how many bytes of text fit in one PRIVMSG to target
// once the server relays it as ":<source> PRIVMSG <target> :<text>\r\n"
// within 512 bytes, where sourceLen is len("nick!user@host"). NOTICE is
// one byte shorter, so the budget holds for it too. Tags do not count:
// they have their own allowance.
func TextBudget(sourceLen int, target string) int {
	return textBudget(MaxLineLen, sourceLen, target)
}

// textBudget is TextBudget for a server whose lines may take lineLen
// bytes (its LINELEN): it cuts what it relays to that, prefix included.
func textBudget(lineLen, sourceLen int, target string) int {
	return lineLen - len(":") - sourceLen - len(" PRIVMSG ") - len(target) - len(" :") - len("\r\n")
}

// SplitText splits text into PRIVMSG/NOTICE texts for target that each fit
// in one relayed line (see TextBudget). Each line break (LF, CRLF or CR)
// starts a new piece and empty lines are dropped, since IRC cannot send
// them; NUL bytes, which no IRC line may carry, are dropped too. Long lines
// are cut after the last space that leaves a reasonably full piece, else at
// the last character boundary: never inside a UTF-8 sequence, and not
// between a base character and its combining marks, emoji modifiers, ZWJ
// sequences or flag pairs. The space stays at the end of the earlier
// piece, so concatenating the pieces of one line gives the line back. A
// CTCP ACTION text ("\x01ACTION waves\x01") is split inside its framing and
// every piece keeps the framing. Returns nil if the budget is too small for
// any text (an absurdly long target or source).
func SplitText(sourceLen int, target, text string) []string {
	return splitWithin(TextBudget(sourceLen, target), "", text)
}

// SplitTextPrefixed is SplitText for text of which every piece must start
// with lead, such as a relayed sender's "<name> ": the text is split with
// the budget less lead's length and lead starts every piece (inside an
// ACTION's framing). Were lead put before splitting, only the first piece
// would name the sender, and the text could make a later one look like
// another person's line.
func SplitTextPrefixed(sourceLen int, target, lead, text string) []string {
	return splitWithin(TextBudget(sourceLen, target)-len(lead), lead, text)
}

// splitWithin is SplitText with budget bytes for each piece's text, and
// lead (not counted in budget) put at the start of every piece.
func splitWithin(budget int, lead, text string) []string {
	prefix, suffix := lead, ""
	if strings.HasPrefix(text, actionPrefix) {
		prefix, suffix = actionPrefix+lead, actionSuffix
		text = strings.TrimSuffix(text[len(actionPrefix):], actionSuffix)
		budget -= len(actionPrefix) + len(actionSuffix)
	}
	if budget < utf8.UTFMax {
		return nil
	}
	if strings.IndexByte(text, 0) >= 0 {
		text = strings.ReplaceAll(text, "\x00", "")
	}
	var out []string
	for len(text) > 0 {
		line := text
		text = ""
		if i := strings.IndexAny(line, "\r\n"); i >= 0 {
			rest := line[i+1:]
			if line[i] == '\r' && rest != "" && rest[0] == '\n' {
				rest = rest[1:]
			}
			line, text = line[:i], rest
		}
		for len(line) > budget {
			cut := splitPoint(line, budget)
			out = append(out, prefix+line[:cut]+suffix)
			line = line[cut:]
		}
		if line != "" {
			out = append(out, prefix+line+suffix)
		}
	}
	return out
}

// splitPoint returns where to cut s (len(s) > budget) so that s[:cut] fits
// in budget bytes: after a space if that keeps the piece at least a third
// full, else at the last grapheme boundary, else at the last rune start.
func splitPoint(s string, budget int) int {
	cut := budget
	for cut > 0 && !isGraphemeBoundary(s, cut) {
		cut--
	}
	if cut == 0 {
		// One "grapheme" longer than a whole line (a letter with hundreds
		// of combining marks): settle for a rune boundary.
		cut = budget
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		if cut == 0 {
			cut = budget // bytes that are not UTF-8 at all
		}
		return cut
	}
	if sp := strings.LastIndexByte(s[:cut], ' '); sp >= 0 && sp+1 > budget/3 && isGraphemeBoundary(s, sp+1) {
		return sp + 1
	}
	return cut
}

// isGraphemeBoundary approximates the Unicode extended grapheme cluster
// rules well enough for chat text: i must start a rune, the rune there must
// not extend the previous one (combining marks, variation selectors, emoji
// modifiers, tag characters, ZWJ), the previous rune must not be a ZWJ,
// and regional indicators pair up into flags.
func isGraphemeBoundary(s string, i int) bool {
	if i <= 0 || i >= len(s) {
		return true
	}
	if !utf8.RuneStart(s[i]) {
		return false
	}
	next, _ := utf8.DecodeRuneInString(s[i:])
	if next == utf8.RuneError {
		return true
	}
	if isExtender(next) {
		return false
	}
	prev, _ := utf8.DecodeLastRuneInString(s[:i])
	if prev == zwj {
		return false
	}
	if isRegionalIndicator(prev) && isRegionalIndicator(next) {
		// Between two indicators: a boundary only after an even count.
		n := 0
		for j := i; j > 0; {
			r, size := utf8.DecodeLastRuneInString(s[:j])
			if !isRegionalIndicator(r) {
				break
			}
			n++
			j -= size
		}
		return n%2 == 0
	}
	return true
}

const zwj = '\u200d'

func isExtender(r rune) bool {
	switch {
	case r < 0x300:
		return false // fast path: ASCII and Latin-1
	case r == zwj:
		return true
	case r >= 0x1F3FB && r <= 0x1F3FF: // emoji skin-tone modifiers
		return true
	case r >= 0xE0020 && r <= 0xE007F: // emoji tag sequences (subdivision flags)
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Mc)
}

func isRegionalIndicator(r rune) bool { return r >= 0x1F1E6 && r <= 0x1F1FF }
