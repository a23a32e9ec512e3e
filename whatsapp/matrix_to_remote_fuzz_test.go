package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/bridge/network/matrixhtml"
)

// forget drops what the fake recorded, so that a long fuzz run does not
// hold every message and upload.
func (f *fakeWA) forget() {
	f.mu.Lock()
	f.sent, f.uploads, f.downloads, f.retryReceipts = nil, nil, nil, nil
	f.mu.Unlock()
}

// fuzzContentSeeds are Matrix event contents as clients send them, and
// as a hostile user or homeserver could.
var fuzzContentSeeds = []string{
	`{"msgtype":"m.text","body":"hello"}`,
	`{"msgtype":"m.text","body":"> <@bob:ex.org> q\n\nanswer","format":"org.matrix.custom.html","formatted_body":"<mx-reply><blockquote>q</blockquote></mx-reply><b>answer</b>","m.relates_to":{"m.in_reply_to":{"event_id":"$orig"}}}`,
	`{"msgtype":"m.text","body":"hi Bob","format":"org.matrix.custom.html","formatted_body":"hi <a href=\"https://matrix.to/#/@whatsapp_4915100000002:example.org\">Bob</a>","m.mentions":{"user_ids":["@whatsapp_4915100000002:example.org"]}}`,
	`{"msgtype":"m.text","body":"x","format":"org.matrix.custom.html","formatted_body":"<ol start=\"5\"><li>a</li></ol><pre><code>b</code></pre><del>c</del>"}`,
	`{"msgtype":"m.emote","body":"waves"}`,
	`{"msgtype":"m.notice","body":"   "}`,
	`{"body":"no msgtype"}`,
	`{"msgtype":"m.text","body":"* fixed","m.new_content":{"msgtype":"m.text","body":"fixed"},"m.relates_to":{"rel_type":"m.replace","event_id":"$mine"}}`,
	`{"msgtype":"m.text","body":"* fixed","m.relates_to":{"rel_type":"m.replace","event_id":"$mine"}}`,
	`{"msgtype":"m.image","body":"photo.png","url":"mxc://ex.org/a","info":{"mimetype":"image/png","w":2,"h":2,"size":70}}`,
	`{"msgtype":"m.image","body":"a caption","filename":"photo.jpg","url":"mxc://ex.org/a","info":{"mimetype":"image/jpeg"}}`,
	`{"msgtype":"m.video","body":"v.mp4","url":"mxc://ex.org/v","info":{"mimetype":"video/mp4","duration":9223372036854775807,"w":-1,"h":99999999999}}`,
	`{"msgtype":"m.audio","body":"voice.ogg","url":"mxc://ex.org/o","info":{"mimetype":"audio/ogg","duration":1500},"org.matrix.msc1767.audio":{"duration":1500,"waveform":[0,512,1024,-5,99999]},"org.matrix.msc3245.voice":{}}`,
	`{"msgtype":"m.file","body":"../../etc/passwd","filename":"..","url":"mxc://ex.org/f","info":{"size":-1}}`,
	`{"msgtype":"m.file","body":"f","url":"mxc://ex.org/f","file":{"url":"mxc://ex.org/e","key":{},"iv":"","hashes":{}}}`,
	`{"body":"sticker","url":"mxc://ex.org/s","info":{"mimetype":"image/webp","w":512,"h":512}}`,
	`{"msgtype":"m.location","body":"Berlin","geo_uri":"geo:52.5,13.4;u=20"}`,
	`{"msgtype":"m.location","body":"geo:1,2","geo_uri":"geo:NaN,Inf"}`,
	`{"msgtype":"m.server_notice","body":"x"}`,
	`{"msgtype":"m.text","body":"\xff\xfe invalid"}`,
	`{"m.relates_to":{"rel_type":"m.annotation","event_id":"$orig","key":"👍"}}`,
	`{"m.relates_to":{"rel_type":"m.annotation","event_id":"$orig","key":"mxc://ex.org/emoji"}}`,
	`{"m.relates_to":{"rel_type":"m.annotation","event_id":"$orig","key":""}}`,
	`{}`, `null`, `[]`, `{"msgtype":5}`,
}

// fuzzPNG is a small PNG, so that photos reach the decoder.
func fuzzPNG() []byte {
	var buf bytes.Buffer
	_ = png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 2, 2)))
	return buf.Bytes()
}

