package ircconn

import (
	"testing"
	"time"
)

// A purge that races a CASEMAPPING change must fold the channel under the
// mapping the queue is grouped by: PurgeTarget folded under the mapping
// it read before taking wmu, so a 005 regrouping the queue in between
// left it looking for the old key, and the channel's lines were written
// after it was left.
func TestCaseMappingChangeDuringPurgeDropsTheChannel(t *testing.T) {
	s := newFakeServer(t)
	c, fc := mustDial(t, s, Config{Nick: "ferry", Rate: time.Hour, Burst: 1}, "")
	defer shut(c, fc)
	for _, text := range []string{"first", "b1"} {
		if err := c.Send(msg("PRIVMSG", "#Bob[", text)); err != nil {
			t.Fatal(err)
		}
	}
	fc.expect("PRIVMSG #Bob[ first")

	c.wmu.Lock()
	purged := make(chan int, 1)
	go func() { purged <- c.PurgeTarget("#Bob[") }()
	// Let the purge get as far as waiting for wmu: a purge that read
	// the mapping before that has read the old one by now.
	time.Sleep(50 * time.Millisecond)
	// What the reader does with a 005 changing the mapping (incoming).
	is := c.ISupport().Clone()
	is.Parse([]string{"CASEMAPPING=ascii"})
	c.isupport.Store(is)
	c.q.refold(is)
	c.wmu.Unlock()

	if n := <-purged; n != 1 {
		t.Errorf("PurgeTarget dropped %d lines, want 1: the line queued for #Bob[ before the change", n)
	}
}
