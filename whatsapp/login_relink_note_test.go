package whatsapp

import (
	"context"
	"strings"
	"testing"

	"go.mau.fi/whatsmeow"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
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
			p := env.start(t, "+"+ownPN.User)
			qr := make(chan whatsmeow.QRChannelItem, 1)
			qr <- whatsmeow.QRChannelItem{Event: whatsmeow.QRChannelEventCode, Code: "2@one"}
			p.qr = qr
			step, err := p.Start(context.Background())
			if err != nil || step.Type != network.StepDisplayCode {
				t.Fatalf("Start = %+v, %v", step, err)
			}
			said := strings.Contains(step.Instructions, "+"+ownPN.User+" is linked to Ferry already: this link replaces the earlier one")
			if said != tc.want || !strings.Contains(step.Instructions, "Link with phone number") {
				t.Errorf("the first answer says %q; want the relink told: %v", step.Instructions, tc.want)
			}
		})
	}
}
