package ircconn

import (
	"reflect"
	"testing"

	"gopkg.in/irc.v4"
)

// parse005 feeds real 005 lines to a fresh ISupport.
func parse005(t *testing.T, lines ...string) *ISupport {
	t.Helper()
	is := DefaultISupport()
	for _, l := range lines {
		m, err := irc.ParseMessage(l)
		if err != nil {
			t.Fatal(err)
		}
		is.Parse(m.Params[1 : len(m.Params)-1])
	}
	return is
}

func TestISupportInspIRCd(t *testing.T) {
	// As sent by InspIRCd 3.15 with the test bed's config.
	is := parse005(t,
		":irc.ferry.test 005 tester AWAYLEN=200 CASEMAPPING=rfc1459 CHANLIMIT=#:20 CHANMODES=b,k,Hl,MRimnprst CHANNELLEN=64 CHANTYPES=# ELIST=CMNTU EXTBAN=,RU HOSTLEN=64 KEYLEN=32 KICKLEN=255 LINELEN=512 :are supported by this server",
		":irc.ferry.test 005 tester MAXLIST=b:100 MAXTARGETS=20 MODES=20 MONITOR=30 NAMELEN=128 NAMESX NETWORK=FerryTest NICKLEN=30 PREFIX=(ov)@+ SAFELIST STATUSMSG=@+ TOPICLEN=307 UHNAMES :are supported by this server",
		":irc.ferry.test 005 tester USERLEN=10 USERMODES=,,s,Riorw WHOX :are supported by this server")
	want := ISupport{CaseMapping: CaseMappingRFC1459, PrefixModes: "ov", PrefixChars: "@+", ChanTypes: "#",
		StatusMsg: "@+", ChanModes: [4]string{"b", "k", "Hl", "MRimnprst"}, Network: "FerryTest",
		NickLen: 30, ChannelLen: 64, TopicLen: 307, UserLen: 10, HostLen: 64, Modes: 20, LineLen: 512}
	got := *is
	got.tokens = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if v, ok := is.Get("WHOX"); !ok || v != "" {
		t.Errorf("WHOX = %q, %v", v, ok)
	}
	if v, _ := is.Get("CHANLIMIT"); v != "#:20" {
		t.Errorf("CHANLIMIT = %q", v)
	}
	if _, ok := is.Get("NOPE"); ok {
		t.Error("unknown token found")
	}
}

func TestISupportVariants(t *testing.T) {
	// Solanum/Libera style, with five prefixes and a \x20 escape.
	is := parse005(t,
		":srv 005 me CHANTYPES=# EXCEPTS INVEX CHANMODES=eIbq,k,flj,CFLMPQRSTcgimnprstuz CHANLIMIT=#:250 PREFIX=(qaohv)~&@%+ MAXLIST=bqeI:100 MODES=4 NETWORK=Libera\\x20Chat STATUSMSG=@+ CALLERID=g CASEMAPPING=rfc1459-strict :are supported by this server")
	if is.PrefixModes != "qaohv" || is.PrefixChars != "~&@%+" {
		t.Errorf("PREFIX: %q %q", is.PrefixModes, is.PrefixChars)
	}
	for _, c := range []struct{ prefix, mode byte }{{'~', 'q'}, {'&', 'a'}, {'@', 'o'}, {'%', 'h'}, {'+', 'v'}} {
		if m := is.ModeForPrefix(c.prefix); m != c.mode {
			t.Errorf("ModeForPrefix(%c) = %c, want %c", c.prefix, m, c.mode)
		}
		if p := is.PrefixForMode(c.mode); p != c.prefix {
			t.Errorf("PrefixForMode(%c) = %c, want %c", c.mode, p, c.prefix)
		}
	}
	if is.Network != "Libera Chat" {
		t.Errorf("NETWORK = %q", is.Network)
	}
	if is.CaseMapping != CaseMappingRFC1459Strict {
		t.Errorf("CASEMAPPING = %q", is.CaseMapping)
	}

	// Negation restores defaults; a bad PREFIX keeps the default pairing.
	is.Parse([]string{"-PREFIX", "-CHANTYPES", "-NETWORK"})
	if is.PrefixModes != "ov" || is.PrefixChars != "@+" || is.ChanTypes != "#&" || is.Network != "" {
		t.Errorf("after negation: %+v", is)
	}
	if _, ok := is.Get("NETWORK"); ok {
		t.Error("negated token still there")
	}
	is.Parse([]string{"PREFIX=(ohv)@+"})
	if is.PrefixModes != "ov" {
		t.Errorf("mismatched PREFIX accepted: %q %q", is.PrefixModes, is.PrefixChars)
	}
	is.Parse([]string{"PREFIX="})
	if is.PrefixModes != "" || is.PrefixChars != "" || is.ModeForPrefix('@') != 0 {
		t.Errorf("empty PREFIX: %q %q", is.PrefixModes, is.PrefixChars)
	}
}

func TestISupportDefaults(t *testing.T) {
	is := DefaultISupport()
	if is.CaseMapping != CaseMappingRFC1459 {
		t.Errorf("default casemapping %q", is.CaseMapping)
	}
	for name, want := range map[string]bool{"#chan": true, "&local": true, "nick": false, "": false, "+modeless": false} {
		if is.IsChannel(name) != want {
			t.Errorf("IsChannel(%q) != %v", name, want)
		}
	}
	is = parse005(t, ":s 005 me CHANTYPES=#+ STATUSMSG=@% :x")
	if !is.IsChannel("+modeless") || is.IsChannel("&x") {
		t.Error("CHANTYPES=#+ not applied")
	}
	if p, ch := is.SplitStatusMsg("@%#chan"); p != "@%" || ch != "#chan" {
		t.Errorf("SplitStatusMsg = %q %q", p, ch)
	}
	if p, ch := is.SplitStatusMsg("@nick"); p != "" || ch != "@nick" {
		t.Errorf("SplitStatusMsg(@nick) = %q %q", p, ch)
	}
}

