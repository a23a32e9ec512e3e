package ircfmt

import "strings"

// This file parses IRC formatting codes; irc_to_matrix.go and the tests
// build on it.

// IRC formatting control codes.
const (
	CodeBold          = '\x02'
	CodeColour        = '\x03'
	CodeHexColour     = '\x04'
	CodeReset         = '\x0f'
	CodeMonospace     = '\x11'
	CodeReverse       = '\x16'
	CodeItalic        = '\x1d'
	CodeStrikethrough = '\x1e'
	CodeUnderline     = '\x1f'
)

// isCode reports whether b starts an IRC formatting code.
func isCode(b byte) bool {
	switch b {
	case CodeBold, CodeColour, CodeHexColour, CodeReset, CodeMonospace,
		CodeReverse, CodeItalic, CodeStrikethrough, CodeUnderline:
		return true
	}
	return false
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// colourCode is one parsed \x03 or \x04 code. A colour is 0xRRGGBB, or -1 for
// the default colour (IRC colour 99).
type colourCode struct {
	reset  bool // the code had no parameters: both colours go back to default
	hasBG  bool // a background was given (the foreground always is, unless reset)
	fg, bg int32
	end    int // index just after the code and its parameters
}

// parseColourCode parses the colour code starting at s[i] (\x03 or \x04).
//
// \x03 takes one or two decimal digits for the foreground, then optionally a
// comma and one or two digits for the background. A comma not followed by a
// digit is text, and so is a third digit ("\x0312345" is colour 12, then
// "345"). \x03 not followed by a digit resets both colours; in particular
// "\x03,5" is a colour reset followed by the text ",5" (a background needs a
// foreground, as in mIRC). \x04 works the same with exactly six hex digits
// (RRGGBB) per colour.
func parseColourCode(s string, i int) colourCode {
	c := colourCode{fg: -1, bg: -1}
	j := i + 1
	if s[i] == CodeHexColour {
		fg, ok := hexAt(s, j)
		if !ok {
			c.reset, c.end = true, j
			return c
		}
		c.fg, j = fg, j+6
		if j < len(s) && s[j] == ',' {
			if bg, ok := hexAt(s, j+1); ok {
				c.hasBG, c.bg, j = true, bg, j+7
			}
		}
		c.end = j
		return c
	}
	n, j, ok := numAt(s, j)
	if !ok {
		c.reset, c.end = true, j
		return c
	}
	c.fg = colourValue(n)
	if j+1 < len(s) && s[j] == ',' && isDigit(s[j+1]) {
		n, j, _ = numAt(s, j+1)
		c.hasBG, c.bg = true, colourValue(n)
	}
	c.end = j
	return c
}

// numAt reads one or two decimal digits at s[i].
func numAt(s string, i int) (n, end int, ok bool) {
	if i >= len(s) || !isDigit(s[i]) {
		return 0, i, false
	}
	n, i = int(s[i]-'0'), i+1
	if i < len(s) && isDigit(s[i]) {
		n, i = n*10+int(s[i]-'0'), i+1
	}
	return n, i, true
}

func hexAt(s string, i int) (int32, bool) {
	if i+6 > len(s) {
		return 0, false
	}
	return parseHex6(s[i : i+6])
}

// colourValue gives the RGB value of IRC colour n, or -1 for 99 (default).
func colourValue(n int) int32 {
	if n < 0 || n >= len(Palette) {
		return -1
	}
	c := Palette[n]
	return int32(c.R)<<16 | int32(c.G)<<8 | int32(c.B)
}

// StripCodes removes all IRC formatting codes (with their colour parameters)
// from text. Everything else, including other control characters and invalid
// UTF-8, is left as it is.
func StripCodes(text string) string {
	i := 0
	for i < len(text) && !isCode(text[i]) {
		i++
	}
	if i == len(text) {
		return text
	}
	var sb strings.Builder
	sb.Grow(len(text))
	sb.WriteString(text[:i])
	for i < len(text) {
		b := text[i]
		switch {
		case b == CodeColour || b == CodeHexColour:
			i = parseColourCode(text, i).end
		case isCode(b):
			i++
		default:
			sb.WriteByte(b)
			i++
		}
	}
	return sb.String()
}

// ircState is the formatting in force at one point of an IRC line.
type ircState struct {
	bold, italic, underline, strike, mono, reverse bool
	fg, bg                                         int32 // 0xRRGGBB or -1
}

var plainState = ircState{fg: -1, bg: -1}

// apply applies the formatting code at s[i] to st and returns the index
// after the code (and its parameters).
func (st *ircState) apply(s string, i int) int {
	switch s[i] {
	case CodeBold:
		st.bold = !st.bold
	case CodeItalic:
		st.italic = !st.italic
	case CodeUnderline:
		st.underline = !st.underline
	case CodeStrikethrough:
		st.strike = !st.strike
	case CodeMonospace:
		st.mono = !st.mono
	case CodeReverse:
		st.reverse = !st.reverse
	case CodeReset:
		*st = plainState
	case CodeColour, CodeHexColour:
		cc := parseColourCode(s, i)
		switch {
		case cc.reset:
			st.fg, st.bg = -1, -1
		case cc.hasBG:
			st.fg, st.bg = cc.fg, cc.bg
		default:
			st.fg = cc.fg
		}
		return cc.end
	}
	return i + 1
}
