package ircconn

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Servers that fold names by PRECIS (RFC 8265's UsernameCaseMapped, or
// RFC 7613's before it) announce CASEMAPPING=rfc8265 or rfc7613 (Oragono
// did), or, as Ergo does today, CASEMAPPING=ascii for clients that know
// no better together with UTF8MAPPING=rfc8265. Either way "Éric" and
// "éric" are one nick there, and folded as ascii they would be two
// people to Ferry: two ghosts, two DM rooms, mentions missed.
//
// The profile maps fullwidth forms to their narrow ones, lowercases
// (Unicode's toLowerCase, no final-sigma rule), and normalizes to NFC.
// foldPRECIS does the first two with the standard library; it leaves out
// NFC, and so a name sent decomposed (e + U+0301) stays apart from the
// same name precomposed. Clients send the precomposed form in practice,
// and folding a little too little keeps two rooms apart rather than
// merging two people's (what folding too much risks). PRECIS's own
// validation is the server's business: it refuses names it cannot fold.

// The tokens that announce PRECIS. They are not the name of the mapping
// they announce (CaseMappingPRECIS): until Ferry knew them, a login saved
// the token a server announced as its casemapping and folded by it as by
// an unknown one, that is as ascii, minting its chat and user IDs so. A
// saved "rfc8265" must go on meaning that folding, so that the network's
// next 005 shows a change of casemapping and the saved channels, PM
// peers and portals move to the new folding (irc/casemapping.go) instead
// of being looked up under it and missed.
const (
	tokenRFC8265 = "rfc8265"
	tokenRFC7613 = "rfc7613"
)

// isPRECIS says m is the PRECIS casemapping.
func isPRECIS(m CaseMapping) bool { return m == CaseMappingPRECIS }

// foldPRECIS folds s as a PRECIS server does (see above). An ASCII name
// folds as under ascii; one that is not UTF-8 (which such servers refuse)
// folds only its ASCII letters, rather than have a lossy decoding merge
// two different byte strings. Returns s itself when nothing changes.
func foldPRECIS(s string) string {
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf {
		i++
	}
	if i == len(s) || !utf8.ValidString(s) {
		return Casefold(CaseMappingASCII, s)
	}
	// The one letter whose full lowercase (PRECIS's) is two code points
	// and not the simple mapping unicode.ToLower has: İ is "i" and a
	// combining dot above. Lowered to a bare "i", "İrc" would be
	// "irc", someone else on the server.
	s = strings.ReplaceAll(s, "\u0130", "i\u0307")
	return strings.Map(foldPRECISRune, s)
}

func foldPRECISRune(r rune) rune {
	if r >= 0xFF01 && r <= 0xFF5E { // FULLWIDTH EXCLAMATION MARK .. FULLWIDTH TILDE
		r -= 0xFF01 - 0x21
	}
	return unicode.ToLower(r)
}

// caseMappingOf is the casemapping a server's CASEMAPPING and UTF8MAPPING
// tokens announce (rfc1459 without the first). UTF8MAPPING says how a
// server folds beyond ASCII, so it counts beside CASEMAPPING=ascii only.
func caseMappingOf(casemapping, utf8mapping string) CaseMapping {
	if casemapping == "" {
		return CaseMappingRFC1459
	}
	cm := CaseMapping(strings.ToLower(casemapping))
	switch {
	case cm == "strict-rfc1459":
		// The older spelling of the same mapping, still sent by some
		// servers and known to client libraries under this name.
		return CaseMappingRFC1459Strict
	case cm == tokenRFC8265, cm == tokenRFC7613:
		return CaseMappingPRECIS
	case cm == CaseMappingASCII && strings.EqualFold(utf8mapping, tokenRFC8265):
		return CaseMappingPRECIS
	}
	return cm
}
