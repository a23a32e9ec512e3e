package bridge

import (
	"strings"
	"unicode/utf8"
)

// sentence is msg, a network's or the core's words for the user, ended
// as a sentence: with a full stop unless it ends with one already (or
// with "!", "?", "…"), so that "…try again." followed by the notice's
// own stop does not read "try again..".
func sentence(msg string) string {
	msg = strings.TrimRight(msg, " \t\n")
	last, _ := utf8.DecodeLastRuneInString(msg)
	switch last {
	case '.', '!', '?', '…':
		return msg
	}
	return msg + "."
}
