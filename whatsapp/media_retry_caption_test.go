package whatsapp

import (
	"strings"
	"testing"

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
	env := newEnv(t, sqliteDB(t), "")
	evt := expiredImage("IMG", randomBytes(32))
	evt.RawMessage.GetImageMessage().Caption = proto.String(strings.Repeat("a very long caption ", 5000))
	msg, answer := askedAgainFor(t, env, evt)
	if len(msg.Parts) != 2 {
		t.Fatalf("the photo came in %d parts; want the photo and its caption", len(msg.Parts))
	}
	env.cl.cli.DangerousInternals().HandleMediaRetryNotification(env.ctx, answer)
	_, handled := env.host.take()
	var edit *network.Edit
	if len(handled) == 1 {
		edit, _ = handled[0].(*network.Edit)
	}
	if edit == nil || len(edit.Parts) != 1 || edit.Parts[0].ID != "" || edit.Parts[0].Content.MsgType != "m.image" {
		t.Fatalf("the answer became %s; want an edit of the photo alone", describe(handled))
	}
}