// FuzzOutgoingContent hands any event content a Matrix user or their
// homeserver could send, parsed as the core parses it and prepared as a
// portal prepares it, to the login's Send, Edit and React: nothing may
// panic, what cannot be sent is refused with a network.UserError (which
// the core shows the user), and what is sent carries valid UTF-8 text.
func FuzzOutgoingContent(f *testing.F) {
	for i, seed := range fuzzContentSeeds {
		f.Add(seed, uint8(i))
	}
	env, _ := newEnvLogged(f)
	mine, err := env.cl.Send(env.ctx, &network.OutgoingMessage{OutgoingMeta: outMeta(dmPortal(bobPN)), Content: text("mine")})
	if err != nil {
		f.Fatal(err)
	}
	if !env.dispatch(textEvent("ORIG", types.MessageSource{Chat: bobPN, Sender: bobPN}, "original")) {
		f.Fatal("incoming ORIG not acknowledged")
	}
	pic := fuzzPNG()
	f.Fuzz(func(t *testing.T, raw string, flags uint8) {
		env.wa.forget()
		env.host.take()
		evtType := event.EventMessage
		if flags&1 != 0 {
			evtType = event.EventSticker
		}
		meta := outMeta(dmPortal(bobPN))
		if flags&2 != 0 {
			meta = network.OutgoingMeta{Portal: groupPortal(group), Relay: &network.RelaySender{DisplayName: raw}}
		}
		var reaction event.Content
		if json.Unmarshal([]byte(raw), &reaction) == nil && reaction.ParseRaw(event.EventReaction) == nil {
			if r := reaction.AsReaction(); r.RelatesTo.EventID != "" {
				_, err := env.cl.React(env.ctx, &network.OutgoingReaction{
					OutgoingMeta: outMeta(dmPortal(bobPN)), Target: network.MessageRef{ID: "ORIG"},
					TargetInfo: network.TargetInfo{Sender: network.UserID(bobPN.User)}, Key: r.RelatesTo.Key,
				})
				checkOutgoing(t, env, "reaction", err)
			}
		}
		var c event.Content
		if json.Unmarshal([]byte(raw), &c) != nil || c.ParseRaw(evtType) != nil {
			return // the core drops what it cannot parse
		}
		content := c.AsMessage()
		if content.Body == "" && content.URL == "" {
			return // the core refuses it before any network sees it
		}
		if content.RelatesTo.GetReplaceID() != "" {
			newContent := content.NewContent
			if newContent == nil {
				newContent = &event.MessageEventContent{MsgType: content.MsgType, Body: strings.TrimPrefix(content.Body, "* ")}
			}
			prepareLikeAPortal(newContent)
			err := env.cl.Edit(env.ctx, &network.OutgoingEdit{
				OutgoingMeta: meta, Target: network.MessageRef{ID: mine.ID},
				TargetInfo: network.TargetInfo{Sender: network.UserID(ownPN.User), FromMe: true, Timestamp: time.Now()},
				Content:    newContent,
			})
			checkOutgoing(t, env, "edit", err)
			return
		}
		if evtType == event.EventSticker {
			content.MsgType = event.MessageType(event.EventSticker.Type)
		}
		content.RemoveReplyFallback()
		prepareLikeAPortal(content)
		out := &network.OutgoingMessage{OutgoingMeta: meta, Content: content}
		if content.RelatesTo.GetReplyTo() != "" {
			out.ReplyTo = &network.ReplyTarget{MessageRef: network.MessageRef{ID: "ORIG"}, Sender: network.UserID(bobPN.User), Text: raw}
		}
		if content.MsgType.IsMedia() && content.URL != "" {
			data := []byte(raw)
			if flags&4 != 0 {
				data = pic
			}
			out.Media = func(context.Context) (*network.Media, error) {
				if flags&8 != 0 {
					return nil, errors.New("homeserver: 404")
				}
				m := &network.Media{Data: io.NopCloser(bytes.NewReader(data)), Size: int64(len(data)), FileName: content.GetFileName()}
				if content.Info != nil {
					m.MimeType = content.Info.MimeType
				}
				return m, nil
			}
		}
		_, err := env.cl.Send(env.ctx, out)
		checkOutgoing(t, env, "message", err)
	})
}

// prepareLikeAPortal drops formatting the core's sanitizer refuses
// (portals/sanitize.go): lists mautrix would number past a million.
func prepareLikeAPortal(content *event.MessageEventContent) {
	if content.FormattedBody != "" && matrixhtml.ListStartBeyond(content.FormattedBody, 1_000_000) {
		content.Format, content.FormattedBody = "", ""
	}
}

// checkOutgoing: a refusal is a UserError; a send put valid UTF-8 text
// on WhatsApp.
func checkOutgoing(t *testing.T, env *testEnv, what string, err error) {
	t.Helper()
	if err != nil {
		if ue := (*network.UserError)(nil); !errors.As(err, &ue) {
			t.Fatalf("%s refused without a message for the user: %v", what, err)
		}
		return
	}
	env.wa.mu.Lock()
	sent := env.wa.sent
	env.wa.mu.Unlock()
	if len(sent) == 0 {
		t.Fatalf("%s accepted but nothing was sent", what)
	}
	for _, s := range sent {
		checkText(t, what, s.Msg)
	}
}

func checkText(t *testing.T, what string, msg *waE2E.Message) {
	t.Helper()
	for _, s := range []string{
		msg.GetConversation(), msg.GetExtendedTextMessage().GetText(), msg.GetImageMessage().GetCaption(),
		msg.GetVideoMessage().GetCaption(), msg.GetDocumentMessage().GetCaption(), msg.GetDocumentMessage().GetFileName(),
		msg.GetDocumentWithCaptionMessage().GetMessage().GetDocumentMessage().GetCaption(),
		msg.GetLocationMessage().GetComment(),
	} {
		if !utf8.ValidString(s) {
			t.Fatalf("%s sent invalid UTF-8 %q", what, s)
		}
	}
	if edited := msg.GetProtocolMessage().GetEditedMessage(); edited != nil {
		checkText(t, what, edited)
	}
}
