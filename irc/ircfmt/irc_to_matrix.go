package ircfmt

import (
	"strings"
	"unicode/utf8"
)

// Colours assumed for reverse video when none is set (mIRC's defaults:
// black text on white).
const (
	reverseDefaultFG = 0x000000
	reverseDefaultBG = 0xffffff
)

// effective resolves reverse video into explicit colours.
func (s ircState) effective() ircState {
	if !s.reverse {
		return s
	}
	fg, bg := s.fg, s.bg
	if fg < 0 {
		fg = reverseDefaultFG
	}
	if bg < 0 {
		bg = reverseDefaultBG
	}
	s.reverse, s.fg, s.bg = false, bg, fg
	return s
}

// htmlTag is one element open in the HTML being built.
type htmlTag struct {
	kind   byte // 'b', 'i', 'u', 's', 'm' or 'c' (font)
	fg, bg int32
}

type ircToMatrix struct {
	body, html strings.Builder
	open       []htmlTag
	formatted  bool
	prevSpace  bool // the last character written to html was a space or a line start
}

// IRCToMatrix converts an IRC message (with formatting codes) into a Matrix
// plain body and, only when some text is actually formatted, an HTML
// formatted_body (else html is ""). Links are left for clients to linkify.
//
// Normalisation: invalid UTF-8 is first replaced by U+FFFD (one per bad run),
// NUL and CR are dropped, and body is otherwise StripCodes of the text. A LF
// (from a caller joining multi-line messages) ends an IRC line: it resets all
// formatting, as IRC clients do per message, and is written as <br> in html.
// In html, runs of spaces and leading spaces are kept visible with &nbsp;.
// Reverse video (0x16) has no Matrix equivalent and becomes explicit
// colours (swapped; black on white assumed when unset).
func IRCToMatrix(text string) (body, html string) {
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	plain := true
	for i := 0; i < len(text); i++ {
		if b := text[i]; b < 0x20 && (isCode(b) || b == 0 || b == '\r' || b == '\n') {
			plain = false
			break
		}
	}
	if plain {
		return text, ""
	}
	c := ircToMatrix{prevSpace: true}
	c.body.Grow(len(text))
	c.html.Grow(len(text) + 32)
	c.convert(text)
	if !c.formatted {
		return c.body.String(), ""
	}
	return c.body.String(), c.html.String()
}

func (c *ircToMatrix) convert(text string) {
	st := plainState
	for i := 0; i < len(text); {
		switch b := text[i]; {
		case isCode(b):
			i = st.apply(text, i)
		case b == 0 || b == '\r':
			i++
		case b == '\n':
			c.sync(plainState)
			c.body.WriteByte('\n')
			c.html.WriteString("<br>")
			c.prevSpace = true
			st = plainState
			i++
		default:
			j := i + 1
			for j < len(text) && !isSpecial(text[j]) {
				j++
			}
			c.text(text[i:j], st.effective())
			i = j
		}
	}
	c.sync(plainState)
}

func isSpecial(b byte) bool {
	return b < 0x20 && (isCode(b) || b == 0 || b == '\r' || b == '\n')
}

func (c *ircToMatrix) text(run string, st ircState) {
	c.body.WriteString(run)
	if st != plainState {
		c.formatted = true
	}
	c.sync(st)
	for i := 0; i < len(run); i++ {
		b := run[i]
		if b == ' ' {
			if c.prevSpace {
				c.html.WriteString("&nbsp;")
			} else {
				c.html.WriteByte(' ')
			}
			c.prevSpace = true
			continue
		}
		c.prevSpace = false
		switch b {
		case '<':
			c.html.WriteString("&lt;")
		case '>':
			c.html.WriteString("&gt;")
		case '&':
			c.html.WriteString("&amp;")
		case '"':
			c.html.WriteString("&#34;")
		case '\'':
			c.html.WriteString("&#39;")
		default:
			c.html.WriteByte(b)
		}
	}
}

func (t htmlTag) satisfiedBy(st ircState) bool {
	switch t.kind {
	case 'b':
		return st.bold
	case 'i':
		return st.italic
	case 'u':
		return st.underline
	case 's':
		return st.strike
	case 'm':
		return st.mono
	}
	return t.fg == st.fg && t.bg == st.bg
}

func tagName(kind byte) string {
	switch kind {
	case 'b':
		return "b"
	case 'i':
		return "i"
	case 'u':
		return "u"
	case 's':
		return "del"
	case 'm':
		return "code"
	}
	return "font"
}

// sync closes and opens HTML elements so that exactly st is in force. Elements
// are kept open for as long as they remain wanted, closed innermost first, and
// opened in a fixed order with the colour innermost (it changes most often),
// so the output is always balanced.
func (c *ircToMatrix) sync(st ircState) {
	keep := 0
	for keep < len(c.open) && c.open[keep].satisfiedBy(st) {
		keep++
	}
	for k := len(c.open) - 1; k >= keep; k-- {
		c.html.WriteString("</")
		c.html.WriteString(tagName(c.open[k].kind))
		c.html.WriteByte('>')
	}
	c.open = c.open[:keep]
	want := [...]struct {
		kind byte
		on   bool
	}{{'b', st.bold}, {'i', st.italic}, {'u', st.underline}, {'s', st.strike}, {'m', st.mono}, {'c', st.fg >= 0 || st.bg >= 0}}
	for _, w := range want {
		if !w.on || c.isOpen(w.kind) {
			continue
		}
		if w.kind != 'c' {
			c.html.WriteByte('<')
			c.html.WriteString(tagName(w.kind))
			c.html.WriteByte('>')
		} else {
			c.html.WriteString("<font")
			if st.fg >= 0 {
				c.html.WriteString(` data-mx-color="`)
				writeHex(&c.html, st.fg)
				c.html.WriteByte('"')
			}
			if st.bg >= 0 {
				c.html.WriteString(` data-mx-bg-color="`)
				writeHex(&c.html, st.bg)
				c.html.WriteByte('"')
			}
			c.html.WriteByte('>')
		}
		c.open = append(c.open, htmlTag{kind: w.kind, fg: st.fg, bg: st.bg})
	}
}

func (c *ircToMatrix) isOpen(kind byte) bool {
	for _, t := range c.open {
		if t.kind == kind {
			return true
		}
	}
	return false
}

func writeHex(sb *strings.Builder, v int32) {
	const digits = "0123456789abcdef"
	sb.WriteByte('#')
	for shift := 20; shift >= 0; shift -= 4 {
		sb.WriteByte(digits[(v>>shift)&0xf])
	}
}
