package whatsapp

import (
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/types"

	"github.com/ferrybridge/ferry/bridge/network"
)

func TestTokenBucket(t *testing.T) {
	now := time.Unix(1700000000, 0)
	b := newTokenBucket(3, 20*time.Second)
	b.now = func() time.Time { return now }
	for i := range 3 {
		if ok, _ := b.take(); !ok {
			t.Fatalf("lookup %d of the burst refused", i+1)
		}
	}
	if ok, wait := b.take(); ok || wait != 20*time.Second {
		t.Fatalf("past the burst: ok %v, wait %s", ok, wait)
	}
	now = now.Add(15 * time.Second)
	if ok, wait := b.take(); ok || wait != 5*time.Second {
		t.Fatalf("15 s later: ok %v, wait %s", ok, wait)
	}
	now = now.Add(5 * time.Second)
	if ok, _ := b.take(); !ok {
		t.Fatal("a token did not come back after 20 s")
	}
	now = now.Add(time.Hour)
	for i := range 3 {
		if ok, _ := b.take(); !ok {
			t.Fatalf("after an idle hour lookup %d refused", i+1)
		}
	}
	if ok, _ := b.take(); ok {
		t.Fatal("an idle hour saved up more than the burst")
	}
}

func TestWaitText(t *testing.T) {
	for d, want := range map[time.Duration]string{
		300 * time.Millisecond: "a second", 4200 * time.Millisecond: "5 seconds",
		time.Minute: "a minute", 150 * time.Second: "3 minutes",
	} {
		if got := waitText(d); got != want {
			t.Errorf("waitText(%s) = %q, want %q", d, got, want)
		}
	}
}

// TestPMIsRateLimited: `whatsapp pm` asks WhatsApp about a number only
// within the login's budget; past it the user is told when to try again
// and WhatsApp is not asked.
func TestPMIsRateLimited(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	env.wa.loggedIn.Store(true)
	env.wa.onWhatsApp = map[string]types.IsOnWhatsAppResponse{"+4915100000002": {JID: bobPN, PhoneNumber: bobPN, IsIn: true}}
	now := time.Unix(1700000000, 0)
	env.cl.lookups.now = func() time.Time { return now }
	var pm network.Command
	for _, c := range env.conn.Commands() {
		if c.Name == "whatsapp pm" {
			pm = c
		}
	}
	run := func() error {
		return pm.Handler(env.ctx, &network.CommandEvent{
			User: alice, Level: network.LevelUser, Args: []string{"+4915100000002"}, RawArgs: "+4915100000002",
			Logins: []*network.Login{testLogin(env.device)},
			Client: func(id network.LoginID) (network.Client, bool) { return env.cl, id == ownLogin },
			Reply:  func(string) {},
		})
	}
	for i := range lookupBurst {
		if err := run(); err != nil {
			t.Fatalf("pm %d: %v", i+1, err)
		}
	}
	now = now.Add(8 * time.Second)
	err := run()
	msg := network.UserMessage(err, "")
	if !strings.Contains(msg, "too many phone number lookups") || !strings.Contains(msg, "Try again in 12 seconds") {
		t.Errorf("refusal: %q", msg)
	}
	if env.wa.lookups != lookupBurst {
		t.Errorf("WhatsApp was asked %d times, want %d", env.wa.lookups, lookupBurst)
	}
	now = now.Add(12 * time.Second)
	if err = run(); err != nil {
		t.Errorf("after the wait: %v", err)
	}
	// StartDM (a Matrix user opening a DM with a ghost) spends the same budget.
	if _, err = env.cl.StartDM(env.ctx, userIDOf(bobPN)); !strings.Contains(network.UserMessage(err, ""), "too many") {
		t.Errorf("StartDM past the budget: %v", err)
	}
}
