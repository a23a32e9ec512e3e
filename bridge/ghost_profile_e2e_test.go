package bridge_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// A new member's ghost gets the name and picture the network gives, in
// as few requests as that takes: the profile is not read before it is
// set, and the picture Ferry uploaded is not downloaded again.
func TestGhostProfileIsSetWithoutReadingItFirst(t *testing.T) {
	var pic bytes.Buffer
	if err := png.Encode(&pic, image.NewGray(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	name := "Carol Cook"
	s := newScene(t, true)
	// Before the first event reaches the bridge, which then only reads it.
	s.tn.Users["carol"] = &network.UserInfo{Name: &name, Avatar: &network.Avatar{
		ID:  "carol-pic-1",
		Get: func(context.Context) ([]byte, error) { return pic.Bytes(), nil },
	}}
	room := s.openPortal(t, "hello")
	carol := s.h.Bridge.Ghosts.MXID(network.GhostKey{Network: testnet.ID, User: "carol"})
	ctx := s.h.Context(time.Minute)
	if err := s.cl.Handle(ctx, textMessage(s.portal, "c1", "carol", time.Now(), "carol here")); err != nil {
		t.Fatal(err)
	}
	s.alice.WaitForEvent(t, room, waitLong, bodyIs(carol, "carol here"))

	profile, err := s.alice.GetProfile(ctx, carol)
	if err != nil {
		t.Fatal(err)
	}
	if profile.DisplayName != name || profile.AvatarURL.IsEmpty() {
		t.Fatalf("carol's ghost has name %q and picture %q, want %q and one", profile.DisplayName, profile.AvatarURL, name)
	}
	for _, r := range s.proxy.Requests() {
		reads := r.Method == http.MethodGet && strings.Contains(r.Path, "/profile/"+carol.String())
		downloads := strings.Contains(r.Path, "/download/") && strings.HasSuffix(r.Path, "/"+profile.AvatarURL.FileID)
		if reads || downloads {
			t.Errorf("Ferry asked %s %s while it set carol's profile", r.Method, r.Path)
		}
	}
}
