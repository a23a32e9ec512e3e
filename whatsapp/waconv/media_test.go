package waconv

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"strings"
	"testing"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
)

func TestToMatrixMediaKinds(t *testing.T) {
	img := &waE2E.ImageMessage{
		URL: proto.String("https://mmg.whatsapp.net/v/t62/abc"), DirectPath: proto.String("/v/t62/abc"),
		Mimetype: proto.String("image/jpeg"), FileLength: proto.Uint64(48213), Width: proto.Uint32(1280), Height: proto.Uint32(720),
		MediaKey: []byte{1, 2, 3}, FileSHA256: []byte{4}, FileEncSHA256: []byte{5},
		Caption:     proto.String("Look at *this*"),
		ContextInfo: &waE2E.ContextInfo{StanzaID: proto.String("3EB0QUOTED"), Participant: proto.String(bobLID.String())},
	}
	runToMatrix(t, []toMatrixCase{
		{
			name: "image with caption is one part",
			msg:  &waE2E.Message{ImageMessage: img},
			want: converted{
				ReplyTo: &network.MessageRef{ID: "3EB0QUOTED"},
				Parts: []part{{HasMedia: true, Content: &event.MessageEventContent{
					MsgType: event.MsgImage, Body: "Look at *this*", FileName: "image.jpg",
					Format: event.FormatHTML, FormattedBody: "Look at <strong>this</strong>",
					Info:     &event.FileInfo{MimeType: "image/jpeg", Size: 48213, Width: 1280, Height: 720},
					Mentions: noMentions,
				}}},
			},
		},
		{
			name: "view-once image without caption",
			msg: &waE2E.Message{ViewOnceMessageV2: &waE2E.FutureProofMessage{Message: &waE2E.Message{ImageMessage: &waE2E.ImageMessage{
				Mimetype: proto.String("image/png"), FileLength: proto.Uint64(10), ViewOnce: proto.Bool(true),
			}}}},
			want: converted{Parts: []part{{HasMedia: true, Content: &event.MessageEventContent{
				MsgType: event.MsgImage, Body: "image.png", FileName: "image.png",
				Info: &event.FileInfo{MimeType: "image/png", Size: 10}, Mentions: noMentions,
			}}}},
		},
		{
			name: "gif video",
			msg: &waE2E.Message{VideoMessage: &waE2E.VideoMessage{
				Mimetype: proto.String("video/mp4"), FileLength: proto.Uint64(9000), Seconds: proto.Uint32(3),
				Width: proto.Uint32(320), Height: proto.Uint32(240), GifPlayback: proto.Bool(true),
			}},
			want: converted{Parts: []part{{HasMedia: true, Content: &event.MessageEventContent{
				MsgType: event.MsgVideo, Body: "video.mp4", FileName: "video.mp4",
				Info:     &event.FileInfo{MimeType: "video/mp4", Size: 9000, Width: 320, Height: 240, Duration: 3000, MauGIF: true},
				Mentions: noMentions,
			}}}},
		},
		{
			name: "video note",
			msg: &waE2E.Message{PtvMessage: &waE2E.VideoMessage{
				Mimetype: proto.String("video/mp4"), FileLength: proto.Uint64(100), Seconds: proto.Uint32(7),
			}},
			want: converted{Parts: []part{{HasMedia: true, Content: &event.MessageEventContent{
				MsgType: event.MsgVideo, Body: "video.mp4", FileName: "video.mp4",
				Info: &event.FileInfo{MimeType: "video/mp4", Size: 100, Duration: 7000}, Mentions: noMentions,
			}}}},
		},
		{
			name: "voice note",
			msg: &waE2E.Message{AudioMessage: &waE2E.AudioMessage{
				Mimetype: proto.String("audio/ogg; codecs=opus"), FileLength: proto.Uint64(5120), Seconds: proto.Uint32(4),
				PTT: proto.Bool(true), Waveform: []byte{0, 50, 100, 200},
			}},
			want: converted{Parts: []part{{HasMedia: true, Content: &event.MessageEventContent{
				MsgType: event.MsgAudio, Body: "Voice message.ogg", FileName: "Voice message.ogg",
				Info:         &event.FileInfo{MimeType: "audio/ogg; codecs=opus", Size: 5120, Duration: 4000},
				MSC1767Audio: &event.MSC1767Audio{Duration: 4000, Waveform: []int{0, 512, 1024, 1024}},
				MSC3245Voice: &event.MSC3245Voice{},
				Mentions:     noMentions,
			}}}},
		},
		{
			name: "music audio",
			msg:  &waE2E.Message{AudioMessage: &waE2E.AudioMessage{Mimetype: proto.String("audio/mpeg"), FileLength: proto.Uint64(1), Seconds: proto.Uint32(200)}},
			want: converted{Parts: []part{{HasMedia: true, Content: &event.MessageEventContent{
				MsgType: event.MsgAudio, Body: "audio.mp3", FileName: "audio.mp3",
				Info:         &event.FileInfo{MimeType: "audio/mpeg", Size: 1, Duration: 200000},
				MSC1767Audio: &event.MSC1767Audio{Duration: 200000},
				Mentions:     noMentions,
			}}}},
		},
		{
			name: "document with caption wrapper",
			msg: &waE2E.Message{DocumentWithCaptionMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{
				DocumentMessage: &waE2E.DocumentMessage{
					Mimetype: proto.String("application/pdf"), FileName: proto.String("../Report Q1.pdf"), Title: proto.String("Report"),
					FileLength: proto.Uint64(70000), PageCount: proto.Uint32(3), Caption: proto.String("the report"),
				},
			}}},
			want: converted{Parts: []part{{HasMedia: true, Content: &event.MessageEventContent{
				MsgType: event.MsgFile, Body: "the report", FileName: ".._Report Q1.pdf",
				Info: &event.FileInfo{MimeType: "application/pdf", Size: 70000}, Mentions: noMentions,
			}}}},
		},
		{
			name: "document without name",
			msg:  &waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{Mimetype: proto.String("text/plain"), FileLength: proto.Uint64(2)}},
			want: converted{Parts: []part{{HasMedia: true, Content: &event.MessageEventContent{
				MsgType: event.MsgFile, Body: "document.txt", FileName: "document.txt",
				Info: &event.FileInfo{MimeType: "text/plain", Size: 2}, Mentions: noMentions,
			}}}},
		},
		{
			name: "sticker",
			msg: &waE2E.Message{StickerMessage: &waE2E.StickerMessage{
				Mimetype: proto.String("image/webp"), FileLength: proto.Uint64(20000), Width: proto.Uint32(512), Height: proto.Uint32(512),
				IsAnimated: proto.Bool(true), ContextInfo: &waE2E.ContextInfo{StanzaID: proto.String("ABC")},
			}},
			want: converted{ReplyTo: &network.MessageRef{ID: "ABC"}, Parts: []part{{HasMedia: true, Content: &event.MessageEventContent{
				MsgType: "m.sticker", Body: "Sticker",
				Info: &event.FileInfo{MimeType: "image/webp", Size: 20000, Width: 512, Height: 512}, Mentions: noMentions,
			}}}},
		},
		{
			name: "lottie sticker",
			msg: &waE2E.Message{LottieStickerMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{StickerMessage: &waE2E.StickerMessage{
				Mimetype: proto.String("application/was"), IsLottie: proto.Bool(true),
			}}}},
			want: converted{Parts: []part{{Content: &event.MessageEventContent{
				MsgType: event.MsgNotice, Body: "Unsupported WhatsApp message type animated sticker; open WhatsApp to see it", Mentions: noMentions,
			}}}},
		},
		{
			name: "location",
			msg: &waE2E.Message{LocationMessage: &waE2E.LocationMessage{
				DegreesLatitude: proto.Float64(52.520008), DegreesLongitude: proto.Float64(13.404954),
				Name: proto.String("Alexanderplatz"), Address: proto.String("10178 Berlin"), AccuracyInMeters: proto.Uint32(20),
			}},
			want: converted{Parts: []part{{
				Content: &event.MessageEventContent{
					MsgType: event.MsgLocation, Body: "Location: Alexanderplatz, 10178 Berlin\ngeo:52.520008,13.404954;u=20",
					GeoURI: "geo:52.520008,13.404954;u=20", Mentions: noMentions,
				},
				Extra: map[string]any{
					"org.matrix.msc3488.location": map[string]any{"uri": "geo:52.520008,13.404954;u=20", "description": "Alexanderplatz, 10178 Berlin"},
					"org.matrix.msc3488.asset":    map[string]any{"type": "m.pin"},
				},
			}}},
		},
		{
			name: "live location",
			msg: &waE2E.Message{LiveLocationMessage: &waE2E.LiveLocationMessage{
				DegreesLatitude: proto.Float64(-33.8688), DegreesLongitude: proto.Float64(151.2093), Caption: proto.String("on my way"),
			}},
			want: converted{Parts: []part{
				{
					Content: &event.MessageEventContent{
						MsgType: event.MsgLocation, Body: "Live location: on my way\ngeo:-33.8688,151.2093",
						GeoURI: "geo:-33.8688,151.2093", Mentions: noMentions,
					},
					Extra: map[string]any{
						"org.matrix.msc3488.location": map[string]any{"uri": "geo:-33.8688,151.2093", "description": "on my way"},
						"org.matrix.msc3488.asset":    map[string]any{"type": "m.self"},
					},
				},
				{ID: "live", Content: &event.MessageEventContent{
					MsgType: event.MsgNotice, Body: "Started sharing a live location; open WhatsApp to follow it", Mentions: noMentions,
				}},
			}},
		},
		{
			name: "contact",
			msg: &waE2E.Message{ContactMessage: &waE2E.ContactMessage{
				DisplayName: proto.String("Carol"),
				Vcard:       proto.String(carolVCard),
			}},
			want: converted{Parts: []part{{HasMedia: true, Content: &event.MessageEventContent{
				MsgType: event.MsgFile, Body: "Contact: Carol (+49 151 1111111, +49 30 2222222)", FileName: "Carol.vcf",
				Info: &event.FileInfo{MimeType: "text/vcard", Size: len(carolVCard)}, Mentions: noMentions,
			}}}},
		},
		{
			name: "contacts array",
			msg: &waE2E.Message{ContactsArrayMessage: &waE2E.ContactsArrayMessage{
				DisplayName: proto.String("2 contacts"),
				Contacts: []*waE2E.ContactMessage{
					{DisplayName: proto.String("Carol"), Vcard: proto.String(carolVCard)},
					{DisplayName: proto.String("Dave")},
				},
			}},
			want: converted{Parts: []part{
				{HasMedia: true, Content: &event.MessageEventContent{
					MsgType: event.MsgFile, Body: "Contact: Carol (+49 151 1111111, +49 30 2222222)", FileName: "Carol.vcf",
					Info: &event.FileInfo{MimeType: "text/vcard", Size: len(carolVCard)}, Mentions: noMentions,
				}},
				{ID: "1", Content: &event.MessageEventContent{MsgType: event.MsgText, Body: "Contact: Dave", Mentions: noMentions}},
			}},
		},
		{
			name: "poll",
			msg: &waE2E.Message{PollCreationMessageV3: &waE2E.PollCreationMessage{
				Name: proto.String("Lunch <today>?"),
				Options: []*waE2E.PollCreationMessage_Option{
					{OptionName: proto.String("Pizza")}, {OptionName: proto.String("Sushi & rice")},
				},
				SelectableOptionsCount: proto.Uint32(1),
			}},
			want: converted{Parts: []part{{Content: &event.MessageEventContent{
				MsgType: event.MsgNotice,
				Body:    "Poll: Lunch <today>?\n1. Pizza\n2. Sushi & rice\nOpen WhatsApp to vote.",
				Format:  event.FormatHTML,
				FormattedBody: "<p><strong>Poll:</strong> Lunch &lt;today&gt;?</p><ol><li>Pizza</li><li>Sushi &amp; rice</li></ol>" +
					"<p>Open WhatsApp to vote.</p>",
				Mentions: noMentions,
			}}}},
		},
	})
}

