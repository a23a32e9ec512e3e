package network

import "strings"

// Literal is s, words from outside (a server's reason, a library's
// error), made safe to put into a State's Message or a UserError's
// message: the core renders those as Markdown whose code spans are
// meant and whose other marks it takes literally, so the one thing it
// cannot tell from the network's own is a pair of backticks in the
// outside words (IRC nicks hold them: "Closing link: (a`b@h) [Killed
// (c`d)]"), which would become a code span. Literal escapes backticks,
// and backslashes, which would otherwise escape what follows them.
func Literal(s string) string {
	if !strings.ContainsAny(s, "`\\") {
		return s
	}
	var sb strings.Builder
	sb.Grow(len(s) + 4)
	for i := 0; i < len(s); i++ {
		if s[i] == '`' || s[i] == '\\' {
			sb.WriteByte('\\')
		}
		sb.WriteByte(s[i])
	}
	return sb.String()
}
