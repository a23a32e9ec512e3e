package network

import "testing"

func TestLiteral(t *testing.T) {
	for in, want := range map[string]string{
		"plain words, as written.": "plain words, as written.",
		"a`b c`d":                  "a\\`b c\\`d",
		`\o/ and \*x\*`:            `\\o/ and \\\*x\\\*`,
		"~~x~~ ||y|| &lt;":         `\~\~x\~\~ \|\|y\|\| \&lt;`,
		"# not a heading":          `\# not a heading`,
		"- not - a list":           `\- not - a list`,
		"12. not a list":           `12\. not a list`,
		"one\r\ntwo\nthree":        "one two three",
		"":                         "",
	} {
		if got := Literal(in); got != want {
			t.Errorf("Literal(%q) = %q, want %q", in, got, want)
		}
	}
}