const carolVCard = "BEGIN:VCARD\nVERSION:3.0\nN:;Carol;;;\nFN:Carol\n" +
	"TEL;type=CELL;type=VOICE;waid=491511111111:+49 151 1111111\nitem1.TEL:+49 30 2222222\nTEL;type=HOME:+49 30 2222222\nEND:VCARD"

func TestToMatrixMedia(t *testing.T) {
	var downloaded []whatsmeow.DownloadableMessage
	img := &waE2E.ImageMessage{Mimetype: proto.String("image/jpeg"), DirectPath: proto.String("/v/x"), MediaKey: []byte{9}}
	got, err := ToMatrix(context.Background(), &waE2E.Message{ImageMessage: img}, testInfo(), testDeps(&downloaded))
	if err != nil {
		t.Fatal(err)
	}
	if len(downloaded) != 0 {
		t.Fatal("downloaded before the core asked")
	}
	media, err := got.Parts[0].Media(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(media.Data)
	if string(data) != "file-bytes" || media.MimeType != "image/jpeg" || media.FileName != "image.jpg" || media.Size != 10 {
		t.Errorf("media: %+v %q", media, data)
	}
	if len(downloaded) != 1 || downloaded[0] != whatsmeow.DownloadableMessage(img) {
		t.Errorf("downloaded %v", downloaded)
	}
	named, ok := media.Data.(interface{ Name() string })
	if !ok {
		t.Fatalf("media data %T is not the temporary file", media.Data)
	}
	path := named.Name()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("temporary file before Close: %v", err)
	}
	if err := media.Data.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file %s still there after Close: %v", path, err)
	}

	contact, err := ToMatrix(context.Background(), &waE2E.Message{ContactMessage: &waE2E.ContactMessage{
		DisplayName: proto.String("Carol"), Vcard: proto.String(carolVCard),
	}}, testInfo(), Deps{})
	if err != nil {
		t.Fatal(err)
	}
	media, err = contact.Parts[0].Media(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	data, _ = io.ReadAll(media.Data)
	if string(data) != carolVCard || media.MimeType != "text/vcard" || media.FileName != "Carol.vcf" {
		t.Errorf("vcard media: %+v", media)
	}
}

