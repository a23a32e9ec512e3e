package wasim

import (
	"bytes"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"
)

// TestMediaUploadAndDownloadAcrossClients: A uploads an image (encrypted
// by whatsmeow) to the simulator's blob store and sends it to B; B's
// whatsmeow downloads it from the direct path in the message, checks the
// hashes and MAC, and gets A's plaintext back.
func TestMediaUploadAndDownloadAcrossClients(t *testing.T) {
	e := newEnv(t)
	_, bobPhone, alice, bob := e.aliceAndBob()

	image := bytes.Repeat([]byte("not really a JPEG "), 1000)
	up, err := alice.cli.Upload(t.Context(), image, whatsmeow.MediaImage)
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	if up.DirectPath == "" || up.URL == "" {
		t.Fatalf("upload response without paths: %+v", up)
	}
	_, err = alice.cli.SendMessage(t.Context(), bobPhone.JID(), &waE2E.Message{ImageMessage: &waE2E.ImageMessage{
		Mimetype:      proto.String("image/jpeg"),
		URL:           proto.String(up.URL),
		DirectPath:    proto.String(up.DirectPath),
		MediaKey:      up.MediaKey,
		FileEncSHA256: up.FileEncSHA256,
		FileSHA256:    up.FileSHA256,
		FileLength:    proto.Uint64(up.FileLength),
	}})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	msg := waitFor[*events.Message](t, bob, 10*time.Second)
	img := msg.Message.GetImageMessage()
	if img == nil {
		t.Fatalf("Bob got no image message: %v", msg.Message)
	}
	got, err := bob.cli.Download(t.Context(), img)
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	if !bytes.Equal(got, image) {
		t.Errorf("downloaded %d bytes, differing from the %d uploaded", len(got), len(image))
	}
}
