package puppets

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// signalWriter is a log writer that closes seen the first time a line
// with want is written.
type signalWriter struct {
	want string
	once sync.Once
	seen chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	if strings.Contains(string(p), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

// TestRefusedSendWaitingForAnotherJoinGivesUpWithItsContext: a ghost
// kicked behind Ferry's back has two sends refused, each through the
// ordinary client; one of them joins the ghost again, and that join is
// answered late; the other waits for it. When the waiting send's context
// ends meanwhile, it must give up at once with the context's error, not
// stay until the other send's join is answered (the whole of its
// RetryFor, at worst), past its own context, with the room's sends held
// behind its refusal.
func TestRefusedSendWaitingForAnotherJoinGivesUpWithItsContext(t *testing.T) {
	room := id.RoomID("!r:example.org")
	ghost := id.UserID("@ghost_bob:example.org")
	var arrivals atomic.Int32
	bothSent := make(chan struct{})
	join := newHeldJoin()
	defer join.letGo()
	hs := &kickedGhostsHomeserver{
		room: room,
		drop: func(r *http.Request) bool {
			if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/send/") {
				if arrivals.Add(1) == 2 {
					close(bothSent)
				}
			}
			return false
		},
		// Both sends reach the homeserver before either is refused, so
		// that neither goes out after the store has forgotten the ghost
		// (and joins it itself first).
		onRefused:  firstRefusalAfter(bothSent),
		beforeJoin: join.hold,
	}
	m, intent := startJoined(t, hs, ghost)
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: "hi"}

	// Either send may be the one that joins; the other one, which tells
	// in its log that it waits, has its context ended.
	type send struct {
		waiting *signalWriter
		cancel  context.CancelFunc
		done    chan error
	}
	sends := make([]*send, 2)
	for i, txn := range []string{"a", "b"} {
		s := &send{
			waiting: &signalWriter{want: "Waiting for a ghost's join again", seen: make(chan struct{})},
			done:    make(chan error, 1),
		}
		var ctx context.Context
		ctx, s.cancel = context.WithCancel(zerolog.New(s.waiting).WithContext(context.Background()))
		defer s.cancel()
		sends[i] = s
		go func() {
			_, err := m.SendMessage(ctx, intent, room, event.EventMessage, content, time.Time{}, txn)
			s.done <- err
		}()
	}
	var waiter, joiner *send
	select {
	case <-sends[0].waiting.seen:
		waiter, joiner = sends[0], sends[1]
	case <-sends[1].waiting.seen:
		waiter, joiner = sends[1], sends[0]
	case <-time.After(5 * time.Second):
		t.Fatal("neither send waited for the other one's join again")
	}
	waiter.cancel()

	// The held join is let go only once the waiting send has returned,
	// or, if it does not, after long enough to tell.
	var err error
	select {
	case err = <-waiter.done:
	case <-time.After(10 * time.Second):
		join.letGo()
		err = <-waiter.done
		t.Errorf("the waiting send returned only once the other one's join was answered")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("the waiting send ended with %v; want the context's error", err)
	}

	join.letGo()
	if err := <-joiner.done; err != nil {
		t.Errorf("the send that joined the ghost again: %v", err)
	}
}

// TestPipelinedRefusedSendWaitingForAnotherJoinLetsTheRoomGo: as above,
// with the waiting send pipelined. The room's sends given meanwhile wait
// behind its refusal (pipeline_refused.go); once its context has ended
// they must go, not wait on with it for the other send's join.
func TestPipelinedRefusedSendWaitingForAnotherJoinLetsTheRoomGo(t *testing.T) {
	room := id.RoomID("!r:example.org")
	ghost := id.UserID("@ghost_bob:example.org")
	join := newHeldJoin()
	defer join.letGo()
	hs := &kickedGhostsHomeserver{
		room: room,
		// The pipelined send is answered (refused) only once the
		// ordinary one, refused first, is joining the ghost again.
		drop: func(r *http.Request) bool {
			if strings.HasSuffix(r.URL.Path, "/send/m.room.message/b") {
				join.waitHeld()
			}
			return false
		},
		beforeJoin: join.hold,
	}
	m, intent := startJoined(t, hs, ghost)
	pipe := roomPipeline(t, m, room)
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: "hi"}

	waiting := &signalWriter{want: "Waiting for a ghost's join again", seen: make(chan struct{})}
	ctx, cancel := context.WithCancel(zerolog.New(waiting).WithContext(context.Background()))
	defer cancel()
	waitB := m.SendMessageAhead(ctx, pipe, intent, room, event.EventMessage, content, time.Time{}, "b")
	joined := make(chan error, 1)
	go func() {
		_, err := m.SendMessage(context.Background(), intent, room, event.EventMessage, content, time.Time{}, "a")
		joined <- err
	}()
	select {
	case <-join.held:
	case <-time.After(5 * time.Second):
		t.Fatal("the ordinary send never joined the ghost again")
	}
	select {
	case <-waiting.seen:
	case <-time.After(5 * time.Second):
		t.Fatal("the pipelined send never waited for the ordinary one's join again")
	}
	// Held behind the refusal being dealt with.
	waitC := m.SendMessageAhead(context.Background(), pipe, m.Bot(), room, event.EventMessage, content, time.Time{}, "c")
	cancel()

	bDone, cDone := make(chan error, 1), make(chan error, 1)
	go func() { _, err := waitB(); bDone <- err }()
	go func() { _, err := waitC(); cDone <- err }()
	// As above, the held join is let go only once both have returned,
	// or after long enough to tell.
	var errB, errC error
	tooLong := time.After(10 * time.Second)
	for got := 0; got < 2; {
		select {
		case errB = <-bDone:
			got++
		case errC = <-cDone:
			got++
		case <-tooLong:
			t.Errorf("the room's sends waited for the ordinary send's join")
			join.letGo()
		}
	}
	if !errors.Is(errB, context.Canceled) {
		t.Errorf("the pipelined send ended with %v; want the context's error", errB)
	}
	if errC != nil {
		t.Errorf("the send behind it: %v", errC)
	}
	join.letGo()
	if err := <-joined; err != nil {
		t.Errorf("the send that joined the ghost again: %v", err)
	}
}
