package waconv

import (
	"html"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Inline WhatsApp markup: styles, code spans, links and mentions in one line.

type itemKind uint8

const (
	itemText itemKind = iota
	itemAtom
	itemMarker
)

// item is a piece of one line: escaped text, a finished atom (code, link,
// mention), or a style marker that may open or close.
type item struct {
	kind        itemKind
	ch          byte
	open, close bool
	html        string
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

func (c *markupConv) prevRune(i int) (rune, bool) {
	if i <= 0 {
		return 0, false
	}
	r, _ := utf8.DecodeLastRuneInString(c.s[:i])
	return r, true
}

func (c *markupConv) nextRune(i int) (rune, bool) {
	if i >= len(c.s) {
		return 0, false
	}
	r, _ := utf8.DecodeRuneInString(c.s[i:])
	return r, true
}

// canOpen: not after a word character, and followed by a non-space.
func (c *markupConv) canOpen(i, width int) bool {
	if p, ok := c.prevRune(i); ok && isWordRune(p) {
		return false
	}
	n, ok := c.nextRune(i + width)
	return ok && !unicode.IsSpace(n)
}

// canClose: after a non-space, and not followed by a word character.
func (c *markupConv) canClose(i, width int) bool {
	p, ok := c.prevRune(i)
	if !ok || unicode.IsSpace(p) {
		return false
	}
	n, ok := c.nextRune(i + width)
	return !ok || !isWordRune(n)
}

// inline formats one line, s[lo:hi].
func (c *markupConv) inline(lo, hi int) {
	items := c.tokenize(lo, hi)
	// next[m][k]: the first item at or after k that can close marker m.
	var next [3][]int
	for m := range next {
		next[m] = make([]int, len(items)+1)
		next[m][len(items)] = -1
	}
	for k := len(items) - 1; k >= 0; k-- {
		for m := range next {
			next[m][k] = next[m][k+1]
		}
		if it := items[k]; it.kind == itemMarker && it.close {
			next[markerIndex(it.ch)][k] = k
		}
	}
	c.render(items, next, 0, len(items), 0)
}

func markerIndex(ch byte) int {
	switch ch {
	case '*':
		return 0
	case '_':
		return 1
	default:
		return 2
	}
}

var markerTags = [3]string{"strong", "em", "del"}

func (c *markupConv) render(items []item, next [3][]int, a, b, depth int) {
	for k := a; k < b; k++ {
		it := items[k]
		switch it.kind {
		case itemText, itemAtom:
			c.out.WriteString(it.html)
			continue
		}
		if it.open && depth < maxMarkupNesting {
			m := markerIndex(it.ch)
			if end := next[m][k+1]; end > k+1 && end < b {
				c.out.WriteString("<" + markerTags[m] + ">")
				c.render(items, next, k+1, end, depth+1)
				c.out.WriteString("</" + markerTags[m] + ">")
				c.rich = true
				k = end
				continue
			}
		}
		c.out.WriteByte(it.ch)
	}
}

func (c *markupConv) tokenize(lo, hi int) []item {
	var items []item
	textStart := lo
	flush := func(i int) {
		if i > textStart {
			items = append(items, item{kind: itemText, html: html.EscapeString(c.s[textStart:i])})
		}
	}
	for i := lo; i < hi; {
		var atom string
		end := 0
		switch ch := c.s[i]; ch {
		case '*', '_', '~':
			flush(i)
			items = append(items, item{kind: itemMarker, ch: ch, open: c.canOpen(i, 1), close: c.canClose(i, 1)})
			i++
			textStart = i
			continue
		case '`':
			atom, end = c.codeSpan(i, hi)
			if end == 0 && strings.HasPrefix(c.s[i:hi], "```") {
				i += 3 // an unmatched fence is text, all three backticks
				continue
			}
		case 'h':
			atom, end = c.link(i, hi)
		case '@':
			atom, end = c.mention(i, hi)
		}
		if end == 0 {
			i++
			continue
		}
		flush(i)
		items = append(items, item{kind: itemAtom, html: atom})
		i, textStart = end, end
	}
	flush(hi)
	return items
}

// codeSpan reads ```code``` or `code` at i.
func (c *markupConv) codeSpan(i, hi int) (string, int) {
	if strings.HasPrefix(c.s[i:hi], "```") {
		if open, close, ok := findFence(c.s, i, hi); ok && open == i {
			c.rich = true
			return "<code>" + html.EscapeString(c.s[i+3:close]) + "</code>", close + 3
		}
		return "", 0
	}
	if !c.canOpen(i, 1) {
		return "", 0
	}
	if j := c.nextTickClose(i+2, hi); j >= 0 {
		c.rich = true
		return "<code>" + html.EscapeString(c.s[i+1:j]) + "</code>", j + 1
	}
	return "", 0
}

// nextTickClose finds the first backtick at or after from that can close
// inline code. Searches within a line only move forward, so the last
// answer is reused while it is still ahead: each line is scanned once.
func (c *markupConv) nextTickClose(from, hi int) int {
	if c.tick.hi == hi && c.tick.from <= from && (c.tick.at < 0 || c.tick.at >= from) {
		return c.tick.at
	}
	c.tick = tickCache{from: from, hi: hi, at: -1}
	for j := from; j < hi; j++ {
		if c.s[j] == '`' && c.canClose(j, 1) {
			c.tick.at = j
			break
		}
	}
	return c.tick.at
}

// link reads an http(s) URL at i.
func (c *markupConv) link(i, hi int) (string, int) {
	rest := c.s[i:hi]
	if !strings.HasPrefix(rest, "https://") && !strings.HasPrefix(rest, "http://") {
		return "", 0
	}
	if p, ok := c.prevRune(i); ok && isWordRune(p) {
		return "", 0
	}
	end := i
	for end < hi {
		r, size := utf8.DecodeRuneInString(c.s[end:hi])
		// A control character ends a link as a blank does: no URL has
		// one, and a client must not be handed one in an href.
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '<' || r == '>' || r == '"' {
			break
		}
		end += size
	}
	// Trailing punctuation and markers belong to the sentence, and so does
	// a closing parenthesis that the URL did not open.
	opens, closes := strings.Count(c.s[i:end], "("), strings.Count(c.s[i:end], ")")
	for end > i && strings.IndexByte(".,;:!?'*_~)`", c.s[end-1]) >= 0 {
		if c.s[end-1] == ')' {
			if opens >= closes {
				break
			}
			closes--
		}
		end--
	}
	url := c.s[i:end]
	if !strings.Contains(url, "://") || strings.HasSuffix(url, "://") {
		return "", 0
	}
	esc := html.EscapeString(url)
	return `<a href="` + esc + `">` + esc + `</a>`, end
}

// mention reads @<digits> at i when the digits name a resolved user.
func (c *markupConv) mention(i, hi int) (string, int) {
	if len(c.targets) == 0 {
		return "", 0
	}
	if p, ok := c.prevRune(i); ok && isWordRune(p) {
		return "", 0
	}
	end := i + 1
	for end < hi && c.s[end] >= '0' && c.s[end] <= '9' {
		end++
	}
	if end == i+1 {
		return "", 0
	}
	if n, ok := c.nextRune(end); ok && isWordRune(n) {
		return "", 0
	}
	target, ok := c.targets[c.s[i+1:end]]
	if !ok || target.mxid == "" {
		return "", 0
	}
	name := linkText(target.name)
	if name == "" {
		name = string(target.mxid)
	}
	c.repl = append(c.repl, replacement{lo: i, hi: end, text: name})
	c.rich = true
	if !slices.Contains(c.mentioned, target.mxid) {
		c.mentioned = append(c.mentioned, target.mxid)
	}
	return `<a href="` + html.EscapeString(target.mxid.URI().MatrixToURL()) + `">` + html.EscapeString(name) + `</a>`, end
}
