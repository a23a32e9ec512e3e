package waconv

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/event"
)

const benchText = "Hi @4915112345678! *Meeting* moved to _Tuesday_ ~Monday~, see https://example.com/agenda_v2.\n" +
	"> did you read `config.yaml`?\n- item one\n- item *two*\n```\nfunc main() {}\n```\nthanks"

func BenchmarkToMatrixText(b *testing.B) {
	msg := &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{
		Text:        proto.String(benchText),
		ContextInfo: &waE2E.ContextInfo{StanzaID: proto.String("3EB0Q"), MentionedJID: []string{aliceJID.String()}},
	}}
	info, deps := testInfo(), testDeps(nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ToMatrix(context.Background(), msg, info, deps); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFromMatrixHTML(b *testing.B) {
	content := &event.MessageEventContent{
		MsgType: event.MsgText, Body: "fallback", Format: event.FormatHTML,
		FormattedBody: `<a href="https://matrix.to/#/@whatsapp_4915112345678:example.org">Alice</a>: <b>Meeting</b> moved to ` +
			`<em>Tuesday</em> <del>Monday</del>, see <a href="https://example.com/agenda">the agenda</a>.<br>` +
			`<blockquote>did you read <code>config.yaml</code>?</blockquote><ul><li>item one</li><li>item <b>two</b></li></ul>` +
			`<pre><code class="language-go">func main() {}\n</code></pre>thanks`,
	}
	var uploads []upload
	deps := outDeps(&uploads)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FromMatrix(context.Background(), content, nil, nil, deps); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMarkupLinearTime feeds WhatsApp-sized (64 KiB) adversarial texts:
// unmatched markers and fences must not make the parser quadratic.
func TestMarkupLinearTime(t *testing.T) {
	for _, s := range []string{
		strings.Repeat("(`a", 21000), strings.Repeat("*a ", 21000), strings.Repeat("(*a", 21000),
		strings.Repeat("```a", 16000), strings.Repeat("``` ", 16000), "http://" + strings.Repeat(")", 60000),
		strings.Repeat("> *a*\n", 10000), strings.Repeat("*_~", 21000),
		strings.Repeat("_*", 16000) + strings.Repeat("*_", 16000), strings.Repeat("@4915112345678 ", 4000),
		strings.Repeat("https://x.y/ ", 5000), strings.Repeat("` ", 32000),
	} {
		start := time.Now()
		whatsAppToMatrix(s, testTargets)
		// Linear work takes milliseconds; quadratic would take seconds.
		if d := time.Since(start); d > time.Second {
			t.Errorf("%q... took %v", s[:12], d)
		}
	}
}
