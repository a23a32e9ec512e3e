package whatsapp

import (
	"context"
	"strings"
	"testing"

	"go.mau.fi/whatsmeow"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/dbtest"
	"github.com/ferrybridge/ferry/internal/pgtest"
)

// TestLoginByNumberSaysAnEarlierLinkIsReplaced: `login whatsapp +<number>`
// for an account the user has linked already answers first with the code
// and that the new link replaces the earlier one; for a number not
// linked, or linked by another Matrix user (which only the phone's link
// reveals), it says nothing of the kind.
func TestLoginByNumberSaysAnEarlierLinkIsReplaced(t *testing.T) {
	cases := []struct {
		name  string
		owner id.UserID // "": the number is not linked
		want  bool
	}{
		{"linked by the user", alice, true},
		{"not linked", "", false},
		{"linked by another user", "@mallory:example.org", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newLoginEnv(t, "")
			if tc.owner != "" {
				login := testLogin(storeDevice(t, env.conn, oldDev, ownLID))
				login.User = tc.owner
				env.conn.newClient(login, nil, nil)
			}
			said := firstAnswerByNumber(t, env)
			if told := strings.Contains(said, "+"+ownPN.User+" is linked to Ferry already: this link replaces the earlier one"); told != tc.want {
				t.Errorf("the first answer says %q; want the relink told: %v", said, tc.want)
			}
		})
	}
}

// firstAnswerByNumber is the instructions of the first answer to `login
// whatsapp +<own number>`, which gives the code.
func firstAnswerByNumber(t *testing.T, env *loginEnv) string {
	t.Helper()
	p := env.start(t, "+"+ownPN.User)
	qr := make(chan whatsmeow.QRChannelItem, 1)
	qr <- whatsmeow.QRChannelItem{Event: whatsmeow.QRChannelEventCode, Code: "2@one"}
	p.qr = qr
	step, err := p.Start(context.Background())
	if err != nil || step.Type != network.StepDisplayCode {
		t.Fatalf("Start = %+v, %v", step, err)
	}
	if !strings.Contains(step.Instructions, "Link with phone number") {
		t.Errorf("the first answer says %q; want how to link with the code", step.Instructions)
	}
	return step.Instructions
}

// TestLoginByNumberSaysAnUnloadedLinkIsReplaced: a login whose stored
// device could not be read at start stays stored without a client. Its
// user's `login whatsapp +<number>` says the new link replaces it, and
// that the earlier one is for them to remove from the phone; another
// user's says nothing of it.
func TestLoginByNumberSaysAnUnloadedLinkIsReplaced(t *testing.T) {
	env, login := unloadedLoginEnv(t, "")
	said := firstAnswerByNumber(t, env)
	if !strings.Contains(said, "+"+ownPN.User+" is linked to Ferry already, but that link could not be started: this link replaces it") ||
		!strings.Contains(said, "remove it there") {
		t.Errorf("the first answer says %q; want the unloaded link said to be replaced", said)
	}
	env.conn.noteUnloaded(&network.Login{ID: login.ID, User: "@mallory:example.org"}, true)
	if said = firstAnswerByNumber(t, env); strings.Contains(said, "linked to Ferry already") {
		t.Errorf("the first answer to Alice says %q of Mallory's link", said)
	}
}

// unloadedLoginEnv is a login scene whose login, returned, the core could
// not load at start: its stored device could not be read. owner, if not
// "", is its user instead of Alice.
func unloadedLoginEnv(t *testing.T, owner id.UserID) (*loginEnv, *network.Login) {
	t.Helper()
	db := dbtest.Open(t, "postgres", pgtest.URI(t))
	env := newLoginEnvOn(t, db.Database, "")
	login := testLogin(storeDevice(t, env.conn, oldDev, ownLID))
	if owner != "" {
		login.User = owner
	}
	// PostgreSQL's driver heeds an ended context: the device cannot be
	// read, as with the database failing at start.
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	if cl, err := env.conn.LoadLogin(ended, login); err == nil {
		t.Fatalf("premise: LoadLogin with an ended context on PostgreSQL made a client (%T)", cl)
	}
	return env, login
}

// TestLoginByNumberForgetsAnUnloadedLinkReplaced: once a new link of the
// account runs in place of the login that could not be loaded, and is
// logged out, nothing of Ferry's is linked to it: the next `login
// whatsapp +<number>` does not say an earlier link is replaced.
func TestLoginByNumberForgetsAnUnloadedLinkReplaced(t *testing.T) {
	env, login := unloadedLoginEnv(t, "")
	relinked := env.conn.newClient(login, nil, nil)
	env.conn.forget(relinked) // its logout
	if said := firstAnswerByNumber(t, env); strings.Contains(said, "linked to Ferry already") {
		t.Errorf("the first answer after the replacing link's logout says %q", said)
	}
}

// TestLoginRefusesAnotherUsersUnloadedAccount: Mallory's login could not
// be loaded at start; the core keeps it stored under the account's ID.
// Alice linking the same account is refused, as when Mallory's login
// runs: the core would store her login over Mallory's.
func TestLoginRefusesAnotherUsersUnloadedAccount(t *testing.T) {
	env, _ := unloadedLoginEnv(t, "@mallory:example.org")
	p := linkByQR(t, env, 0)
	if _, err := p.Wait(context.Background()); !strings.Contains(network.UserMessage(err, ""), "already linked to another Matrix user") {
		t.Errorf("Alice's link of Mallory's unloaded account: Wait = %v; want it refused", err)
	}
}