func TestToMatrixMediaStreamsFromFile(t *testing.T) {
	// A larger download, with no declared MIME type: the content comes
	// back whole from the file and the type is sniffed from its head.
	content := append([]byte("%PDF-1.4\n"), make([]byte, 1<<20)...)
	deps := Deps{DownloadToFile: func(_ context.Context, _ whatsmeow.DownloadableMessage, f *os.File) error {
		_, err := f.Write(content)
		return err
	}}
	got, err := ToMatrix(context.Background(), &waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{
		FileName: proto.String("a.pdf"), FileLength: proto.Uint64(uint64(len(content))),
	}}, nil, deps)
	if err != nil {
		t.Fatal(err)
	}
	media, err := got.Parts[0].Media(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer media.Data.Close()
	data, err := io.ReadAll(media.Data)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != string(content) || media.Size != int64(len(content)) || media.MimeType != "application/pdf" {
		t.Errorf("media: size %d, type %q, %d bytes read", media.Size, media.MimeType, len(data))
	}
}

func TestToMatrixMediaDeclaredTooLarge(t *testing.T) {
	called := false
	deps := Deps{DownloadToFile: func(context.Context, whatsmeow.DownloadableMessage, *os.File) error {
		called = true
		return nil
	}}
	got, err := ToMatrix(context.Background(), &waE2E.Message{VideoMessage: &waE2E.VideoMessage{
		Mimetype: proto.String("video/mp4"), FileLength: proto.Uint64(3 << 30),
	}}, nil, deps)
	if err != nil {
		t.Fatal(err)
	}
	_, err = got.Parts[0].Media(context.Background())
	if err == nil || !strings.Contains(err.Error(), "3.0 GiB") || !strings.Contains(err.Error(), "2.0 GiB") {
		t.Errorf("error %v does not name the sizes", err)
	}
	if called {
		t.Error("downloaded a file declared over the cap")
	}
	// Exactly at the cap is still fetched.
	got, _ = ToMatrix(context.Background(), &waE2E.Message{VideoMessage: &waE2E.VideoMessage{
		FileLength: proto.Uint64(MaxDownloadSize),
	}}, nil, deps)
	media, err := got.Parts[0].Media(context.Background())
	if err != nil || !called {
		t.Fatalf("at the cap: %v, called %v", err, called)
	}
	media.Data.Close()
}

