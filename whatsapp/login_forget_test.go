package whatsapp

import (
	"context"
	"strings"
	"testing"
)

// TestForgetLoginDropsAnUnloadedLink: the user logs out of a login whose
// stored device could not be read at start. Its device's keys go from
// whatsmeow's store, the answer says the device stays linked on the
// phone, and the next `login whatsapp +<number>` no longer says an
// earlier link is replaced.
func TestForgetLoginDropsAnUnloadedLink(t *testing.T) {
	env, login := unloadedLoginEnv(t, "")
	left, err := env.conn.ForgetLogin(context.Background(), login)
	if err != nil {
		t.Fatalf("ForgetLogin = %v", err)
	}
	if !strings.Contains(left, "Linked devices") {
		t.Errorf("ForgetLogin says %q; want the device on the phone named", left)
	}
	if d, err := env.conn.container.GetDevice(context.Background(), oldDev); err != nil || d != nil {
		t.Errorf("the forgotten login's device is still stored (%v, %v)", d, err)
	}
	if said := firstAnswerByNumber(t, env); strings.Contains(said, "linked to Ferry already") {
		t.Errorf("the first answer after the unloaded link was forgotten says %q", said)
	}
}
