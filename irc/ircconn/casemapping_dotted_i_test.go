package ircconn

import "testing"

// TestCasefoldPRECISDottedCapitalI: PRECIS lowercases by Unicode's full
// mapping, under which U+0130 (İ, LATIN CAPITAL LETTER I WITH DOT ABOVE)
// is "i" followed by U+0307 COMBINING DOT ABOVE, not a bare "i" (Go's
// unicode.ToLower, the simple mapping). Folded to "i", "İrc" would be the
// same person as "irc" and "#İstanbul" the same room as "#istanbul",
// where the server keeps them apart.
func TestCasefoldPRECISDottedCapitalI(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"İrc", "i\u0307rc"},
		{"#İSTANBUL", "#i\u0307stanbul"},
		{"i\u0307rc", "i\u0307rc"},
	} {
		got := Casefold(CaseMappingPRECIS, c.in)
		if got != c.want {
			t.Errorf("Casefold(rfc8265, %q) = %q, want %q", c.in, got, c.want)
		}
		if again := Casefold(CaseMappingPRECIS, got); again != got {
			t.Errorf("folding %q again gives %q", got, again)
		}
	}
	is := parse005(t, ":srv 005 me CASEMAPPING=ascii UTF8MAPPING=rfc8265 :are supported by this server")
	if is.Equal("İrc", "irc") || is.Equal("#İstanbul", "#istanbul") {
		t.Error("a name with İ is taken for the same name with a plain i")
	}
	if !is.Equal("İrc", "i\u0307RC") {
		t.Error("İrc and its lowercase spelling are not one nick")
	}
}
