package bridge_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// A long member list is joined between the portal's other events: a
// message that comes right after the list is bridged after a join or two,
// not after all of them. Meanwhile the chat moves on, and what the
// portal's own events say wins: a member who leaves is not brought back
// from the list, one who joins is not removed as departed when the list
// ends, and a mode change naming one member does not cut the list short.
func TestMemberListIsJoinedBetweenMessages(t *testing.T) {
	s, room, ctx := newMemberScene(t)
	ghost, meta, resync := s.ghostOf, s.meta, s.resync

	// The canary is in the room before the long list, and not in it: its
	// leave is the last thing the long list does, so it says when the
	// list is done.
	if err := s.cl.Handle(ctx, resync("bob", "canary")); err != nil {
		t.Fatal(err)
	}
	s.alice.WaitForMembership(t, room, ghost("canary"), event.MembershipJoin, waitLong)

	const n = 30
	var listed []network.UserID
	for i := 1; i < n; i++ {
		listed = append(listed, network.UserID(fmt.Sprintf("m%02d", i)))
	}
	// m00 comes last in the list, and leaves the chat right after it.
	s.cl.Queue(resync(append([]network.UserID{"bob"}, append(listed, "m00")...)...))
	s.cl.Queue(textMessage(s.portal, "m1", "m15", time.Now(), "said while the list is joined"))
	s.cl.Queue(&network.Membership{Meta: meta, Target: "m00", Action: network.MembershipLeave})
	s.cl.Queue(&network.Membership{Meta: meta, Target: "late", Action: network.MembershipJoin})
	// A mode change names only the member it changed (IRC's +o): that
	// partial list must not cut the full one short.
	op := 50
	s.cl.Queue(&network.ChatInfoChange{Meta: meta, Info: &network.ChatInfo{Members: &network.MemberList{
		Members: []network.Member{{User: "m07", PowerLevel: &op}},
	}}})

	said := s.alice.WaitForEvent(t, room, waitLong, bodyIs(ghost("m15"), "said while the list is joined"))
	s.alice.WaitForMembership(t, room, ghost("canary"), event.MembershipLeave, waitLong)
	// The portal takes a new event once the list's last step, which
	// removed the canary and perhaps others, is over.
	if err := s.cl.Handle(ctx, textMessage(s.portal, "m2", "bob", time.Now(), "after the list")); err != nil {
		t.Fatal(err)
	}

	joined, err := s.alice.JoinedMembers(ctx, room)
	if err != nil {
		t.Fatal(err)
	}
	for _, user := range append(listed, "bob", "late") {
		if _, ok := joined.Joined[ghost(user)]; !ok {
			t.Errorf("%s's ghost is not in the room once the list is done", user)
		}
	}
	for _, user := range []network.UserID{"m00", "canary"} {
		if _, ok := joined.Joined[ghost(user)]; ok {
			t.Errorf("%s's ghost is still in the room, though %s left the chat", user, user)
		}
	}

	var levels event.PowerLevelsEventContent
	if err := s.alice.StateEvent(ctx, room, event.StatePowerLevels, "", &levels); err != nil || levels.Users[ghost("m07")] != op {
		t.Errorf("m07's power level is %d (%v), want %d from the mode change", levels.Users[ghost("m07")], err, op)
	}

	// In the room's timeline, most of the list's joins come after the
	// message. Joined before it, the list took about 90 ms a member.
	var listedMXIDs []id.UserID
	for _, user := range listed {
		listedMXIDs = append(listedMXIDs, ghost(user))
	}
	after := s.alice.JoinsAfter(t, room, said.ID, listedMXIDs)
	if after < len(listed)/2 {
		t.Errorf("only %d of the list's %d joins came after the message: the message waited for the list", after, len(listed))
	}
}

