package ircconn

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"gopkg.in/irc.v4"
)

func msg(cmd string, params ...string) *irc.Message {
	return &irc.Message{Command: cmd, Params: params}
}

func TestEncode(t *testing.T) {
	cases := []struct {
		m    *irc.Message
		want string
	}{
		{msg("PRIVMSG", "#chan", "hello world"), "PRIVMSG #chan :hello world\r\n"},
		{msg("PRIVMSG", "#chan", "hello"), "PRIVMSG #chan hello\r\n"},
		{msg("PRIVMSG", "#chan", ":-)"), "PRIVMSG #chan ::-)\r\n"},
		{msg("PRIVMSG", "#chan", ""), "PRIVMSG #chan :\r\n"},
		{msg("NICK", "ferry"), "NICK ferry\r\n"},
		{msg("QUIT"), "QUIT\r\n"},
		{msg("001", "x"), "001 x\r\n"},
		{&irc.Message{Command: "TAGMSG", Params: []string{"#c"},
			Tags: irc.Tags{"+draft/react": "👍", "+x": "a;b c\\d\re\nf", "+flag": ""}},
			"@+draft/react=👍;+flag;+x=a\\:b\\sc\\\\d\\re\\nf TAGMSG #c\r\n"},
	}
	for _, c := range cases {
		got, err := Encode(c.m)
		if err != nil {
			t.Errorf("Encode(%v): %v", c.m, err)
			continue
		}
		if string(got) != c.want {
			t.Errorf("Encode(%v) = %q, want %q", c.m, got, c.want)
		}
		// And irc.v4 parses it back to the same message.
		back, err := irc.ParseMessage(string(got))
		if err != nil {
			t.Fatalf("parse %q: %v", got, err)
		}
		if back.Command != c.m.Command || strings.Join(back.Params, "\x00") != strings.Join(c.m.Params, "\x00") {
			t.Errorf("round trip of %q: %v %q", got, back.Command, back.Params)
		}
		for k, v := range c.m.Tags {
			if back.Tags[k] != v {
				t.Errorf("round trip of tag %s: %q, want %q", k, back.Tags[k], v)
			}
		}
	}
}

func TestValidateRejectsInjection(t *testing.T) {
	cases := []struct {
		name  string
		m     *irc.Message
		param int
	}{
		{"CRLF in text", msg("PRIVMSG", "#chan", "hi\r\nQUIT :pwned"), 1},
		{"LF in text", msg("PRIVMSG", "#chan", "hi\nJOIN #evil"), 1},
		{"lone CR", msg("PRIVMSG", "#chan", "hi\rQUIT"), 1},
		{"NUL", msg("PRIVMSG", "#chan", "\x00"), 1},
		{"space in target", msg("PRIVMSG", "#chan extra", "hi"), 0},
		{"CRLF in target", msg("PRIVMSG", "#chan\r\nQUIT", "hi"), 0},
		{"empty middle", msg("MODE", "#chan", "", "x"), 1},
		{"colon middle", msg("KICK", "#chan", ":victim", "bye"), 1},
		{"CRLF in key", msg("JOIN", "#chan", "key\r\nPRIVMSG x :y"), 1},
		{"newline in nick", msg("NICK", "a\nb"), 0},
		{"empty command", msg(""), -1},
		{"command with space", msg("PRIV MSG", "x"), -1},
		{"command with CRLF", msg("QUIT\r\nNICK", "x"), -1},
		{"mixed numeric", msg("0A1"), -1},
		{"too many params", msg("X", strings.Split("a b c d e f g h i j k l m n o p", " ")...), -1},
		{"prefix", &irc.Message{Prefix: &irc.Prefix{Name: "evil"}, Command: "PRIVMSG", Params: []string{"x", "y"}}, -1},
		{"too long", msg("PRIVMSG", "#chan", strings.Repeat("a", 500)), -1},
		{"tag NUL", &irc.Message{Command: "TAGMSG", Params: []string{"#c"}, Tags: irc.Tags{"+a": "x\x00"}}, -1},
		{"tag key space", &irc.Message{Command: "TAGMSG", Params: []string{"#c"}, Tags: irc.Tags{"+a b": "x"}}, -1},
		{"tag key CRLF", &irc.Message{Command: "TAGMSG", Params: []string{"#c"}, Tags: irc.Tags{"+a\r\nQUIT": "x"}}, -1},
		{"tag value not UTF-8", &irc.Message{Command: "TAGMSG", Params: []string{"#c"}, Tags: irc.Tags{"+a": "\xff"}}, -1},
		{"tags too long", &irc.Message{Command: "TAGMSG", Params: []string{"#c"}, Tags: irc.Tags{"+a": strings.Repeat("x", 4100)}}, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := appendMessage([]byte("keep"), c.m, "", MaxLineLen)
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("err = %v, want a *ValidationError", err)
			}
			if c.param >= 0 && ve.Param != c.param {
				t.Errorf("Param = %d, want %d (%v)", ve.Param, c.param, err)
			}
			if string(out) != "keep" {
				t.Errorf("half-written output: %q", out)
			}
		})
	}
}

