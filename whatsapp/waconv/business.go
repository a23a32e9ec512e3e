package waconv

import (
	"encoding/json"
	"html"
	"strings"
	"unicode"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// Businesses (shops, banks, airlines, delivery services) send their
// messages with buttons or a list: a template, a buttons message, an
// interactive message or a list. Their text (an order update, a booking,
// a login code) is what the person needs; Matrix has no buttons, so it
// shows as text with the buttons listed: a link or a phone number works
// from Matrix, a code to copy is shown, and a choice to answer with is
// made in WhatsApp.

// businessButton is one button as Matrix shows it.
type businessButton struct {
	label string
	// url is a link (http(s) or tel:), or empty.
	url string
	// code is a text to copy (a login code), or empty.
	code string
	// answers: tapping it answers the business, which only WhatsApp can.
	answers bool
}

// businessText gathers the pieces of a business message.
type businessText struct {
	title, text, footer string
	// media names a photo, video, document or place in the header, which
	// Ferry does not fetch from a business message.
	media   string
	buttons []businessButton
	// list is a list message's choices, by section.
	list []listSection
	ci   *waE2E.ContextInfo
}

type listSection struct {
	title string
	rows  []string
}

// businessOf reads a business message, or returns nil when msg is none.
func businessOf(msg *waE2E.Message) *businessText {
	switch {
	case msg.TemplateMessage != nil:
		tm := msg.GetTemplateMessage()
		tpl := tm.GetHydratedTemplate()
		if tpl == nil {
			tpl = tm.GetHydratedFourRowTemplate()
		}
		if tpl == nil {
			if im := tm.GetInteractiveMessageTemplate(); im != nil {
				b := interactiveOf(im)
				if b.ci == nil {
					b.ci = tm.GetContextInfo()
				}
				return b
			}
			// A four-row template still holding its placeholders: no
			// text to show.
			return &businessText{ci: tm.GetContextInfo()}
		}
		b := &businessText{
			title: tpl.GetHydratedTitleText(), text: tpl.GetHydratedContentText(), footer: tpl.GetHydratedFooterText(),
			media: mediaKind(tpl.GetImageMessage() != nil, tpl.GetVideoMessage() != nil, tpl.GetDocumentMessage() != nil, tpl.GetLocationMessage() != nil),
			ci:    tm.GetContextInfo(),
		}
		for _, btn := range tpl.GetHydratedButtons() {
			switch {
			case btn.GetUrlButton() != nil:
				b.buttons = append(b.buttons, businessButton{label: btn.GetUrlButton().GetDisplayText(), url: webURL(btn.GetUrlButton().GetURL())})
			case btn.GetCallButton() != nil:
				b.buttons = append(b.buttons, callButton(btn.GetCallButton().GetDisplayText(), btn.GetCallButton().GetPhoneNumber()))
			case btn.GetQuickReplyButton() != nil:
				b.buttons = append(b.buttons, businessButton{label: btn.GetQuickReplyButton().GetDisplayText(), answers: true})
			}
		}
		return b
	case msg.ButtonsMessage != nil:
		bm := msg.GetButtonsMessage()
		b := &businessText{
			title: bm.GetText(), text: bm.GetContentText(), footer: bm.GetFooterText(),
			media: mediaKind(bm.GetImageMessage() != nil, bm.GetVideoMessage() != nil, bm.GetDocumentMessage() != nil, bm.GetLocationMessage() != nil),
			ci:    bm.GetContextInfo(),
		}
		for _, btn := range bm.GetButtons() {
			if nf := btn.GetNativeFlowInfo(); btn.GetType() == waE2E.ButtonsMessage_Button_NATIVE_FLOW && nf != nil {
				b.buttons = append(b.buttons, nativeFlowButton(nf.GetName(), nf.GetParamsJSON(), btn.GetButtonText().GetDisplayText()))
				continue
			}
			b.buttons = append(b.buttons, businessButton{label: btn.GetButtonText().GetDisplayText(), answers: true})
		}
		return b
	case msg.InteractiveMessage != nil:
		return interactiveOf(msg.GetInteractiveMessage())
	case msg.ListMessage != nil:
		lm := msg.GetListMessage()
		b := &businessText{title: lm.GetTitle(), text: lm.GetDescription(), footer: lm.GetFooterText(), ci: lm.GetContextInfo()}
		for _, sec := range lm.GetSections() {
			s := listSection{title: strings.TrimSpace(sec.GetTitle())}
			for _, row := range sec.GetRows() {
				if r := joinNonEmpty(": ", row.GetTitle(), row.GetDescription()); r != "" {
					s.rows = append(s.rows, r)
				}
			}
			if len(s.rows) > 0 {
				b.list = append(b.list, s)
			}
		}
		return b
	}
	return nil
}

func interactiveOf(im *waE2E.InteractiveMessage) *businessText {
	h := im.GetHeader()
	b := &businessText{
		title: joinNonEmpty(" · ", h.GetTitle(), h.GetSubtitle()), text: im.GetBody().GetText(), footer: im.GetFooter().GetText(),
		media: mediaKind(h.GetImageMessage() != nil, h.GetVideoMessage() != nil, h.GetDocumentMessage() != nil, h.GetLocationMessage() != nil),
		ci:    im.GetContextInfo(),
	}
	for _, btn := range im.GetNativeFlowMessage().GetButtons() {
		b.buttons = append(b.buttons, nativeFlowButton(btn.GetName(), btn.GetButtonParamsJSON(), ""))
	}
	return b
}

func mediaKind(image, video, document, place bool) string {
	switch {
	case image:
		return "photo"
	case video:
		return "video"
	case document:
		return "document"
	case place:
		return "place"
	}
	return ""
}

// webURL is u when it is a web link, else "": a button's link becomes an
// href, and a business is no more trusted with other schemes than anyone.
func webURL(u string) string {
	u = strings.TrimSpace(u)
	if strings.ContainsFunc(u, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		// No link has one; one that is split is no link to follow.
		return ""
	}
	if lower := strings.ToLower(u); strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "http://") {
		return u
	}
	return ""
}

