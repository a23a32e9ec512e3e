package portals

import (
	"strconv"
	"strings"

	"golang.org/x/net/html"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network/matrixhtml"
)

// maxListStart bounds <ol start="…"> in Matrix HTML. mautrix's HTML parser
// (v0.32.0) recurses without end on a start near the int64 limit and kills
// the process with a stack overflow, which recover cannot catch; every
// network converts HTML with it, so the core clamps the value once, before
// any network sees the content.
const maxListStart = 1_000_000

// sanitizeContent makes a Matrix message safe to hand to a network. A
// formatted body whose lists cannot be made safe is dropped: the plain body
// every message carries goes instead.
func sanitizeContent(content *event.MessageEventContent) {
	if content.FormattedBody == "" {
		return
	}
	safe, ok := sanitizeHTML(content.FormattedBody)
	if !ok {
		content.Format = ""
		content.FormattedBody = ""
		return
	}
	content.FormattedBody = safe
}

// sanitizeHTML returns s with every <ol start> clamped to ±maxListStart,
// and false if the result still has a list mautrix's parser would read
// with a start beyond that. Anything else is passed through byte for byte.
func sanitizeHTML(s string) (string, bool) {
	if !strings.Contains(strings.ToLower(s), "<ol") {
		return s, true
	}
	out := clampListStarts(s)
	// The tokenizer above reads <style>, <title> and the like as raw text,
	// as it should in HTML, but inside <svg> or <math> the parser does
	// not, and an <ol> there becomes a list the tokenizer never saw. Only
	// the parser mautrix uses can say which lists there are.
	return out, !matrixhtml.ListStartBeyond(out, maxListStart)
}

// clampListStarts clamps the start of every <ol> tag the tokenizer reads.
func clampListStarts(s string) string {
	var out strings.Builder
	out.Grow(len(s))
	z := html.NewTokenizer(strings.NewReader(s))
	for {
		tt := z.Next()
		raw := z.Raw()
		if tt == html.ErrorToken {
			// At the end, or an unfinished tag: keep what is left as it is.
			out.Write(raw)
			return out.String()
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			out.Write(raw)
			continue
		}
		tok := z.Token()
		if tok.Data != "ol" || !clampStart(tok.Attr) {
			out.Write(raw)
			continue
		}
		out.WriteString(tok.String())
	}
}

// clampStart clamps the start attribute in attrs and reports whether it
// changed anything.
func clampStart(attrs []html.Attribute) bool {
	changed := false
	for i, a := range attrs {
		if !strings.EqualFold(a.Key, "start") {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(a.Val), 10, 64)
		switch {
		case err != nil:
			n = 1
		case n > maxListStart:
			n = maxListStart
		case n < -maxListStart:
			n = -maxListStart
		default:
			continue
		}
		attrs[i].Val = strconv.FormatInt(n, 10)
		changed = true
	}
	return changed
}
