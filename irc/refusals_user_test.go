package irc

import "testing"

// TestPMRefusedByTheUsersMode: InspIRCd refuses a PM to a user whose
// mode forbids it (+c common channels, +R registered only) with 531
// ERR_CANTSENDTOUSER. Without labeled-response that refusal is all the
// user can hear: the PM room is told, and the refused line is answered,
// so that the same words sent again once carol allows it take their own
// echo's msgid, not the refused line (lineRefusedBy).
func TestPMRefusedByTheUsersMode(t *testing.T) {
	lineRefusedBy(t, "carol", []string{
		":srv 531 alice carol :You cannot send messages to this user whilst they have the +c (deaf_commonchan) mode set.",
	}, "+c (deaf_commonchan)")
}
