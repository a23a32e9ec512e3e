package puppets

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// An invite of a user who is joined already is refused by the homeserver,
// and IsAlreadyInRoom must know that refusal: ensureUserIn (portals) and
// JoinInvitedBy take it as the user being in the room, where it otherwise
// failed the event it was for with M_FORBIDDEN. An invite of a banned user
// is refused in words of the same pattern and is not one. Real Dendrite.
func TestIsAlreadyInRoomKnowsTheHomeserversRefusal(t *testing.T) {
	hs, reg := testbed.StartDendriteForAppservice(t)
	as, err := appservice.CreateFull(appservice.CreateOpts{Registration: reg, HomeserverDomain: "localhost", HomeserverURL: hs.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	joined := id.NewUserID("ferry_joined", "localhost")
	banned := id.NewUserID("ferry_banned", "localhost")
	for _, user := range []id.UserID{joined, banned} {
		if err = as.Intent(user).EnsureRegistered(ctx); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := as.BotClient().CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{joined}})
	if err != nil {
		t.Fatal(err)
	}
	room := resp.RoomID
	if _, err = as.Intent(joined).JoinRoomByID(ctx, room); err != nil {
		t.Fatal(err)
	}
	if _, err = as.BotClient().BanUser(ctx, room, &mautrix.ReqBanUser{UserID: banned, Reason: "test"}); err != nil {
		t.Fatal(err)
	}

	_, err = as.BotClient().InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: joined})
	if err == nil {
		t.Fatal("the homeserver took an invite of a joined user; the test shows nothing")
	}
	if !IsAlreadyInRoom(err) {
		t.Errorf("an invite of a joined user was refused with %v, and IsAlreadyInRoom does not know it", err)
	}
	_, err = as.BotClient().InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: banned})
	if err == nil {
		t.Fatal("the homeserver took an invite of a banned user; the test shows nothing")
	}
	if IsAlreadyInRoom(err) {
		t.Errorf("an invite of a banned user, refused with %v, is taken as the user being in the room", err)
	}
}

// The refusals of an invite that only a race or another server gives,
// in the homeserver's exact words (gomatrixserverlib's event auth, as
// Dendrite sends it; Synapse's event_auth.py).
func TestIsAlreadyInRoomKnowsEveryServersWords(t *testing.T) {
	const authText = `InputRoomEventsResponse: Allowed() failed for stateBeforeEvent: eventauth: "@ferrybot:localhost" is not allowed to change the membership of "@alice:localhost" from %q to "invite" as target cannot be invited when their membership is %q`
	for _, c := range []struct {
		name, code, text string
		want             bool
	}{
		{"Dendrite, joined", "M_FORBIDDEN", "user is already joined to room", true},
		{"Dendrite, joined meanwhile", "M_FORBIDDEN", fmt.Sprintf(authText, "join", "join"), true},
		{"Dendrite, banned", "M_FORBIDDEN", fmt.Sprintf(authText, "ban", "ban"), false},
		{"Synapse, joined", "M_FORBIDDEN", "@alice:localhost is already in the room.", true},
		{"Synapse with MSC3848, joined", "ORG.MATRIX.MSC3848.ALREADY_JOINED", "@alice:localhost is already in the room.", true},
		{"Synapse, banned", "M_FORBIDDEN", "@alice:localhost is banned from the room", false},
		{"no power to invite", "M_FORBIDDEN", "You don't have permission to invite users", false},
	} {
		err := fmt.Errorf("invite: %w", mautrix.HTTPError{
			Response:  &http.Response{StatusCode: http.StatusForbidden},
			RespError: &mautrix.RespError{ErrCode: c.code, Err: c.text},
		})
		if got := IsAlreadyInRoom(err); got != c.want {
			t.Errorf("%s: IsAlreadyInRoom(%s: %s) = %v, want %v", c.name, c.code, c.text, got, c.want)
		}
	}
}
