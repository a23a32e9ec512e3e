package waconv

import (
	"html"
	"strconv"
	"strings"

	"maunium.net/go/mautrix/id"
)

// WhatsApp markup to Matrix HTML.
//
// The rules follow what WhatsApp clients render:
//   - *bold*, _italic_, ~strike~ and `inline code` apply only at word
//     boundaries: the opening marker must not follow a letter or digit and
//     must be followed by a non-space; the closing marker must follow a
//     non-space and must not be followed by a letter or digit. They do not
//     cross line ends. The nearest valid closing marker wins.
//   - ```monospace``` may span lines (a <pre> block) or sit inside a line
//     (<code>); its content is never formatted.
//   - Lines starting with "> " are quotes, "- " or "* " bullets, "1. "
//     numbered items; consecutive lines of one kind form one block.
//   - http(s) links, code spans and resolved mentions are atoms: markers
//     inside them are text.
//
// Everything else is text and is HTML-escaped. Invalid UTF-8 becomes U+FFFD.

// mentionTarget is a WhatsApp user mentioned in a message, as Matrix shows it.
type mentionTarget struct {
	name string
	mxid id.UserID
}

// formatted is WhatsApp text converted for a Matrix event.
type formatted struct {
	body string
	// html is empty when the text has no formatting at all.
	html     string
	mentions []id.UserID
}

// maxMarkupNesting bounds recursion; styles of one kind cannot nest, so
// real input never gets near it.
const maxMarkupNesting = 8

type markupConv struct {
	s       string
	targets map[string]mentionTarget
	out     strings.Builder
	rich    bool
	// needBreak: the last thing written was an inline line, so the next
	// inline line needs a <br>.
	needBreak bool
	// replacements of source ranges in the plain body (mentions).
	repl      []replacement
	mentioned []id.UserID
	tick      tickCache
}

type tickCache struct{ from, hi, at int }

type replacement struct {
	lo, hi int
	text   string
}

// whatsAppToMatrix converts WhatsApp text. mentions maps the user part of
// a JID (the digits after "@") to the Matrix user it becomes.
func whatsAppToMatrix(text string, mentions map[string]mentionTarget) formatted {
	text = strings.ToValidUTF8(text, "\uFFFD")
	text = strings.ReplaceAll(text, "\r\n", "\n")
	c := &markupConv{s: text, targets: mentions, tick: tickCache{hi: -1}}
	c.document()
	var body strings.Builder
	pos := 0
	for _, r := range c.repl {
		body.WriteString(text[pos:r.lo])
		body.WriteString(r.text)
		pos = r.hi
	}
	body.WriteString(text[pos:])
	res := formatted{body: body.String(), mentions: c.mentioned}
	if c.rich {
		res.html = c.out.String()
	}
	return res
}

// document splits off multi-line ``` blocks and formats the text between.
func (c *markupConv) document() {
	pos := 0
	for {
		open, close, ok := nextBlockFence(c.s, pos)
		if !ok {
			break
		}
		if end := open; end > pos {
			if c.s[end-1] == '\n' {
				end--
			}
			c.lines(pos, end)
		}
		code := c.s[open+3 : close]
		code = strings.TrimPrefix(code, "\n")
		code = strings.TrimSuffix(code, "\n")
		c.out.WriteString("<pre><code>")
		c.out.WriteString(html.EscapeString(code))
		c.out.WriteString("</code></pre>")
		c.rich, c.needBreak = true, false
		pos = close + 3
		if pos < len(c.s) && c.s[pos] == '\n' {
			pos++
		}
	}
	if pos < len(c.s) {
		c.lines(pos, len(c.s))
	}
}

// nextBlockFence finds the next ``` span from pos whose content spans
// lines. Spans within one line are left for the inline pass.
func nextBlockFence(s string, pos int) (open, close int, ok bool) {
	for {
		open, close, ok = findFence(s, pos, len(s))
		if !ok {
			return 0, 0, false
		}
		if strings.Contains(s[open+3:close], "\n") {
			return open, close, true
		}
		pos = close + 3
	}
}

// findFence finds a ``` opener at or after pos and the first ``` after it
// that leaves non-blank content between them, within s[:limit].
func findFence(s string, pos, limit int) (open, close int, ok bool) {
	rel := strings.Index(s[pos:limit], "```")
	if rel < 0 {
		return 0, 0, false
	}
	open = pos + rel
	for k := open + 3; k <= limit-3; {
		rel = strings.Index(s[k:limit], "```")
		if rel < 0 {
			break
		}
		close = k + rel
		if strings.TrimSpace(s[open+3:close]) != "" {
			return open, close, true
		}
		k = close + 1
	}
	return 0, 0, false
}

type lineKind int

const (
	lineText lineKind = iota
	lineQuote
	lineBullet
	lineNumbered
)

// classify returns a line's kind, where its content starts, and the
// number of a numbered item.
func classify(line string) (kind lineKind, skip int, num int) {
	switch {
	case strings.HasPrefix(line, "> "):
		return lineQuote, 2, 0
	case strings.HasPrefix(line, "- "), strings.HasPrefix(line, "* "):
		return lineBullet, 2, 0
	}
	digits := 0
	for digits < len(line) && digits < 4 && line[digits] >= '0' && line[digits] <= '9' {
		digits++
	}
	if digits > 0 && digits <= 3 && strings.HasPrefix(line[digits:], ". ") {
		n, _ := strconv.Atoi(line[:digits])
		return lineNumbered, digits + 2, n
	}
	return lineText, 0, 0
}

// lines formats s[lo:hi] line by line.
func (c *markupConv) lines(lo, hi int) {
	if lo > hi {
		return
	}
	open := lineText // kind of the block being written
	for start := lo; start <= hi; {
		end := strings.IndexByte(c.s[start:hi], '\n')
		if end < 0 {
			end = hi
		} else {
			end += start
		}
		kind, skip, num := classify(c.s[start:end])
		if kind != open || kind == lineText {
			c.closeBlock(open)
		}
		switch kind {
		case lineText:
			if c.needBreak {
				c.out.WriteString("<br>")
			}
			c.inline(start, end)
			c.needBreak = true
		case lineQuote:
			if open == lineQuote {
				c.out.WriteString("<br>")
			} else {
				c.out.WriteString("<blockquote>")
			}
			c.inline(start+skip, end)
		case lineBullet, lineNumbered:
			if open != kind {
				switch {
				case kind == lineBullet:
					c.out.WriteString("<ul>")
				case num != 1:
					c.out.WriteString(`<ol start="` + strconv.Itoa(num) + `">`)
				default:
					c.out.WriteString("<ol>")
				}
			}
			c.out.WriteString("<li>")
			c.inline(start+skip, end)
			c.out.WriteString("</li>")
		}
		if kind != lineText {
			c.rich, c.needBreak = true, false
		}
		open = kind
		start = end + 1
	}
	c.closeBlock(open)
}

func (c *markupConv) closeBlock(kind lineKind) {
	switch kind {
	case lineQuote:
		c.out.WriteString("</blockquote>")
	case lineBullet:
		c.out.WriteString("</ul>")
	case lineNumbered:
		c.out.WriteString("</ol>")
	}
}
