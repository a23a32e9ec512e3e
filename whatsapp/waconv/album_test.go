package waconv

import (
	"context"
	"testing"

	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"
)

// TestToMatrixAlbum: photos and videos sent together reach a chat as an
// album header (how many are coming) and then each file as its own
// message, tied to the header by a message association. The header has
// nothing to show: it makes no "unsupported" notice, and the files
// still show as files.
func TestToMatrixAlbum(t *testing.T) {
	header := &waE2E.Message{
		AlbumMessage:       &waE2E.AlbumMessage{ExpectedImageCount: proto.Uint32(2), ExpectedVideoCount: proto.Uint32(1)},
		MessageContextInfo: &waE2E.MessageContextInfo{MessageSecret: []byte("secret")},
	}
	got, err := ToMatrix(context.Background(), header, testInfo(), testDeps(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != KindIgnored {
		t.Errorf("the album header: kind %d, parts %s; want it ignored", got.Kind, dump(toComparable(got)))
	}

	child := &waE2E.Message{
		ImageMessage: &waE2E.ImageMessage{Mimetype: proto.String("image/jpeg"), Caption: proto.String("the summit"), DirectPath: proto.String("/v/t62/img")},
		MessageContextInfo: &waE2E.MessageContextInfo{MessageAssociation: &waE2E.MessageAssociation{
			AssociationType:  waE2E.MessageAssociation_MEDIA_ALBUM.Enum(),
			ParentMessageKey: &waCommon.MessageKey{RemoteJID: proto.String(groupJID.String()), ID: proto.String("3EB0ALBUM")},
		}},
	}
	got, err = ToMatrix(context.Background(), child, testInfo(), testDeps(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != KindMessage || len(got.Parts) != 1 || got.Parts[0].Content.MsgType != event.MsgImage ||
		got.Parts[0].Content.Body != "the summit" || got.Parts[0].Media == nil {
		t.Errorf("a photo of the album: %s; want the photo with its caption", dump(toComparable(got)))
	}
}
