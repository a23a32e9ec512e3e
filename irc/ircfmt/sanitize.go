package ircfmt

import (
	"strconv"
	"strings"

	"golang.org/x/net/html"
)

// This file prepares untrusted HTML for mautrix's HTMLParser, which is
// recursive and copies each subtree's text once per ancestor (blockquotes and
// lists re-split and re-prefix every line at every level), so its cost grows
// with depth × size. It also reads <ol start> with strconv.Atoi and, for
// values near the int limits, recurses forever in format.Digits (a fatal
// stack overflow, not a recoverable panic).

// maxDepth is the deepest element nesting passed to the parser; deeper
// elements are unwrapped (their text is kept).
const maxDepth = 48

// maxListStart bounds <ol start>.
const maxListStart = 1_000_000_000

// removeMxReply cuts every <mx-reply>…</mx-reply> (the rich reply fallback)
// out of s; an unclosed one runs to the end. It reports whether it found one.
func removeMxReply(s string) (string, bool) {
	start := indexTagFold(s, "<mx-reply", 0)
	if start < 0 {
		return s, false
	}
	var sb strings.Builder
	for start >= 0 {
		sb.WriteString(s[:start])
		end := indexTagFold(s, "</mx-reply", start)
		if end < 0 {
			return sb.String(), true
		}
		gt := strings.IndexByte(s[end:], '>')
		if gt < 0 {
			return sb.String(), true
		}
		s = s[end+gt+1:]
		start = indexTagFold(s, "<mx-reply", 0)
	}
	sb.WriteString(s)
	return sb.String(), true
}

// indexTagFold finds tag (such as "<ol" or "</mx-reply"), case-insensitively,
// followed by the end of a tag name, at or after from.
func indexTagFold(s, tag string, from int) int {
	for i := from; i < len(s); {
		j := strings.IndexByte(s[i:], '<')
		if j < 0 {
			return -1
		}
		i += j
		if i+len(tag) <= len(s) && strings.EqualFold(s[i:i+len(tag)], tag) {
			if k := i + len(tag); k == len(s) || strings.IndexByte(" \t\n\f\r/>", s[k]) >= 0 {
				return i
			}
		}
		i++
	}
	return -1
}

// needsPrepass reports whether s could nest deeper than maxDepth or has an
// <ol> whose start must be checked.
func needsPrepass(s string) bool {
	return strings.Count(s, "<") > maxDepth || indexTagFold(s, "<ol", 0) >= 0
}

var voidTags = map[string]bool{
	"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true,
	"img": true, "input": true, "keygen": true, "link": true, "meta": true,
	"param": true, "source": true, "track": true, "wbr": true,
}

// rawTextTags hold text only, so they add no nesting; they are never dropped,
// lest their content turn into markup.
var rawTextTags = map[string]bool{
	"script": true, "style": true, "textarea": true, "title": true, "xmp": true,
	"iframe": true, "noembed": true, "noframes": true, "noscript": true, "plaintext": true,
}

// impliedEnd tags close an open element of the same name.
var impliedEnd = map[string]bool{
	"p": true, "li": true, "dt": true, "dd": true, "option": true, "tr": true, "td": true, "th": true,
}

// prepass re-serialises s, tokenised, without comments and doctypes, with
// elements nested deeper than maxDepth unwrapped and <ol start> clamped. The
// nesting it tracks is an estimate (end tags close the nearest open element
// of that name; unmatched ones are dropped), which is enough to bound it.
func prepass(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var sb strings.Builder
	sb.Grow(len(s))
	var stack []string
	excess := 0
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return sb.String()
		case html.TextToken:
			sb.Write(z.Raw())
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			if voidTags[string(name)] || rawTextTags[string(name)] {
				sb.Write(z.Raw())
				continue
			}
			tag := string(name)
			if n := len(stack); excess == 0 && n > 0 && impliedEnd[tag] && stack[n-1] == tag {
				stack = stack[:n-1]
			}
			if excess > 0 || len(stack) >= maxDepth {
				excess++
				continue
			}
			stack = append(stack, tag)
			if tag == "ol" && hasAttr {
				sb.WriteString(clampListStart(z))
			} else {
				sb.Write(z.Raw())
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			if voidTags[string(name)] || rawTextTags[string(name)] {
				sb.Write(z.Raw())
				continue
			}
			if excess > 0 {
				excess--
				continue
			}
			for k := len(stack) - 1; k >= 0; k-- {
				if stack[k] == string(name) {
					stack = stack[:k]
					sb.Write(z.Raw())
					break
				}
			}
		}
	}
}

// clampListStart re-serialises the <ol> start tag z is on (its name already
// read), with start attributes clamped to ±maxListStart.
func clampListStart(z *html.Tokenizer) string {
	t := html.Token{Type: html.StartTagToken, Data: "ol"}
	for more := true; more; {
		var k, v []byte
		k, v, more = z.TagAttr()
		a := html.Attribute{Key: string(k), Val: string(v)}
		if a.Key == "start" {
			n, err := strconv.Atoi(strings.TrimSpace(a.Val))
			if err != nil {
				continue
			}
			a.Val = strconv.Itoa(min(max(n, -maxListStart), maxListStart))
		}
		t.Attr = append(t.Attr, a)
	}
	return t.String()
}
