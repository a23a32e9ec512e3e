package puppets

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// syncBuffer is a log sink that several goroutines write to.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A homeserver address behind a front that redirects every request (as
// one that sends http to https does) with 308, and pipelined sends on:
// a burst of messages sent ahead all reach the room, in order, through
// the ordinary client, and the log says once what is wrong and how to
// fix it.
func TestPipelinedSendsBehindARedirectingFront(t *testing.T) {
	hs, reg := testbed.StartDendriteForAppservice(t)
	front := testbed.NewFaultProxy(t, hs.URL)
	front.Inject("", -1, testbed.Fault{Status: http.StatusPermanentRedirect, RedirectTo: hs.URL})
	as := testbed.NewAppservice(t, reg, front.URL())
	var logs syncBuffer
	m := NewMatrix(as, zerolog.New(zerolog.MultiLevelWriter(&logs, zerolog.NewTestWriter(t))).Level(zerolog.WarnLevel))
	m.RetryFor = 20 * time.Second
	if err := m.EnablePipelining(front.URL()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	room := testbed.CreateRoom(t, as, nil) // through the redirecting front
	pipe := roomPipeline(t, m, room)

	const burst = 6
	var waits []func() (id.EventID, error)
	for i := range burst {
		content := &event.MessageEventContent{MsgType: event.MsgText, Body: fmt.Sprintf("message %d", i)}
		waits = append(waits, m.SendMessageAhead(ctx, pipe, m.Bot(), room, event.EventMessage, content, time.Time{}, fmt.Sprintf("txn%d", i)))
	}
	for i, wait := range waits {
		if _, err := wait(); err != nil {
			t.Errorf("message %d: %v", i, err)
		}
	}
	if m.NewPipeline(room) != nil {
		t.Error("a new pipeline was made for a homeserver address that redirects")
	}

	msgs, err := as.BotClient().Messages(ctx, room, "", "", mautrix.DirectionBackward, nil, 50)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(msgs.Chunk) - 1; i >= 0; i-- {
		evt := msgs.Chunk[i]
		if evt.Type != event.EventMessage {
			continue
		}
		_ = evt.Content.ParseRaw(evt.Type)
		got = append(got, evt.Content.AsMessage().Body)
	}
	var want []string
	for i := range burst {
		want = append(want, fmt.Sprintf("message %d", i))
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("the room has %q, want %q", got, want)
	}
	if n := strings.Count(logs.String(), "The homeserver address redirects"); n != 1 {
		t.Errorf("the log tells of the redirect %d times, want once:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), `set homeserver.address to \"`+hs.URL+`\"`) {
		t.Errorf("the log does not name the fix (the redirect's target, %s):\n%s", hs.URL, logs.String())
	}
}
