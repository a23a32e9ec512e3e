package network

import "strings"

// Literal is s, words from outside (an account's or a chat's name, a
// server's reason, a library's error, what someone typed), made to show
// as written in the bot's Markdown. It is the one escaper for such words,
// wherever they go: straight into a notice or an answer, or into a
// State's Message or a UserError's message, which the core renders as
// Markdown whose code spans are meant and whose other marks it takes
// literally (an IRC nick's backticks, "Closing link: (a`b@h) [Killed
// (c`d)]", would still make a code span there).
//
// It escapes, with a backslash, the marks that make code, emphasis,
// links, images, HTML and entities, and the renderer's extensions:
// strikethrough ("~~"), spoilers ("||"), tables ("|"). The marks that
// count only at a line's start (a heading's "#", a list's "-", "+" or
// "1.", a setext underline's "=") are escaped where the words start,
// since callers put them there too ("* %s" in a list); inside the words
// they stay as they are, so that ordinary text reads as ordinary text in
// the source too. A line break becomes a space: the words sit in a
// sentence, where a break would end the paragraph or the list item.
//
// For words shown as code, use CodeSpan instead.
func Literal(s string) string {
	var sb strings.Builder
	sb.Grow(len(s) + 8)
	start := lineStartMark(s)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\r' && i+1 < len(s) && s[i+1] == '\n':
			// One break, one space.
		case c == '\r' || c == '\n':
			sb.WriteByte(' ')
		case i == start || strings.IndexByte("\\`*_[]<>&~|", c) >= 0:
			sb.WriteByte('\\')
			sb.WriteByte(c)
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

// lineStartMark is where in s the mark is that would make a block of s
// put at a line's start (a heading, a list item, a setext underline), -1
// if there is none: its first byte, or the "." or ")" after its leading
// digits ("1. item").
func lineStartMark(s string) int {
	if s == "" {
		return -1
	}
	if strings.IndexByte("#-+=", s[0]) >= 0 {
		return 0
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i > 0 && i < len(s) && (s[i] == '.' || s[i] == ')') {
		return i
	}
	return -1
}
