package ircfmt

import (
	"math/rand"
	"strings"
	"testing"
	"unicode/utf8"
)

// styledRune is one visible character with the formatting it is shown in.
type styledRune struct {
	r  rune
	st ircState
}

// visibleStyles renders IRC lines into styled characters, normalised:
// reverse resolved into colours, colours compared by RGB (so 52 equals 4 and
// 99 equals "none"), trailing whitespace dropped, empty lines dropped.
func visibleStyles(lines []string) [][]styledRune {
	var out [][]styledRune
	for _, line := range lines {
		var rs []styledRune
		st := plainState
		for i := 0; i < len(line); {
			if isCode(line[i]) {
				i = st.apply(line, i)
				continue
			}
			r, n := utf8.DecodeRuneInString(line[i:])
			if r == '\u00a0' {
				r = ' '
			}
			rs = append(rs, styledRune{r, st.effective()})
			i += n
		}
		for len(rs) > 0 && rs[len(rs)-1].r == ' ' {
			rs = rs[:len(rs)-1]
		}
		if len(rs) > 0 {
			out = append(out, rs)
		}
	}
	return out
}

func roundTrip(in string) (lines []string, body, html string) {
	body, html = IRCToMatrix(in)
	if html == "" {
		return MatrixToIRC(body, "", "", Options{}), body, html
	}
	return MatrixToIRC(body, FormatHTML, html, Options{}), body, html
}

func sameStyles(a, b [][]styledRune) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				return false
			}
		}
	}
	return true
}

func TestRoundTrip(t *testing.T) {
	tests := []string{
		"plain text",
		"\x02bold\x02 normal \x1ditalic\x1d \x1funder\x1f \x1estrike\x1e \x11mono\x11",
		"\x02\x1d\x1f\x1e\x11all at once\x0f then none",
		"\x02a\x1db\x02c\x1dd",
		"\x0304red\x03 \x0312,01blue on black\x03 \x0399,08default on yellow",
		"\x0352dup red\x03 \x0398white",
		"\x0304,02x\x0308y\x03z",
		"\x02\x034bold red\x02 red\x03 plain",
		"\x0312345 digits after colour",
		"\x034,x comma after colour \x034,",
		"\x04ff0000hex red\x04 plain",
		"a  b   c    d",
		"   leading spaces \x02 bold space\x02 ",
		"\x1funderlined words \x1fx",
		"<html> & \"quotes\" 'apos' \x02<b>\x02",
		"\x02日本語\x02 テキスト 😀 \x1d👍🏽\x1d",
		"\x02line one\nline two\x02 more",
		"trailing bold \x02\x02",
		"\x11code with  two spaces\x11",
	}
	rng := rand.New(rand.NewSource(1))
	pieces := []string{"\x02", "\x1d", "\x1f", "\x1e", "\x11", "\x0f", "\x03", "\x034", "\x0304,12", "\x0399,3", "\x0388", "\x04ffff00",
		"a", "bc", " ", "  ", "1", ",", "<&>", "é", "語", "😀", "\n"}
	for i := 0; i < 3000; i++ {
		var sb strings.Builder
		for n := rng.Intn(12); n >= 0; n-- {
			sb.WriteString(pieces[rng.Intn(len(pieces))])
		}
		tests = append(tests, sb.String())
	}
	for _, in := range tests {
		lines, body, html := roundTrip(in)
		want := visibleStyles(strings.Split(in, "\n"))
		if got := visibleStyles(lines); !sameStyles(got, want) {
			t.Errorf("round trip of %q\nvia %q, %q\n got %q\nwant same styles as input", in, body, html, lines)
		}
	}
}
