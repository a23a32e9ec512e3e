package waconv

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"unicode"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
)

// WhatsApp → Matrix: texts too long for one Matrix event.
//
// WhatsApp takes texts far longer than a homeserver takes events (65,536
// bytes of JSON for the whole event, envelope included), and a business
// message has no limit at all. A part that would not fit first loses its
// formatted_body; if its plain body still does not fit, the whole text
// goes as a text file, with the body showing its beginning. A caption
// too long stays with its file as a beginning, and the whole caption
// follows as a text file of its own (part captionPartID).

// maxEventSize is the most a homeserver accepts of one event as JSON.
const maxEventSize = 65536

// envelopeSize is room for what the homeserver and the core add around
// a part's content: the event's room, sender, type, auth and previous
// events, hashes and signatures, and the core's reply relation and the
// "* " of an edit's fallback.
const envelopeSize = 6 << 10

// maxContentSize is the most a part's content may take as JSON. Any part
// may be sent as a replacement, which carries its content twice (the
// fallback and m.new_content): an edit, and a message the core sends in
// place of its stand-in (a message that could not be decrypted at first).
const maxContentSize = (maxEventSize - envelopeSize) / 2

// excerptRunes is how much of a text too long for Matrix its body shows.
const excerptRunes = 1000

// Names of the text files a text too long for Matrix is sent in.
const (
	messageFileName = "message.txt"
	captionFileName = "caption.txt"
	textMimeType    = "text/plain; charset=utf-8"
)

// contentSize is the JSON size of a part's content and extra keys. Go's
// encoding escapes more than the homeserver's canonical JSON keeps
// escaped (<, >, &), so it is never less than what the homeserver counts.
func contentSize(p network.Part) int {
	content := *p.Content
	if audio := content.MSC1767Audio; audio != nil {
		// Its MarshalJSON writes an empty waveform into the value; the
		// part is not this function's to change.
		copied := *audio
		content.MSC1767Audio = &copied
	}
	n := jsonSize(&content)
	if len(p.Extra) > 0 {
		n += jsonSize(p.Extra)
	}
	return n
}

func jsonSize(v any) int {
	data, err := json.Marshal(v)
	if err != nil {
		// Nothing a converter builds fails to encode; if it did, the
		// core's send fails too and the room is told.
		return 0
	}
	return len(data)
}

func fits(p network.Part) bool {
	return contentSize(p) <= maxContentSize
}

// plainIfLonger drops a part's formatting when the part does not fit
// with it. The part's content is copied, never changed in place.
func plainIfLonger(p network.Part) network.Part {
	if fits(p) || p.Content.FormattedBody == "" {
		return p
	}
	content := *p.Content
	content.Format, content.FormattedBody = "", ""
	p.Content = &content
	return p
}

// fitForMatrix makes every part of a message fit in a Matrix event:
// without its formatting, or with its text in a file.
func fitForMatrix(parts []network.Part) []network.Part {
	var out []network.Part
	for _, p := range parts {
		if p = plainIfLonger(p); fits(p) {
			out = append(out, p)
			continue
		}
		if p.Media == nil {
			out = append(out, textFilePart(p, messageFileName, "",
				"\n\n(Too long for Matrix: the whole text is attached as "+messageFileName+".)"))
			continue
		}
		// A caption: the file keeps its beginning, its whole text follows.
		content := *p.Content
		content.Body = excerpt(p.Content.Body) + "\n\n(Too long for Matrix: the whole caption follows as " + captionFileName + ".)"
		if content.FileName == "" {
			content.FileName = "file" // without one the body would be the file's name
		}
		caption := textFilePart(p, captionFileName, "", "")
		caption.ID = captionPartID(p.ID)
		caption.Content.Body = captionFileName
		p.Content = &content
		if !fits(p) {
			// Its mentions alone are too many for the event: the file
			// goes without them (the caption's file keeps them if they
			// fit there), rather than be refused.
			content.Mentions = &event.Mentions{}
		}
		out = append(out, p, caption)
	}
	return out
}

