package whatsapp

import (
	"testing"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// TestGroupChangesByLIDReachTheMemberInTheRoom: in a LID-addressed group
// the room's members are the phone-number ghosts the group info lists, so
// a change naming a member by LID (leave, join, promotion, demotion) must
// name the same ghost; a LID whose number the group did not show stays a
// LID ghost.
func TestGroupChangesByLIDReachTheMemberInTheRoom(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		env := newEnv(t, db.Database, "")
		g := &types.GroupInfo{JID: group, GroupName: types.GroupName{Name: "G"}, Participants: []types.GroupParticipant{
			{JID: bobLID, LID: bobLID, PhoneNumber: bobPN},
			{JID: ownLID, LID: ownLID, PhoneNumber: ownPN},
		}}
		// The room gets its members from the group's participant list,
		// which shows Bob's number; Ferry keeps it for later changes.
		member := othersIn(env.cl.groupInfo(env.ctx, g))[0]
		if member != "4915100000002" {
			t.Fatalf("member list names Bob %q", member)
		}
		env.dispatch(&events.GroupInfo{JID: group, Sender: &ownLID, Timestamp: msgTime, Promote: []types.JID{bobLID, carlLID}})
		env.dispatch(&events.GroupInfo{JID: group, Sender: &ownLID, Timestamp: msgTime, Demote: []types.JID{bobLID}})
		env.dispatch(&events.GroupInfo{JID: group, Sender: &bobLID, SenderPN: &bobPN, Timestamp: msgTime, Leave: []types.JID{bobLID}})
		env.dispatch(&events.GroupInfo{JID: group, Sender: &ownLID, Timestamp: msgTime, Join: []types.JID{bobLID}})
		// Bob's own leave, told without his number beside the sender.
		env.dispatch(&events.GroupInfo{JID: group, Sender: &bobLID, Timestamp: msgTime, Leave: []types.JID{bobLID}})
		queued, _ := env.host.take()
		if len(queued) != 5 {
			t.Fatalf("queued %d events: %+v", len(queued), queued)
		}
		promoted := queued[0].(*network.ChatInfoChange).Info.Members.Members
		if len(promoted) != 2 || promoted[0].User != member || promoted[1].User != "lid-300000000003" {
			t.Errorf("promotion names %+v; want %q and the unknown LID's ghost", promoted, member)
		}
		if demoted := queued[1].(*network.ChatInfoChange).Info.Members.Members; len(demoted) != 1 || demoted[0].User != member {
			t.Errorf("demotion names %+v, want %q", demoted, member)
		}
		for i, want := range []network.MembershipAction{network.MembershipLeave, network.MembershipJoin, network.MembershipLeave} {
			m := queued[2+i].(*network.Membership)
			if m.Target != member || m.Action != want {
				t.Errorf("membership %d: %s of %q; want %s of %q", i, m.Action, m.Target, want, member)
			}
		}
		if s := queued[4].(*network.Membership).Sender.User; s != member {
			t.Errorf("leave told without the number is sent by %q, want %q", s, member)
		}
	})
}

// othersIn are the members of a chat's member list other than the login.
func othersIn(info *network.ChatInfo) []network.UserID {
	var out []network.UserID
	for _, m := range info.Members.Members {
		if !m.IsMe {
			out = append(out, m.User)
		}
	}
	return out
}

// lidGroup is a LID-addressed group of the login and Bob, whose number it
// shows or not, and Carl, whose number it never shows.
func lidGroup(showBob bool) *types.GroupInfo {
	bob := types.GroupParticipant{JID: bobLID, LID: bobLID}
	if showBob {
		bob.PhoneNumber = bobPN
	}
	return &types.GroupInfo{JID: group, GroupName: types.GroupName{Name: "G"}, Participants: []types.GroupParticipant{
		{JID: ownLID, LID: ownLID, PhoneNumber: ownPN},
		bob,
		{JID: carlLID, LID: carlLID},
	}}
}

// groupChangeTargets dispatches a promotion, a leave told without the
// leaver's number, and a picture change, each by or of lid, and returns
// whom they name: the promoted, the leaver, the leave's sender and the
// picture's author.
func groupChangeTargets(t *testing.T, env *testEnv, lid types.JID) []network.UserID {
	t.Helper()
	env.host.take()
	env.dispatch(&events.GroupInfo{JID: group, Sender: &ownLID, Timestamp: msgTime, Promote: []types.JID{lid}})
	env.dispatch(&events.GroupInfo{JID: group, Sender: &lid, Timestamp: msgTime, Leave: []types.JID{lid}})
	env.dispatch(&events.Picture{JID: group, Author: lid, PictureID: "pic", Remove: true, Timestamp: msgTime})
	queued, _ := env.host.take()
	if len(queued) != 3 {
		t.Fatalf("queued %d events: %+v", len(queued), queued)
	}
	leave := queued[1].(*network.Membership)
	return []network.UserID{
		queued[0].(*network.ChatInfoChange).Info.Members.Members[0].User,
		leave.Target, leave.Sender.User,
		queued[2].(*network.ChatInfoChange).Sender.User,
	}
}

func wantAll(t *testing.T, what string, got []network.UserID, want network.UserID) {
	t.Helper()
	for i, u := range got {
		if u != want {
			t.Errorf("%s: change %d names %q, want %q (all: %q)", what, i, u, want, got)
		}
	}
}

