package irc

import (
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestE2ESharedLineAcrossABucketEdge: on a network with neither msgid
// nor server-time, a line's ID hashes the time it was read, rounded to
// messageWindow. Two Ferry logins in one channel that read the same line
// on either side of a window's edge (one reads a little late) must still
// bridge it once.
func TestE2ESharedLineAcrossABucketEdge(t *testing.T) {
	var proxy *holdProxy
	e := startEnvVia(t, testbed.InspIRCdOptions{WithoutModules: []string{"ircv3_msgid", "ircv3_servertime"}}, "", func(addr string) string {
		proxy = newHoldProxy(t, addr)
		return proxy.addr
	})
	sc := e.bobAliceAndCarolInTwo(t)
	sc.alice.WaitForMembership(t, sc.room, sc.carol.UserID, event.MembershipJoin, waitLong)
	ghost := e.ghost("bob")

	// bob speaks 300 ms before a window ends; alice reads it at once,
	// carol only once the next window has begun.
	edge := time.Now().Truncate(messageWindow).Add(messageWindow)
	if time.Until(edge) < 500*time.Millisecond {
		edge = edge.Add(messageWindow)
	}
	time.Sleep(time.Until(edge.Add(-300 * time.Millisecond)))
	proxy.hold("carol")
	sc.bob.send("PRIVMSG", "#two", "across the edge")
	sc.alice.WaitForEvent(t, sc.room, waitLong, bodyFrom(ghost, "across the edge"))
	time.Sleep(time.Until(edge.Add(200 * time.Millisecond)))
	proxy.release("carol")

	// carol reads "after" after bob's line: once it is in the room
	// from her, she has handled bob's line too.
	sc.bob.send("PRIVMSG", "#two", "after")
	sc.alice.WaitForEvent(t, sc.room, waitLong, bodyFrom(ghost, "after"))
	sc.bob.send("PRIVMSG", "#two", "last")
	sc.alice.WaitForEvent(t, sc.room, waitLong, bodyFrom(ghost, "last"))
	n := 0
	for _, evt := range sc.alice.Events(sc.room) {
		if bodyFrom(ghost, "across the edge")(evt) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("bob's line is in the shared room %d times, want once", n)
	}
}
