package testbed

import (
	"path/filepath"
	"testing"

	"maunium.net/go/mautrix/appservice"
)

// StartDendriteForAppservice starts Dendrite (StartDendrite) with one
// appservice registered: bot localpart "ferrybot", and the users
// "@ferry_...:localhost" in its exclusive namespace. Nothing listens at
// the registration's URL: events Dendrite pushes to it are lost, which
// suits tests that only talk to the homeserver, as a package's own
// tests below the bridge do.
func StartDendriteForAppservice(t testing.TB) (*Dendrite, *appservice.Registration) {
	t.Helper()
	reg := appservice.CreateRegistration()
	reg.ID = "ferry-test"
	reg.URL = "http://127.0.0.1:9" // discard: nothing answers
	reg.SenderLocalpart = "ferrybot"
	rateLimited := false
	reg.RateLimited = &rateLimited
	reg.Namespaces.UserIDs = []appservice.Namespace{
		{Regex: "^@ferrybot:localhost$", Exclusive: true},
		{Regex: "^@ferry_.*:localhost$", Exclusive: true},
	}
	path := filepath.Join(t.TempDir(), "registration.yaml")
	if err := reg.Save(path); err != nil {
		t.Fatalf("testbed: write registration: %v", err)
	}
	return StartDendrite(t, DendriteOptions{RegistrationFiles: []string{path}}), reg
}
