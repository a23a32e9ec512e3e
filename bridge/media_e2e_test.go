package bridge_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge"
	"github.com/ferrybridge/ferry/bridge/config"
	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/ferrytest"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// TestMediaBothWays: a remote file is uploaded by the sender's ghost and
// arrives intact; a Matrix file reaches the network intact.
func TestMediaBothWays(t *testing.T) {
	sc := newScene(t, false)
	h, alice, mgmt, cl, bob := sc.h, sc.alice, sc.mgmt, sc.cl, sc.bob
	ctx := h.Context(2 * time.Minute)
	portal := network.PortalKey{Network: testnet.ID, Chat: "files", Receiver: "alice"}

	remoteFile := bytes.Repeat([]byte("remote file content "), 5000)
	err := cl.Handle(ctx, &network.Message{
		Meta: network.Meta{Portal: portal, Sender: network.Sender{User: "bob"}, Timestamp: time.Now(), CreatePortal: true},
		ID:   "f1",
		Parts: []network.Part{{
			Content: &event.MessageEventContent{MsgType: event.MsgFile, Body: "notes.txt"},
			Media: func(ctx context.Context) (*network.Media, error) {
				return &network.Media{Data: io.NopCloser(bytes.NewReader(remoteFile)), MimeType: "text/plain", FileName: "notes.txt", Size: int64(len(remoteFile))}, nil
			},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	room := portalInvite(t, alice, mgmt)
	alice.Join(t, room.String())
	got := alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Sender == bob && msg != nil && msg.MsgType == event.MsgFile
	}).Content.AsMessage()
	if got.Info == nil || got.Info.MimeType != "text/plain" || got.Info.Size != len(remoteFile) {
		t.Errorf("file info %+v", got.Info)
	}
	mxc, err := got.URL.Parse()
	if err != nil {
		t.Fatalf("bad URL %q: %v", got.URL, err)
	}
	data, err := alice.DownloadBytes(ctx, mxc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, remoteFile) {
		t.Errorf("the file arrived changed: %d bytes, want %d", len(data), len(remoteFile))
	}

	// A caption edit from the network keeps the file in the replacement.
	err = cl.Handle(ctx, &network.Edit{
		Meta:   network.Meta{Portal: portal, Sender: network.Sender{User: "bob"}, Timestamp: time.Now()},
		Target: "f1",
		Parts:  []network.Part{{Content: &event.MessageEventContent{MsgType: event.MsgFile, Body: "new caption", FileName: "notes.txt"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	edited := alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Sender == bob && msg != nil && msg.NewContent != nil && msg.NewContent.Body == "new caption"
	}).Content.AsMessage()
	if edited.NewContent.URL != got.URL {
		t.Errorf("the caption edit points at %q, want the file %q", edited.NewContent.URL, got.URL)
	}

	// Matrix -> network.
	matrixFile := bytes.Repeat([]byte{0, 1, 2, 3, 254, 255}, 3000)
	up, err := alice.UploadBytesWithName(ctx, matrixFile, "application/octet-stream", "blob.bin")
	if err != nil {
		t.Fatal(err)
	}
	_, err = alice.SendMessageEvent(ctx, room, event.EventMessage, &event.MessageEventContent{
		MsgType: event.MsgFile, Body: "blob.bin", URL: up.ContentURI.CUString(),
		Info: &event.FileInfo{MimeType: "application/octet-stream", Size: len(matrixFile)},
	})
	if err != nil {
		t.Fatal(err)
	}
	out := expectOut[*network.OutgoingMessage](t, cl)
	if out.Media == nil {
		t.Fatalf("the file reached the network without media")
	}
	media, err := out.Media(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer media.Data.Close()
	sent, err := io.ReadAll(media.Data)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sent, matrixFile) || media.FileName != "blob.bin" || media.MimeType != "application/octet-stream" {
		t.Errorf("the network got %d bytes named %q (%s); want %d bytes blob.bin", len(sent), media.FileName, media.MimeType, len(matrixFile))
	}
}

func httpGet(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// TestPublicMediaLinks: a link to a bridged Matrix file serves it; a
// tampered or expired link does not; after the event is redacted the link
// is dead.
func TestPublicMediaLinks(t *testing.T) {
	sc := newScene(t, false)
	room := sc.openPortal(t, "hello")
	ctx := sc.h.Context(time.Minute)
	data := []byte("a file people on IRC will fetch")
	up, resp, link := sendFileWithPublicLink(t, sc, room, data)
	if code, body := httpGet(t, link); code != http.StatusOK || !bytes.Equal(body, data) {
		t.Fatalf("link answered %d with %q", code, body)
	}
	// Change one character of the signed token.
	i := strings.Index(link, "/_ferry/media/") + len("/_ferry/media/") + 5
	tampered := link[:i] + string(rune(link[i]^1)) + link[i+1:]
	if code, _ := httpGet(t, tampered); code != http.StatusForbidden {
		t.Errorf("a tampered link answered %d", code)
	}
	old := bridge.PublicMediaTTL
	bridge.PublicMediaTTL = -time.Minute
	expired, _ := sc.h.Bridge.PublicMediaURL(up.ContentURI.CUString(), room, resp.EventID, "note.txt")
	bridge.PublicMediaTTL = old
	if code, _ := httpGet(t, expired); code != http.StatusGone {
		t.Errorf("an expired link answered %d", code)
	}
	if _, err := sc.alice.RedactEvent(ctx, room, resp.EventID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(waitLong)
	for {
		code, _ := httpGet(t, link)
		if code == http.StatusGone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the link still answers %d after the event was redacted", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// sendFileWithPublicLink has alice send data as a file into room and
// returns the upload, the send's answer and Ferry's public link to it.
func sendFileWithPublicLink(t *testing.T, sc *scene, room id.RoomID, data []byte) (*mautrix.RespMediaUpload, *mautrix.RespSendEvent, string) {
	t.Helper()
	ctx := sc.h.Context(time.Minute)
	up, err := sc.alice.UploadBytesWithName(ctx, data, "text/plain", "note.txt")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := sc.alice.SendMessageEvent(ctx, room, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgFile, Body: "note.txt", URL: up.ContentURI.CUString()})
	if err != nil {
		t.Fatal(err)
	}
	link, ok := sc.h.Bridge.PublicMediaURL(up.ContentURI.CUString(), room, resp.EventID, "note.txt")
	if !ok {
		t.Fatal("no public link although public_address is set")
	}
	return up, resp, link
}

// TestPublicMediaLinkOfAnEventNotYetShown: a homeserver may push an event
// to the bridge before its client API shows it, and link previewers fetch
// at once. A link is served once the event shows; one whose event never
// shows answers 404, not 410 (which previewers would remember as gone).
func TestPublicMediaLinkOfAnEventNotYetShown(t *testing.T) {
	sc := newScene(t, true)
	room := sc.openPortal(t, "hello")
	data := []byte("a file a link bot fetches at once")
	_, resp, link := sendFileWithPublicLink(t, sc, room, data)
	eventPath := "GET /_matrix/client/v3/rooms/" + room.String() + "/event/" + resp.EventID.String()

	sc.proxy.FailNext(eventPath, 2, http.StatusNotFound)
	if code, body := httpGet(t, link); code != http.StatusOK || !bytes.Equal(body, data) {
		t.Fatalf("with the event shown on the third ask, the link answered %d with %q", code, body)
	}
	if n := sc.proxy.Count(eventPath); n != 3 {
		t.Errorf("Ferry asked for the event %d times, want 3", n)
	}

	sc.proxy.FailNext(eventPath, -1, http.StatusNotFound)
	if code, body := httpGet(t, link); code != http.StatusNotFound {
		t.Errorf("with the event never shown, the link answered %d with %q", code, body)
	}
}

// TestMediaOverTheLimit: with media.max_file_size set, a larger file
// becomes a notice naming it and its size; one the network declares too
// large is refused without being fetched.
func TestMediaOverTheLimit(t *testing.T) {
	tn := testnet.New()
	h := ferrytest.Start(t, ferrytest.Options{Configure: func(cfg *config.Config) { cfg.Media.MaxFileSize = 1000 }}, tn)
	alice := h.User("alice")
	mgmt := h.ManagementRoom(alice)
	cl := loginTest(t, h, tn, alice, mgmt, "alice")
	bob := h.Bridge.Ghosts.MXID(network.GhostKey{Network: testnet.ID, User: "bob"})
	ctx := h.Context(2 * time.Minute)
	portal := network.PortalKey{Network: testnet.ID, Chat: "files", Receiver: "alice"}
	if err := cl.Handle(ctx, textMessage(portal, "m0", "bob", time.Now(), "files coming")); err != nil {
		t.Fatal(err)
	}
	room := portalInvite(t, alice, mgmt)
	alice.Join(t, room.String())

	// A file over the limit becomes a notice naming it and its size.
	big := bytes.Repeat([]byte("x"), 5000)
	err := cl.Handle(ctx, &network.Message{
		Meta: network.Meta{Portal: portal, Sender: network.Sender{User: "bob"}, Timestamp: time.Now(), CreatePortal: true},
		ID:   "big",
		Parts: []network.Part{{
			Content: &event.MessageEventContent{MsgType: event.MsgFile, Body: "big.bin"},
			Media: func(ctx context.Context) (*network.Media, error) {
				return &network.Media{Data: io.NopCloser(bytes.NewReader(big)), FileName: "big.bin", Size: -1}, nil
			},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Sender == bob && msg != nil && msg.MsgType == event.MsgNotice && strings.Contains(msg.Body, "big.bin") && strings.Contains(msg.Body, "1000 bytes")
	})
	// A file whose size the network declares is refused without fetching.
	fetched := false
	err = cl.Handle(ctx, &network.Message{
		Meta: network.Meta{Portal: portal, Sender: network.Sender{User: "bob"}, Timestamp: time.Now(), CreatePortal: true},
		ID:   "declared",
		Parts: []network.Part{{
			Content: &event.MessageEventContent{MsgType: event.MsgVideo, Body: "film.mp4", Info: &event.FileInfo{Size: 3 << 30}},
			Media: func(ctx context.Context) (*network.Media, error) {
				fetched = true
				return nil, io.ErrUnexpectedEOF
			},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		msg := evt.Content.AsMessage()
		return evt.Sender == bob && msg != nil && msg.MsgType == event.MsgNotice && strings.Contains(msg.Body, "film.mp4") && strings.Contains(msg.Body, "3.0 GiB")
	})
	if fetched {
		t.Error("a file declared too large was fetched anyway")
	}
}
