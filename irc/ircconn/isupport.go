package ircconn

import (
	"slices"
	"sort"
	"strconv"
	"strings"
)

// CaseMapping is an ISUPPORT CASEMAPPING value.
type CaseMapping string

const (
	// CaseMappingASCII folds A-Z only.
	CaseMappingASCII CaseMapping = "ascii"
	// CaseMappingRFC1459 also folds []\~ to {}|^; the default when a
	// server sends no CASEMAPPING.
	CaseMappingRFC1459 CaseMapping = "rfc1459"
	// CaseMappingRFC1459Strict folds []\ to {}| but leaves ~ and ^ apart.
	CaseMappingRFC1459Strict CaseMapping = "rfc1459-strict"
	// CaseMappingPRECIS is PRECIS's UsernameCaseMapped profile: Unicode
	// lowercase (casemapping_unicode.go). Servers announce it as rfc8265
	// or rfc7613, or as ascii with UTF8MAPPING=rfc8265; its name is none
	// of those tokens (see caseMappingOf).
	CaseMappingPRECIS CaseMapping = "precis"
)

// Casefold folds s under mapping m. Folding too little lets two spellings
// of one channel become two rooms; folding too much merges two channels
// into one room (the takeover earlier bridges suffered), so an unknown
// mapping folds like ascii, the mapping every other one extends. The
// PRECIS mapping folds Unicode letters too (casemapping_unicode.go). Returns s
// itself, without allocating, when nothing changes.
func Casefold(m CaseMapping, s string) string {
	if isPRECIS(m) {
		return foldPRECIS(s)
	}
	i := 0
	for ; i < len(s); i++ {
		if foldByte(m, s[i]) != s[i] {
			break
		}
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		b[i] = foldByte(m, b[i])
	}
	return string(b)
}

func foldByte(m CaseMapping, c byte) byte {
	switch {
	case c >= 'A' && c <= 'Z':
		return c + ('a' - 'A')
	case m == CaseMappingRFC1459 || m == CaseMappingRFC1459Strict:
		switch c {
		case '[':
			return '{'
		case ']':
			return '}'
		case '\\':
			return '|'
		case '~':
			if m == CaseMappingRFC1459 {
				return '^'
			}
		}
	}
	return c
}

// ISupport is what a server announced in RPL_ISUPPORT (005). Lengths are 0
// when the server did not say. Treat a value obtained from a Conn as
// read-only: the Conn replaces it rather than changing it.
type ISupport struct {
	CaseMapping CaseMapping // rfc1459 when absent
	PrefixModes string      // channel membership modes, highest first: "qaohv"
	PrefixChars string      // their prefixes, same order: "~&@%+"
	ChanTypes   string      // "#&" when absent
	StatusMsg   string      // prefixes allowed before a channel target, e.g. "@+"
	ChanModes   [4]string   // CHANMODES A (lists), B (param always), C (param when set), D (flags)
	Network     string
	NickLen     int
	ChannelLen  int
	TopicLen    int
	UserLen     int
	HostLen     int
	Modes       int // MODES: mode changes per line; 0 when absent
	LineLen     int // LINELEN as announced, 512 when absent (MaxLine is what to use)

	tokens []string // every "KEY" or "KEY=value" as sent (value unescaped), sorted by key
}

// DefaultISupport returns what a client must assume before (or without)
// a 005: RFC 1459 casemapping, PREFIX=(ov)@+, CHANTYPES=#&.
func DefaultISupport() *ISupport {
	return &ISupport{
		CaseMapping: CaseMappingRFC1459,
		PrefixModes: "ov",
		PrefixChars: "@+",
		ChanTypes:   "#&",
		LineLen:     MaxLineLen,
	}
}

// Clone returns a copy that can be changed without touching is.
func (is *ISupport) Clone() *ISupport {
	c := *is
	c.tokens = append([]string(nil), is.tokens...)
	return &c
}

// Parse applies the tokens of one 005 line: its parameters without the
// leading nick and the trailing "are supported by this server".
// "-KEY" resets KEY to its default. Values are unescaped (\x20 -> space).
func (is *ISupport) Parse(tokens []string) {
	for _, tok := range tokens {
		if tok == "" || strings.IndexByte(tok, ' ') >= 0 {
			continue // the trailing human text, or junk
		}
		if tok[0] == '-' {
			is.setToken(tok[1:], "", true)
			is.apply(tok[1:], "", false)
			continue
		}
		key, value, _ := strings.Cut(tok, "=")
		value = unescapeISupport(value)
		is.setToken(key, value, false)
		is.apply(key, value, true)
	}
}