func TestToMatrixDownloadErrors(t *testing.T) {
	for _, tt := range []struct {
		err      error
		userText string
	}{
		{whatsmeow.ErrMediaDownloadFailedWith404, "the file has expired on WhatsApp's servers; open WhatsApp on your phone to see it"},
		{whatsmeow.ErrMediaDownloadFailedWith410, "the file has expired on WhatsApp's servers; open WhatsApp on your phone to see it"},
		{whatsmeow.ErrNoURLPresent, "WhatsApp sent no download link for the file; open WhatsApp to see it"},
		{errors.New("connection reset"), ""},
	} {
		var path string
		deps := Deps{DownloadToFile: func(_ context.Context, _ whatsmeow.DownloadableMessage, f *os.File) error {
			path = f.Name()
			_, _ = f.Write([]byte("partial"))
			return tt.err
		}}
		got, err := ToMatrix(context.Background(), &waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{}}, nil, deps)
		if err != nil {
			t.Fatal(err)
		}
		_, err = got.Parts[0].Media(context.Background())
		if !errors.Is(err, tt.err) {
			t.Errorf("%v: error %v does not wrap the cause", tt.err, err)
		}
		if msg := network.UserMessage(err, ""); msg != tt.userText {
			t.Errorf("%v: user message %q, want %q", tt.err, msg, tt.userText)
		}
		if _, err := os.Stat(path); path == "" || !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%v: temporary file %q left behind: %v", tt.err, path, err)
		}
	}
	got, _ := ToMatrix(context.Background(), &waE2E.Message{AudioMessage: &waE2E.AudioMessage{}}, nil, Deps{})
	if _, err := got.Parts[0].Media(context.Background()); err == nil || !strings.Contains(err.Error(), "downloader") {
		t.Errorf("missing downloader: %v", err)
	}
}

