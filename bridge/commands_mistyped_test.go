package bridge

import (
	"strings"
	"testing"
)

// TestMistypedSecretIsNotEveryShortWord: the words of IRC's two commands
// with a secret, mistyped, are taken for them, and ordinary words near a
// short one ("say" for "sasl") are not: `!ferry irc say hello` in a
// portal was deleted as a password and answered as a mistyped
// `irc sasl`.
func TestMistypedSecretIsNotEveryShortWord(t *testing.T) {
	b := &Bridge{commands: []*command{
		{words: []string{"irc", "join"}},
		{words: []string{"irc", "sasl"}, sensitive: true},
		{words: []string{"irc", "password"}, sensitive: true},
	}}
	for typed, want := range map[string]string{
		"irc passwrd libera pw": "irc password",
		"irc pasword libera pw": "irc password",
		"irc pssword libera pw": "irc password",
		"irc pass libera pw":    "irc password", // begun: IRC's own word for it
		"irc passw libera pw":   "irc password",
		"irc sals libera a pw":  "irc sasl", // two letters swapped
		"irc sasll libera a pw": "irc sasl",
		"irc sal libera a pw":   "irc sasl",
		"IRC SASI libera a pw":  "irc sasl",
		"irc say hello":         "",
		"irc all x":             "",
		"irc as x":              "",
		"irc ssh x":             "",
		"irc pa libera pw":      "",
		"irc pasta libera pw":   "",
		"irc passwrd":           "", // nothing after it to be a secret
		"irc jion #c":           "", // a typo, but of a command without one
	} {
		got := ""
		if cmd := b.mistypedSecret(strings.Fields(typed)); cmd != nil {
			got = strings.Join(cmd.words, " ")
		}
		if got != want {
			t.Errorf("%q taken for %q, want %q", typed, got, want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"sasl", "sasl", 0},
		{"sasl", "sals", 1},
		{"sasl", "say", 2},
		{"password", "passwrd", 1},
		{"password", "psasword", 1},
		{"", "abc", 3},
		{"ça", "ca", 1},
	} {
		if got := editDistance(c.a, c.b); got != c.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := editDistance(c.b, c.a); got != c.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.b, c.a, got, c.want)
		}
	}
}
