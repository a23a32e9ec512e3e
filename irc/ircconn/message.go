package ircconn

import (
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/irc.v4"
)

// Wire limits (Modern IRC, IRCv3 message-tags).
const (
	// MaxLineLen is the longest line without tags, CRLF included, where
	// the server announces no LINELEN (see ISupport.MaxLine).
	MaxLineLen = 512
	// lineLenCap bounds the LINELEN a server may raise the limit to: a
	// server's typo or joke must not make us build (or keep, reading)
	// lines of any size.
	lineLenCap = 4096
	// MaxClientTagsLen is the most tag data a client may send, the leading
	// '@' and the trailing space included.
	MaxClientTagsLen = 4094
	// maxParams is the most parameters a message may carry.
	maxParams = 15
)

// ErrInvalidMessage is wrapped by every *ValidationError.
var ErrInvalidMessage = errors.New("ircconn: invalid message")

// ValidationError says why a message was refused before anything of it was
// written. Refusing is the only safe answer: a parameter with CR or LF in
// it is how earlier bridges let Matrix users run raw IRC commands
// (CVE-2022-29166, CVE-2023-38690), and a space or leading ':' in a middle
// parameter shifts every parameter after it.
type ValidationError struct {
	Command string
	Param   int    // index of the offending parameter, -1 if none
	Tag     string // offending tag key, if any
	Reason  string
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("ircconn: invalid ")
	if e.Command != "" {
		b.WriteString(e.Command)
		b.WriteByte(' ')
	}
	b.WriteString("message: ")
	switch {
	case e.Tag != "":
		b.WriteString("tag " + strconv.Quote(e.Tag) + ": ")
	case e.Param >= 0:
		b.WriteString("parameter " + strconv.Itoa(e.Param) + ": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

func (e *ValidationError) Unwrap() error { return ErrInvalidMessage }

// MessageTime returns the server-time tag of m in UTC, if it has one.
func MessageTime(m *irc.Message) (time.Time, bool) {
	v, ok := m.Tags["time"]
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// Validate reports whether msg can be sent as it is, without building it.
func Validate(msg *irc.Message) error {
	_, err := appendMessage(nil, msg, "", MaxLineLen)
	return err
}

// Encode validates msg and returns its wire form with CRLF. Tags are
// written sorted by key so the output is deterministic.
func Encode(msg *irc.Message) ([]byte, error) {
	return appendMessage(nil, msg, "", MaxLineLen)
}

// appendMessage validates msg and appends its wire form (with CRLF) to dst;
// label, when not empty, is added as the "label" tag. Without its tags the
// line may take maxLine bytes (MaxLineLen, or the server's LINELEN). On
// error dst is returned unchanged in content (nothing half-built escapes:
// the caller only ever queues a fully validated line).
func appendMessage(dst []byte, msg *irc.Message, label string, maxLine int) ([]byte, error) {
	if msg == nil {
		return dst, &ValidationError{Param: -1, Reason: "nil message"}
	}
	cmd := msg.Command
	if err := validateCommand(cmd); err != nil {
		return dst, err
	}
	if msg.Prefix != nil && msg.Prefix.Name != "" {
		// Servers ignore or reject a client's prefix; carrying one means
		// the caller is relaying a server message by mistake.
		return dst, &ValidationError{Command: cmd, Param: -1, Reason: "a client message has no prefix"}
	}
	if len(msg.Params) > maxParams {
		return dst, &ValidationError{Command: cmd, Param: -1, Reason: "more than 15 parameters"}
	}
	for i, p := range msg.Params {
		if err := validateParam(cmd, i, p, i == len(msg.Params)-1); err != nil {
			return dst, err
		}
	}
	start := len(dst)
	if len(msg.Tags) > 0 || label != "" {
		var err error
		dst, err = appendTags(dst, cmd, msg.Tags, label)
		if err != nil {
			return dst[:start], err
		}
	}
	bodyStart := len(dst)
	dst = append(dst, cmd...)
	for i, p := range msg.Params {
		dst = append(dst, ' ')
		if i == len(msg.Params)-1 && (p == "" || p[0] == ':' || strings.IndexByte(p, ' ') >= 0) {
			dst = append(dst, ':')
		}
		dst = append(dst, p...)
	}
	dst = append(dst, '\r', '\n')
	if n := len(dst) - bodyStart; n > maxLine {
		return dst[:start], &ValidationError{Command: cmd, Param: -1,
			Reason: "line is " + strconv.Itoa(n) + " bytes with CRLF, over " + strconv.Itoa(maxLine)}
	}
	return dst, nil
}

func validateCommand(cmd string) error {
	if cmd == "" {
		return &ValidationError{Param: -1, Reason: "empty command"}
	}
	digits, letters := 0, 0
	for i := 0; i < len(cmd); i++ {
		switch c := cmd[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
			letters++
		default:
			return &ValidationError{Command: strconv.Quote(cmd), Param: -1, Reason: "command must be letters or a 3-digit numeric"}
		}
	}
	if letters > 0 && digits > 0 || digits > 0 && digits != 3 {
		return &ValidationError{Command: strconv.Quote(cmd), Param: -1, Reason: "command must be letters or a 3-digit numeric"}
	}
	return nil
}

func validateParam(cmd string, i int, p string, last bool) error {
	if k := strings.IndexAny(p, "\r\n\x00"); k >= 0 {
		return &ValidationError{Command: cmd, Param: i, Reason: "contains " + strconv.QuoteRune(rune(p[k]))}
	}
	if last {
		return nil
	}
	switch {
	case p == "":
		return &ValidationError{Command: cmd, Param: i, Reason: "only the last parameter may be empty"}
	case p[0] == ':':
		return &ValidationError{Command: cmd, Param: i, Reason: "only the last parameter may start with ':'"}
	case strings.IndexByte(p, ' ') >= 0:
		return &ValidationError{Command: cmd, Param: i, Reason: "only the last parameter may contain a space"}
	}
	return nil
}

// appendTags appends "@k=v;k2 " (sorted, escaped) and checks the 4094-byte
// client limit.
func appendTags(dst []byte, cmd string, tags irc.Tags, label string) ([]byte, error) {
	keys := make([]string, 0, len(tags)+1)
	for k := range tags {
		if k == "label" && label != "" {
			continue // ours wins; a stale caller label would misroute the reply
		}
		keys = append(keys, k)
	}
	if label != "" {
		keys = append(keys, "label")
	}
	sort.Strings(keys)
	start := len(dst)
	dst = append(dst, '@')
	for i, k := range keys {
		v := tags[k]
		if k == "label" && label != "" {
			v = label
		}
		if err := validateTag(cmd, k, v); err != nil {
			return dst[:start], err
		}
		if i > 0 {
			dst = append(dst, ';')
		}
		dst = append(dst, k...)
		if v != "" {
			dst = append(dst, '=')
			dst = appendTagValue(dst, v)
		}
	}
	dst = append(dst, ' ')
	if n := len(dst) - start; n > MaxClientTagsLen {
		return dst[:start], &ValidationError{Command: cmd, Param: -1,
			Reason: "tags are " + strconv.Itoa(n) + " bytes, over 4094"}
	}
	return dst, nil
}

// validateTag checks a key ([+][vendor/]name, name of letters, digits and
// '-', vendor a DNS name) and a value (UTF-8 without NUL; everything else
// is escaped).
func validateTag(cmd, key, value string) error {
	k := strings.TrimPrefix(key, "+")
	name := k
	if slash := strings.LastIndexByte(k, '/'); slash >= 0 {
		vendor := k[:slash]
		name = k[slash+1:]
		if vendor == "" {
			return &ValidationError{Command: cmd, Param: -1, Tag: key, Reason: "empty vendor"}
		}
		for i := 0; i < len(vendor); i++ {
			if c := vendor[i]; !isAlnum(c) && c != '-' && c != '.' {
				return &ValidationError{Command: cmd, Param: -1, Tag: key, Reason: "bad character in vendor"}
			}
		}
	}
	if name == "" {
		return &ValidationError{Command: cmd, Param: -1, Tag: key, Reason: "empty key"}
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isAlnum(c) && c != '-' {
			return &ValidationError{Command: cmd, Param: -1, Tag: key, Reason: "bad character in key"}
		}
	}
	if strings.IndexByte(value, 0) >= 0 {
		return &ValidationError{Command: cmd, Param: -1, Tag: key, Reason: "value contains NUL"}
	}
	if !utf8.ValidString(value) {
		return &ValidationError{Command: cmd, Param: -1, Tag: key, Reason: "value is not UTF-8"}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// appendTagValue escapes a tag value per the message-tags spec.
func appendTagValue(dst []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case ';':
			dst = append(dst, '\\', ':')
		case ' ':
			dst = append(dst, '\\', 's')
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\n':
			dst = append(dst, '\\', 'n')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// ErrNothingAfterTags is ParseLine's answer to a line that is tags and a
// space and nothing more.
var ErrNothingAfterTags = errors.New("ircconn: nothing after the message tags")

// ParseLine parses one line as irc.ParseMessage does. Every line from a
// server goes through it, because the pinned parser (gopkg.in/irc.v4
// v4.0.0) indexes past the end of a line that is only tags and a space
// ("@a "), and a panic on the reader's goroutine would end the process.
func ParseLine(line string) (*irc.Message, error) {
	rest := strings.TrimRight(line, "\r\n")
	if strings.HasPrefix(rest, "@") {
		if sp := strings.IndexByte(rest, ' '); sp == len(rest)-1 {
			return nil, ErrNothingAfterTags
		}
	}
	return irc.ParseMessage(rest)
}
