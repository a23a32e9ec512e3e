package bridge

import (
	"context"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// A login step may ask for several fields, one after the other. When it
// ends unanswered, the late-answer mark (login_late.go) is for the field
// that was being asked, the first of those still to be answered: it named
// the first secret field among them instead, so that a late username was
// deleted as "your password", and the password typed after it, the mark
// used up, answered as an unknown command, shown back.
func TestLateAnswerMarkNamesTheFieldAsked(t *testing.T) {
	const alice, room = "@alice:example.org", "!room:example.org"
	username := network.LoginField{ID: "username", Name: "username"}
	password := network.LoginField{ID: "password", Name: "password", Secret: true}
	code := network.LoginField{ID: "code", Name: "one-time code", Secret: true}
	for _, tc := range []struct {
		name   string
		asking []network.LoginField
		want   string // the field the mark names; "" for no mark
	}{
		{"asking a username before a password", []network.LoginField{username, password}, ""},
		{"asking a password before a code", []network.LoginField{password, code}, "password"},
		{"asking a code after the password", []network.LoginField{code}, "one-time code"},
		{"all answered", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Its database stores the mark (login_late_stored.go).
			b := Bridge{ctx: context.Background(), DB: dbtest.Open(t, database.DefaultType, dbtest.SQLiteURI(t))}
			b.questionEnded(&loginFlow{user: alice, room: room, net: "test", asking: tc.asking})
			eq, late := b.takeEndedQuestion(alice, room)
			switch {
			case tc.want == "" && late:
				t.Errorf("the mark names %q; want none: no secret was being asked", eq.field)
			case tc.want != "" && !late:
				t.Errorf("no mark; want one naming %q", tc.want)
			case late && eq.field != tc.want:
				t.Errorf("the mark names %q; want %q", eq.field, tc.want)
			}
			if late && (eq.net != "test" || time.Since(eq.at) > time.Minute) {
				t.Errorf("mark %+v", eq)
			}
		})
	}
}
