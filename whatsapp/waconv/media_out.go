package waconv

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	_ "image/png" // decoder for image.Decode
	"io"
	"math"
	"net/http"
	"strings"

	"go.mau.fi/util/exmime"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
)

// Matrix → WhatsApp media.

// sendKind is the WhatsApp message type a Matrix file goes out as.
type sendKind int

const (
	sendDocument sendKind = iota
	sendImage
	sendVideo
	sendAudio
	sendSticker
)

var uploadTypes = map[sendKind]whatsmeow.MediaType{
	sendDocument: whatsmeow.MediaDocument,
	sendImage:    whatsmeow.MediaImage,
	sendVideo:    whatsmeow.MediaVideo,
	sendAudio:    whatsmeow.MediaAudio,
	sendSticker:  whatsmeow.MediaImage,
}

// audioTypes are the audio formats WhatsApp plays inline.
var audioTypes = map[string]bool{
	"audio/aac": true, "audio/mp4": true, "audio/amr": true, "audio/mpeg": true, "audio/ogg": true,
}

// chooseKind picks how a file is sent. WhatsApp shows only JPEG images,
// MP4/3GP videos, a few audio formats and WebP stickers natively;
// anything else (and audio with a caption, which WhatsApp audio cannot
// carry) goes as a document, so nothing is lost. PNG images are
// re-encoded as JPEG.
func chooseKind(msgType event.MessageType, baseMime string, hasCaption bool) sendKind {
	switch msgType {
	case event.MessageType(event.EventSticker.Type):
		if baseMime == "image/webp" {
			return sendSticker
		}
		return chooseKind(event.MsgImage, baseMime, hasCaption)
	case event.MsgImage:
		if baseMime == "image/jpeg" || baseMime == "image/png" {
			return sendImage
		}
	case event.MsgVideo:
		if baseMime == "video/mp4" || baseMime == "video/3gpp" {
			return sendVideo
		}
	case event.MsgAudio:
		if audioTypes[baseMime] && !hasCaption {
			return sendAudio
		}
	}
	return sendDocument
}

func baseMimeType(mimeType string) string {
	base, _, _ := strings.Cut(mimeType, ";")
	return strings.ToLower(strings.TrimSpace(base))
}

