package waconv

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"testing"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

type upload struct {
	data      []byte
	mediaType whatsmeow.MediaType
}

var testUpload = whatsmeow.UploadResponse{
	URL: "https://mmg.whatsapp.net/o1/v/t62/up", DirectPath: "/o1/v/t62/up",
	MediaKey: []byte("key"), FileEncSHA256: []byte("enc"), FileSHA256: []byte("sha"), FileLength: 1234,
}

func outDeps(uploads *[]upload) OutDeps {
	return OutDeps{
		Upload: func(_ context.Context, r io.Reader, mediaType whatsmeow.MediaType) (whatsmeow.UploadResponse, error) {
			data, err := io.ReadAll(r)
			if err != nil {
				return whatsmeow.UploadResponse{}, err
			}
			*uploads = append(*uploads, upload{data, mediaType})
			return testUpload, nil
		},
		Mention: func(mxid id.UserID) (types.JID, bool) {
			switch mxid {
			case aliceMX:
				return aliceJID, true
			case bobMX:
				return bobLID, true
			}
			return types.JID{}, false
		},
	}
}

func testImage(t testing.TB, format string, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{R: uint8(x), G: uint8(y), B: 128, A: 255})
		}
	}
	var buf bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&buf, img)
	case "gif":
		err = gif.Encode(&buf, img, nil)
	default:
		err = jpeg.Encode(&buf, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func fileMedia(data []byte, mime, name string) *network.Media {
	return &network.Media{Data: io.NopCloser(bytes.NewReader(data)), MimeType: mime, FileName: name, Size: int64(len(data))}
}

// uploaded fills the fields the fake upload returns into a media protobuf.
func uploaded[T proto.Message](m T) T {
	r := m.ProtoReflect()
	fields := r.Descriptor().Fields()
	r.Set(fields.ByName("URL"), protoreflect.ValueOfString(testUpload.URL))
	r.Set(fields.ByName("directPath"), protoreflect.ValueOfString(testUpload.DirectPath))
	r.Set(fields.ByName("mediaKey"), protoreflect.ValueOfBytes(testUpload.MediaKey))
	r.Set(fields.ByName("fileEncSHA256"), protoreflect.ValueOfBytes(testUpload.FileEncSHA256))
	r.Set(fields.ByName("fileSHA256"), protoreflect.ValueOfBytes(testUpload.FileSHA256))
	r.Set(fields.ByName("fileLength"), protoreflect.ValueOfUint64(testUpload.FileLength))
	return m
}

func TestFromMatrix(t *testing.T) {
	jpegData := testImage(t, "jpeg", 40, 30)
	gifData := testImage(t, "gif", 4, 4)
	pill := `<a href="https://matrix.to/#/@whatsapp_4915112345678:example.org">Alice</a>`
	reply := &network.ReplyTarget{MessageRef: network.MessageRef{ID: "3EB0Q"}, Sender: network.UserID(bobLID.String()), Text: "question?"}
	replyCI := func() *waE2E.ContextInfo {
		return &waE2E.ContextInfo{
			StanzaID: proto.String("3EB0Q"), Participant: proto.String(bobLID.String()),
			QuotedMessage: &waE2E.Message{Conversation: proto.String("question?")},
		}
	}
	tests := []struct {
		name    string
		content *event.MessageEventContent
		media   *network.Media
		reply   *network.ReplyTarget
		want    *waE2E.Message
		uploads []whatsmeow.MediaType
		// thumb: an image message must carry a JPEG preview.
		thumb bool
	}{
		{
			name:    "plain text",
			content: &event.MessageEventContent{MsgType: event.MsgText, Body: "hello *world*"},
			want:    &waE2E.Message{Conversation: proto.String("hello *world*")},
		},
		{
			name:    "notice",
			content: &event.MessageEventContent{MsgType: event.MsgNotice, Body: "beep"},
			want:    &waE2E.Message{Conversation: proto.String("beep")},
		},
		{
			name: "html with pill",
			content: &event.MessageEventContent{
				MsgType: event.MsgText, Body: "Alice: bold and code", Format: event.FormatHTML,
				FormattedBody: pill + ": <b>bold</b> and <code>code</code>",
				Mentions:      &event.Mentions{UserIDs: []id.UserID{aliceMX}},
			},
			want: &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{
				Text:        proto.String("@4915112345678: *bold* and `code`"),
				ContextInfo: &waE2E.ContextInfo{MentionedJID: []string{aliceJID.String()}},
			}},
		},
		{
			name: "emote",
			content: &event.MessageEventContent{MsgType: event.MsgEmote, Body: "waves",
				Format: event.FormatHTML, FormattedBody: "<i>waves</i>"},
			want: &waE2E.Message{Conversation: proto.String("/me _waves_")},
		},
		{
			name:    "reply",
			content: &event.MessageEventContent{MsgType: event.MsgText, Body: "answer"},
			reply:   reply,
			want: &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{
				Text: proto.String("answer"), ContextInfo: replyCI(),
			}},
		},
		{
			name: "jpeg with caption and reply",
			content: &event.MessageEventContent{
				MsgType: event.MsgImage, Body: "a *nice* view", FileName: "view.jpg", URL: "mxc://example.org/img",
				Info: &event.FileInfo{MimeType: "image/jpeg", Width: 40, Height: 30, Size: len(jpegData)},
			},
			media:   fileMedia(jpegData, "image/jpeg", "view.jpg"),
			reply:   reply,
			uploads: []whatsmeow.MediaType{whatsmeow.MediaImage},
			thumb:   true,
			want: &waE2E.Message{ImageMessage: uploaded(&waE2E.ImageMessage{
				Mimetype: proto.String("image/jpeg"), Caption: proto.String("a *nice* view"),
				Width: proto.Uint32(40), Height: proto.Uint32(30), ContextInfo: replyCI(),
			})},
		},
		{
			name:    "png becomes jpeg",
			content: &event.MessageEventContent{MsgType: event.MsgImage, Body: "shot.png", Info: &event.FileInfo{MimeType: "image/png"}},
			media:   fileMedia(testImage(t, "png", 100, 50), "image/png", "shot.png"),
			uploads: []whatsmeow.MediaType{whatsmeow.MediaImage},
			thumb:   true,
			want: &waE2E.Message{ImageMessage: uploaded(&waE2E.ImageMessage{
				Mimetype: proto.String("image/jpeg"), Width: proto.Uint32(100), Height: proto.Uint32(50),
			})},
		},
		{
			name:    "gif goes as a document",
			content: &event.MessageEventContent{MsgType: event.MsgImage, Body: "cat.gif"},
			media:   fileMedia(gifData, "image/gif", "cat.gif"),
			uploads: []whatsmeow.MediaType{whatsmeow.MediaDocument},
			want: &waE2E.Message{DocumentMessage: uploaded(&waE2E.DocumentMessage{
				Mimetype: proto.String("image/gif"), FileName: proto.String("cat.gif"), Title: proto.String("cat.gif"),
			})},
		},
		{
			name: "video",
			content: &event.MessageEventContent{MsgType: event.MsgVideo, Body: "clip.mp4",
				Info: &event.FileInfo{MimeType: "video/mp4", Width: 640, Height: 360, Duration: 12500, MauGIF: true}},
			media:   fileMedia([]byte("mp4"), "video/mp4", "clip.mp4"),
			uploads: []whatsmeow.MediaType{whatsmeow.MediaVideo},
			want: &waE2E.Message{VideoMessage: uploaded(&waE2E.VideoMessage{
				Mimetype: proto.String("video/mp4"), Seconds: proto.Uint32(13), GifPlayback: proto.Bool(true),
				Width: proto.Uint32(640), Height: proto.Uint32(360),
			})},
		},
		{
			name:    "webm video goes as a document",
			content: &event.MessageEventContent{MsgType: event.MsgVideo, Body: "clip.webm"},
			media:   fileMedia([]byte("webm"), "video/webm", ""),
			uploads: []whatsmeow.MediaType{whatsmeow.MediaDocument},
			want: &waE2E.Message{DocumentMessage: uploaded(&waE2E.DocumentMessage{
				Mimetype: proto.String("video/webm"), FileName: proto.String("clip.webm"), Title: proto.String("clip.webm"),
			})},
		},
		{
			name: "voice message",
			content: &event.MessageEventContent{MsgType: event.MsgAudio, Body: "Voice message", FileName: "Voice message.ogg",
				Info:         &event.FileInfo{MimeType: "audio/ogg", Duration: 2300},
				MSC1767Audio: &event.MSC1767Audio{Duration: 2300, Waveform: []int{0, 1024}},
				MSC3245Voice: &event.MSC3245Voice{}},
			media:   fileMedia([]byte("ogg"), "audio/ogg", "Voice message.ogg"),
			uploads: []whatsmeow.MediaType{whatsmeow.MediaAudio},
			want: &waE2E.Message{AudioMessage: uploaded(&waE2E.AudioMessage{
				Mimetype: proto.String("audio/ogg; codecs=opus"), Seconds: proto.Uint32(3), PTT: proto.Bool(true),
				Waveform: append(bytes.Repeat([]byte{0}, 32), bytes.Repeat([]byte{100}, 32)...),
			})},
		},
		{
			name:    "mp3 audio",
			content: &event.MessageEventContent{MsgType: event.MsgAudio, Body: "song.mp3", Info: &event.FileInfo{MimeType: "audio/mpeg"}},
			media:   fileMedia([]byte("mp3"), "", "song.mp3"),
			uploads: []whatsmeow.MediaType{whatsmeow.MediaAudio},
			want: &waE2E.Message{AudioMessage: uploaded(&waE2E.AudioMessage{
				Mimetype: proto.String("audio/mpeg"), PTT: proto.Bool(false),
			})},
		},
		{
			name:    "audio with caption goes as a captioned document",
			content: &event.MessageEventContent{MsgType: event.MsgAudio, Body: "listen", FileName: "song.mp3"},
			media:   fileMedia([]byte("mp3"), "audio/mpeg", "song.mp3"),
			uploads: []whatsmeow.MediaType{whatsmeow.MediaDocument},
			want: &waE2E.Message{DocumentWithCaptionMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{
				DocumentMessage: uploaded(&waE2E.DocumentMessage{
					Mimetype: proto.String("audio/mpeg"), FileName: proto.String("song.mp3"), Title: proto.String("song.mp3"),
					Caption: proto.String("listen"),
				}),
			}}},
		},
		{
			name: "file with html caption mentioning",
			content: &event.MessageEventContent{MsgType: event.MsgFile, Body: "for Alice", FileName: "../report.pdf",
				Format: event.FormatHTML, FormattedBody: "for " + pill},
			media:   fileMedia([]byte("%PDF"), "application/pdf", "report.pdf"),
			uploads: []whatsmeow.MediaType{whatsmeow.MediaDocument},
			want: &waE2E.Message{DocumentWithCaptionMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{
				DocumentMessage: uploaded(&waE2E.DocumentMessage{
					Mimetype: proto.String("application/pdf"), FileName: proto.String(".._report.pdf"), Title: proto.String(".._report.pdf"),
					Caption:     proto.String("for @4915112345678"),
					ContextInfo: &waE2E.ContextInfo{MentionedJID: []string{aliceJID.String()}},
				}),
			}}},
		},
		{
			name:    "file without caption",
			content: &event.MessageEventContent{MsgType: event.MsgFile, Body: "notes.txt"},
			media:   fileMedia([]byte("hello"), "", ""),
			uploads: []whatsmeow.MediaType{whatsmeow.MediaDocument},
			want: &waE2E.Message{DocumentMessage: uploaded(&waE2E.DocumentMessage{
				Mimetype: proto.String("text/plain; charset=utf-8"), FileName: proto.String("notes.txt"), Title: proto.String("notes.txt"),
			})},
		},
		{
			name: "sticker",
			content: &event.MessageEventContent{MsgType: "m.sticker", Body: "cat",
				Info: &event.FileInfo{MimeType: "image/webp", Width: 512, Height: 512}},
			media:   fileMedia([]byte("RIFF....WEBP"), "image/webp", "sticker.webp"),
			uploads: []whatsmeow.MediaType{whatsmeow.MediaImage},
			want: &waE2E.Message{StickerMessage: uploaded(&waE2E.StickerMessage{
				Mimetype: proto.String("image/webp"), Width: proto.Uint32(512), Height: proto.Uint32(512),
			})},
		},
		{
			name:    "location",
			content: &event.MessageEventContent{MsgType: event.MsgLocation, Body: "Meet here", GeoURI: "geo:52.52,13.405;u=35"},
			reply:   reply,
			want: &waE2E.Message{LocationMessage: &waE2E.LocationMessage{
				DegreesLatitude: proto.Float64(52.52), DegreesLongitude: proto.Float64(13.405),
				Comment: proto.String("Meet here"), ContextInfo: replyCI(),
			}},
		},
		{
			name:    "location with coordinates as body",
			content: &event.MessageEventContent{MsgType: event.MsgLocation, Body: "Location geo:1,2 at 12:00", GeoURI: "geo:1,2,30"},
			want: &waE2E.Message{LocationMessage: &waE2E.LocationMessage{
				DegreesLatitude: proto.Float64(1), DegreesLongitude: proto.Float64(2),
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var uploads []upload
			got, err := FromMatrix(context.Background(), tt.content, tt.media, tt.reply, outDeps(&uploads))
			if err != nil {
				t.Fatal(err)
			}
			if len(uploads) != len(tt.uploads) {
				t.Fatalf("uploads %d, want %d", len(uploads), len(tt.uploads))
			}
			for i, up := range uploads {
				if up.mediaType != tt.uploads[i] {
					t.Errorf("upload type %q, want %q", up.mediaType, tt.uploads[i])
				}
			}
			if img := got.GetImageMessage(); img != nil {
				if _, format, err := image.Decode(bytes.NewReader(uploads[0].data)); err != nil || format != "jpeg" {
					t.Errorf("uploaded image is %q, %v", format, err)
				}
				thumb, err := jpeg.Decode(bytes.NewReader(img.JPEGThumbnail))
				if tt.thumb && (err != nil || thumb.Bounds().Dx() > 72 || thumb.Bounds().Dy() > 72) {
					t.Errorf("thumbnail: %v", err)
				}
				img.JPEGThumbnail = nil
			}
			if !proto.Equal(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestFromMatrixReplySender(t *testing.T) {
	deps := OutDeps{ReplySender: func(user network.UserID) (types.JID, bool) {
		return types.JID{User: "4915112345678", Server: types.DefaultUserServer, Device: 7}, user == "alice"
	}}
	got, err := FromMatrix(context.Background(), &event.MessageEventContent{MsgType: event.MsgText, Body: "ok"}, nil,
		&network.ReplyTarget{MessageRef: network.MessageRef{ID: "X"}, Sender: "alice"}, deps)
	if err != nil {
		t.Fatal(err)
	}
	if p := got.GetExtendedTextMessage().GetContextInfo().GetParticipant(); p != "4915112345678@s.whatsapp.net" {
		t.Errorf("participant %q", p)
	}
}

func TestFromMatrixErrors(t *testing.T) {
	failing := OutDeps{Upload: func(context.Context, io.Reader, whatsmeow.MediaType) (whatsmeow.UploadResponse, error) {
		return whatsmeow.UploadResponse{}, errors.New("boom")
	}}
	for _, tt := range []struct {
		name     string
		content  *event.MessageEventContent
		media    *network.Media
		deps     OutDeps
		userText string
	}{
		{"nil content", nil, nil, OutDeps{}, "the message has no content"},
		{"empty text", &event.MessageEventContent{MsgType: event.MsgText, Body: "  "}, nil, OutDeps{}, "empty messages cannot be sent to WhatsApp"},
		{"unsupported type", &event.MessageEventContent{MsgType: "m.server_notice", Body: "x"}, nil, OutDeps{}, network.Literal("m.server_notice") + " messages are not supported on WhatsApp"},
		{"media missing", &event.MessageEventContent{MsgType: event.MsgImage, Body: "a.jpg"}, nil, OutDeps{}, "the file could not be fetched from Matrix"},
		{"bad geo uri", &event.MessageEventContent{MsgType: event.MsgLocation, Body: "x", GeoURI: "geo:91,0"}, nil, OutDeps{}, "the location could not be read"},
		{"not a geo uri", &event.MessageEventContent{MsgType: event.MsgLocation, Body: "x", GeoURI: "https://maps"}, nil, OutDeps{}, "the location could not be read"},
		{"upload fails", &event.MessageEventContent{MsgType: event.MsgFile, Body: "a.txt"}, fileMedia([]byte("a"), "text/plain", "a.txt"), failing, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromMatrix(context.Background(), tt.content, tt.media, nil, tt.deps)
			if err == nil {
				t.Fatal("no error")
			}
			if got := network.UserMessage(err, ""); got != tt.userText {
				t.Errorf("user message %q, want %q (%v)", got, tt.userText, err)
			}
		})
	}
}
