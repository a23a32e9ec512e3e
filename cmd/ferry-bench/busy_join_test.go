package main

import (
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// The busy-join figures come from the room's timeline: ghosts are every
// joined user but the Matrix user and the bot, each counted once; the
// first line's place among their joins is where it stands in the
// timeline; and a ghost has left if its last membership is a leave.
func TestReadBusyRoom(t *testing.T) {
	const user, bot = id.UserID("@bench:hs"), id.UserID("@ferry:hs")
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	member := func(who id.UserID, membership event.Membership, s int) arrival {
		key := string(who)
		evt := &event.Event{Type: event.StateMember, StateKey: &key}
		evt.Content.Parsed = &event.MemberEventContent{Membership: membership}
		return arrival{evt: evt, at: at(s)}
	}
	text := func(body string, s int) arrival {
		evt := &event.Event{Type: event.EventMessage}
		evt.Content.Parsed = &event.MessageEventContent{MsgType: event.MsgText, Body: body}
		return arrival{evt: evt, at: at(s)}
	}
	timeline := []arrival{
		member(bot, event.MembershipJoin, 0),
		member(user, event.MembershipInvite, 1),
		member("@g1:hs", event.MembershipJoin, 2),
		member(user, event.MembershipJoin, 3),
		text("something else", 4),
		text(busyFirst, 5),
		member("@g1:hs", event.MembershipJoin, 6), // a profile change
		member("@g2:hs", event.MembershipInvite, 7),
		member("@g2:hs", event.MembershipJoin, 8),
		text(busyFirst, 9), // not the first
		member("@g3:hs", event.MembershipJoin, 10),
		member("@g2:hs", event.MembershipLeave, 11),
		text(busyAfter, 12),
		member("@g3:hs", event.MembershipLeave, 13),
		member("@g3:hs", event.MembershipJoin, 14), // back: not among the left
		member(user, event.MembershipLeave, 15),    // not a ghost
	}
	got := readBusyRoom(timeline, user, bot)
	want := busyRoom{ghosts: 3, lastJoin: at(10), firstAt: at(5), beforeFirst: 1, left: 1, lastLeave: at(13), afterAt: at(12)}
	if got != want {
		t.Errorf("readBusyRoom = %+v, want %+v", got, want)
	}
	if got := readBusyRoom(timeline[:5], user, bot); !got.firstAt.IsZero() || got.ghosts != 1 {
		t.Errorf("before the first line: %+v, want no first line and one ghost", got)
	}
}