func mediaToWhatsApp(ctx context.Context, content *event.MessageEventContent, media *network.Media, ci *waE2E.ContextInfo, deps OutDeps) (*waE2E.Message, error) {
	if media == nil || media.Data == nil {
		return nil, network.UserErrorf("the file could not be fetched from Matrix")
	}
	if deps.Upload == nil {
		return nil, errors.New("no WhatsApp uploader configured")
	}
	defer media.Data.Close()
	if media.Size > MaxUploadSize {
		return nil, network.UserErrorf("the file is %s, more than the %s WhatsApp accepts", humanSize(media.Size), humanSize(MaxUploadSize))
	}
	src := bufio.NewReaderSize(io.LimitReader(media.Data, MaxUploadSize+1), 4096)
	head, err := src.Peek(512)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read file: %w", err)
	}
	info := content.Info
	if info == nil {
		info = &event.FileInfo{}
	}
	mimeType := media.MimeType
	if mimeType == "" {
		mimeType = info.MimeType
	}
	if mimeType == "" {
		mimeType = http.DetectContentType(head)
	}
	fileName := cleanFileName(content.FileName)
	if fileName == "" {
		fileName = cleanFileName(media.FileName)
	}
	if fileName == "" {
		fileName = cleanFileName(content.Body)
	}
	var caption string
	// Matrix's caption style: a body that differs from the file name.
	// Voice messages have no caption, whatever their body says.
	if content.FileName != "" && content.Body != content.FileName && content.MSC3245Voice == nil {
		var mentioned []string
		caption, mentioned = matrixText(ctx, content, deps)
		ci = withMentions(ci, mentioned)
	}
	kind := chooseKind(content.MsgType, baseMimeType(mimeType), caption != "")
	width, height := info.Width, info.Height
	var thumbnail []byte
	var body io.Reader = src
	if kind == sendImage {
		// A photo is decoded (to re-encode PNG and make the preview), so
		// it is read whole; one too large for that goes as a document.
		data, err := io.ReadAll(io.LimitReader(src, maxImageSize+1))
		if err != nil {
			return nil, fmt.Errorf("read file: %w", err)
		}
		body = io.MultiReader(bytes.NewReader(data), src)
		if len(data) > maxImageSize {
			kind = sendDocument
		} else if img, err := prepareImage(data, baseMimeType(mimeType)); err != nil {
			kind = sendDocument // not decodable: still deliver the file
		} else {
			body, mimeType, thumbnail = bytes.NewReader(img.data), "image/jpeg", img.thumbnail
			width, height = img.width, img.height
		}
	}
	if kind == sendAudio && baseMimeType(mimeType) == "audio/ogg" {
		mimeType = "audio/ogg; codecs=opus"
	}
	counted := &countingReader{r: body}
	up, err := deps.Upload(ctx, counted, uploadTypes[kind])
	if err != nil {
		return nil, fmt.Errorf("upload to WhatsApp: %w", err)
	}
	if counted.n > MaxUploadSize {
		// The size was not declared and the file turned out too large;
		// what was uploaded is never referenced by a message.
		return nil, network.UserErrorf("the file is more than the %s WhatsApp accepts", humanSize(MaxUploadSize))
	}
	var captionPtr *string
	if caption != "" {
		captionPtr = proto.String(caption)
	}
	switch kind {
	case sendImage:
		return &waE2E.Message{ImageMessage: &waE2E.ImageMessage{
			URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
			FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
			Mimetype: proto.String(mimeType), Caption: captionPtr, JPEGThumbnail: thumbnail,
			Width: dimension(width), Height: dimension(height), ContextInfo: ci,
		}}, nil
	case sendSticker:
		return &waE2E.Message{StickerMessage: &waE2E.StickerMessage{
			URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
			FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
			Mimetype: proto.String(mimeType), Width: dimension(width), Height: dimension(height), ContextInfo: ci,
		}}, nil
	case sendVideo:
		return &waE2E.Message{VideoMessage: &waE2E.VideoMessage{
			URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
			FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
			Mimetype: proto.String(mimeType), Caption: captionPtr, Seconds: seconds(info.Duration),
			GifPlayback: proto.Bool(info.MauGIF), Width: dimension(width), Height: dimension(height), ContextInfo: ci,
		}}, nil
	case sendAudio:
		duration := info.Duration
		var waveform []byte
		if content.MSC1767Audio != nil {
			if duration == 0 {
				duration = content.MSC1767Audio.Duration
			}
			waveform = waveformToWhatsApp(content.MSC1767Audio.Waveform)
		}
		// WhatsApp plays voice messages only as Ogg Opus.
		ptt := content.MSC3245Voice != nil && baseMimeType(mimeType) == "audio/ogg"
		return &waE2E.Message{AudioMessage: &waE2E.AudioMessage{
			URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
			FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
			Mimetype: proto.String(mimeType), Seconds: seconds(duration), PTT: proto.Bool(ptt),
			Waveform: waveform, ContextInfo: ci,
		}}, nil
	default:
		if fileName == "" {
			fileName = "file" + exmime.ExtensionFromMimetype(mimeType)
		}
		doc := &waE2E.DocumentMessage{
			URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
			FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
			Mimetype: proto.String(mimeType), FileName: proto.String(fileName), Title: proto.String(fileName),
			Caption: captionPtr, ContextInfo: ci,
		}
		if caption != "" {
			// WhatsApp clients expect captioned documents in this envelope.
			return &waE2E.Message{DocumentWithCaptionMessage: &waE2E.FutureProofMessage{
				Message: &waE2E.Message{DocumentMessage: doc},
			}}, nil
		}
		return &waE2E.Message{DocumentMessage: doc}, nil
	}
}

// MaxUploadSize is the largest file sent to WhatsApp (its limit for
// documents); a variable for tests.
var MaxUploadSize int64 = 2 << 30

// maxImageSize is the largest file sent as a photo: photos are decoded in
// memory. Larger ones go as documents.
const maxImageSize = 32 << 20

