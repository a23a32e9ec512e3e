package whatsapp

import (
	"context"
	"strings"
	"testing"

	"go.mau.fi/whatsmeow/proto/waMmsRetry"
	"google.golang.org/protobuf/proto"

	"github.com/ferrybridge/ferry/bridge/network"
)

// TestExpiredMediaWithALongCaptionReplacesOnlyTheFile: a photo whose
// caption is too long for Matrix comes as two parts, the photo with the
// caption's beginning and the whole caption as a text file. When the
// phone uploads the expired photo again, the edit replaces the photo
// alone: the caption's file is in the room already, and an edit of a
// part the room lacks would replace the photo instead.
func TestExpiredMediaWithALongCaptionReplacesOnlyTheFile(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t, sqliteDB(t), "")
	env.wa.expired = map[string]bool{"/v/old": true}
	mediaKey := randomBytes(32)
	evt := expiredImage("IMG", mediaKey)
	evt.RawMessage.GetImageMessage().Caption = proto.String(strings.Repeat("a very long caption ", 5000))

	env.dispatch(evt)
	_, handled := env.host.take()
	if len(handled) != 1 || len(handled[0].(*network.Message).Parts) != 2 {
		t.Fatalf("handled %s; want the photo and its caption", describe(handled))
	}
	if _, err := handled[0].(*network.Message).Parts[0].Media(ctx); err == nil {
		t.Fatal("the expired photo downloaded") // and the phone was not asked for it
	}
	answer := retryNotification(t, "IMG", mediaKey, &waMmsRetry.MediaRetryNotification{
		StanzaID: proto.String("IMG"), DirectPath: proto.String("/v/new"), Result: waMmsRetry.MediaRetryNotification_SUCCESS.Enum(),
	}, 0)
	env.cl.cli.DangerousInternals().HandleMediaRetryNotification(ctx, answer)
	_, handled = env.host.take()
	if len(handled) != 1 {
		t.Fatalf("the phone's answer handled %d events, want one edit", len(handled))
	}
	edit, ok := handled[0].(*network.Edit)
	if !ok || len(edit.Parts) != 1 || edit.Parts[0].ID != "" || edit.Parts[0].Content.MsgType != "m.image" {
		t.Fatalf("the answer became %s; want an edit of the photo alone", describe(handled))
	}
}