func TestCasefold(t *testing.T) {
	cases := []struct {
		in                      string
		ascii, rfc1459, rfcStri string
	}{
		{"Nick", "nick", "nick", "nick"},
		{"[]\\~", "[]\\~", "{}|^", "{}|~"},
		{"{}|^", "{}|^", "{}|^", "{}|^"},
		{"#Ferry[Test]", "#ferry[test]", "#ferry{test}", "#ferry{test}"},
		{"Ünïcode", "Ünïcode", "Ünïcode", "Ünïcode"}, // no server folds beyond ASCII here
		{"already", "already", "already", "already"},
		{"", "", "", ""},
	}
	for _, c := range cases {
		for _, m := range []struct {
			mapping CaseMapping
			want    string
		}{{CaseMappingASCII, c.ascii}, {CaseMappingRFC1459, c.rfc1459}, {CaseMappingRFC1459Strict, c.rfcStri}, {"unknown-mapping", c.ascii}} {
			if got := Casefold(m.mapping, c.in); got != m.want {
				t.Errorf("Casefold(%s, %q) = %q, want %q", m.mapping, c.in, got, m.want)
			}
		}
	}
	is := DefaultISupport()
	if !is.Equal("Ferry[a]", "ferry{A}") || is.Equal("a", "b") {
		t.Error("Equal under rfc1459")
	}
	if allocs := testing.AllocsPerRun(100, func() { Casefold(CaseMappingRFC1459, "already-folded") }); allocs != 0 {
		t.Errorf("Casefold of a folded string allocates %v times", allocs)
	}
}

func TestNickFallback(t *testing.T) {
	f := newNickFallback("ferry", 0)
	var got []string
	for i := 0; i < 4; i++ {
		got = append(got, f.inUse())
	}
	if want := []string{"ferry_", "ferry__", "ferry1", "ferry2"}; !equalStrings(got, want) {
		t.Errorf("fallbacks %q, want %q", got, want)
	}
	// Within NICKLEN: the base is cut, the suffix kept.
	f = newNickFallback("abcdefgh", 8)
	if n := f.inUse(); n != "abcdefg_" {
		t.Errorf("with NICKLEN 8: %q", n)
	}
	if n := f.inUse(); n != "abcdef__" {
		t.Errorf("with NICKLEN 8: %q", n)
	}
	// Erroneous: sanitize first, then the RFC length, then suffixes.
	f = newNickFallback("9bad nick!", 0)
	if f.current != "badnick" {
		t.Errorf("unsendable nick not sanitized first: %q", f.current)
	}
	f = newNickFallback("über.user", 0)
	if n := f.erroneous(); n != "beruser" {
		t.Errorf("erroneous -> %q", n)
	}
	f = newNickFallback("averyveryverylongnick", 0)
	if n := f.erroneous(); n != "averyvery" {
		t.Errorf("erroneous long nick -> %q", n)
	}
	if n := f.erroneous(); n != "averyver_" {
		t.Errorf("erroneous again -> %q", n)
	}
	f = newNickFallback("NickServ", 30)
	if n := f.erroneous(); n != "NickServ_" {
		t.Errorf("reserved nick -> %q", n)
	}
	for i := 0; i < maxNickAttempts; i++ {
		f.inUse()
	}
	if n := f.inUse(); n != "" {
		t.Errorf("no end to fallbacks: %q", n)
	}
	if SanitizeNick("!!!") != "ferry" || SanitizeNick("-9x[y]") != "x[y]" {
		t.Error("SanitizeNick")
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestInternISupport(t *testing.T) {
	parse := func(tokens ...string) *ISupport {
		is := DefaultISupport()
		is.Parse(tokens)
		return is
	}
	a := internISupport(parse("CASEMAPPING=ascii", "NETWORK=Test", "NICKLEN=30"))
	b := internISupport(parse("NICKLEN=30", "NETWORK=Test", "CASEMAPPING=ascii"))
	if a != b {
		t.Error("the same ISUPPORT was not shared")
	}
	if c := internISupport(parse("CASEMAPPING=ascii", "NETWORK=Other", "NICKLEN=30")); c == a {
		t.Error("different ISUPPORTs were shared")
	}
	if a.Network != "Test" || a.NickLen != 30 || a.CaseMapping != CaseMappingASCII {
		t.Errorf("shared copy lost fields: %+v", a)
	}
}

// TestISupportSameAs keeps sameAs in step with the struct: a field it
// does not compare would let two different ISUPPORTs be shared.
func TestISupportSameAs(t *testing.T) {
	typ := reflect.TypeOf(ISupport{})
	for i := range typ.NumField() {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		a, b := DefaultISupport(), DefaultISupport()
		v := reflect.ValueOf(b).Elem().Field(i)
		switch v.Kind() {
		case reflect.String:
			v.SetString(v.String() + "x")
		case reflect.Int:
			v.SetInt(v.Int() + 1)
		case reflect.Array:
			v.Index(0).SetString("x")
		default:
			t.Fatalf("field %s: kind %s not handled here", f.Name, v.Kind())
		}
		if a.sameAs(b) {
			t.Errorf("sameAs ignores field %s", f.Name)
		}
	}
}
