package irc

import (
	"reflect"
	"testing"

	"github.com/ferrybridge/ferry/irc/ircconn"
)

func testISupport() *ircconn.ISupport {
	is := ircconn.DefaultISupport().Clone()
	is.Parse([]string{"PREFIX=(qaohv)~&@%+", "CHANMODES=beI,k,l,imnpst", "CHANTYPES=#"})
	return is
}

func TestNamesEntry(t *testing.T) {
	is := testISupport()
	for _, tc := range []struct{ entry, modes, nick string }{
		{"bob", "", "bob"},
		{"@bob", "o", "bob"},
		{"+@bob", "ov", "bob"},
		{"~%carol!c@host", "qh", "carol"},
		{"@+dave!d@h", "ov", "dave"},
	} {
		modes, nick := parseNamesEntry(is, tc.entry)
		if modes != tc.modes || nick != tc.nick {
			t.Errorf("%q: %q %q, want %q %q", tc.entry, modes, nick, tc.modes, tc.nick)
		}
	}
	for modes, want := range map[string]int{"": 0, "v": 10, "h": 25, "ov": 50, "q": 75, "a": 75} {
		if got := powerFor(modes); got != want {
			t.Errorf("powerFor(%q) = %d, want %d", modes, got, want)
		}
	}
}

func TestModeParsing(t *testing.T) {
	is := testISupport()
	// Each argument belongs to the mode that takes it: +l takes "10",
	// +b takes a mask, -l takes none, so the op goes to alice and the
	// voice is removed from bob.
	changes, invite, keyed, key := parseModeChanges(is, []string{"+lbo-lv+ik", "10", "*!*@bad", "alice", "bob", "secret"})
	want := []modeChange{{add: true, mode: 'o', nick: "alice"}, {add: false, mode: 'v', nick: "bob"}}
	if !reflect.DeepEqual(changes, want) {
		t.Errorf("changes %+v, want %+v", changes, want)
	}
	if invite == nil || !*invite || keyed == nil || !*keyed || key != "secret" {
		t.Errorf("invite %v keyed %v key %q", invite, keyed, key)
	}
	changes, invite, _, _ = parseModeChanges(is, []string{"-i+e-k+h", "*!*@ok", "*", "carol"})
	if !reflect.DeepEqual(changes, []modeChange{{add: true, mode: 'h', nick: "carol"}}) || invite == nil || *invite {
		t.Errorf("second line: %+v %v", changes, invite)
	}
	if changes, _, _, _ := parseModeChanges(is, []string{"+oo", "x"}); len(changes) != 1 {
		t.Errorf("missing argument: %+v", changes)
	}
}

func TestValidation(t *testing.T) {
	is := testISupport()
	is.Parse([]string{"CHANNELLEN=10"})
	for _, bad := range []string{"", "ferry", "#a b", "#a,0", "#a\r\nQUIT", "#a\x07", "#abcdefghijk", "&x"} {
		if validateChannel(is, bad) == nil {
			t.Errorf("channel %q accepted", bad)
		}
	}
	if err := validateChannel(is, "#ferry"); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"", "a b", ":x", "a,b", "a\nb", "a\x00", "1abc", "-x", "a\x01"} {
		if validateNick(bad, 0) == nil {
			t.Errorf("nick %q accepted", bad)
		}
	}
	if validateNick("toolongnick", 5) == nil {
		t.Errorf("NICKLEN ignored")
	}
	if err := validateNick("Bob[m]", 0); err != nil {
		t.Error(err)
	}
	if got := stripControl("a\x02b\x01c\r\nd\x0304e"); got != "abcde" {
		t.Errorf("stripControl = %q", got)
	}
}

// TestChannelKeyChangeIsSaved: MODE +k and -k on a channel we are in,
// and a 324 that shows the key, change the saved channel's key, which the
// automatic rejoin uses; a hidden key changes nothing.
func TestChannelKeyChangeIsSaved(t *testing.T) {
	addr := scriptedServer(t, "", func(string, *scriptedPeer) {})
	cl, _, _ := clientOn(t, addr)
	cl.meta.Channels = map[string]savedChannel{"#c": {Name: "#c", Key: "old"}}
	for _, step := range []struct{ line, want string }{
		{":op!o@h MODE #c +k newkey", "newkey"},
		{":op!o@h MODE #c -k *", ""},
		{":srv 324 alice #c +nk shown", "shown"},
		{":srv 324 alice #c +k <key>", "shown"},
		{":op!o@h MODE #c +k *", "shown"},
	} {
		cl.handle(line(t, step.line))
		if got := cl.meta.Channels["#c"].Key; got != step.want {
			t.Errorf("saved key after %q: %q, want %q", step.line, got, step.want)
		}
	}
}