// sourceReader serves n bytes of b and counts how many were taken.
type sourceReader struct {
	r    io.Reader
	read int64
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.read += int64(n)
	return n, err
}

// TestMatrixFilesStreamToWhatsApp: a file from Matrix reaches the upload
// as a stream (not read whole first), a photo too large to decode goes as
// a document, and files over WhatsApp's limit are refused, before reading
// when their size is declared and after it when not.
func TestMatrixFilesStreamToWhatsApp(t *testing.T) {
	ctx := context.Background()
	video := bytes.Repeat([]byte("mp4 "), 256<<10) // 1 MiB
	src := &sourceReader{r: bytes.NewReader(video)}
	var readBeforeUpload int64
	var uploaded []byte
	deps := OutDeps{Upload: func(_ context.Context, r io.Reader, _ whatsmeow.MediaType) (whatsmeow.UploadResponse, error) {
		readBeforeUpload = src.read
		var err error
		uploaded, err = io.ReadAll(r)
		return testUpload, err
	}}
	content := &event.MessageEventContent{MsgType: event.MsgVideo, Body: "clip.mp4", Info: &event.FileInfo{MimeType: "video/mp4"}}
	msg, err := FromMatrix(ctx, content, &network.Media{Data: io.NopCloser(src), MimeType: "video/mp4", Size: -1}, nil, deps)
	if err != nil || msg.GetVideoMessage() == nil {
		t.Fatalf("video: %v, %v", msg, err)
	}
	if !bytes.Equal(uploaded, video) {
		t.Errorf("uploaded %d bytes, want the %d of the video", len(uploaded), len(video))
	}
	if readBeforeUpload > 8<<10 {
		t.Errorf("%d bytes were read before the upload began; the file should stream", readBeforeUpload)
	}

	bigPhoto := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, maxImageSize)...)
	photo := &event.MessageEventContent{MsgType: event.MsgImage, Body: "huge.png", Info: &event.FileInfo{MimeType: "image/png"}}
	msg, err = FromMatrix(ctx, photo, &network.Media{Data: io.NopCloser(bytes.NewReader(bigPhoto)), MimeType: "image/png", Size: -1}, nil, deps)
	if err != nil || msg.GetDocumentMessage() == nil || len(uploaded) != len(bigPhoto) {
		t.Errorf("a photo over %d bytes became %v (%d bytes uploaded), %v; want the whole file as a document", maxImageSize, msg, len(uploaded), err)
	}

	// A small file whose header claims 20,000 × 20,000 pixels: decoding it
	// would take gigabytes, so it is sent as it is, as a document.
	bomb := pngHeaderOnly(20000, 20000)
	if _, err := prepareImage(bomb, "image/png"); !errors.Is(err, errImageTooLarge) {
		t.Errorf("prepareImage of a 20,000 × 20,000 PNG: %v, want errImageTooLarge", err)
	}
	bombPhoto := &event.MessageEventContent{MsgType: event.MsgImage, Body: "bomb.png", Info: &event.FileInfo{MimeType: "image/png"}}
	msg, err = FromMatrix(ctx, bombPhoto, &network.Media{Data: io.NopCloser(bytes.NewReader(bomb)), MimeType: "image/png", Size: -1}, nil, deps)
	if err != nil || msg.GetDocumentMessage() == nil || !bytes.Equal(uploaded, bomb) {
		t.Errorf("a photo of too many pixels became %v, %v; want the file as a document", msg, err)
	}

	saved := MaxUploadSize
	t.Cleanup(func() { MaxUploadSize = saved })
	MaxUploadSize = 1000
	declared := &sourceReader{r: bytes.NewReader(make([]byte, 2000))}
	_, err = FromMatrix(ctx, content, &network.Media{Data: io.NopCloser(declared), MimeType: "video/mp4", Size: 2000}, nil, deps)
	var userErr *network.UserError
	if !errors.As(err, &userErr) || declared.read != 0 {
		t.Errorf("a file declared too large: %v after reading %d bytes; want a user error before reading", err, declared.read)
	}
	_, err = FromMatrix(ctx, content, &network.Media{Data: io.NopCloser(bytes.NewReader(make([]byte, 2000))), MimeType: "video/mp4", Size: -1}, nil, deps)
	if !errors.As(err, &userErr) {
		t.Errorf("a file found too large while uploading: %v, want a user error", err)
	}
}

