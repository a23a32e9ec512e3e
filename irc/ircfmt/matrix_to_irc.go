package ircfmt

import (
	"context"
	"strings"
	"unicode"
	"unicode/utf8"

	"maunium.net/go/mautrix/format"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network/matrixhtml"
)

// FormatHTML is the Matrix "format" value for HTML formatted bodies.
const FormatHTML = "org.matrix.custom.html"

// maxHTMLBytes bounds the formatted bodies that are parsed (a whole Matrix
// event is at most 64 KiB); longer ones fall back to the plain body.
const maxHTMLBytes = 128 << 10

// Options tunes MatrixToIRC.
type Options struct {
	// NickFor maps a Matrix user ID mention to the IRC nick to write (nil: use the link text).
	NickFor func(userID string) (nick string, ok bool)
	// StripFormatting sends plain text (for channels with +c / networks that dislike codes).
	StripFormatting bool
}

// The HTML parser's callbacks do not write IRC codes directly: nested or
// repeated styles would toggle each other off, and a style spanning a line
// break must be re-opened on the next line. They wrap text in markers that
// render.go resolves with a style stack. Marker bytes are C0 controls, which
// convertText removes from all message text, so text cannot forge them.
const (
	markOpen  = '\x01' // followed by a kind byte (and, for 'c', four digits)
	markClose = '\x02' // closes the innermost open marker
	markSoft  = '\x03' // collapsible HTML whitespace
	// Hard spaces and tabs are markers too, or the parser's TrimSpace calls
	// would drop them at the edges of elements and after line breaks.
	markSpace = '\x04'
	markTab   = '\x05'
	// markGuard surrounds non-ASCII spaces (U+3000 ...), which are ordinary
	// characters in HTML but which TrimSpace would remove, and precedes every
	// '>' of message text (render tells quote prefixes from text by it). It
	// renders as nothing.
	markGuard = '\x06'
)

// Marker kinds.
const (
	kindBold      = 'b'
	kindItalic    = 'i'
	kindUnderline = 'u'
	kindStrike    = 's'
	kindMono      = 'm'
	kindColour    = 'c' // + "FFBB": two-digit colour numbers, 99 = none
	kindSpoiler   = 'p'
	kindPre       = 'P'
)

func wrap(kind byte, s string) string {
	if s == "" {
		return ""
	}
	return string([]byte{markOpen, kind}) + s + string(markClose)
}

const optionsKey = "ferry.ircfmt.options"

var htmlParser = &format.HTMLParser{
	TabsToSpaces:   -1, // convertText handles tabs
	Newline:        "\n",
	HorizontalLine: "\n---\n",
	TextConverter:  convertText,
	BoldConverter: func(s string, _ format.Context) string {
		return wrap(kindBold, s)
	},
	ItalicConverter: func(s string, _ format.Context) string {
		return wrap(kindItalic, s)
	},
	UnderlineConverter: func(s string, _ format.Context) string {
		return wrap(kindUnderline, s)
	},
	StrikethroughConverter: func(s string, _ format.Context) string {
		return wrap(kindStrike, s)
	},
	MonospaceConverter: func(s string, _ format.Context) string {
		return wrap(kindMono, s)
	},
	MonospaceBlockConverter: func(code, _ string, _ format.Context) string {
		return wrap(kindPre, code)
	},
	ColorConverter:   convertColour,
	SpoilerConverter: convertSpoiler,
	LinkConverter:    convertLink,
	ImageConverter: func(_, alt, title, _, _ string, _ bool) string {
		if alt == "" {
			alt = title
		}
		return cleanInline(alt)
	},
}

// droppedTags are elements whose text is never shown.
var droppedTags = []string{"mx-reply", "script", "style", "title", "template", "noscript", "head"}

func inDropped(ctx format.Context) bool {
	for _, t := range ctx.TagStack {
		for _, d := range droppedTags {
			if t == d {
				return true
			}
		}
	}
	return false
}

