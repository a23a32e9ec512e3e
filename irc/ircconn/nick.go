package ircconn

import (
	"strconv"
	"strings"
)

// maxNickAttempts bounds registration's nick fallback; past it Dial fails
// with KindNickUnavailable instead of cycling forever.
const maxNickAttempts = 12

// rfcNickLen is the RFC 1459 nick length: the limit to fall back to when a
// server refuses a nick as erroneous before it has sent NICKLEN.
const rfcNickLen = 9

// nickFallback produces the nicks to try during registration: the wanted
// nick, then "nick_", "nick__", "nick1", "nick2"... each cut to fit the
// length limit, and a sanitized form when the server calls a nick
// erroneous (432).
type nickFallback struct {
	base     string // what suffixes are appended to
	limit    int    // NICKLEN if known, 0 if not
	attempts int
	suffixN  int
	current  string
}

func newNickFallback(wanted string, limit int) *nickFallback {
	// A nick that cannot even be a single IRC parameter (empty, spaces,
	// line breaks, a leading ':') is sanitized before the first try; any
	// other oddity is left for the server to judge, since some servers
	// accept more than the RFC characters.
	if wanted == "" || wanted[0] == ':' || strings.ContainsAny(wanted, " ,\r\n\x00") {
		wanted = SanitizeNick(wanted)
	}
	f := &nickFallback{base: wanted, limit: limit}
	f.current = fitNick(wanted, "", limit)
	return f
}

// inUse returns the next nick after 433/436/437, or "" when out of tries.
func (f *nickFallback) inUse() string {
	f.attempts++
	if f.attempts >= maxNickAttempts {
		return ""
	}
	f.suffixN++
	f.current = fitNick(f.base, nickSuffix(f.suffixN), f.limit)
	return f.current
}

// erroneous returns the next nick after 432, or "" when out of tries.
// Servers say 432 for bad characters, for a nick over NICKLEN, and for
// reserved nicks (InspIRCd's <badnick>), so try in that order: sanitize,
// shorten to the RFC length, then append suffixes.
func (f *nickFallback) erroneous() string {
	f.attempts++
	if f.attempts >= maxNickAttempts {
		return ""
	}
	if s := SanitizeNick(f.base); s != f.base {
		f.base, f.suffixN = s, 0
		f.current = fitNick(f.base, "", f.limit)
		return f.current
	}
	if f.limit == 0 && len(f.current) > rfcNickLen {
		f.limit = rfcNickLen
		f.current = fitNick(f.base, nickSuffix(f.suffixN), f.limit)
		return f.current
	}
	f.suffixN++
	f.current = fitNick(f.base, nickSuffix(f.suffixN), f.limit)
	return f.current
}

func nickSuffix(n int) string {
	switch {
	case n <= 0:
		return ""
	case n <= 2:
		return "__"[:n]
	default:
		return strconv.Itoa(n - 2)
	}
}

// fitNick appends suffix to base, cutting base so the result is at most
// limit bytes (limit 0: no limit).
func fitNick(base, suffix string, limit int) string {
	if limit > 0 && len(base)+len(suffix) > limit {
		keep := limit - len(suffix)
		if keep < 1 {
			keep = 1
		}
		if keep < len(base) {
			base = base[:keep]
		}
	}
	return base + suffix
}

// SanitizeNick keeps only characters every server accepts in a nick
// (letters, digits and []\`_^{|}-), and no digit or '-' first. It returns
// "ferry" when nothing is left.
func SanitizeNick(nick string) string {
	b := make([]byte, 0, len(nick))
	for i := 0; i < len(nick); i++ {
		c := nick[i]
		if !isNickChar(c) {
			continue
		}
		if len(b) == 0 && (c >= '0' && c <= '9' || c == '-') {
			continue
		}
		b = append(b, c)
	}
	if len(b) == 0 {
		return "ferry"
	}
	return string(b)
}

func isNickChar(c byte) bool {
	switch {
	case isAlnum(c):
		return true
	}
	switch c {
	case '[', ']', '\\', '`', '_', '^', '{', '|', '}', '-':
		return true
	}
	return false
}
