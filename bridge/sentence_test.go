package bridge

import "testing"

func TestSentenceEndsOnce(t *testing.T) {
	for in, want := range map[string]string{
		"unreachable":                  "unreachable.",
		"the phone is off; try again.": "the phone is off; try again.",
		"really?":                      "really?",
		"wait…":                        "wait…",
		"`code` ":                      "`code`.",
		"":                             ".",
	} {
		if got := sentence(in); got != want {
			t.Errorf("sentence(%q) = %q, want %q", in, got, want)
		}
	}
}
