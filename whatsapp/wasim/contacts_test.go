package wasim

import (
	"testing"

	"go.mau.fi/whatsmeow/appstate"
	"go.mau.fi/whatsmeow/types"
)

// TestIsOnWhatsApp: a phone-number lookup finds a registered account
// with its LID and reports an unknown number as not on WhatsApp.
func TestIsOnWhatsApp(t *testing.T) {
	e := newEnv(t)
	alicePhone := e.phone("15550001111", "Alice")
	bobPhone := e.phone("15550002222", "Bob")
	alice := e.newClient("alice")
	e.pair(alice, alicePhone)

	res, err := alice.cli.IsOnWhatsApp(t.Context(), []string{"+15550002222", "+15559999999"})
	if err != nil {
		t.Fatalf("IsOnWhatsApp: %v", err)
	}
	if len(res) != 2 {
		t.Fatalf("got %d answers, want 2: %+v", len(res), res)
	}
	if !res[0].IsIn || res[0].JID != bobPhone.LID() || res[0].PhoneNumber != bobPhone.JID() || res[0].Query != "+15550002222" {
		t.Errorf("Bob's answer %+v, want on WhatsApp as %s / %s", res[0], bobPhone.LID(), bobPhone.JID())
	}
	if res[1].IsIn {
		t.Errorf("unknown number reported on WhatsApp: %+v", res[1])
	}
	lid, err := alice.cli.Store.LIDs.GetLIDForPN(t.Context(), bobPhone.JID())
	if err != nil || lid != bobPhone.LID() {
		t.Errorf("stored LID for Bob: %s, %v", lid, err)
	}
}

// TestAccountStateQueries: a full app-state sync of every collection
// succeeds against the simulator's empty app state, and privacy settings
// come back as WhatsApp's defaults.
func TestAccountStateQueries(t *testing.T) {
	e := newEnv(t)
	phone := e.phone("15550001111", "Alice")
	c := e.newClient("alice")
	e.pair(c, phone)
	for _, name := range appstate.AllPatchNames {
		if err := c.cli.FetchAppState(t.Context(), name, true, false); err != nil {
			t.Errorf("fetch %s: %v", name, err)
		}
	}
	settings, err := c.cli.TryFetchPrivacySettings(t.Context(), true)
	if err != nil {
		t.Fatalf("privacy settings: %v", err)
	}
	if settings.ReadReceipts != types.PrivacySettingAll || settings.GroupAdd != types.PrivacySettingAll {
		t.Errorf("privacy settings %+v, want defaults", settings)
	}
}