// apply updates the typed fields for one token; set=false ("-KEY") resets
// the field to its default.
func (is *ISupport) apply(key, value string, set bool) {
	def := DefaultISupport()
	switch key {
	case "CASEMAPPING", "UTF8MAPPING":
		// Read back from the tokens (set before apply): either may
		// change what the other means (caseMappingOf).
		casemapping, _ := is.Get("CASEMAPPING")
		utf8mapping, _ := is.Get("UTF8MAPPING")
		is.CaseMapping = caseMappingOf(casemapping, utf8mapping)
	case "PREFIX":
		// "PREFIX=" means no membership prefixes at all; "-PREFIX" means
		// back to the default; a malformed value keeps the default rather
		// than pairing letters with the wrong symbols.
		is.PrefixModes, is.PrefixChars = def.PrefixModes, def.PrefixChars
		if !set {
			return
		}
		if value == "" {
			is.PrefixModes, is.PrefixChars = "", ""
			return
		}
		if value[0] == '(' {
			if end := strings.IndexByte(value, ')'); end > 0 {
				modes, chars := value[1:end], value[end+1:]
				if len(modes) == len(chars) {
					is.PrefixModes, is.PrefixChars = modes, chars
				}
			}
		}
	case "CHANTYPES":
		is.ChanTypes = value // "CHANTYPES=": a server without channels
		if !set {
			is.ChanTypes = def.ChanTypes
		}
	case "STATUSMSG":
		is.StatusMsg = value
	case "CHANMODES":
		is.ChanModes = [4]string{}
		for i, part := range strings.SplitN(value, ",", 4) {
			is.ChanModes[i] = part
		}
	case "NETWORK":
		is.Network = value
	case "NICKLEN":
		is.NickLen = atoiOr(value, 0)
	case "MAXNICKLEN": // older servers; NICKLEN wins when both are sent
		if _, ok := is.Get("NICKLEN"); !ok {
			is.NickLen = atoiOr(value, 0)
		}
	case "CHANNELLEN":
		is.ChannelLen = atoiOr(value, 0)
	case "TOPICLEN":
		is.TopicLen = atoiOr(value, 0)
	case "USERLEN":
		is.UserLen = atoiOr(value, 0)
	case "HOSTLEN":
		is.HostLen = atoiOr(value, 0)
	case "MODES":
		is.Modes = atoiOr(value, 0)
	case "LINELEN":
		is.LineLen = atoiOr(value, MaxLineLen)
	}
}

func atoiOr(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return def
	}
	return n
}

// setToken records (or, with remove, forgets) a raw token, keeping tokens
// sorted by key.
func (is *ISupport) setToken(key, value string, remove bool) {
	i := sort.Search(len(is.tokens), func(i int) bool { return tokenKey(is.tokens[i]) >= key })
	found := i < len(is.tokens) && tokenKey(is.tokens[i]) == key
	tok := key
	if value != "" {
		tok = key + "=" + value
	}
	switch {
	case remove && found:
		is.tokens = append(is.tokens[:i], is.tokens[i+1:]...)
	case remove:
	case found:
		is.tokens[i] = tok
	default:
		is.tokens = append(is.tokens, "")
		copy(is.tokens[i+1:], is.tokens[i:])
		is.tokens[i] = tok
	}
}

func tokenKey(tok string) string {
	k, _, _ := strings.Cut(tok, "=")
	return k
}

// Get returns the raw value of any token (unescaped) and whether the
// server sent it, e.g. Get("WHOX") -> "", true.
func (is *ISupport) Get(key string) (string, bool) {
	i := sort.Search(len(is.tokens), func(i int) bool { return tokenKey(is.tokens[i]) >= key })
	if i < len(is.tokens) && tokenKey(is.tokens[i]) == key {
		_, v, _ := strings.Cut(is.tokens[i], "=")
		return v, true
	}
	return "", false
}

// MaxLine is the longest line, CRLF included and tags not, to send and
// to have relayed: the server's LINELEN, MaxLineLen when it announced
// none, and at most lineLenCap. A LINELEN under 512 counts as 512. The
// RFC's 512 is the line every server takes, and LINELEN only announces
// more: no server lets its operator go under it (InspIRCd's maxline and
// Ergo's linelen refuse to), so a lower value is a broken announcement.
// Honoured, it would leave lines unbuildable, a PONG refused (a ping
// timeout) or a JOIN; and any other floor would be arbitrary, with no
// bound on which line fails next.
func (is *ISupport) MaxLine() int {
	return min(max(is.LineLen, MaxLineLen), lineLenCap)
}