// convertText turns an HTML text node into marker text. Outside <pre>,
// ASCII whitespace (the parser has already removed raw LFs; ours arrive as
// \f, see htmlToIRC) becomes a collapsible soft space; inside <pre>, spaces
// and tabs are kept, \f and LF break lines, and CR and VT are dropped. NBSP
// becomes a hard space. Other C0 and C1 control characters and DEL are
// removed, so message text can neither forge markers nor carry raw IRC codes.
func convertText(s string, ctx format.Context) string {
	if inDropped(ctx) {
		return ""
	}
	pre := ctx.PreserveWhitespace
	var sb strings.Builder
	sb.Grow(len(s))
	soft := false
	for _, r := range s {
		switch {
		case r == '\f' || r == '\n':
			if pre {
				sb.WriteByte('\n')
				continue
			}
			fallthrough
		case r == ' ' || r == '\t' || r == '\r' || r == '\v':
			if pre {
				switch r {
				case ' ':
					sb.WriteByte(markSpace)
				case '\t':
					sb.WriteByte(markTab)
				}
				continue
			}
			if !soft {
				sb.WriteByte(markSoft)
				soft = true
			}
			continue
		case r == '\u00a0':
			sb.WriteByte(markSpace)
		case r < 0x20 || (r >= 0x7f && r < 0xa0):
			continue
		case r == '>':
			sb.WriteByte(markGuard)
			sb.WriteByte('>')
		case r > 0xff && unicode.IsSpace(r):
			sb.WriteByte(markGuard)
			sb.WriteRune(r)
			sb.WriteByte(markGuard)
		default:
			sb.WriteRune(r)
		}
		soft = false
	}
	return sb.String()
}

// cleanInline sanitises text taken from attributes (alt, title, spoiler
// reasons, nicks) as if it were inline HTML text.
func cleanInline(s string) string {
	return convertText(s, format.Context{})
}

// cleanURL removes whitespace and control characters from a link target.
func cleanURL(s string) string {
	return strings.Map(func(r rune) rune {
		if r <= ' ' || (r >= 0x7f && r < 0xa0) || r == '\u00a0' {
			return -1
		}
		return r
	}, s)
}

// visibleText returns the text of marker text, with soft spaces as spaces.
func visibleText(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		switch b := s[i]; b {
		case markOpen:
			if i+1 < len(s) && s[i+1] == kindColour {
				i += 4
			}
			i++
		case markClose, markGuard:
		case markSoft, markSpace, markTab:
			sb.WriteByte(' ')
		default:
			sb.WriteByte(b)
		}
	}
	return strings.TrimSpace(sb.String())
}

func convertColour(s, fg, bg string, _ format.Context) string {
	if s == "" {
		return ""
	}
	f, b := colourIndexOf(fg), colourIndexOf(bg)
	if f < 0 && b < 0 {
		return s
	}
	if f < 0 {
		f = DefaultColour
	}
	if b < 0 {
		b = DefaultColour
	}
	return string([]byte{markOpen, kindColour, byte('0' + f/10), byte('0' + f%10), byte('0' + b/10), byte('0' + b%10)}) +
		s + string(markClose)
}

// convertSpoiler hides the text black on black (or between "||" when
// formatting is stripped), after the reason if there is one.
func convertSpoiler(s, reason string, _ format.Context) string {
	if reason = cleanInline(reason); reason != "" {
		return "[" + reason + "]" + string(markSoft) + wrap(kindSpoiler, s)
	}
	return wrap(kindSpoiler, s)
}

