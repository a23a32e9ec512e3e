package network

import "testing"

func TestLiteral(t *testing.T) {
	for in, want := range map[string]string{
		"plain words":   "plain words",
		"a`b c`d":       "a\\`b c\\`d",
		`\o/ and \*x\*`: `\\o/ and \\*x\\*`,
		"":              "",
	} {
		if got := Literal(in); got != want {
			t.Errorf("Literal(%q) = %q, want %q", in, got, want)
		}
	}
}
