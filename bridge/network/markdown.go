package network

import "strings"

// CodeSpan is s as a Markdown code span, for putting what someone typed or
// chose (a nick, a network name, a channel) into a UserError's message or
// an answer: IRC nicks may hold backticks, and a plain `…` around one
// would end early and let the rest be read as Markdown. The fence is one
// backtick longer than the longest run inside s, and a space pads s
// where it starts or ends with a backtick (CommonMark takes one such
// space off each side).
func CodeSpan(s string) string {
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if s == "" || s[0] == '`' || s[len(s)-1] == '`' || (s[0] == ' ' && s[len(s)-1] == ' ' && strings.Trim(s, " ") != "") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}