// convertLink writes "text (url)", or only one of them when they are the
// same; mentions of Matrix users become the mapped nick.
func convertLink(text, href string, ctx format.Context) string {
	if inDropped(ctx) {
		return ""
	}
	uri, err := id.ParseMatrixURIOrMatrixToURL(href)
	if err != nil {
		uri = nil
	}
	if uri != nil && uri.Sigil1 == '@' && uri.Sigil2 == 0 {
		userID := string(uri.UserID())
		if opts, _ := ctx.ReturnData[optionsKey].(*Options); opts != nil && opts.NickFor != nil {
			if nick, ok := opts.NickFor(userID); ok {
				if nick = cleanURL(nick); nick != "" {
					return nick
				}
			}
		}
		if visibleText(text) != "" {
			return text
		}
		return cleanURL(userID)
	}
	href = cleanURL(href)
	vis := visibleText(text)
	switch {
	case href == "":
		return text
	case vis == "":
		return href
	case sameLink(vis, href), uri != nil && uri.Sigil2 == 0 && vis == uri.PrimaryIdentifier():
		return text
	}
	return text + string(markSoft) + "(" + href + ")"
}

func sameLink(text, href string) bool {
	if text == href {
		return true
	}
	for _, p := range []string{"mailto:", "https://", "http://"} {
		if h, ok := strings.CutPrefix(href, p); ok && (text == h || text == strings.TrimSuffix(h, "/")) {
			return true
		}
	}
	return text == strings.TrimSuffix(href, "/")
}

// MatrixToIRC converts Matrix message content into IRC lines. It uses
// formattedBody when format is org.matrix.custom.html (and formattedBody is
// non-empty and under 128 KiB), else body. No line contains CR, LF or NUL,
// every line is valid UTF-8 and starts with no formatting in force (styles
// spanning a line break are re-opened, and closed with a reset at the end of
// each line). Empty and whitespace-only lines are dropped (IRC cannot send
// them), trailing whitespace is trimmed, and NBSP becomes a space. Control
// characters in message text (including raw IRC codes) are removed; tabs
// are kept in plain bodies and <pre> blocks.
func MatrixToIRC(body, format, formattedBody string, opts Options) []string {
	if format == FormatHTML && formattedBody != "" && len(formattedBody) <= maxHTMLBytes {
		lines, hadReply := htmlToIRC(formattedBody, &opts)
		if len(lines) > 0 {
			return lines
		}
		if hadReply {
			body = stripReplyFallback(body)
		}
	}
	return plainToIRC(body, &opts)
}

func htmlToIRC(s string, opts *Options) ([]string, bool) {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s, hadReply := removeMxReply(s)
	// The parser deletes LFs in text instead of treating them as spaces; \f is
	// HTML whitespace that it keeps, and convertText maps it back.
	if strings.ContainsAny(s, "\r\n") {
		s = strings.NewReplacer("\r\n", "\f", "\r", "\f", "\n", "\f").Replace(s)
	}
	if needsPrepass(s) {
		s = prepass(s)
		if matrixhtml.ListStartBeyond(s, maxListStart) {
			return nil, hadReply // the plain body goes instead
		}
	}
	ctx := format.NewContext(context.Background())
	ctx.ReturnData[optionsKey] = opts
	return render(htmlParser.Parse(s, ctx), opts.StripFormatting), hadReply
}

func plainToIRC(body string, opts *Options) []string {
	if !utf8.ValidString(body) {
		body = strings.ToValidUTF8(body, "\uFFFD")
	}
	body = strings.ReplaceAll(body, "\r\n", "\n")
	clean := strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r == '\u00a0' || r == '\v' || r == '\f':
			return ' '
		case r < 0x20 || (r >= 0x7f && r < 0xa0):
			return -1
		}
		return r
	}, body)
	return render(strings.ReplaceAll(clean, ">", string(markGuard)+">"), opts.StripFormatting)
}

// stripReplyFallback removes a plain-text reply fallback ("> <@user> ..."
// lines and the blank line after them) from the start of body.
func stripReplyFallback(body string) string {
	if !strings.HasPrefix(body, "> <") {
		return body
	}
	for strings.HasPrefix(body, ">") {
		nl := strings.IndexByte(body, '\n')
		if nl < 0 {
			return ""
		}
		body = body[nl+1:]
	}
	return strings.TrimPrefix(body, "\n")
}
