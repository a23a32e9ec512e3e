package irc

import (
	"slices"
	"testing"

	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/irc/ircconn"
)

func TestLinkMentions(t *testing.T) {
	users := map[string]id.UserID{
		"alice": "@alice:ex.org", "bob[m]": "@irc_t_bob=5bm=5d:ex.org", "x^y": "@irc_t_x=5ey:ex.org",
		"a": "@irc_t_a:ex.org", "a_b-c": "@irc_t_a=5fb-c:ex.org", "d\\e": "@irc_t_d=5ce:ex.org",
		"amp": "@irc_t_amp:ex.org", "carol": "@irc_t_carol:ex.org", "{z}": "@irc_t_=7bz=7d:ex.org",
	}
	folded := map[string]id.UserID{}
	for nick, u := range users {
		folded[ircconn.Casefold(ircconn.CaseMappingRFC1459, nick)] = u
	}
	lookup := func(nick string) (id.UserID, bool) {
		u, ok := folded[ircconn.Casefold(ircconn.CaseMappingRFC1459, nick)]
		return u, ok
	}
	pill := func(u, text string) string { return `<a href="https://matrix.to/#/` + u + `">` + text + `</a>` }
	for _, tc := range []struct {
		in, want  string
		mentioned []id.UserID
	}{
		{"alice: hi", pill("@alice:ex.org", "alice") + ": hi", []id.UserID{"@alice:ex.org"}},
		{"thanks, ALICE!", "thanks, " + pill("@alice:ex.org", "ALICE") + "!", []id.UserID{"@alice:ex.org"}},
		{"alice_ and xalice and alice|away", "alice_ and xalice and alice|away", nil},
		{"alice-: no", "alice-: no", nil},
		{"[alice] said", "[" + pill("@alice:ex.org", "alice") + "] said", []id.UserID{"@alice:ex.org"}},
		{"`alice`", "`" + pill("@alice:ex.org", "alice") + "`", []id.UserID{"@alice:ex.org"}},
		{"bob[m]: yo", pill("@irc_t_bob=5bm=5d:ex.org", "bob[m]") + ": yo", []id.UserID{"@irc_t_bob=5bm=5d:ex.org"}},
		{"BOB{M}: casefolded", pill("@irc_t_bob=5bm=5d:ex.org", "BOB{M}") + ": casefolded", []id.UserID{"@irc_t_bob=5bm=5d:ex.org"}},
		{"{z} and x^y", pill("@irc_t_=7bz=7d:ex.org", "{z}") + " and " + pill("@irc_t_x=5ey:ex.org", "x^y"), []id.UserID{"@irc_t_=7bz=7d:ex.org", "@irc_t_x=5ey:ex.org"}},
		{"a b c", "a b c", nil}, // too short to be more than a word
		{"D|E is d\\e", pill("@irc_t_d=5ce:ex.org", "D|E") + " is " + pill("@irc_t_d=5ce:ex.org", "d\\e"), []id.UserID{"@irc_t_d=5ce:ex.org"}},
		{"a_b-c, d\\e", pill("@irc_t_a=5fb-c:ex.org", "a_b-c") + ", " + pill("@irc_t_d=5ce:ex.org", "d\\e"), []id.UserID{"@irc_t_a=5fb-c:ex.org", "@irc_t_d=5ce:ex.org"}},
		{"alice alice", pill("@alice:ex.org", "alice") + " " + pill("@alice:ex.org", "alice"), []id.UserID{"@alice:ex.org"}},
		// Entities, tags, links and URLs are left alone.
		{"tom &amp; jerry &lt;carol&gt;", "tom &amp; jerry &lt;" + pill("@irc_t_carol:ex.org", "carol") + "&gt;", []id.UserID{"@irc_t_carol:ex.org"}},
		{"<b>alice</b>", "<b>" + pill("@alice:ex.org", "alice") + "</b>", []id.UserID{"@alice:ex.org"}},
		{`<font color="#alice">x</font>`, `<font color="#alice">x</font>`, nil},
		{`<a href="https://x/">alice</a>`, `<a href="https://x/">alice</a>`, nil},
		{"see https://example.org/alice?carol=1 now", "see https://example.org/alice?carol=1 now", nil},
		{"www.alice.org", "www.alice.org", nil},
		{"alicé", "alicé", nil},
		{"", "", nil},
	} {
		got, mentioned := linkMentions(tc.in, lookup)
		if got != tc.want || !slices.Equal(mentioned, tc.mentioned) {
			t.Errorf("linkMentions(%q)\n got %q %v\nwant %q %v", tc.in, got, mentioned, tc.want, tc.mentioned)
		}
	}
}