// FitEdit readies the parts of an edit for Matrix: a part that does not
// fit with its formatting loses it. ok is false when a part does not fit
// even so: such an edit cannot be a Matrix edit, and goes as the message
// EditAsMessage makes.
func FitEdit(parts []network.Part) (fitted []network.Part, ok bool) {
	fitted = make([]network.Part, len(parts))
	for i, p := range parts {
		if fitted[i] = plainIfLonger(p); !fits(fitted[i]) {
			return nil, false
		}
	}
	return fitted, true
}

// EditAsMessage is a message carrying an edit too long for Matrix, to be
// sent as an answer to the edited message: each part's new text as a
// file, the body beginning with "* " as an edit's fallback does. Not an
// edit, so that nothing of it depends on how the core sends edits. The
// new caption of a file goes as captionFileName, as a long caption
// arriving with its file does.
func EditAsMessage(parts []network.Part) []network.Part {
	out := make([]network.Part, len(parts))
	for i, p := range parts {
		if p.Content.MsgType.IsMedia() {
			out[i] = textFilePart(p, captionFileName, "* ",
				"\n\n(An edit of the caption of the file this answers, too long for Matrix: the whole new caption is attached as "+captionFileName+".)")
			continue
		}
		out[i] = textFilePart(p, messageFileName, "* ",
			"\n\n(An edit of the message this answers, too long for Matrix: the whole new text is attached as "+messageFileName+".)")
	}
	return out
}

// WholeCaptionsReplaced are the parts carrying the whole of a caption too
// long for Matrix (captionPartID) that an edit which fits replaces: the
// file's new caption is all there, and the old one must not stay beside
// it. A part the message never had is named too; the core ignores it.
func WholeCaptionsReplaced(edit []network.Part) []network.PartID {
	var ids []network.PartID
	for _, p := range edit {
		if p.Content != nil && p.Content.MsgType.IsMedia() {
			ids = append(ids, captionPartID(p.ID))
		}
	}
	return ids
}

// captionPartID is the ID of the part carrying the whole caption of part.
func captionPartID(part network.PartID) network.PartID {
	if part == "" {
		return "caption"
	}
	return part + "-caption"
}

// IsWholeCaption says whether part is the text file with the whole of a
// caption too long for Matrix (not the file the caption belongs to).
func IsWholeCaption(part network.PartID) bool {
	return part == "caption" || strings.HasSuffix(string(part), "-caption")
}

// textFilePart is p's plain body as a text file named fileName, its body
// the text's beginning between prefix and note. Mentions stay, unless
// they alone are too many for the event.
func textFilePart(p network.Part, fileName, prefix, note string) network.Part {
	text := []byte(p.Content.Body)
	content := &event.MessageEventContent{
		MsgType:  event.MsgFile,
		Body:     prefix + excerpt(p.Content.Body) + note,
		FileName: fileName,
		Info:     &event.FileInfo{MimeType: textMimeType, Size: len(text)},
		Mentions: p.Content.Mentions,
	}
	out := network.Part{ID: p.ID, Content: content, Media: textMedia(text, fileName)}
	if !fits(out) {
		content.Mentions = &event.Mentions{}
	}
	return out
}

func textMedia(text []byte, fileName string) func(context.Context) (*network.Media, error) {
	return func(context.Context) (*network.Media, error) {
		return &network.Media{
			Data:     io.NopCloser(bytes.NewReader(text)),
			MimeType: textMimeType,
			FileName: fileName,
			Size:     int64(len(text)),
		}, nil
	}
}

// excerpt is the beginning of text a body shows: excerptRunes
// characters, cut after a word where one ends near there, never inside
// an emoji or a letter with its marks (clusterCut) unless one is longer
// than the excerpt, and marked as cut.
func excerpt(text string) string {
	runes := 0
	for i := range text {
		if runes == excerptRunes {
			head := text[:i]
			if space := strings.LastIndexFunc(head, unicode.IsSpace); space > len(head)*4/5 {
				head = head[:space]
			}
			// Trimming a space may end the head on a ZWJ before it.
			for {
				cut := clusterCut(text, len(head))
				if head = strings.TrimRightFunc(text[:cut], unicode.IsSpace); len(head) == cut {
					break
				}
			}
			if head == "" {
				// One cluster longer than the excerpt (thousands of
				// marks on a letter, a run of joiners): cut inside it
				// rather than show nothing of the text.
				head = text[:i]
			}
			return head + " …"
		}
		runes++
	}
	return text
}
