package ircconn

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/irc.v4"
)

// TestMain fails the package if any Conn goroutine outlives the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := waitNoConnGoroutines(5 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "leaked ircconn goroutines:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// connGoroutines returns the stacks of goroutines running a Conn loop.
func connGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "ircconn.(*Conn).readLoop") || strings.Contains(g, "ircconn.(*Conn).afterRead") || strings.Contains(g, "ircconn.(*Conn).writeLoop") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}

func waitNoConnGoroutines(limit time.Duration) string {
	deadline := time.Now().Add(limit)
	for {
		g := connGoroutines()
		if g == "" || time.Now().After(deadline) {
			return g
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// recorder collects messages given to the Handler.
type recorder struct {
	mu   sync.Mutex
	msgs []*irc.Message
}

func (r *recorder) handle(m *irc.Message) {
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	r.mu.Unlock()
}

func (r *recorder) commands() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.msgs {
		out = append(out, m.Command)
	}
	return out
}

func TestFloodControlOrder(t *testing.T) {
	s := newFakeServer(t)
	// One token and a refill far beyond the test: after the first line,
	// chat lines wait, so arrival order alone shows who jumps the queue.
	c, fc := mustDial(t, s, Config{Nick: "ferry", Rate: time.Hour, Burst: 1}, "")
	for i := 1; i <= 5; i++ {
		if err := c.Send(msg("PRIVMSG", "#chan", fmt.Sprintf("line %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	fc.expect("PRIVMSG #chan :line 1")
	fc.send("PING :are-you-there")
	fc.expect("PONG are-you-there")
	if err := c.Send(msg("PONG", "manual")); err != nil {
		t.Fatal(err)
	}
	fc.expect("PONG manual")
	closed := make(chan struct{})
	go func() { c.Close("goodbye"); close(closed) }()
	fc.expect("QUIT goodbye")
	// Nothing after the QUIT: the four waiting lines were dropped.
	fc.expectEOF()
	fc.nc.Close()
	<-closed
	<-c.Done()
	if !errors.Is(c.Err(), ErrClosed) || KindOf(c.Err()) != KindClosed {
		t.Errorf("Err() = %v", c.Err())
	}
	if err := c.Send(msg("PRIVMSG", "#chan", "late")); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close: %v", err)
	}
}

func TestUnlimitedKeepsOrder(t *testing.T) {
	s := newFakeServer(t)
	c, fc := mustDial(t, s, Config{Nick: "ferry", Unlimited: true}, "")
	for i := 0; i < 50; i++ {
		if err := c.Send(msg("PRIVMSG", "#a", fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 50; i++ {
		fc.expect(fmt.Sprintf("PRIVMSG #a %d", i))
	}
}

func TestQueueBound(t *testing.T) {
	s := newFakeServer(t)
	c, fc := mustDial(t, s, Config{Nick: "ferry", Rate: time.Hour, Burst: 1, QueueSize: 3}, "")
	c.Send(msg("PRIVMSG", "#a", "first"))
	fc.expect("PRIVMSG #a first") // the token is spent; the queue is empty
	for i := 0; i < 3; i++ {
		if err := c.Send(msg("PRIVMSG", "#a", "queued")); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Send(msg("PRIVMSG", "#a", "one too many")); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("Send on a full queue: %v", err)
	}
	if n := c.PurgeTarget("#A"); n != 3 { // casefolded like the server does
		t.Errorf("PurgeTarget dropped %d", n)
	}
	if err := c.Send(msg("PRIVMSG", "#a", "room again")); err != nil {
		t.Errorf("after purge: %v", err)
	}
}

func TestInjectionNothingWritten(t *testing.T) {
	s := newFakeServer(t)
	c, fc := mustDial(t, s, Config{Nick: "ferry", Unlimited: true}, "")
	for _, m := range []*irc.Message{
		msg("PRIVMSG", "#chan", "hi\r\nQUIT :owned"),
		msg("PRIVMSG", "#chan", "\x00"),
		msg("PRIVMSG", "#chan with space", "hi"),
		msg("MODE", "#chan", "", "+o"),
		msg("JOIN", "#a\nJOIN #b"),
	} {
		err := c.Send(m)
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("Send(%q) = %v, want a *ValidationError", m.Params, err)
		}
		if _, err := c.SendLabeled(m); err == nil {
			t.Errorf("SendLabeled(%q) accepted", m.Params)
		}
	}
	// The next line on the wire is the valid one: nothing of the refused
	// messages was written.
	c.Send(msg("PRIVMSG", "#chan", "clean"))
	fc.expect("PRIVMSG #chan clean")
}

func TestPingAndKeepalive(t *testing.T) {
	s := newFakeServer(t)
	rec := &recorder{}
	c, fc := mustDial(t, s, Config{Nick: "ferry", IdleTimeout: 150 * time.Millisecond, PingTimeout: 150 * time.Millisecond, Handler: rec.handle}, "")
	fc.send("PING irc.test")
	fc.expect("PONG irc.test")
	// Silence: the client asks; an answer keeps the connection.
	fc.expect("PING ferry-keepalive")
	fc.send(":irc.test PONG irc.test :ferry-keepalive")
	fc.expect("PING ferry-keepalive")
	// No answer this time: the client gives up.
	select {
	case <-c.Done():
	case <-time.After(fakeTimeout):
		t.Fatal("no ping timeout")
	}
	if !errors.Is(c.Err(), ErrPingTimeout) || KindOf(c.Err()) != KindTimeout {
		t.Errorf("Err() = %v", c.Err())
	}
	cmds := strings.Join(rec.commands(), " ")
	if !strings.Contains(cmds, "001") || !strings.Contains(cmds, "PING") || !strings.Contains(cmds, "PONG") {
		t.Errorf("handler saw %s", cmds)
	}
}

func TestServerErrorEndsConn(t *testing.T) {
	s := newFakeServer(t)
	c, fc := mustDial(t, s, Config{Nick: "ferry"}, "")
	fc.send(":irc.test 465 ferry :You're banned!", "ERROR :Closing link: (ferry@127.0.0.1) [K-lined: no bridges here]")
	fc.nc.Close()
	<-c.Done()
	var se *ServerError
	if !errors.As(c.Err(), &se) || se.Kind != KindBanned || !strings.Contains(se.Reason, "no bridges") {
		t.Errorf("Err() = %v", c.Err())
	}
	if err := c.Send(msg("PRIVMSG", "#a", "x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after the end: %v", err)
	}
}

func TestLabeledResponse(t *testing.T) {
	s := newFakeServer(t)
	c, fc := mustDial(t, s, Config{Nick: "ferry", Unlimited: true}, "labeled-response echo-message batch message-tags server-time")
	// An echoed PRIVMSG carries the msgid and time.
	reply, err := c.SendLabeled(msg("PRIVMSG", "#chan", "hello there"))
	if err != nil {
		t.Fatal(err)
	}
	m := fc.expectMsg()
	label := m.Tags["label"]
	if label == "" || m.Command != "PRIVMSG" || m.Trailing() != "hello there" {
		t.Fatalf("sent %v", m)
	}
	fc.send("@label=" + label + ";msgid=abc123;time=2026-01-02T03:04:05.678Z :ferry!u@h PRIVMSG #chan :hello there")
	r := <-reply
	if r.Err != nil || len(r.Messages) != 1 || r.Messages[0].Tags["msgid"] != "abc123" {
		t.Fatalf("reply %+v", r)
	}
	if ts, ok := MessageTime(r.Messages[0]); !ok || !ts.Equal(time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.UTC)) {
		t.Errorf("MessageTime = %v, %v", ts, ok)
	}

	// A batch reply collects what is inside it, nested batches included.
	reply, _ = c.SendLabeled(msg("JOIN", "#chan"))
	label = fc.expectMsg().Tags["label"]
	fc.send("@label="+label+" :irc.test BATCH +b1 labeled-response",
		"@batch=b1 :ferry!u@h JOIN #chan",
		"@batch=b1 :irc.test BATCH +b2 example",
		"@batch=b2 :irc.test 353 ferry = #chan :ferry",
		"@batch=b1 :irc.test BATCH -b2",
		"@batch=b1 :irc.test 366 ferry #chan :End",
		":irc.test BATCH -b1")
	r = <-reply
	var cmds []string
	for _, m := range r.Messages {
		cmds = append(cmds, m.Command)
	}
	if r.Err != nil || strings.Join(cmds, " ") != "JOIN 353 366" {
		t.Errorf("batch reply %v %v", cmds, r.Err)
	}

	// ACK for a command without output.
	reply, _ = c.SendLabeled(msg("NOTICE", "#chan", "x"))
	label = fc.expectMsg().Tags["label"]
	fc.send("@label=" + label + " :irc.test ACK")
	if r := <-reply; len(r.Messages) != 1 || r.Messages[0].Command != "ACK" {
		t.Errorf("ACK reply %+v", r)
	}

	// A pending request fails when the connection ends.
	reply, _ = c.SendLabeled(msg("PRIVMSG", "#chan", "never answered"))
	fc.expectMsg()
	fc.nc.Close()
	if r := <-reply; !errors.Is(r.Err, ErrClosed) {
		t.Errorf("reply after close: %+v", r)
	}
}

func TestLabeledNeedsCap(t *testing.T) {
	s := newFakeServer(t)
	c, _ := mustDial(t, s, Config{Nick: "ferry"}, "")
	if _, err := c.SendLabeled(msg("PRIVMSG", "#a", "x")); !errors.Is(err, ErrNoLabeledResponse) {
		t.Errorf("err %v", err)
	}
}

func TestPurgeFailsLabels(t *testing.T) {
	s := newFakeServer(t)
	c, fc := mustDial(t, s, Config{Nick: "ferry", Rate: time.Hour, Burst: 1}, "labeled-response")
	c.Send(msg("PRIVMSG", "#b", "spends the token"))
	fc.expect("PRIVMSG #b :spends the token")
	reply, err := c.SendLabeled(msg("PRIVMSG", "#a", "doomed"))
	if err != nil {
		t.Fatal(err)
	}
	if n := c.PurgeTarget("#a"); n != 1 {
		t.Errorf("purged %d", n)
	}
	if r := <-reply; !errors.Is(r.Err, ErrPurged) {
		t.Errorf("reply %+v", r)
	}
}

func TestCloseFromHandler(t *testing.T) {
	s := newFakeServer(t)
	var c *Conn
	ready := make(chan struct{})
	handler := func(m *irc.Message) {
		if m.Command == "PRIVMSG" {
			<-ready
			c.Close("asked to leave") // must not deadlock on its own goroutine
		}
	}
	c, fc := mustDial(t, s, Config{Nick: "ferry", Handler: handler}, "")
	close(ready)
	fc.send(":boss!u@h PRIVMSG ferry :please quit")
	fc.expect("QUIT :asked to leave")
	fc.nc.Close()
	select {
	case <-c.Done():
	case <-time.After(fakeTimeout):
		t.Fatal("Close from the handler did not end the connection")
	}
}

func TestCloseWaitsForServer(t *testing.T) {
	s := newFakeServer(t)
	c, fc := mustDial(t, s, Config{Nick: "ferry", QuitTimeout: 200 * time.Millisecond}, "")
	got := make(chan string, 1)
	go func() { // no t.Fatal off the test goroutine: report the line instead
		line, _ := fc.br.ReadString('\n')
		fc.nc.Write([]byte("ERROR :Closing link: (ferry@127.0.0.1) [Quit: bye]\r\n"))
		fc.nc.Close()
		got <- line
	}()
	c.Close("bye")
	if line := <-got; line != "QUIT bye\r\n" {
		t.Errorf("server got %q", line)
	}
	select {
	case <-c.Done():
	default:
		t.Fatal("Close returned before the connection ended")
	}
	if !errors.Is(c.Err(), ErrClosed) {
		t.Errorf("Err() = %v", c.Err())
	}
	// A server that never hangs up is cut off after QuitTimeout.
	c2, fc2 := mustDial(t, s, Config{Nick: "ferry2", QuitTimeout: 100 * time.Millisecond}, "")
	c2.Close("bye")
	<-c2.Done()
	if fc2.readLine() != "QUIT bye" {
		t.Error("no QUIT")
	}
	// Both connections are over: none of their goroutines is left. (This
	// test is not parallel, and parallel tests start only after it.)
	if leaked := waitNoConnGoroutines(5 * time.Second); leaked != "" {
		t.Errorf("goroutines left after Close:\n%s", leaked)
	}
}

// TestLabeledNickSource: InspIRCd 3 answers a labeled NICK with the new
// nick as source; the Conn still follows its own nick change, inside a
// labeled batch too.
func TestLabeledNickSource(t *testing.T) {
	s := newFakeServer(t)
	c, fc := mustDial(t, s, Config{Nick: "ferry", Unlimited: true}, "labeled-response batch message-tags")
	reply, err := c.SendLabeled(msg("NICK", "ferry2"))
	if err != nil {
		t.Fatal(err)
	}
	label := fc.expectMsg().Tags["label"]
	fc.send("@label=" + label + " :ferry2!u@h NICK ferry2")
	<-reply
	if c.Nick() != "ferry2" {
		t.Errorf("Nick() = %q after a labeled NICK", c.Nick())
	}
	reply, _ = c.SendLabeled(msg("NICK", "ferry3"))
	label = fc.expectMsg().Tags["label"]
	fc.send("@label="+label+" :irc.test BATCH +n labeled-response", "@batch=n :ferry3!u@h NICK ferry3", ":irc.test BATCH -n")
	<-reply
	if c.Nick() != "ferry3" {
		t.Errorf("Nick() = %q after a NICK in a labeled batch", c.Nick())
	}
	// Someone else's unlabeled NICK is not ours.
	fc.send(":bob!u@h NICK ferry4")
	reply, _ = c.SendLabeled(msg("PING", "x"))
	label = fc.expectMsg().Tags["label"]
	fc.send("@label=" + label + " :irc.test PONG irc.test x")
	<-reply
	if c.Nick() != "ferry3" {
		t.Errorf("Nick() = %q after another's NICK", c.Nick())
	}
}

// TestAfterDone: functions registered while the connection runs are run
// once it has ended, with Done closed and Err set; one registered later
// runs at once.
func TestAfterDone(t *testing.T) {
	s := newFakeServer(t)
	c, fc := mustDial(t, s, Config{Nick: "ferry"}, "")
	ran := make(chan error, 2)
	c.AfterDone(func() {
		select {
		case <-c.Done():
			ran <- c.Err()
		default:
			ran <- errors.New("ran before Done was closed")
		}
	})
	select {
	case err := <-ran:
		t.Fatalf("ran while the connection was up: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	if c.Ended() || c.Err() != nil {
		t.Fatalf("up, yet Ended() = %v, Err() = %v", c.Ended(), c.Err())
	}
	fc.nc.Close() // the server goes away
	select {
	case err := <-ran:
		if err == nil || KindOf(err) == KindClosed {
			t.Errorf("ran with Err() = %v, want the I/O error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("did not run after the connection ended")
	}
	if !c.Ended() {
		t.Error("Ended() = false after the end")
	}
	c.AfterDone(func() { ran <- nil })
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("registered after the end, it did not run")
	}
}

// TestAbandonFreesTheLabel: a caller that gives up on a labeled reply
// frees its label, so unanswered lines do not use up the pending bound,
// and a late reply to it goes to the Handler alone.
func TestAbandonFreesTheLabel(t *testing.T) {
	s := newFakeServer(t)
	handled := make(chan *irc.Message, 1)
	c, fc := mustDial(t, s, Config{Nick: "ferry", Unlimited: true, Handler: func(m *irc.Message) {
		if m.Command == "PRIVMSG" {
			handled <- m
		}
	}}, "labeled-response echo-message")
	var firstLabel string
	for i := 0; i < maxPendingLabels+1; i++ {
		reply, err := c.SendLabeled(msg("PRIVMSG", "#a", "unanswered"))
		if err != nil {
			t.Fatalf("labeled send %d after abandoning the earlier ones: %v", i, err)
		}
		if label := fc.expectMsg().Tags["label"]; i == 0 {
			firstLabel = label
		}
		c.Abandon(reply)
	}
	fc.send("@label=" + firstLabel + ";msgid=late :ferry!u@h PRIVMSG #a :unanswered")
	select {
	case m := <-handled:
		if m.Tags["msgid"] != "late" {
			t.Errorf("handler got %v", m)
		}
	case <-time.After(fakeTimeout):
		t.Fatal("the late reply to an abandoned label never reached the handler")
	}
}
