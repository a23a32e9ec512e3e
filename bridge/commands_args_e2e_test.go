package bridge_test

import (
	"testing"
)

// TestWrongArgumentsSayWhatIsWrong: a command given too few, too many or
// wrong words was answered with its usage line alone (`login`, `logout`,
// `relay`), or not even that: the answer now says what was wrong, and
// what to type.
func TestWrongArgumentsSayWhatIsWrong(t *testing.T) {
	s := newScene(t, false)
	h, alice, mgmt := s.h, s.alice, s.mgmt

	h.Command(alice, mgmt, "login", "Name the network to log in to (`test`). Usage: `login test <name>`")
	h.Command(alice, mgmt, "login nowhere", "unknown network `nowhere`; this Ferry bridges `test`. Usage: `login test <name>`")
	h.Command(alice, mgmt, "logout", "name the login to log out of: `logout test alice`")
	h.Command(alice, mgmt, "logout nowhere", "unknown network `nowhere`; this Ferry bridges `test`; your logins: `logout test alice`")
	h.Command(alice, mgmt, "reconnect nowhere", "your logins: `reconnect test alice`")

	h.Command(alice, mgmt, "relay", "say whether to relay, `on` or `off`; usage: `!ferry relay on`")
	h.Command(alice, mgmt, "relay maybe", "`maybe` is neither `on` nor `off`; usage: `!ferry relay on`")
	h.Command(alice, mgmt, "relay on now", "`relay` takes one word, `on` or `off`, and `now` is more")
	// The word's case was not what was wrong.
	h.Command(alice, mgmt, "relay OFF", "this room is not bridged, and relaying is set per bridged room: send `!ferry relay off`")
}
