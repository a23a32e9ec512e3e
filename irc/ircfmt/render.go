package ircfmt

// This file turns the marker text built by the HTML callbacks (see
// matrix_to_irc.go) into IRC lines with minimal formatting codes.

// outStyle is a set of IRC styles; fg and bg are colour numbers, -1 = none.
type outStyle struct {
	bold, italic, underline, strike, mono bool
	fg, bg                                int8
}

var noStyle = outStyle{fg: -1, bg: -1}

type frame struct {
	kind   byte
	fg, bg int8
}

type pendingSpace struct {
	st outStyle
	b  byte // ' ' or '\t'
}

type renderer struct {
	strip   bool
	lines   []string
	line    []byte
	stack   []frame
	want    outStyle // style the stack asks for
	inPre   bool
	cur     outStyle // style in force on the line so far
	pending []pendingSpace
	hasText bool // the line has visible characters
	content bool // ... other than blockquote prefixes
	guarded bool // the previous byte was markGuard
}

// render resolves markers into IRC lines. Outside markers, ' ' and '\t' are
// hard (kept) spaces, LF ends a line and any other byte is visible text. A
// '>' not preceded by markGuard is a blockquote prefix: lines holding only
// such prefixes (the blank lines between quoted paragraphs) are dropped.
func render(s string, strip bool) []string {
	r := renderer{strip: strip, want: noStyle, cur: noStyle, line: make([]byte, 0, 128)}
	for i := 0; i < len(s); i++ {
		guarded := r.guarded
		r.guarded = false
		switch b := s[i]; b {
		case markOpen:
			if i+1 >= len(s) {
				break
			}
			f := frame{kind: s[i+1], fg: -1, bg: -1}
			i++
			if f.kind == kindColour && i+4 < len(s) {
				f.fg = int8(twoDigits(s[i+1], s[i+2]))
				f.bg = int8(twoDigits(s[i+3], s[i+4]))
				i += 4
			}
			r.stack = append(r.stack, f)
			r.restyle()
			if f.kind == kindSpoiler && strip {
				r.visible('|', '|')
				r.content = true
			}
		case markClose:
			if len(r.stack) == 0 {
				break
			}
			f := r.stack[len(r.stack)-1]
			r.stack = r.stack[:len(r.stack)-1]
			if f.kind == kindSpoiler && strip {
				r.visible('|', '|')
			}
			r.restyle()
		case markSoft:
			if r.inPre {
				r.space(' ')
			} else if r.hasText && len(r.pending) == 0 {
				r.pending = append(r.pending, pendingSpace{r.want, ' '})
			}
		case ' ', '\t':
			r.space(b)
		case markSpace:
			r.space(' ')
		case markTab:
			r.space('\t')
		case markGuard:
			r.guarded = true
		case '\n':
			r.endLine()
		default:
			if b != '>' || guarded {
				r.content = true
			}
			r.visible(b, 0)
		}
	}
	r.endLine()
	return r.lines
}

func twoDigits(a, b byte) int {
	n := int(a-'0')*10 + int(b-'0')
	if n < 0 || n > 98 {
		return -1
	}
	return n
}

// restyle recomputes the wanted style from the marker stack.
func (r *renderer) restyle() {
	w, pre, spoiler := noStyle, false, false
	for _, f := range r.stack {
		switch f.kind {
		case kindBold:
			w.bold = true
		case kindItalic:
			w.italic = true
		case kindUnderline:
			w.underline = true
		case kindStrike:
			w.strike = true
		case kindMono:
			w.mono = true
		case kindColour:
			if f.fg >= 0 {
				w.fg = f.fg
			}
			if f.bg >= 0 {
				w.bg = f.bg
			}
		case kindSpoiler:
			spoiler = true
		case kindPre:
			pre = true
		}
	}
	if spoiler {
		w.fg, w.bg = 1, 1
	}
	if pre || r.strip {
		w = noStyle
	}
	r.want, r.inPre = w, pre
}

func (r *renderer) space(b byte) {
	r.pending = append(r.pending, pendingSpace{r.want, b})
}

// visible writes one or two bytes of visible text (b2 == 0: one), first
// flushing pending spaces and switching to the wanted style.
func (r *renderer) visible(b, b2 byte) {
	for _, p := range r.pending {
		r.switchTo(p.st, p.b)
		r.line = append(r.line, p.b)
	}
	r.pending = r.pending[:0]
	r.switchTo(r.want, b)
	r.line = append(r.line, b)
	if b2 != 0 {
		r.line = append(r.line, b2)
	}
	r.hasText = true
}

// endLine finishes the current line: trailing whitespace is dropped, open
// formatting is closed with a reset, and lines without text are skipped.
func (r *renderer) endLine() {
	r.pending = r.pending[:0]
	if r.cur != noStyle {
		r.line = append(r.line, CodeReset)
	}
	if r.content {
		r.lines = append(r.lines, string(r.line))
	}
	r.line, r.cur, r.hasText, r.content = r.line[:0], noStyle, false, false
}

// switchTo writes the codes that change the line's style to st, choosing the
// shorter of toggling the differences and resetting then opening st. next is
// the byte that will follow the codes: a digit or comma after a colour code
// would be read as part of it, so colour numbers are then padded to two
// digits or followed by a neutral bold-bold pair.
func (r *renderer) switchTo(st outStyle, next byte) {
	if st == r.cur {
		return
	}
	var a, b [24]byte
	inc := appendCodes(a[:0], r.cur, st, next)
	full := appendCodes(append(b[:0], CodeReset), noStyle, st, next)
	if len(full) < len(inc) {
		inc = full
	}
	r.line = append(r.line, inc...)
	r.cur = st
}

func appendCodes(out []byte, from, to outStyle, next byte) []byte {
	toggles := 0
	flag := func(on1, on2 bool) {
		if on1 != on2 {
			toggles++
		}
	}
	flag(from.bold, to.bold)
	flag(from.italic, to.italic)
	flag(from.underline, to.underline)
	flag(from.strike, to.strike)
	flag(from.mono, to.mono)
	if from.fg != to.fg || from.bg != to.bg {
		// The colour code goes first, so that a toggle after it (if any)
		// separates it from the text.
		last := toggles == 0
		pad := last && isDigit(next)
		guard := last && next == ','
		out = append(out, CodeColour)
		switch {
		case to.fg < 0 && to.bg < 0:
			guard = last && (isDigit(next) || next == ',')
		case to.bg < 0 && from.bg >= 0:
			out = appendNum(append(out, CodeColour), to.fg, pad)
		case to.bg == from.bg && to.fg >= 0:
			out = appendNum(out, to.fg, pad)
		default:
			fg := to.fg
			if fg < 0 {
				fg = DefaultColour
			}
			out = appendNum(append(appendNum(out, fg, false), ','), to.bg, pad)
			guard = false
		}
		if guard {
			out = append(out, CodeBold, CodeBold)
		}
	}
	toggle := func(on1, on2 bool, code byte) {
		if on1 != on2 {
			out = append(out, code)
		}
	}
	toggle(from.bold, to.bold, CodeBold)
	toggle(from.italic, to.italic, CodeItalic)
	toggle(from.underline, to.underline, CodeUnderline)
	toggle(from.strike, to.strike, CodeStrikethrough)
	toggle(from.mono, to.mono, CodeMonospace)
	return out
}

func appendNum(out []byte, n int8, pad bool) []byte {
	if n >= 10 || pad {
		out = append(out, byte('0'+n/10))
	}
	return append(out, byte('0'+n%10))
}
