package waconv

import (
	"context"
	"slices"
	"strings"
	"testing"
	"unicode"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"golang.org/x/net/html"
	"google.golang.org/protobuf/proto"
)

// toMatrixTags are the elements ToMatrix writes, with the attributes each
// may carry.
var toMatrixTags = map[string]map[string]bool{
	"p": nil, "div": nil, "br": nil, "strong": nil, "em": nil, "del": nil, "code": nil, "pre": nil,
	"blockquote": nil, "ul": nil, "li": nil, "ol": {"start": true}, "a": {"href": true},
}

// linkSchemes are the only schemes a link ToMatrix writes may have: the
// web, a phone number, a place. Whatever a sender (a business's button
// included) puts in a message, no javascript:, data: or other link.
var linkSchemes = []string{"https:", "http:", "tel:", "geo:"}

// hasControl says whether s holds a C0 or C1 control character.
func hasControl(s string) bool {
	return strings.ContainsFunc(s, unicode.IsControl)
}

// checkMatrixHTML asserts that formatted is HTML of ToMatrix's own
// elements, balanced, whose links have one of linkSchemes and no control
// character in their address or text.
func checkMatrixHTML(t *testing.T, formatted string) {
	t.Helper()
	z := html.NewTokenizer(strings.NewReader(formatted))
	var open []string
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if len(open) != 0 {
				t.Fatalf("unclosed %v in %q", open, formatted)
			}
			return
		case html.TextToken:
			if text := string(z.Text()); slices.Contains(open, "a") && hasControl(text) {
				t.Fatalf("link text %q in %q", text, formatted)
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			tok := z.Token()
			attrs, ok := toMatrixTags[tok.Data]
			if !ok {
				t.Fatalf("element <%s> in %q", tok.Data, formatted)
			}
			if tt == html.EndTagToken {
				if len(open) == 0 || open[len(open)-1] != tok.Data {
					t.Fatalf("unbalanced </%s> in %q", tok.Data, formatted)
				}
				open = open[:len(open)-1]
				continue
			}
			for _, a := range tok.Attr {
				if !attrs[a.Key] {
					t.Fatalf("attribute %s of <%s> in %q", a.Key, tok.Data, formatted)
				}
				if a.Key == "href" && (!hasLinkScheme(a.Val) || hasControl(a.Val)) {
					t.Fatalf("link %q in %q", a.Val, formatted)
				}
			}
			if tok.Data != "br" && tt == html.StartTagToken {
				open = append(open, tok.Data)
			}
		}
	}
}

func hasLinkScheme(href string) bool {
	lower := strings.ToLower(href)
	for _, s := range linkSchemes {
		if strings.HasPrefix(lower, s) {
			return true
		}
	}
	return false
}

