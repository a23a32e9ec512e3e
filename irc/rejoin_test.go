package irc

import (
	"strings"
	"testing"

	"github.com/ferrybridge/ferry/bridge/network"
)

// rejoinRefusedWith is a client whose automatic rejoin of the saved #c
// after a reconnect was refused with the raw line; it returns the events
// queued.
func rejoinRefusedWith(t *testing.T, raw string) (*Client, []network.Event) {
	t.Helper()
	addr := scriptedServer(t, "", func(string, *scriptedPeer) {})
	cl, host, conn := clientOn(t, addr)
	cl.meta.Channels = map[string]savedChannel{"#c": {Name: "#c", Key: "old"}}
	cl.onDisconnected(conn)
	cl.publish(conn) // #c is pending as an automatic rejoin
	cl.handle(line(t, raw))
	return cl, host.take()
}

// TestTransientRejoinRefusalKeepsChannel: an automatic rejoin refused for
// a reason that may pass (held for now, forwarded, full, invite-only, a
// changed key, services down, throttled, TLS only, kicked too recently,
// opers only) keeps the saved channel and the Matrix user
// in the room, and says so with one notice in the channel's portal.
func TestTransientRejoinRefusalKeepsChannel(t *testing.T) {
	for _, numeric := range []string{"437", "470", "471", "473", "475", "477", "480", "489", "495", "520"} {
		t.Run(numeric, func(t *testing.T) {
			cl, events := rejoinRefusedWith(t, ":srv "+numeric+" alice #c :Cannot join channel (some reason)")
			if _, ok := cl.meta.Channels["#c"]; !ok {
				t.Errorf("the channel is forgotten for good after one refused automatic rejoin")
			}
			got := notices(t, events) // fails on a Membership (a kick)
			if len(got) != 1 || got[0].Portal.Chat != cl.channelKey("#c").Chat ||
				!strings.Contains(got[0].Parts[0].Content.Body, "could not rejoin #c") ||
				!strings.Contains(got[0].Parts[0].Content.Body, "some reason") {
				t.Fatalf("want one notice in #c's portal saying why, got %+v", got)
			}
		})
	}
}

// TestFinalRejoinRefusalForgetsChannel: an automatic rejoin refused for
// good (banned, no such channel) forgets the channel and removes the
// Matrix user from the room, as before.
func TestFinalRejoinRefusalForgetsChannel(t *testing.T) {
	for _, numeric := range []string{"474", "403", "479"} {
		t.Run(numeric, func(t *testing.T) {
			cl, events := rejoinRefusedWith(t, ":srv "+numeric+" alice #c :Cannot join channel")
			if _, ok := cl.meta.Channels["#c"]; ok {
				t.Errorf("the channel is still saved")
			}
			if len(events) != 1 {
				t.Fatalf("events %+v, want one kick", events)
			}
			if mem, ok := events[0].(*network.Membership); !ok || !mem.TargetIsMe || mem.Action != network.MembershipKick {
				t.Errorf("event %+v, want the Matrix user's removal", events[0])
			}
		})
	}
}

// TestRefusedJoinAskedByUserRemovesFromRoom: a join the Matrix user asked
// for that is refused, even for a passing reason, removes them from the
// room with the server's reason, as before: they are there to see it.
func TestRefusedJoinAskedByUserRemovesFromRoom(t *testing.T) {
	addr := scriptedServer(t, "", func(string, *scriptedPeer) {})
	cl, host, _ := clientOn(t, addr)
	if err := cl.joinChannel("#d", "", joinAsked); err != nil {
		t.Fatal(err)
	}
	cl.handle(line(t, ":srv 471 alice #d :Cannot join channel (channel is full)"))
	events := host.take()
	if len(events) != 1 {
		t.Fatalf("events %+v, want one kick", events)
	}
	if mem, ok := events[0].(*network.Membership); !ok || !mem.TargetIsMe || mem.Action != network.MembershipKick {
		t.Errorf("event %+v, want the Matrix user's removal", events[0])
	}
}