func callButton(label, phone string) businessButton {
	phone = oneLine(phone)
	if phone == "" {
		return businessButton{label: label}
	}
	return businessButton{label: joinNonEmpty(": ", label, phone), url: telURI(phone)}
}

// telURI is a tel: link of phone's digits, with its leading + (RFC 3966:
// blanks, dashes, brackets and dots only separate), or "" when phone is
// not a phone number: letters, markup or another scheme are shown as
// written, not dialled.
func telURI(phone string) string {
	var b strings.Builder
	for _, r := range phone {
		switch {
		case r >= '0' && r <= '9', r == '+' && b.Len() == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.':
		default:
			return ""
		}
	}
	if digits := strings.TrimPrefix(b.String(), "+"); len(digits) < 3 || len(digits) > 20 {
		return ""
	}
	return "tel:" + b.String()
}

// nativeFlowButton reads a "native flow" button: its kind (cta_url,
// cta_call, cta_copy, quick_reply ...) and its parameters as JSON.
// Unreadable parameters leave the label alone (fallback when they give
// none), so a button is never lost.
func nativeFlowButton(name, paramsJSON, fallback string) businessButton {
	var p struct {
		DisplayText string `json:"display_text"`
		URL         string `json:"url"`
		PhoneNumber string `json:"phone_number"`
		CopyCode    string `json:"copy_code"`
	}
	_ = json.Unmarshal([]byte(paramsJSON), &p)
	label := p.DisplayText
	if label == "" {
		label = fallback
	}
	switch {
	case webURL(p.URL) != "":
		return businessButton{label: label, url: webURL(p.URL)}
	case p.PhoneNumber != "":
		return callButton(label, p.PhoneNumber)
	case p.CopyCode != "":
		return businessButton{label: label, code: p.CopyCode}
	}
	return businessButton{label: label, answers: name != "cta_url" && name != "cta_call" && name != "cta_copy"}
}

// empty says whether a business message has nothing Ferry can show (a
// carousel of cards, a shop, a template still holding its placeholders).
func (b *businessText) empty() bool {
	for _, btn := range b.buttons {
		if strings.TrimSpace(btn.label) != "" || btn.url != "" || btn.code != "" {
			return false
		}
	}
	return strings.TrimSpace(b.title) == "" && strings.TrimSpace(b.text) == "" &&
		strings.TrimSpace(b.footer) == "" && len(b.list) == 0
}

