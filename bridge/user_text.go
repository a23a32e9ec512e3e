package bridge

import (
	"strings"

	"github.com/ferrybridge/ferry/bridge/network"
)

// A network's message for the user (network.UserError) is Markdown whose
// one intended formatting is code spans ("send `login irc libera`"), but
// it may carry what someone typed or chose: a network name or a nick
// from the command, an account's name, a server's words. Put into the
// bot's answer as it was, stars in it made emphasis, brackets a link
// with a text of anyone's choosing, tildes a strikethrough, bars a
// spoiler. The bridge cannot tell the parts apart once the text is
// made, but it can keep the code spans and take every other such mark
// literally: no network's message means one.

// userMessage is network.UserMessage(err, fallback), made safe to put
// into the bot's Markdown (userMarkdown).
func userMessage(err error, fallback string) string {
	return userMarkdown(network.UserMessage(err, fallback))
}

// userMarkdown escapes, outside code spans, the Markdown marks that make
// emphasis, links, strikethrough, spoilers, tables or autolinks; code
// spans and characters already escaped with a backslash are kept as they
// are. A run of backticks no run of the same length closes opens no code
// span: it is escaped too.
func userMarkdown(text string) string {
	var sb strings.Builder
	sb.Grow(len(text) + 8)
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '\\' && i+1 < len(text) && isASCIIPunct(text[i+1]):
			// Escaped already (an intended literal "\`").
			sb.WriteString(text[i : i+2])
			i += 2
		case c == '`':
			n := runLen(text, i, '`')
			if end := closingRun(text, i+n, n); end >= 0 {
				sb.WriteString(text[i : end+n])
				i = end + n
				continue
			}
			for j := 0; j < n; j++ {
				sb.WriteString("\\`")
			}
			i += n
		case strings.IndexByte("*_[]~|<>", c) >= 0:
			sb.WriteByte('\\')
			sb.WriteByte(c)
			i++
		default:
			sb.WriteByte(c)
			i++
		}
	}
	return sb.String()
}

// runLen is the length of the run of c starting at text[i].
func runLen(text string, i int, c byte) int {
	n := 0
	for i+n < len(text) && text[i+n] == c {
		n++
	}
	return n
}

// closingRun is where, from i on, a run of exactly n backticks starts
// (one that closes a code span opened by n), -1 if none does.
func closingRun(text string, i, n int) int {
	for i < len(text) {
		if text[i] != '`' {
			i++
			continue
		}
		m := runLen(text, i, '`')
		if m == n {
			return i
		}
		i += m
	}
	return -1
}

func isASCIIPunct(c byte) bool {
	return c >= '!' && c <= '/' || c >= ':' && c <= '@' || c >= '[' && c <= '`' || c >= '{' && c <= '~'
}
