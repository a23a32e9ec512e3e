package ircconn

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func drain(q *writeQueue) []string {
	var out []string
	for {
		it, ok := q.pop()
		if !ok {
			return out
		}
		out = append(out, strings.TrimSuffix(string(it.line), "\r\n"))
	}
}

func TestQueueOrder(t *testing.T) {
	var q writeQueue
	q.push([]byte("a1"), "#a", "")
	q.push([]byte("a2"), "#a", "")
	q.push([]byte("a3"), "#a", "")
	q.push([]byte("b1"), "#b", "")
	q.push([]byte("JOIN #c"), "", "")
	q.push([]byte("c1"), "#c", "")
	q.push([]byte("a4"), "#a", "")
	q.pushUrgent([]byte("PONG x"), false)
	// Urgent first; targets round-robin up to the general line (a
	// barrier); nothing queued after the JOIN overtakes it.
	want := []string{"PONG x", "a1", "b1", "a2", "a3", "JOIN #c", "c1", "a4"}
	if got := drain(&q); !equalStrings(got, want) {
		t.Errorf("order %q\nwant  %q", got, want)
	}
	if q.n != 0 || q.targets != nil || q.general != nil {
		t.Errorf("queue not empty after drain: %+v", q)
	}
}

func TestQueuePurge(t *testing.T) {
	var q writeQueue
	is := DefaultISupport()
	is.StatusMsg = "@+"
	q.push([]byte("a1"), "#a", "")
	q.push([]byte("b1"), "#b", "L1")
	q.push([]byte("b2"), "@#b", "L2")
	q.push([]byte("b3"), "#bb", "")
	q.push([]byte("a2"), "#a", "")
	dropped := q.purge("#b", is)
	var labels []string
	for _, it := range dropped {
		labels = append(labels, it.label)
	}
	if !equalStrings(labels, []string{"L1", "L2"}) {
		t.Errorf("purge dropped the lines labeled %q", labels)
	}
	if got, want := drain(&q), []string{"a1", "b3", "a2"}; !equalStrings(got, want) {
		t.Errorf("after purge %q, want %q", got, want)
	}
}

func TestTokenBucket(t *testing.T) {
	// Pure arithmetic on given instants: no clock is read.
	var q writeQueue
	now := time.Unix(1000, 0)
	const rate = 2 * time.Second
	for i := 0; i < 5; i++ { // a burst of 5 goes out at once
		if d := q.wait(now, rate, 5); d != 0 {
			t.Fatalf("line %d of the burst waits %v", i, d)
		}
		q.take(now, rate)
	}
	if d := q.wait(now, rate, 5); d != rate {
		t.Errorf("6th line waits %v, want %v", d, rate)
	}
	later := now.Add(rate)
	if d := q.wait(later, rate, 5); d != 0 {
		t.Errorf("after one interval: wait %v", d)
	}
	if d := q.wait(now, 0, 5); d != 0 {
		t.Errorf("unlimited waits %v", d)
	}
}

// writerRunning reports whether c's writer goroutine is on.
func writerRunning(c *Conn) bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writerOn
}

// TestWriterOnDemand: an idle connection has no writer goroutine; a line
// starts one, which ends once the queue is empty, and the next line
// starts another. Server PINGs are answered the same way.
func TestWriterOnDemand(t *testing.T) {
	s := newFakeServer(t)
	c, fc := mustDial(t, s, Config{Nick: "ferry", Unlimited: true}, "")
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(time.Millisecond)
		}
	}
	idle := func() bool { return !writerRunning(c) }
	waitFor("no writer after registration", idle)
	for i := range 3 {
		text := fmt.Sprintf("line %d", i)
		if err := c.Send(msg("PRIVMSG", "#chan", text)); err != nil {
			t.Fatal(err)
		}
		fc.expect("PRIVMSG #chan :" + text)
		waitFor("the writer to end", idle)
	}
	fc.send("PING :tok")
	fc.expect("PONG tok")
	waitFor("the writer to end after the PONG", idle)
}