// The ghosts of members who left while Ferry was not looking (a full list
// without them) leave between the portal's events too, and one who comes
// back in the meantime stays.
func TestDepartedGhostsLeaveBetweenMessages(t *testing.T) {
	s, room, ctx := newMemberScene(t)
	ghost, meta, resync := s.ghostOf, s.meta, s.resync

	const n = 20
	var gone []network.UserID
	for i := range n {
		gone = append(gone, network.UserID(fmt.Sprintf("d%02d", i)))
	}
	s.joinAll(t, ctx, room, gone)

	// They all left. Once the first ghost is out, bob speaks and d05
	// comes back.
	s.cl.Queue(resync("bob"))
	goneMXIDs := map[string]bool{}
	for _, user := range gone {
		goneMXIDs[string(ghost(user))] = true
	}
	s.alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool {
		return evt.Type == event.StateMember && goneMXIDs[evt.GetStateKey()] && evt.Content.AsMember().Membership == event.MembershipLeave
	})
	s.cl.Queue(textMessage(s.portal, "m1", "bob", time.Now(), "said while they leave"))
	s.cl.Queue(&network.Membership{Meta: meta, Target: "d05", Action: network.MembershipJoin})
	said := s.alice.WaitForEvent(t, room, waitLong, bodyIs(s.bob, "said while they leave"))
	var left []id.UserID
	for _, user := range gone {
		if user != "d05" {
			left = append(left, ghost(user))
			s.alice.WaitForMembership(t, room, ghost(user), event.MembershipLeave, waitLong)
		}
	}
	// The portal takes a new event once the list's last step is over.
	if err := s.cl.Handle(ctx, textMessage(s.portal, "m2", "bob", time.Now(), "after the list")); err != nil {
		t.Fatal(err)
	}
	joined, err := s.alice.JoinedMembers(ctx, room)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := joined.Joined[ghost("d05")]; !ok {
		t.Error("d05 came back to the chat, but the departed ghosts' removal took its ghost out")
	}
	if after := s.alice.LeavesAfter(t, room, said.ID, left); after < len(left)/2 {
		t.Errorf("only %d of the %d departed ghosts left after the message: it waited for them", after, len(left))
	}
}

// Churn waits too: when many members leave at once (a server restarting
// drops a hundred nicks), a message that comes right after them is
// bridged before most of their leaves. For each member the latest word
// counts: one who leaves and comes back in the meantime stays, and a
// kick is the bot's, with its reason.
func TestMemberChurnDoesNotHoldUpMessages(t *testing.T) {
	s, room, ctx := newMemberScene(t)
	ghost, meta := s.ghostOf, s.meta
	const n = 20
	var users []network.UserID
	for i := range n {
		users = append(users, network.UserID(fmt.Sprintf("c%02d", i)))
	}
	s.joinAll(t, ctx, room, users)

	// All of them go: c00 is kicked, c01 leaves and comes back at once.
	for _, user := range users {
		action := network.MembershipLeave
		if user == "c00" {
			action = network.MembershipKick
		}
		s.cl.Queue(&network.Membership{Meta: meta, Target: user, Action: action, Reason: "gone for " + string(user)})
	}
	s.cl.Queue(textMessage(s.portal, "m1", "bob", time.Now(), "still here"))
	s.cl.Queue(&network.Membership{Meta: meta, Target: "c01", Action: network.MembershipJoin})
	said := s.alice.WaitForEvent(t, room, waitLong, bodyIs(s.bob, "still here"))
	var left []id.UserID
	for _, user := range users[2:] {
		left = append(left, ghost(user))
		s.alice.WaitForMembership(t, room, ghost(user), event.MembershipLeave, waitLong)
	}
	// A leave keeps the network's reason (an IRC PART or QUIT message).
	if left := s.alice.WaitForMembership(t, room, ghost("c05"), event.MembershipLeave, waitLong); left.Content.AsMember().Reason != "gone for c05" {
		t.Errorf("c05 left with reason %q, want the network's %q", left.Content.AsMember().Reason, "gone for c05")
	}
	kick := s.alice.WaitForMembership(t, room, ghost("c00"), event.MembershipLeave, waitLong)
	if kick.Sender != s.h.Bridge.Matrix.BotMXID() || kick.Content.AsMember().Reason != "gone for c00" {
		t.Errorf("c00's removal was by %s with reason %q; want the bot's kick with the network's reason", kick.Sender, kick.Content.AsMember().Reason)
	}
	if err := s.cl.Handle(ctx, textMessage(s.portal, "m2", "bob", time.Now(), "after the churn")); err != nil {
		t.Fatal(err)
	}
	joined, err := s.alice.JoinedMembers(ctx, room)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := joined.Joined[ghost("c01")]; !ok {
		t.Error("c01 left and came back, but its ghost is out of the room")
	}
	if after := s.alice.LeavesAfter(t, room, said.ID, left); after < len(left)/2 {
		t.Errorf("only %d of the %d leaves came after the message queued behind them: it waited for them", after, len(left))
	}
}

