package wasim

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
)

// TestProfilePictures: a picture the phone sets is found by a contact
// (by number or LID), served from the media host, reported unchanged when
// the caller already has it; an account without a picture answers
// ErrProfilePictureNotSet; a group admin's SetGroupPhoto is visible to
// members.
func TestProfilePictures(t *testing.T) {
	e := newEnv(t)
	alicePhone, bobPhone, alice, bob := e.aliceAndBob()

	jpeg := []byte("\xff\xd8\xff pretend avatar")
	id := alicePhone.SetProfilePicture(jpeg)
	for _, jid := range []types.JID{alicePhone.JID(), alicePhone.LID()} {
		info, err := bob.cli.GetProfilePictureInfo(t.Context(), jid, nil)
		if err != nil {
			t.Fatalf("picture of %s: %v", jid, err)
		}
		if info.ID != id || info.DirectPath == "" {
			t.Errorf("picture of %s: %+v, want ID %s", jid, info, id)
		}
		resp, err := e.sim.HTTPClient().Get(info.URL)
		if err != nil {
			t.Fatalf("fetch picture: %v", err)
		}
		got, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if !bytes.Equal(got, jpeg) {
			t.Errorf("picture bytes %q, want %q", got, jpeg)
		}
	}
	if info, err := bob.cli.GetProfilePictureInfo(t.Context(), alicePhone.JID(), &whatsmeow.GetProfilePictureParams{ExistingID: id}); err != nil || info != nil {
		t.Errorf("unchanged picture: %+v, %v; want nil, nil", info, err)
	}
	if _, err := alice.cli.GetProfilePictureInfo(t.Context(), bobPhone.JID(), nil); !errors.Is(err, whatsmeow.ErrProfilePictureNotSet) {
		t.Errorf("picture of Bob (none): %v, want ErrProfilePictureNotSet", err)
	}

	group, err := alice.cli.CreateGroup(t.Context(), whatsmeow.ReqCreateGroup{Name: "Pics", Participants: []types.JID{bobPhone.JID()}})
	if err != nil {
		t.Fatalf("create group: %v", err)
	}
	groupID, err := alice.cli.SetGroupPhoto(t.Context(), group.JID, []byte("group avatar"))
	if err != nil {
		t.Fatalf("set group photo: %v", err)
	}
	info, err := bob.cli.GetProfilePictureInfo(t.Context(), group.JID, nil)
	if err != nil || info.ID != groupID {
		t.Errorf("group picture: %+v, %v; want ID %s", info, err, groupID)
	}
	if _, err = bob.cli.SetGroupPhoto(t.Context(), group.JID, []byte("not an admin")); err == nil {
		t.Error("a non-admin member changed the group photo")
	}
}
