package whatsapp

import (
	"context"
	"strings"
	"testing"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"

	"github.com/ferrybridge/ferry/bridge/network"
)

// unansweredWA is WhatsApp whose servers do not answer questions: its
// number lookups and group lists end with err.
type unansweredWA struct {
	*fakeWA
	err error
}

func (u *unansweredWA) IsOnWhatsApp(ctx context.Context, phones []string) ([]types.IsOnWhatsAppResponse, error) {
	return nil, u.err
}

func (u *unansweredWA) GetJoinedGroups(ctx context.Context) ([]*types.GroupInfo, error) {
	return nil, u.err
}

// TestCommandsUnanswered: `whatsapp pm` and `whatsapp sync` whose
// question WhatsApp does not answer in time, or whose connection drops
// meanwhile, tell the user so and what to do, not "Something went
// wrong".
func TestCommandsUnanswered(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	env.wa.loggedIn.Store(true)
	cmds := map[string]network.Command{}
	for _, c := range env.conn.Commands() {
		cmds[c.Name] = c
	}
	for _, tc := range []struct {
		err       error
		pm, sync_ string
	}{
		{whatsmeow.ErrIQTimedOut, "WhatsApp did not answer whether +4915100000002 has an account in time; try again in a moment",
			"WhatsApp did not answer the list of your groups in time; try again in a moment"},
		{context.DeadlineExceeded, "WhatsApp did not answer whether +4915100000002 has an account in time",
			"WhatsApp did not answer the list of your groups in time"},
		{whatsmeow.ErrIQDisconnected, "the connection to WhatsApp dropped before it answered whether +4915100000002 has an account; try again once `status` shows it connected",
			"the connection to WhatsApp dropped before it answered the list of your groups"},
	} {
		env.cl.wa = &unansweredWA{fakeWA: env.wa, err: tc.err}
		for name, want := range map[string]string{"whatsapp pm": tc.pm, "whatsapp sync": tc.sync_} {
			raw := ""
			if name == "whatsapp pm" {
				raw = "+4915100000002"
			}
			err := cmds[name].Handler(env.ctx, &network.CommandEvent{
				User: alice, Level: network.LevelUser, Args: strings.Fields(raw), RawArgs: raw,
				Logins: []*network.Login{testLogin(env.device)},
				Client: func(id network.LoginID) (network.Client, bool) { return env.cl, id == ownLogin },
				Reply:  func(string) {},
			})
			if msg := network.UserMessage(err, "Something went wrong"); !strings.Contains(msg, want) {
				t.Errorf("%s with %v: told %q, want %q", name, tc.err, msg, want)
			}
		}
	}
}
