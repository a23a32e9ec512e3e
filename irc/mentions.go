package irc

import (
	"html"
	"strings"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/irc/ircconn"
)

// Nick mentions become Matrix pills (IRC -> Matrix). Only explicit
// mentions count: a whole run of nick characters that casefolds to the
// nick of someone in the chat ("alice: hi", "thanks, alice!"), or such a
// run wrapped in brackets or backquotes ("[alice]", "`alice`"). A nick
// inside a longer run ("alice_", "alice|away", "xalice") is another nick,
// nicks shorter than minMentionLen are never matched (they are words), and
// nothing inside a link or a URL-looking word is touched.

const minMentionLen = 2

// isNickByte reports whether b can be part of a nick: letters, digits,
// []\`^{}|-_ and (for servers with UTF-8 nicks) any non-ASCII byte.
func isNickByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' ||
		strings.IndexByte("[]\\`^{}|-_", b) >= 0 || b >= 0x80
}

// mentionLookup maps a candidate nick (as written) to the Matrix user it
// names.
type mentionLookup func(nick string) (id.UserID, bool)

// matchMention finds the mentioned user in one run of nick characters:
// the whole run, else the run without surrounding brackets or backquotes.
// It returns the lengths of what stays outside the pill on each side.
func matchMention(token string, lookup mentionLookup) (user id.UserID, lead, trail int, ok bool) {
	if len(token) >= minMentionLen {
		if user, ok = lookup(token); ok {
			return user, 0, 0, true
		}
	}
	inner := strings.TrimLeft(token, "[{`")
	lead = len(token) - len(inner)
	inner = strings.TrimRight(inner, "]}`")
	trail = len(token) - lead - len(inner)
	if (lead == 0 && trail == 0) || len(inner) < minMentionLen {
		return "", 0, 0, false
	}
	if user, ok = lookup(inner); ok {
		return user, lead, trail, true
	}
	return "", 0, 0, false
}

// linkMentions turns nick mentions in the text of an HTML body into pills.
// Tags and entities are copied unchanged; text inside <a> elements and
// words containing "://" or starting with "www." are left alone. It
// returns the new HTML and the users mentioned, each once.
func linkMentions(body string, lookup mentionLookup) (string, []id.UserID) {
	var b strings.Builder
	var users []id.UserID
	inLink := 0
	for i := 0; i < len(body); {
		c := body[i]
		switch {
		case c == '<':
			end := strings.IndexByte(body[i:], '>')
			if end < 0 {
				b.WriteString(body[i:])
				i = len(body)
				continue
			}
			tag := strings.ToLower(body[i : i+end+1])
			if strings.HasPrefix(tag, "<a ") || tag == "<a>" {
				inLink++
			} else if tag == "</a>" && inLink > 0 {
				inLink--
			}
			b.WriteString(body[i : i+end+1])
			i += end + 1
		case c == '&':
			end := strings.IndexByte(body[i:], ';')
			if end < 0 || end > 10 {
				b.WriteByte(c)
				i++
				continue
			}
			b.WriteString(body[i : i+end+1])
			i += end + 1
		case isNickByte(c):
			j := i
			for j < len(body) && isNickByte(body[j]) {
				j++
			}
			token := body[i:j]
			if inLink == 0 && !inURLWord(body, i, j) {
				if user, lead, trail, ok := matchMention(token, lookup); ok {
					nick := token[lead : len(token)-trail]
					b.WriteString(token[:lead])
					b.WriteString(`<a href="` + html.EscapeString(user.URI().MatrixToURL()) + `">` + nick + `</a>`)
					b.WriteString(token[len(token)-trail:])
					if !containsUser(users, user) {
						users = append(users, user)
					}
					i = j
					continue
				}
			}
			b.WriteString(token)
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), users
}

func containsUser(list []id.UserID, u id.UserID) bool {
	for _, x := range list {
		if x == u {
			return true
		}
	}
	return false
}

// inURLWord reports whether body[i:j] sits in a word (up to spaces and
// tags) that looks like a URL.
func inURLWord(body string, i, j int) bool {
	start := i
	for start > 0 && body[start-1] != ' ' && body[start-1] != '>' {
		start--
	}
	end := j
	for end < len(body) && body[end] != ' ' && body[end] != '<' && body[end] != '&' {
		end++
	}
	word := strings.ToLower(body[start:end])
	return strings.Contains(word, "://") || strings.HasPrefix(word, "www.")
}

// addMentions turns mentions of people in the chat into pills: Ferry
// users' nicks link to their Matrix account, others' to their ghost.
// members are the casefolded nicks present (nil: none but Ferry users).
// peer is the other side's nick in a PM ("" in a channel): their pill
// names the ghost their lines come from (pmSender), which after a
// CASEMAPPING change is the one kept in the room, not the one their nick
// folds to now.
func (cl *Client) addMentions(content *event.MessageEventContent, members map[string]bool, peer string) {
	if cl.c.host == nil {
		return
	}
	cm := cl.cm()
	ferry := cl.c.ferryUsers(cl.netName)
	bot := ""
	if n := cl.c.relayNick(cl.netName); n != "" {
		bot = ircconn.Casefold(cm, n)
	}
	peerFolded := ""
	if peer != "" {
		peerFolded = ircconn.Casefold(cm, peer)
	}
	lookup := func(nick string) (id.UserID, bool) {
		folded := ircconn.Casefold(cm, nick)
		if !members[folded] || folded == bot {
			return "", false
		}
		if user, ok := ferry[folded]; ok {
			return user, true
		}
		if folded == peerFolded {
			return cl.c.host.GhostMXID(cl.pmSender(peer)), true
		}
		return cl.c.host.GhostMXID(makeUserID(cl.netName, cm, folded)), true
	}
	formatted := content.FormattedBody
	if content.Format != event.FormatHTML || formatted == "" {
		formatted = html.EscapeString(content.Body)
	}
	out, users := linkMentions(formatted, lookup)
	if len(users) == 0 {
		return
	}
	content.Format, content.FormattedBody = event.FormatHTML, out
	content.Mentions = &event.Mentions{UserIDs: users}
}