// Casefold folds s with the server's casemapping.
func (is *ISupport) Casefold(s string) string { return Casefold(is.CaseMapping, s) }

// Equal compares two nicks or channel names under the server's casemapping.
func (is *ISupport) Equal(a, b string) bool {
	// Unicode lowercase may change a name's length (KELVIN SIGN is k).
	return (len(a) == len(b) || isPRECIS(is.CaseMapping)) && is.Casefold(a) == is.Casefold(b)
}

// IsChannel reports whether name is a channel name by CHANTYPES.
func (is *ISupport) IsChannel(name string) bool {
	return name != "" && strings.IndexByte(is.ChanTypes, name[0]) >= 0
}

// SplitStatusMsg splits a STATUSMSG target such as "@#chan" into its
// prefixes ("@") and the channel ("#chan"). A plain target has no prefix.
func (is *ISupport) SplitStatusMsg(target string) (prefixes, channel string) {
	i := 0
	for i < len(target) && strings.IndexByte(is.StatusMsg, target[i]) >= 0 {
		i++
	}
	if i > 0 && is.IsChannel(target[i:]) {
		return target[:i], target[i:]
	}
	return "", target
}

// ModeForPrefix returns the membership mode of a prefix char ('@' -> 'o'),
// or 0.
func (is *ISupport) ModeForPrefix(c byte) byte {
	if i := strings.IndexByte(is.PrefixChars, c); i >= 0 {
		return is.PrefixModes[i]
	}
	return 0
}

// PrefixForMode returns the prefix char of a membership mode ('o' -> '@'),
// or 0.
func (is *ISupport) PrefixForMode(m byte) byte {
	if i := strings.IndexByte(is.PrefixModes, m); i >= 0 {
		return is.PrefixChars[i]
	}
	return 0
}

// unescapeISupport decodes \xHH escapes in a 005 value.
func unescapeISupport(v string) string {
	if !strings.Contains(v, `\x`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+4 <= len(v) && v[i+1] == 'x' {
			if n, err := strconv.ParseUint(v[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// isupportCache lets connections that were sent the same ISUPPORT share
// one *ISupport: each would otherwise keep its own copy of the same
// forty-odd tokens and, through the substrings, the 005 lines they were
// cut from, a few KiB per idle connection.
var isupportCache weakCache[ISupport]

// internISupport returns the shared ISupport equal to is, making a
// detached copy of is the shared one if there is none yet. is must not
// be changed afterwards (Conns never change a published ISupport).
func internISupport(is *ISupport) *ISupport {
	key := strings.Join(is.tokens, "\n") // tokens hold no line breaks
	return isupportCache.intern(key, is.sameAs, is.detached)
}

// sameAs reports whether is and o say the same in every field.
func (is *ISupport) sameAs(o *ISupport) bool {
	return is.CaseMapping == o.CaseMapping && is.PrefixModes == o.PrefixModes &&
		is.PrefixChars == o.PrefixChars && is.ChanTypes == o.ChanTypes &&
		is.StatusMsg == o.StatusMsg && is.ChanModes == o.ChanModes && is.Network == o.Network &&
		is.NickLen == o.NickLen && is.ChannelLen == o.ChannelLen && is.TopicLen == o.TopicLen &&
		is.UserLen == o.UserLen && is.HostLen == o.HostLen && is.Modes == o.Modes &&
		is.LineLen == o.LineLen && slices.Equal(is.tokens, o.tokens)
}

// detached is a copy whose strings share no memory with the lines they
// were parsed from.
func (is *ISupport) detached() *ISupport {
	c := *is
	c.CaseMapping = CaseMapping(strings.Clone(string(is.CaseMapping)))
	c.PrefixModes = strings.Clone(is.PrefixModes)
	c.PrefixChars = strings.Clone(is.PrefixChars)
	c.ChanTypes = strings.Clone(is.ChanTypes)
	c.StatusMsg = strings.Clone(is.StatusMsg)
	for i := range c.ChanModes {
		c.ChanModes[i] = strings.Clone(is.ChanModes[i])
	}
	c.Network = strings.Clone(is.Network)
	c.tokens = make([]string, len(is.tokens))
	for i, tok := range is.tokens {
		c.tokens[i] = strings.Clone(tok)
	}
	return &c
}
