package waconv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/http"
	"os"
	"strings"

	"go.mau.fi/util/exmime"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
)

// WhatsApp → Matrix media.

// mediaMessage is what every WhatsApp media protobuf offers.
type mediaMessage interface {
	whatsmeow.DownloadableMessage
	GetContextInfo() *waE2E.ContextInfo
	GetFileLength() uint64
	GetMimetype() string
}

// mediaPart converts the image, video, audio, document or sticker in msg.
func mediaPart(msg *waE2E.Message, deps Deps) (network.Part, *waE2E.ContextInfo) {
	content := &event.MessageEventContent{Info: &event.FileInfo{}}
	var media mediaMessage
	var caption, fileName string
	switch {
	case msg.ImageMessage != nil:
		m := msg.GetImageMessage()
		media, caption = m, m.GetCaption()
		content.MsgType = event.MsgImage
		content.Info.Width, content.Info.Height = int(m.GetWidth()), int(m.GetHeight())
		fileName = "image" + exmime.ExtensionFromMimetype(m.GetMimetype())
	case msg.VideoMessage != nil, msg.PtvMessage != nil:
		m := msg.GetVideoMessage()
		if m == nil {
			m = msg.GetPtvMessage() // a round "video note"
		}
		media, caption = m, m.GetCaption()
		content.MsgType = event.MsgVideo
		content.Info.Width, content.Info.Height = int(m.GetWidth()), int(m.GetHeight())
		content.Info.Duration = int(m.GetSeconds()) * 1000
		content.Info.MauGIF = m.GetGifPlayback()
		fileName = "video" + exmime.ExtensionFromMimetype(m.GetMimetype())
	case msg.AudioMessage != nil:
		m := msg.GetAudioMessage()
		media = m
		content.MsgType = event.MsgAudio
		content.Info.Duration = int(m.GetSeconds()) * 1000
		content.MSC1767Audio = &event.MSC1767Audio{
			Duration: int(m.GetSeconds()) * 1000,
			Waveform: waveformToMatrix(m.GetWaveform()),
		}
		fileName = "audio" + exmime.ExtensionFromMimetype(m.GetMimetype())
		if m.GetPTT() {
			content.MSC3245Voice = &event.MSC3245Voice{}
			fileName = "Voice message" + exmime.ExtensionFromMimetype(m.GetMimetype())
		}
	case msg.DocumentMessage != nil:
		m := msg.GetDocumentMessage()
		media, caption = m, m.GetCaption()
		content.MsgType = event.MsgFile
		fileName = cleanFileName(m.GetFileName())
		if fileName == "" {
			fileName = cleanFileName(m.GetTitle())
		}
		if fileName == "" {
			fileName = "document" + exmime.ExtensionFromMimetype(m.GetMimetype())
		}
	default:
		m := msg.GetStickerMessage()
		if m.GetIsLottie() || m.GetMimetype() == "application/was" {
			return unsupportedPart("animated sticker"), m.GetContextInfo()
		}
		media = m
		// The core sends this msgtype as an m.sticker event.
		content.MsgType = event.MessageType(event.EventSticker.Type)
		content.Info.Width, content.Info.Height = int(m.GetWidth()), int(m.GetHeight())
		content.Body = m.GetAccessibilityLabel()
		if content.Body == "" {
			content.Body = "Sticker"
		}
		fileName = "sticker" + exmime.ExtensionFromMimetype(m.GetMimetype())
	}
	ci := media.GetContextInfo()
	content.Info.MimeType = media.GetMimetype()
	content.Info.Size = int(media.GetFileLength())
	if content.MsgType != event.MessageType(event.EventSticker.Type) {
		content.FileName = fileName
		if strings.TrimSpace(caption) != "" {
			setText(content, caption, ci, deps)
		} else {
			content.Body = fileName
		}
	}
	return network.Part{
		Content: content,
		Media:   lazyMedia(media, content.Info.MimeType, fileName, deps),
	}, ci
}

// MaxDownloadSize is the most a sender may declare (FileLength) for an
// attachment Ferry downloads; larger files are refused before downloading.
const MaxDownloadSize = 2 << 30

// lazyMedia downloads an attachment when the core asks for it, into a
// temporary file (the size is the sender's to declare, so the file is
// never held in memory). Closing the returned Data removes the file.
func lazyMedia(msg mediaMessage, mimeType, fileName string, deps Deps) func(ctx context.Context) (*network.Media, error) {
	return func(ctx context.Context) (*network.Media, error) {
		if deps.DownloadToFile == nil {
			return nil, errors.New("no WhatsApp downloader configured")
		}
		if declared := msg.GetFileLength(); declared > MaxDownloadSize {
			return nil, fmt.Errorf("the file is %s, more than the %s Ferry downloads from WhatsApp",
				humanSize(int64(min(declared, math.MaxInt64))), humanSize(MaxDownloadSize))
		}
		f, err := os.CreateTemp("", "ferry-wa-media-*")
		if err != nil {
			return nil, fmt.Errorf("temporary file: %w", err)
		}
		tmp := &tempFile{File: f}
		ok := false
		defer func() {
			if !ok {
				_ = tmp.Close()
			}
		}()
		if err = deps.DownloadToFile(ctx, msg, f); err != nil {
			return nil, downloadError(err)
		}
		info, err := f.Stat()
		if err != nil {
			return nil, fmt.Errorf("temporary file: %w", err)
		}
		if mimeType == "" {
			head := make([]byte, 512)
			n, _ := f.ReadAt(head, 0)
			mimeType = http.DetectContentType(head[:n])
		}
		if _, err = f.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("temporary file: %w", err)
		}
		ok = true
		return &network.Media{
			Data:     tmp,
			MimeType: mimeType,
			FileName: fileName,
			Size:     info.Size(),
		}, nil
	}
}

// tempFile is a downloaded attachment; Close also removes it.
type tempFile struct {
	*os.File
}

func (t *tempFile) Close() error {
	err := t.File.Close()
	if rmErr := os.Remove(t.Name()); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) && err == nil {
		err = rmErr
	}
	return err
}

// humanSize formats a byte count for a notice.
func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// downloadError explains the download failures a user can act on.
func downloadError(err error) error {
	var userErr *network.UserError
	switch {
	case errors.As(err, &userErr):
		return err // already says what happened
	case errors.Is(err, whatsmeow.ErrMediaDownloadFailedWith403),
		errors.Is(err, whatsmeow.ErrMediaDownloadFailedWith404),
		errors.Is(err, whatsmeow.ErrMediaDownloadFailedWith410):
		return &network.UserError{Message: "the file has expired on WhatsApp's servers; open WhatsApp on your phone to see it", Err: err}
	case errors.Is(err, whatsmeow.ErrNoURLPresent):
		return &network.UserError{Message: "WhatsApp sent no download link for the file; open WhatsApp to see it", Err: err}
	default:
		return fmt.Errorf("download from WhatsApp: %w", err)
	}
}

// cleanFileName keeps a remote file name from naming a path.
func cleanFileName(name string) string {
	name = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r < 0x20 || r == 0x7f {
			return '_'
		}
		return r
	}, strings.TrimSpace(name))
	if name == "." || name == ".." {
		return ""
	}
	if r := []rune(name); len(r) > 200 {
		name = string(r[:200])
	}
	return name
}

// WhatsApp waveforms are 64 samples of 0-100; MSC1767 uses 0-1024.
func waveformToMatrix(w []byte) []int {
	if len(w) == 0 {
		return nil
	}
	out := make([]int, len(w))
	for i, v := range w {
		out[i] = min(int(v), 100) * 1024 / 100
	}
	return out
}
