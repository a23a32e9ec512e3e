package testbed

import (
	"context"
	"net/http"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
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

// NewAppservice makes the appservice of reg (StartDendriteForAppservice)
// reaching its homeserver at url: the Dendrite's own URL, or that of a
// FaultProxy in front of it. Its state store is mautrix's in-memory one.
func NewAppservice(t testing.TB, reg *appservice.Registration, url string) *appservice.AppService {
	t.Helper()
	as, err := appservice.CreateFull(appservice.CreateOpts{Registration: reg, HomeserverDomain: "localhost", HomeserverURL: url})
	if err != nil {
		t.Fatalf("testbed: appservice at %s: %v", url, err)
	}
	return as
}

// CreateRoom has the appservice's bot create a room as req asks (nil: a
// private room with nobody invited) and returns its ID. Invitees in the
// appservice's namespaces (its ghosts) are registered first: the
// homeserver invites only users it knows.
func CreateRoom(t testing.TB, as *appservice.AppService, req *mautrix.ReqCreateRoom) id.RoomID {
	t.Helper()
	if req == nil {
		req = &mautrix.ReqCreateRoom{}
	}
	ctx := context.Background()
	for _, user := range req.Invite {
		if !inNamespace(as.Registration, user) {
			continue
		}
		if err := as.Intent(user).EnsureRegistered(ctx); err != nil {
			t.Fatalf("testbed: register %s: %v", user, err)
		}
	}
	resp, err := as.BotClient().CreateRoom(ctx, req)
	if err != nil {
		t.Fatalf("testbed: create a room: %v", err)
	}
	return resp.RoomID
}

// inNamespace tells whether user is in one of reg's user namespaces.
func inNamespace(reg *appservice.Registration, user id.UserID) bool {
	for _, ns := range reg.Namespaces.UserIDs {
		if regexp.MustCompile(ns.Regex).MatchString(user.String()) {
			return true
		}
	}
	return false
}

// WaitForServerMembership waits until the homeserver's member list of
// room has user as membership: Dendrite's list follows the room a moment
// behind. It reads the list itself rather than through the client's
// Members, which would write it to the appservice's state store.
func WaitForServerMembership(t testing.TB, as *appservice.AppService, room id.RoomID, user id.UserID, membership event.Membership) {
	t.Helper()
	ctx := context.Background()
	cli := as.BotClient()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var members mautrix.RespMembers
		if _, err := cli.MakeRequest(ctx, http.MethodGet, cli.BuildClientURL("v3", "rooms", room, "members"), nil, &members); err != nil {
			t.Fatalf("testbed: members of %s: %v", room, err)
		}
		for _, evt := range members.Chunk {
			if evt.GetStateKey() == user.String() && evt.Content.Raw["membership"] == string(membership) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("testbed: the homeserver's member list of %s never had %s as %s", room, user, membership)
		}
	}
}
