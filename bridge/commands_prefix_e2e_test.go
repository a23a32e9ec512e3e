package bridge_test

import (
	"testing"
)

// TestAnswersInAPortalSayThePrefix: in a portal, where commands need the
// prefix, the answers to an unknown command and to an empty one told
// alice to send `help`, which goes to the chat there; and `help` said to
// start commands with `!ferry` "in other rooms", read there as rooms
// other than this one. They speak of this room now; so do the logins
// `logout` and `reconnect` name to type (they were spelled for the
// management room), and `login` alone says where to log in before how.
func TestAnswersInAPortalSayThePrefix(t *testing.T) {
	s := newScene(t, false)
	room := s.openPortal(t, "hi")
	s.h.Command(s.alice, room, "!ferry verison", "Unknown command `verison`. Send `!ferry help` for the list of commands.")
	s.h.Command(s.alice, room, "!ferry", "Send `!ferry help` for the list of commands.")
	s.h.Command(s.alice, room, "!ferry help", "**Commands** (here, start them with `!ferry`")
	// The commands an answer gives to type, as typed here.
	s.h.Command(s.alice, room, "!ferry logout", "name the login to log out of: `!ferry logout test alice`")
	s.h.Command(s.alice, room, "!ferry reconnect nowhere", "your logins: `!ferry reconnect test alice`")
	// Not the usage for the management room, typed here as it reads.
	s.h.Command(s.alice, room, "!ferry login", "log in from your management room")
	// In the management room, as before.
	s.h.Command(s.alice, s.mgmt, "verison", "Unknown command `verison`. Send `help` for the list of commands.")
	s.h.Command(s.alice, s.mgmt, "help", "**Commands** (in other rooms, start them with `!ferry`)")
}

// TestPrefixInAnyCaseIsACommandInAPortal: in a portal, only "!ferry" in
// lower case and followed by a space made a command, while everywhere
// else the prefix is read in any case: "!Ferry version", as a phone's
// keyboard capitalises it, went to the chat. It is a command there too,
// as is the prefix followed by a no-break space.
func TestPrefixInAnyCaseIsACommandInAPortal(t *testing.T) {
	s := newScene(t, false)
	room := s.openPortal(t, "hi")
	s.h.Command(s.alice, room, "!Ferry version", "Ferry ")
	s.h.Command(s.alice, room, "!FERRY", "Send `!ferry help` for the list of commands.")
	// The no-break space some phone keyboards put after a word.
	s.h.Command(s.alice, room, "!ferry\u00a0version", "Ferry ")
	s.nothingSent(t)
}