// TestGroupChangesNeverUseANumberTheGroupHides: the login knows Bob's
// number privately (whatsmeow's LID store has it, as from a contact or a
// DM), but the group hides it, so the shared room has Bob as his LID
// ghost; its changes must not name his number's ghost, whose Matrix ID
// would show the number to everyone in the room.
func TestGroupChangesNeverUseANumberTheGroupHides(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		env := newEnv(t, db.Database, "")
		carlPN := types.NewJID("4915100000003", types.DefaultUserServer)
		for lid, pn := range map[types.JID]types.JID{bobLID: bobPN, carlLID: carlPN} {
			if err := env.device.LIDs.PutLIDMapping(env.ctx, lid, pn); err != nil {
				t.Fatal(err)
			}
		}
		env.wa.groups = map[types.JID]*types.GroupInfo{group: lidGroup(false)}
		// Before Ferry has read the group's list...
		wantAll(t, "unread group", groupChangeTargets(t, env, bobLID), "lid-200000000002")
		// ...and after.
		if others := othersIn(env.cl.groupInfo(env.ctx, lidGroup(false))); others[0] != "lid-200000000002" {
			t.Fatalf("member list names Bob %q", others[0])
		}
		wantAll(t, "read group", groupChangeTargets(t, env, bobLID), "lid-200000000002")
		// A join is looked up in the group's info, which hides them too.
		env.dispatch(&events.GroupInfo{JID: group, Sender: &ownLID, Timestamp: msgTime, Join: []types.JID{bobLID, carlLID}})
		queued, _ := env.host.take()
		if len(queued) != 2 {
			t.Fatalf("queued %d events: %+v", len(queued), queued)
		}
		for i, want := range []network.UserID{"lid-200000000002", "lid-300000000003"} {
			if got := queued[i].(*network.Membership).Target; got != want {
				t.Errorf("join %d names %q, want %q", i, got, want)
			}
		}
	})
}

// TestGroupNumbersSurviveARestart: the numbers a group's info showed when
// its room got its members (ChatInfo) still name the room's ghosts after
// Ferry restarts, without asking WhatsApp again.
func TestGroupNumbersSurviveARestart(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		env := newEnv(t, db.Database, "")
		env.wa.groups = map[types.JID]*types.GroupInfo{group: lidGroup(true)}
		info, err := env.cl.ChatInfo(env.ctx, groupPortal(group).Chat)
		if err != nil {
			t.Fatal(err)
		}
		if others := othersIn(info); others[0] != "4915100000002" {
			t.Fatalf("member list names Bob %q", others[0])
		}
		env.conn.Stop(env.ctx)

		restarted := newEnvOn(t, db.Database, env.device)
		wantAll(t, "after a restart", groupChangeTargets(t, restarted, bobLID), "4915100000002")
		if n := restarted.wa.groupQueries(); n != 0 {
			t.Errorf("asked WhatsApp for group info %d times after the restart", n)
		}
	})
}

// TestJoinNamesTheNumberTheGroupShows: a LID joins a group whose info
// shows their number, which Ferry has not kept yet; the group's info is
// asked for once, the joiner named by the number's ghost as a later
// member list would, and the number kept for their later changes.
func TestJoinNamesTheNumberTheGroupShows(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		env := newEnv(t, db.Database, "")
		env.wa.groups = map[types.JID]*types.GroupInfo{group: lidGroup(true)}
		env.dispatch(&events.GroupInfo{JID: group, Sender: &ownLID, Timestamp: msgTime, Join: []types.JID{bobLID, carlLID}})
		queued, _ := env.host.take()
		if len(queued) != 2 {
			t.Fatalf("queued %d events: %+v", len(queued), queued)
		}
		if m := queued[0].(*network.Membership); m.Target != "4915100000002" || m.Action != network.MembershipJoin {
			t.Errorf("Bob's join: %s of %q, want join of 4915100000002", m.Action, m.Target)
		}
		if m := queued[1].(*network.Membership); m.Target != "lid-300000000003" {
			t.Errorf("Carl's join names %q; the group shows no number for him", m.Target)
		}
		if n := env.wa.groupQueries(); n != 1 {
			t.Errorf("asked for the group's info %d times for one join, want once", n)
		}
		wantAll(t, "after the join", groupChangeTargets(t, env, bobLID), "4915100000002")
		if n := env.wa.groupQueries(); n != 1 {
			t.Errorf("asked for the group's info again (%d) for a member whose number is kept", n)
		}
		// A community's announcement group, where everyone joins, has no
		// room and hides the numbers: nothing is asked.
		announcements := types.NewJID("120363000000000002", types.GroupServer)
		env.conn.unbridged.noteGroup(&types.GroupInfo{JID: announcements, GroupIsDefaultSub: types.GroupIsDefaultSub{IsDefaultSubGroup: true}})
		env.dispatch(&events.GroupInfo{JID: announcements, Sender: &carlLID, Timestamp: msgTime, Join: []types.JID{carlLID}})
		if n := env.wa.groupQueries(); n != 1 {
			t.Errorf("asked for a community group's info (%d questions in all)", n)
		}
	})
}

// TestGroupInfoThatHidesANumberForgetsIt: when the group's participant
// list (here from events.JoinedGroup, then ChatInfo) no longer shows Bob's
// number, the room has his LID ghost again, and so do his changes.
func TestGroupInfoThatHidesANumberForgetsIt(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		env := newEnv(t, db.Database, "")
		env.dispatch(&events.JoinedGroup{GroupInfo: *lidGroup(true)})
		wantAll(t, "number shown", groupChangeTargets(t, env, bobLID), "4915100000002")
		env.wa.groups = map[types.JID]*types.GroupInfo{group: lidGroup(false)}
		info, err := env.cl.ChatInfo(env.ctx, groupPortal(group).Chat)
		if err != nil {
			t.Fatal(err)
		}
		if others := othersIn(info); others[0] != "lid-200000000002" {
			t.Fatalf("member list names Bob %q", others[0])
		}
		wantAll(t, "number hidden", groupChangeTargets(t, env, bobLID), "lid-200000000002")
	})
}
