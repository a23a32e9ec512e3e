package ircconn

import "testing"

// TestCasefoldPRECIS: servers that fold nicks by PRECIS (RFC 8265, or
// RFC 7613 before it: Ergo, once Oragono) treat "Éric" and "éric" as one
// nick; so must Ferry, or their lines would be two people, two DM rooms.
// ASCII folds as under ascii ([ and { stay apart); names that are not
// UTF-8 fold only their ASCII letters, never merged by a lossy decoding.
func TestCasefoldPRECIS(t *testing.T) {
	for _, m := range []CaseMapping{CaseMappingPRECIS} {
		for _, c := range []struct{ in, want string }{
			{"Nick[A]\\~", "nick[a]\\~"},
			{"Éric", "éric"},
			{"ÉRIC", "éric"},
			{"#Café", "#café"},
			{"ΣΩΚΡΑΤΗΣ", "σωκρατησ"},
			{"Иван", "иван"},
			{"Ｎｉｃｋ", "nick"},          // fullwidth forms are their ASCII letters
			{"\u212Aelvin", "kelvin"}, // KELVIN SIGN
			{"b\xffD", "b\xffd"},
			{"éric", "éric"},
		} {
			if got := Casefold(m, c.in); got != c.want {
				t.Errorf("Casefold(%s, %q) = %q, want %q", m, c.in, got, c.want)
			}
		}
	}
	is := parse005(t, ":srv 005 me CASEMAPPING=rfc8265 :are supported by this server")
	if !is.Equal("Éric", "éric") || !is.Equal("\u212Aelvin", "kelvin") || is.Equal("Éric", "Erik") {
		t.Errorf("Equal under %s folds wrongly", is.CaseMapping)
	}
}

// TestISupportPRECISTokens: the CASEMAPPING tokens of PRECIS servers
// are their own mapping, and so is today's Ergo, which announces
// CASEMAPPING=ascii for its clients that know no better and says that
// it folds by PRECIS in UTF8MAPPING=rfc8265. UTF8MAPPING says nothing
// beside another CASEMAPPING, and an unknown one still folds as ascii.
func TestISupportPRECISTokens(t *testing.T) {
	for _, c := range []struct {
		line string
		want CaseMapping
	}{
		{":srv 005 me CASEMAPPING=rfc8265 :are supported by this server", CaseMappingPRECIS},
		{":srv 005 me CASEMAPPING=RFC7613 :are supported by this server", CaseMappingPRECIS},
		{":srv 005 me CASEMAPPING=ascii UTF8MAPPING=rfc8265 :are supported by this server", CaseMappingPRECIS},
		{":srv 005 me UTF8MAPPING=rfc8265 CASEMAPPING=ascii :are supported by this server", CaseMappingPRECIS},
		{":srv 005 me CASEMAPPING=rfc1459 UTF8MAPPING=rfc8265 :are supported by this server", CaseMappingRFC1459},
		{":srv 005 me CASEMAPPING=ascii UTF8MAPPING=unknown :are supported by this server", CaseMappingASCII},
		{":srv 005 me CASEMAPPING=ascii :are supported by this server", CaseMappingASCII},
		{":srv 005 me CASEMAPPING=strict-rfc1459 :are supported by this server", CaseMappingRFC1459Strict},
	} {
		if got := parse005(t, c.line).CaseMapping; got != c.want {
			t.Errorf("%s: CaseMapping %q, want %q", c.line, got, c.want)
		}
	}
	is := parse005(t, ":srv 005 me CASEMAPPING=ascii UTF8MAPPING=rfc8265 :are supported by this server",
		":srv 005 me -UTF8MAPPING :are supported by this server")
	if is.CaseMapping != CaseMappingASCII {
		t.Errorf("after -UTF8MAPPING: CaseMapping %q, want ascii", is.CaseMapping)
	}
	if got := Casefold("unknown-mapping", "Éric"); got != "Éric" {
		t.Errorf("an unknown mapping folded a non-ASCII letter: %q", got)
	}
}