// maxImagePixels is the most pixels a photo may have to be decoded: a
// small PNG can say it is 20,000 × 20,000, and decoding (and flattening)
// it would take gigabytes. Larger ones go as documents. A 48-megapixel
// phone photo is still a photo.
const maxImagePixels = 64_000_000

// errImageTooLarge: the image's header gives more than maxImagePixels.
var errImageTooLarge = errors.New("image has too many pixels to decode")

// countingReader counts what passes through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func dimension(v int) *uint32 {
	if v <= 0 || int64(v) > math.MaxUint32 {
		return nil
	}
	return proto.Uint32(uint32(v))
}

// seconds converts Matrix milliseconds, rounding up a started second.
// The client declares the duration: one too long for WhatsApp's uint32
// is its longest rather than wrapped around (and ms+999 would overflow).
func seconds(ms int) *uint32 {
	if ms <= 0 {
		return nil
	}
	s := int64(ms) / 1000
	if ms%1000 != 0 {
		s++
	}
	return proto.Uint32(uint32(min(s, math.MaxUint32)))
}

type preparedImage struct {
	data          []byte
	thumbnail     []byte
	width, height int
}

// prepareImage re-encodes PNG as JPEG (keeping JPEG as it is) and makes
// the small JPEG preview WhatsApp shows before the download.
func prepareImage(data []byte, baseMime string) (*preparedImage, error) {
	// The header first: what decoding will cost is known before paying it.
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxImagePixels {
		return nil, fmt.Errorf("%w: %d × %d", errImageTooLarge, cfg.Width, cfg.Height)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	out := &preparedImage{data: data, width: b.Dx(), height: b.Dy()}
	if baseMime != "image/jpeg" {
		var buf bytes.Buffer
		if err = jpeg.Encode(&buf, flatten(img), &jpeg.Options{Quality: 90}); err != nil {
			return nil, err
		}
		out.data = buf.Bytes()
	}
	var thumb bytes.Buffer
	if err = jpeg.Encode(&thumb, scaleDown(img, 72), &jpeg.Options{Quality: 60}); err == nil {
		out.thumbnail = thumb.Bytes()
	}
	return out, nil
}

// flatten puts a transparent image on white, as JPEG has no alpha.
func flatten(img image.Image) image.Image {
	b := img.Bounds()
	dst := image.NewRGBA(b)
	draw.Draw(dst, b, image.White, image.Point{}, draw.Src)
	draw.Draw(dst, b, img, b.Min, draw.Over)
	return dst
}

// scaleDown shrinks img to fit in size×size (nearest neighbour, which is
// enough for a blurred preview).
func scaleDown(img image.Image, size int) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return image.NewRGBA(image.Rect(0, 0, 1, 1))
	}
	scale := math.Min(1, float64(size)/float64(max(w, h)))
	tw, th := max(1, int(float64(w)*scale)), max(1, int(float64(h)*scale))
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	draw.Draw(dst, dst.Bounds(), image.White, image.Point{}, draw.Src)
	for y := 0; y < th; y++ {
		for x := 0; x < tw; x++ {
			c := img.At(b.Min.X+x*w/tw, b.Min.Y+y*h/th)
			r, g, bl, a := c.RGBA()
			// Blend onto white.
			inv := 0xffff - a
			dst.Set(x, y, color.RGBA64{R: uint16(r + inv), G: uint16(g + inv), B: uint16(bl + inv), A: 0xffff})
		}
	}
	return dst
}

// waveformToWhatsApp resamples a Matrix waveform to WhatsApp's 64 samples.
func waveformToWhatsApp(w []int) []byte {
	if len(w) == 0 {
		return nil
	}
	const samples = 64
	out := make([]byte, samples)
	for i := range out {
		lo, hi := i*len(w)/samples, (i+1)*len(w)/samples
		if hi <= lo {
			hi = lo + 1
		}
		sum := 0
		for _, v := range w[lo:hi] {
			sum += min(max(v, 0), 1024)
		}
		out[i] = byte(sum / (hi - lo) * 100 / 1024)
	}
	return out
}