// businessPart shows a business message as text.
func businessPart(b *businessText, deps Deps) network.Part {
	title, footer := strings.TrimSpace(b.title), strings.TrimSpace(b.footer)
	text := strings.TrimSpace(b.text)
	var body []string
	var formatted strings.Builder
	var mentions []id.UserID
	if title != "" {
		body = append(body, title)
		formatted.WriteString("<p><strong>" + htmlLines(title) + "</strong></p>")
	}
	if text != "" {
		f := whatsAppToMatrix(text, mentionTargets(b.ci, deps))
		body = append(body, f.body)
		formatted.WriteString(markupBlock(f))
		mentions = f.mentions
	}
	if footer != "" {
		body = append(body, footer)
		formatted.WriteString("<p><em>" + htmlLines(footer) + "</em></p>")
	}
	if b.media != "" {
		note := "(with a " + b.media + ": open WhatsApp to see it)"
		body = append(body, note)
		formatted.WriteString("<p>" + html.EscapeString(note) + "</p>")
	}
	answers := len(b.list) > 0
	var items []string
	for _, btn := range b.buttons {
		// A button is one line of the plain text's "- " list.
		label, code := linkText(btn.label), oneLine(btn.code)
		var line, item string
		switch {
		case code != "":
			line = joinNonEmpty(": ", label, code)
			item = "<code>" + html.EscapeString(code) + "</code>"
			if label != "" {
				item = html.EscapeString(label) + ": " + item
			}
		case btn.url != "" && !strings.HasPrefix(btn.url, "tel:"):
			line = joinNonEmpty(": ", label, btn.url)
			if label == "" {
				label = btn.url
			}
			item = `<a href="` + html.EscapeString(btn.url) + `">` + html.EscapeString(label) + "</a>"
		case btn.url != "":
			line = label
			item = `<a href="` + html.EscapeString(btn.url) + `">` + html.EscapeString(label) + "</a>"
		default:
			if label == "" {
				continue
			}
			line, item = label, html.EscapeString(label)
		}
		answers = answers || btn.answers
		body = append(body, "- "+line)
		items = append(items, "<li>"+item+"</li>")
	}
	if len(items) > 0 {
		formatted.WriteString("<ul>" + strings.Join(items, "") + "</ul>")
	}
	for _, sec := range b.list {
		// Section titles and entries are lines of a list, too.
		if title := oneLine(sec.title); title != "" {
			body = append(body, title+":")
			formatted.WriteString("<p>" + html.EscapeString(title) + ":</p>")
		}
		formatted.WriteString("<ul>")
		for _, row := range sec.rows {
			row = oneLine(row)
			body = append(body, "- "+row)
			formatted.WriteString("<li>" + html.EscapeString(row) + "</li>")
		}
		formatted.WriteString("</ul>")
	}
	if answers {
		body = append(body, "Open WhatsApp to answer.")
		formatted.WriteString("<p>Open WhatsApp to answer.</p>")
	}
	return network.Part{Content: &event.MessageEventContent{
		MsgType:       event.MsgText,
		Body:          strings.Join(body, "\n"),
		Format:        event.FormatHTML,
		FormattedBody: formatted.String(),
		Mentions:      &event.Mentions{UserIDs: mentions},
	}}
}

// htmlLines is text as HTML, its lines kept.
func htmlLines(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	return strings.ReplaceAll(html.EscapeString(text), "\n", "<br>")
}

// oneLine is text with its line breaks (and the blanks around them) made
// single spaces.
func oneLine(text string) string {
	lines := strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == '\r' || r == '\u2028' || r == '\u2029' })
	return joinNonEmpty(" ", lines...)
}

// linkText is text a link shows (a button's label, a place's or a
// person's name) without control characters: a sender's NUL or escape
// sequence (C0 or C1) has no place in a label, and its blanks among them
// (tabs, line breaks) become single spaces, as its line breaks do.
func linkText(text string) string {
	text = strings.Map(func(r rune) rune {
		switch {
		case !unicode.IsControl(r):
			return r
		case unicode.IsSpace(r):
			return ' '
		}
		return -1
	}, text)
	return oneLine(text)
}

// markupBlock is converted WhatsApp text as a block of HTML: a <div> when
// it has formatting, as it may hold blocks (a list, a quote, a code
// block) that a <p> cannot, else a paragraph of the text with its lines.
func markupBlock(f formatted) string {
	if f.html != "" {
		return "<div>" + f.html + "</div>"
	}
	return "<p>" + strings.ReplaceAll(html.EscapeString(f.body), "\n", "<br>") + "</p>"
}

// businessAnswer is the text of a person's answer to a business message:
// the button or the list entry they tapped, and its ContextInfo (the
// message it answers). ok is false when msg is no answer.
func businessAnswer(msg *waE2E.Message) (text string, ci *waE2E.ContextInfo, ok bool) {
	switch {
	case msg.ButtonsResponseMessage != nil:
		r := msg.GetButtonsResponseMessage()
		return r.GetSelectedDisplayText(), r.GetContextInfo(), true
	case msg.TemplateButtonReplyMessage != nil:
		r := msg.GetTemplateButtonReplyMessage()
		return r.GetSelectedDisplayText(), r.GetContextInfo(), true
	case msg.ListResponseMessage != nil:
		r := msg.GetListResponseMessage()
		return joinNonEmpty("\n", r.GetTitle(), r.GetDescription()), r.GetContextInfo(), true
	case msg.InteractiveResponseMessage != nil:
		r := msg.GetInteractiveResponseMessage()
		return r.GetBody().GetText(), r.GetContextInfo(), true
	}
	return "", nil, false
}

// businessAnswered says whether msg answers a business message with
// something to show.
func businessAnswered(msg *waE2E.Message) bool {
	text, _, ok := businessAnswer(msg)
	return ok && strings.TrimSpace(text) != ""
}