func TestLineLimit(t *testing.T) {
	// "PRIVMSG #c :" is 12 bytes, CRLF 2: 498 bytes of text fill 512.
	if _, err := Encode(msg("PRIVMSG", "#c", " "+strings.Repeat("a", 497))); err != nil {
		t.Errorf("512-byte line refused: %v", err)
	}
	if _, err := Encode(msg("PRIVMSG", "#c", " "+strings.Repeat("a", 498))); err == nil {
		t.Error("513-byte line accepted")
	}
	// Tags do not count toward the 512.
	m := &irc.Message{Command: "PRIVMSG", Params: []string{"#c", " " + strings.Repeat("a", 497)}, Tags: irc.Tags{"+x": strings.Repeat("y", 4000)}}
	if _, err := Encode(m); err != nil {
		t.Errorf("tags counted toward the line: %v", err)
	}
}

func FuzzValidate(f *testing.F) {
	f.Add("PRIVMSG", "#chan", "hello world", "+draft/reply", "abc")
	f.Add("PRIVMSG", "#chan", "hi\r\nQUIT", "", "")
	f.Add("NOTICE", "nick", "\x00", "+x", "a;b c")
	f.Add("MODE", "", ":x", "label", "\\")
	f.Add("001", "a b", "", "+a/b", "\xff")
	f.Fuzz(func(t *testing.T, cmd, p0, p1, tagKey, tagVal string) {
		m := &irc.Message{Command: cmd, Params: []string{p0, p1}}
		if tagKey != "" {
			m.Tags = irc.Tags{tagKey: tagVal}
		}
		line, err := Encode(m)
		if err != nil {
			if !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("error not a validation error: %v", err)
			}
			return
		}
		s := string(line)
		if !strings.HasSuffix(s, "\r\n") || strings.IndexAny(s[:len(s)-2], "\r\n\x00") >= 0 {
			t.Fatalf("line breaks or NUL inside %q", s)
		}
		body := s
		if strings.HasPrefix(s, "@") {
			sp := strings.IndexByte(s, ' ')
			if sp+1 > MaxClientTagsLen {
				t.Fatalf("tags of %d bytes", sp+1)
			}
			if !utf8.ValidString(s[:sp]) {
				t.Fatalf("tags not UTF-8: %q", s[:sp])
			}
			body = s[sp+1:]
		}
		if len(body) > MaxLineLen {
			t.Fatalf("line of %d bytes", len(body))
		}
		// The server must see exactly what was sent: same command, same
		// parameters, same tag.
		back, err := irc.ParseMessage(s)
		if err != nil {
			t.Fatalf("parse %q: %v", s, err)
		}
		if back.Command != strings.ToUpper(cmd) || len(back.Params) != 2 || back.Params[0] != p0 || back.Params[1] != p1 {
			t.Fatalf("%q parsed as %s %q", s, back.Command, back.Params)
		}
		if tagKey != "" && back.Tags[tagKey] != tagVal {
			t.Fatalf("tag %q: got %q, want %q", tagKey, back.Tags[tagKey], tagVal)
		}
	})
}

// ParseLine reads whatever a server sends without a panic, and reads
// every line the library can as the library does.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{"@a ", "@ ", "@a \r\n", "@a=b :nick!u@h PRIVMSG #c :hi", ":p ", "PING x", "@a  PING", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		got, err := ParseLine(line)
		want, wantErr, panicked := parseOrPanic(line)
		switch {
		case panicked:
			if !errors.Is(err, ErrNothingAfterTags) {
				t.Fatalf("the library panics on %q; ParseLine returned %v, %v", line, got, err)
			}
		case (err == nil) != (wantErr == nil):
			t.Fatalf("%q: ParseLine's error %v, the library's %v", line, err, wantErr)
		case err == nil && !reflect.DeepEqual(got, want):
			t.Fatalf("%q: ParseLine read %q, the library %q", line, got, want)
		}
	})
}

func parseOrPanic(line string) (m *irc.Message, err error, panicked bool) {
	defer func() {
		if recover() != nil {
			panicked = true
		}
	}()
	m, err = irc.ParseMessage(line)
	return m, err, false
}

func TestParseLineRefusesTagsAlone(t *testing.T) {
	for _, line := range []string{"@a ", "@ ", "@a=b;c \r\n"} {
		if m, err := ParseLine(line); !errors.Is(err, ErrNothingAfterTags) {
			t.Errorf("%q: got %v, %v; want ErrNothingAfterTags", line, m, err)
		}
	}
}