// TestToMatrixMediaEditsCarryTheTextOnly: WhatsApp edits only the caption
// of a media message, and the edited message names no file. An edit part
// with Media would make the core download nothing and replace the file
// with an error notice; without it the core keeps the original file, and
// its name where the edit's would only be a guess.
func TestToMatrixMediaEditsCarryTheTextOnly(t *testing.T) {
	edit := func(edited *waE2E.Message) *waE2E.Message {
		return &waE2E.Message{EditedMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
			Type:          waE2E.ProtocolMessage_MESSAGE_EDIT.Enum(),
			Key:           &waCommon.MessageKey{RemoteJID: proto.String(groupJID.String()), ID: proto.String("3EB0IMG")},
			EditedMessage: edited,
		}}}}
	}
	isEdit := func(i *types.MessageInfo) { i.Edit = types.EditAttributeMessageEdit }
	runToMatrix(t, []toMatrixCase{
		{
			name: "image caption edit",
			msg:  edit(&waE2E.Message{ImageMessage: &waE2E.ImageMessage{Caption: proto.String("new *caption*")}}),
			info: isEdit,
			want: converted{Kind: KindEdit, Target: "3EB0IMG", Parts: []part{{Content: &event.MessageEventContent{
				MsgType: event.MsgImage, Body: "new *caption*", Format: event.FormatHTML, FormattedBody: "new <strong>caption</strong>",
				Info: &event.FileInfo{}, Mentions: noMentions,
			}}}},
		},
		{
			name: "document caption edit",
			msg:  edit(&waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{Caption: proto.String("v2"), Mimetype: proto.String("application/pdf")}}),
			info: isEdit,
			want: converted{Kind: KindEdit, Target: "3EB0IMG", Parts: []part{{Content: &event.MessageEventContent{
				MsgType: event.MsgFile, Body: "v2", Info: &event.FileInfo{MimeType: "application/pdf"}, Mentions: noMentions,
			}}}},
		},
		{
			name: "caption removed",
			msg:  edit(&waE2E.Message{ImageMessage: &waE2E.ImageMessage{Mimetype: proto.String("image/jpeg")}}),
			info: isEdit,
			want: converted{Kind: KindEdit, Target: "3EB0IMG", Parts: []part{{Content: &event.MessageEventContent{
				MsgType: event.MsgImage, Body: "image.jpg", FileName: "image.jpg", Info: &event.FileInfo{MimeType: "image/jpeg"}, Mentions: noMentions,
			}}}},
		},
		{
			name: "newsletter image edit",
			msg:  &waE2E.Message{ImageMessage: &waE2E.ImageMessage{Caption: proto.String("fixed"), DirectPath: proto.String("/v/x"), MediaKey: []byte{1}}},
			info: func(i *types.MessageInfo) { i.Edit = types.EditAttributeAdminEdit },
			want: converted{Kind: KindEdit, Target: "3EB0C767D26A1D2B4F7E", Parts: []part{{Content: &event.MessageEventContent{
				MsgType: event.MsgImage, Body: "fixed", Info: &event.FileInfo{}, Mentions: noMentions,
			}}}},
		},
	})
}

// pngHeaderOnly is a PNG signature and header for an RGBA image of w × h,
// with no pixel data: enough for image.DecodeConfig.
func pngHeaderOnly(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 6, 0, 0, 0) // 8-bit RGBA, no interlace
	chunk := append([]byte("IHDR"), ihdr...)
	out := append([]byte("\x89PNG\r\n\x1a\n"), binary.BigEndian.AppendUint32(nil, uint32(len(ihdr)))...)
	out = append(out, chunk...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(chunk))
}