// FuzzToMatrixHTML converts any message, seeded with the kinds that
// build HTML and links from a sender's fields (business messages with
// buttons and lists, events with places, locations, text), and checks
// the HTML each part carries: only ToMatrix's elements and attributes,
// balanced, links of the web, a phone or a place only (invalid UTF-8 is
// left to encoding/json, which replaces it). FuzzIncomingMessage (in the whatsapp package) checks that
// nothing panics or is dropped, not what the HTML says.
func FuzzToMatrixHTML(f *testing.F) {
	flow := func(name, params string) *waE2E.InteractiveMessage_NativeFlowMessage_NativeFlowButton {
		return &waE2E.InteractiveMessage_NativeFlowMessage_NativeFlowButton{Name: proto.String(name), ButtonParamsJSON: proto.String(params)}
	}
	seeds := []*waE2E.Message{
		{TemplateMessage: &waE2E.TemplateMessage{HydratedTemplate: &waE2E.TemplateMessage_HydratedFourRowTemplate{
			Title:               &waE2E.TemplateMessage_HydratedFourRowTemplate_HydratedTitleText{HydratedTitleText: "<b>Order</b>"},
			HydratedContentText: proto.String("*on its way* https://x.example/a_b_"), HydratedFooterText: proto.String("a\nb"),
			HydratedButtons: []*waE2E.HydratedTemplateButton{
				urlButton("Track", "https://x.example/?a=1&b=\"2\""), urlButton("JS", "JaVaScRiPt:alert(1)"), urlButton("Data", "data:text/html,<script>"),
				urlButton("Sp", " https://x.example/ y"),
				{HydratedButton: &waE2E.HydratedTemplateButton_CallButton{CallButton: &waE2E.HydratedTemplateButton_HydratedCallButton{
					DisplayText: proto.String("Call"), PhoneNumber: proto.String("+1 \"><img src=x>")}}},
				{HydratedButton: &waE2E.HydratedTemplateButton_QuickReplyButton{QuickReplyButton: &waE2E.HydratedTemplateButton_HydratedQuickReplyButton{
					DisplayText: proto.String("Stop")}}},
			},
		}}},
		{InteractiveMessage: &waE2E.InteractiveMessage{
			Header: &waE2E.InteractiveMessage_Header{Title: proto.String("T"), Subtitle: proto.String("<i>s</i>")},
			Body:   &waE2E.InteractiveMessage_Body{Text: proto.String("```code``` > q\n- l")},
			InteractiveMessage: &waE2E.InteractiveMessage_NativeFlowMessage_{NativeFlowMessage: &waE2E.InteractiveMessage_NativeFlowMessage{
				Buttons: []*waE2E.InteractiveMessage_NativeFlowMessage_NativeFlowButton{
					flow("cta_url", `{"display_text":"x","url":"HTTPS://a.example/\"onmouseover=x"}`),
					flow("cta_call", `{"display_text":"c","phone_number":"javascript:alert(1)"}`),
					flow("cta_copy", `{"copy_code":"</code><script>"}`), flow("quick_reply", `{`),
				}}},
		}},
		{ButtonsMessage: &waE2E.ButtonsMessage{Header: &waE2E.ButtonsMessage_Text{Text: "<t>"}, ContentText: proto.String("c & d"),
			Buttons: []*waE2E.ButtonsMessage_Button{nil, {}, {Type: waE2E.ButtonsMessage_Button_NATIVE_FLOW.Enum(),
				NativeFlowInfo: &waE2E.ButtonsMessage_Button_NativeFlowInfo{Name: proto.String("cta_url"), ParamsJSON: proto.String(`{"url":"vbscript:x"}`)}}}}},
		{ListMessage: &waE2E.ListMessage{Title: proto.String("L"), Sections: []*waE2E.ListMessage_Section{{Title: proto.String("<s>"),
			Rows: []*waE2E.ListMessage_Row{{Title: proto.String("r&"), Description: proto.String("<d>")}, nil}}}}},
		{EventMessage: &waE2E.EventMessage{Name: proto.String("<e>"), Description: proto.String("*x* @4915112345678"),
			Location: &waE2E.LocationMessage{DegreesLatitude: proto.Float64(52.5), DegreesLongitude: proto.Float64(13.4), Name: proto.String("\"><a>")},
			JoinLink: proto.String("javascript:alert(1)")}},
		{LocationMessage: &waE2E.LocationMessage{DegreesLatitude: proto.Float64(1), DegreesLongitude: proto.Float64(2), Name: proto.String("<n>")}},
		{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("see https://a.example/<x> *b*")}},
		{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("*x* https://a.example/\x07\u0085y @4915112345678"),
			ContextInfo: &waE2E.ContextInfo{MentionedJID: []string{"4915112345678@s.whatsapp.net"}}}},
		{TemplateMessage: &waE2E.TemplateMessage{HydratedTemplate: &waE2E.TemplateMessage_HydratedFourRowTemplate{
			HydratedButtons: []*waE2E.HydratedTemplateButton{urlButton("T\x1b[1m\u009b", "https://x.example/\x00")}}}},
		{ButtonsResponseMessage: &waE2E.ButtonsResponseMessage{Response: &waE2E.ButtonsResponseMessage_SelectedDisplayText{SelectedDisplayText: "<y>"}}},
	}
	for _, seed := range seeds {
		data, err := proto.Marshal(seed)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	deps := testDeps(nil)
	f.Fuzz(func(t *testing.T, data []byte) {
		msg := &waE2E.Message{}
		if proto.Unmarshal(data, msg) != nil {
			return
		}
		got, err := ToMatrix(context.Background(), msg, testInfo(), deps)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range got.Parts {
			checkMatrixHTML(t, p.Content.FormattedBody)
		}
	})
}
