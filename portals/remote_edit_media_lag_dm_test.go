package portals

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/testbed"
)

// A caption edit that comes right after its photo finds a homeserver
// that answers "not found" for the photo for a moment (Dendrite under
// load). The photo was sent by Ferry, so the answer is the homeserver's
// lag, not a gone event: the read is tried again, and the edit keeps its
// file.
func TestRemoteCaptionEditRightAfterItsPhotoKeepsTheFile(t *testing.T) {
	dc, proxy, sent := photoInBotlessDirectChat(t)
	proxy.FailNext("GET /_matrix/client/v3/rooms/"+dc.room.String()+"/event/", 3, http.StatusNotFound)

	if err := dc.p.remoteEdit(context.Background(), dc.login, captionEdit(dc)); err != nil {
		t.Fatalf("the caption edit failed: %v", err)
	}
	// Dendrite may list a just-sent event a moment late.
	replacement := replacementOf(t, dc.alice.Client, dc.room, sent)
	for deadline := time.Now().Add(10 * time.Second); replacement == nil && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		replacement = replacementOf(t, dc.alice.Client, dc.room, sent)
	}
	if replacement == nil {
		t.Fatal("the caption edit was not bridged")
	}
	newContent := replacement.Content.AsMessage().NewContent
	if newContent == nil || newContent.Body != "new caption" {
		t.Fatalf("the replacement's new content is %+v, want the new caption", newContent)
	}
	if string(newContent.URL) != photoURL {
		t.Errorf("the caption edit made while the photo read \"not found\" lost its file: url %q, want %q", newContent.URL, photoURL)
	}
}

// A photo the homeserver still cannot find once the wait for its lag is
// over: the caption edit is not posted without the file (which would
// leave the room a photo with none), and the room hears that the edit was
// not bridged.
func TestRemoteCaptionEditWhosePhotoStaysNotFoundIsToldInTheRoom(t *testing.T) {
	dc, proxy, sent := photoInBotlessDirectChat(t)
	lag := editedEventLag
	editedEventLag = time.Second
	t.Cleanup(func() { editedEventLag = lag })
	proxy.FailNext("GET /_matrix/client/v3/rooms/"+dc.room.String()+"/event/", -1, http.StatusNotFound)

	ctx := context.Background()
	wait, err := dc.p.m.QueueRemote(ctx, dc.login, captionEdit(dc))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err = <-wait.Outcome():
	case <-time.After(time.Minute):
		t.Fatal("the caption edit was not handled within a minute")
	}
	if err == nil {
		t.Error("the caption edit whose photo could not be read was taken as bridged")
	}
	if replacement := replacementOf(t, dc.alice.Client, dc.room, sent); replacement != nil {
		t.Errorf("the caption edit was posted without its photo's file: %s", replacement.Content.VeryRaw)
	}
	notice := noticeWith(t, dc.alice.Client, dc.room, "edit")
	for deadline := time.Now().Add(10 * time.Second); notice == "" && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		notice = noticeWith(t, dc.alice.Client, dc.room, "edit")
	}
	if notice == "" {
		t.Error("the room was not told that the caption edit was not bridged")
	} else if !strings.Contains(notice, "file") {
		t.Errorf("the notice %q does not say the edit's file was what failed", notice)
	}
}

// photoInBotlessDirectChat is a direct chat without the bot, Ferry
// reaching Dendrite through a fault proxy, with a photo from bob bridged
// in it as "msg-photo" and readable by bob's ghost.
func photoInBotlessDirectChat(t *testing.T) (*botlessDirectChat, *testbed.FaultProxy, id.EventID) {
	t.Helper()
	sc, proxy := newUserSceneBehindProxy(t)
	dc := newBotlessDirectChatIn(t, sc)
	ctx := context.Background()
	// Alice is in the chat through her login, as once adopted (AdoptDM).
	if err := dc.db.Logins.Put(ctx, &database.Login{Network: dc.key.Network, ID: dc.login.ID, UserMXID: dc.alice.UserID}); err != nil {
		t.Fatal(err)
	}
	if err := dc.p.putMember(ctx, dc.alice.UserID, dc.login.ID); err != nil {
		t.Fatal(err)
	}
	// The faults the tests inject stand for the lag; bridgedPhoto waits
	// for the real one to end first.
	return dc, proxy, bridgedPhoto(t, dc)
}

// noticeWith is the body of the newest notice in room, as client sees
// it, that contains word; "" if there is none.
func noticeWith(t *testing.T, client *mautrix.Client, room id.RoomID, word string) string {
	t.Helper()
	if notice := noticeContentWith(t, client, room, word); notice != nil {
		return notice.Body
	}
	return ""
}
