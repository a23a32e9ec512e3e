package irc

import "testing"

// TestPMRefusedForCallerID: Solanum and charybdis (and InspIRCd's
// callerid module) refuse a PM to a user in +g caller-id mode with 716
// ERR_TARGUMODEG, and may follow it with 717 RPL_TARGNOTIFY, which only
// says the user was told of the attempt. The PM did not arrive: the PM
// room is told, and the refusal answers the line.
func TestPMRefusedForCallerID(t *testing.T) {
	lineRefusedBy(t, "carol", []string{
		":srv 716 alice carol :is in +g mode (server-side ignore).",
		":srv 717 alice carol :has been informed that you messaged them.",
	}, "+g mode (server-side ignore)")
}

// TestPMRefusedForNotBeingLoggedIn: charybdis and Solanum refuse a PM to
// a user in +R mode, taking PMs from logged-in users only, with 486
// ERR_NONONREG.
func TestPMRefusedForNotBeingLoggedIn(t *testing.T) {
	lineRefusedBy(t, "carol", []string{
		":srv 486 alice carol :You must log in with services to message this user",
	}, "You must log in with services")
}