// A lazy member list (a network's large channel) joins nobody: its
// ghosts join when they speak. It still says who stays: when the full
// list ends, a ghost in the room that is on it stays, and one that is
// not leaves.
func TestLazyMemberListJoinsNobody(t *testing.T) {
	s, room, ctx := newMemberScene(t)
	ghost := s.ghostOf
	s.joinAll(t, ctx, room, []network.UserID{"x1", "x2", "x3"})

	lazy := s.resync("bob", "x1", "x2", "y1", "y2")
	lazy.Info.Members.Lazy = true
	s.cl.Queue(lazy)
	s.alice.WaitForMembership(t, room, ghost("x3"), event.MembershipLeave, waitLong)
	if err := s.cl.Handle(ctx, textMessage(s.portal, "m1", "y1", time.Now(), "y1 speaks")); err != nil {
		t.Fatal(err)
	}
	s.alice.WaitForEvent(t, room, waitLong, bodyIs(ghost("y1"), "y1 speaks"))

	joined, err := s.alice.JoinedMembers(ctx, room)
	if err != nil {
		t.Fatal(err)
	}
	for user, want := range map[network.UserID]bool{"x1": true, "x2": true, "x3": false, "y1": true, "y2": false} {
		if _, in := joined.Joined[ghost(user)]; in != want {
			t.Errorf("%s's ghost in the room: %v, want %v", user, in, want)
		}
	}
}

// A room whose queue never empties still gets its members: while files
// that are slow to fetch keep the portal busy for seconds, the member
// list that came before them goes on joining, a ghost now and then,
// instead of waiting for the queue to empty.
func TestMemberListAdvancesInARoomThatIsNeverQuiet(t *testing.T) {
	s, room, ctx := newMemberScene(t)
	const members, files = 10, 25
	const fetch = 200 * time.Millisecond
	var listed []network.UserID
	var listedMXIDs []id.UserID
	for i := range members {
		user := network.UserID(fmt.Sprintf("b%02d", i))
		listed = append(listed, user)
		listedMXIDs = append(listedMXIDs, s.ghostOf(user))
	}
	// Bob is on the list too; he sends the files, so his ghost is in at
	// once. Each file takes the portal at least fetch, and they are all
	// queued at once: the queue stays full for files*fetch (5 s).
	s.cl.Queue(s.resync(append([]network.UserID{"bob"}, listed...)...))
	end := s.busyWithFiles(t, room, files, fetch, listedMXIDs)
	if err := s.cl.Handle(ctx, textMessage(s.portal, "after", "bob", time.Now(), "once all are in")); err != nil {
		t.Fatal(err)
	}
	before := members - s.alice.JoinsAfter(t, room, end.ID, listedMXIDs)
	t.Logf("%d of the list's %d joins came while the files kept the portal busy", before, members)
	// A join a second, checked between two files: four in five seconds,
	// and three leaves room for a slow machine.
	if before < 3 {
		t.Errorf("only %d of the list's %d joins came while the portal was busy for %s: the list waited for the queue to empty", before, members, files*fetch)
	}
}

// Members who speak while the list is being joined get their ghosts
// through their messages; the list's own turns for them then cost no
// request, and must not use up the slots a busy room leaves it: the
// quiet members after them still join while the portal is busy.
func TestMembersWhoSpokeDoNotHoldUpTheList(t *testing.T) {
	s, room, _ := newMemberScene(t)
	const talkers, quiet, files = 8, 4, 25
	const fetch = 200 * time.Millisecond
	list := []network.UserID{"bob"}
	for i := range talkers {
		list = append(list, network.UserID(fmt.Sprintf("t%02d", i)))
	}
	var quietMXIDs []id.UserID
	for i := range quiet {
		user := network.UserID(fmt.Sprintf("q%02d", i))
		list = append(list, user)
		quietMXIDs = append(quietMXIDs, s.ghostOf(user))
	}
	s.cl.Queue(s.resync(list...))
	for i := range talkers {
		user := list[1+i]
		s.cl.Queue(textMessage(s.portal, network.MessageID("said-"+string(user)), user, time.Now(), "hi from "+string(user)))
	}
	end := s.busyWithFiles(t, room, files, fetch, quietMXIDs)
	before := quiet - s.alice.JoinsAfter(t, room, end.ID, quietMXIDs)
	t.Logf("%d of the %d quiet members joined while the files kept the portal busy", before, quiet)
	// A join a second for 5 s leaves time for all four; the talkers'
	// turns, taken one a second, would leave none.
	if before < 3 {
		t.Errorf("only %d of the %d quiet members joined while the portal was busy for %s: the turns of members who had spoken used up the list's slots", before, quiet, files*fetch)
	}
}

// busyWithFiles queues files from bob, each taking fetch to download,
// then a line from bob; it waits for that line and for ghosts to be in
// the room, and returns the line's event.
func (s *memberScene) busyWithFiles(t *testing.T, room id.RoomID, files int, fetch time.Duration, ghosts []id.UserID) *event.Event {
	t.Helper()
	for i := range files {
		s.cl.Queue(slowFile(s.portal, network.MessageID(fmt.Sprintf("file%02d", i)), fetch))
	}
	s.cl.Queue(textMessage(s.portal, "end", "bob", time.Now(), "after the files"))
	end := s.alice.WaitForEvent(t, room, waitLong, bodyIs(s.bob, "after the files"))
	for _, ghost := range ghosts {
		s.alice.WaitForMembership(t, room, ghost, event.MembershipJoin, waitLong)
	}
	return end
}

// slowFile is a file from bob whose download takes fetch.
func slowFile(portal network.PortalKey, msgID network.MessageID, fetch time.Duration) *network.Message {
	return &network.Message{
		Meta: network.Meta{Portal: portal, Sender: network.Sender{User: "bob"}, Timestamp: time.Now()},
		ID:   msgID,
		Parts: []network.Part{{
			Content: &event.MessageEventContent{MsgType: event.MsgFile, Body: string(msgID) + ".txt"},
			Media: func(ctx context.Context) (*network.Media, error) {
				select {
				case <-time.After(fetch):
				case <-ctx.Done():
					return nil, ctx.Err()
				}
				return &network.Media{Data: io.NopCloser(strings.NewReader("slow")), MimeType: "text/plain", FileName: string(msgID) + ".txt", Size: 4}, nil
			},
		}},
	}
}

// memberScene is a scene whose portal alice has joined, with what the
// membership tests say of it: bob is the one who speaks.
type memberScene struct {
	*scene
	meta network.Meta
}

func newMemberScene(t *testing.T) (*memberScene, id.RoomID, context.Context) {
	t.Helper()
	s := &memberScene{scene: newScene(t, false)}
	room := s.openPortal(t, "hello")
	s.meta = network.Meta{Portal: s.portal, Sender: network.Sender{User: "bob"}, Timestamp: time.Now()}
	return s, room, s.h.Context(3 * time.Minute)
}

// ghostOf is the Matrix ID of user's ghost on the test network.
func (s *memberScene) ghostOf(user network.UserID) id.UserID {
	return s.h.Bridge.Ghosts.MXID(network.GhostKey{Network: network.NetworkID(s.portal.Network), User: user})
}

// resync is a full member list of alice and users.
func (s *memberScene) resync(users ...network.UserID) *network.ChatResync {
	list := &network.MemberList{IsFull: true, Members: []network.Member{{User: "alice", IsMe: true}}}
	for _, u := range users {
		list.Members = append(list.Members, network.Member{User: u})
	}
	return &network.ChatResync{Meta: s.meta, Info: &network.ChatInfo{Members: list}}
}

// joinAll has a full list of bob and users bridged, and waits until all
// their ghosts are in the room.
func (s *memberScene) joinAll(t *testing.T, ctx context.Context, room id.RoomID, users []network.UserID) {
	t.Helper()
	if err := s.cl.Handle(ctx, s.resync(append([]network.UserID{"bob"}, users...)...)); err != nil {
		t.Fatal(err)
	}
	for _, user := range users {
		s.alice.WaitForMembership(t, room, s.ghostOf(user), event.MembershipJoin, waitLong)
	}
}
